/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the configuration YAML parser. Any input must either parse or
 * produce errors, never crash or leak (libyaml's document and parser are freed on
 * every path).
 *
 * Oracle: a successful parse survives format -> parse unchanged. The parsed config is
 * printed with config_print() (the printer of the default file), that text must parse
 * without errors, and the result must equal the first parse in every key's bytes
 * (config_diff()).
 */
#define _GNU_SOURCE /* open_memstream */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Says what broke, with the text that broke it, then stops the fuzzer. */
static void oracle_fail(const char *what, const char *text, const struct config_errors *errs,
			const struct config_key *const *diff, size_t n_diff)
{
	fprintf(stderr, "fuzz_config oracle: %s\n", what);
	for (size_t i = 0; errs && i < errs->n; i++)
		fprintf(stderr, "  error: %s\n", errs->msg[i]);
	for (size_t i = 0; i < n_diff; i++)
		fprintf(stderr, "  differs: %s\n", diff[i]->path);
	fprintf(stderr, "--- printed config ---\n%s--- end ---\n", text ? text : "(none)");
	abort();
}

static void check_round_trip(const struct config *c)
{
	struct config_errors errs = {0};
	const struct config_key *diff[8];
	struct config back;
	char *text = NULL;
	size_t len = 0, n;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return; /* out of memory: not the parser's fault */
	if (config_print(f, c) < 0) {
		fclose(f);
		oracle_fail("an accepted config does not print", text, NULL, NULL, 0);
	}
	if (fclose(f) != 0)
		return;
	if (config_parse("printed", text, len, &back, &errs) != 0)
		oracle_fail("the printed config does not parse", text, &errs, NULL, 0);
	n = config_diff(c, &back, diff, sizeof(diff) / sizeof(diff[0]));
	if (n)
		oracle_fail("format -> parse changed keys", text, NULL, diff, n);
	config_errors_done(&errs);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = {0};
	struct config c;

	if (config_parse("fuzz", (const char *)data, size, &c, &errs) == 0)
		check_round_trip(&c);
	config_errors_done(&errs);
	return 0;
}
