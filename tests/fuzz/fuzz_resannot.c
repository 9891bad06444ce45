/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the noderesource.dev/resources annotation and the quantity parser
 * (plugin/daemon/resannot.c). Input: a container name, a newline, the annotation value.
 * Hostile values must be refused with a reason, never crash. Oracles:
 *   - a refusal says why and leaves the result untouched; a success is deterministic,
 *     non-negative, and consistent (the container's own share within the sums, no more
 *     containers without resources than containers);
 *   - the name taken as a quantity: millicores and units agree (ceil(x * 1000) is within
 *     1000 of ceil(x) * 1000), and a result printed as "<n>m" or "<n>" parses back to
 *     itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/resannot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool res_ok(const struct resannot_res *r)
{
	return r->request_mcpu >= 0 && r->limit_mcpu >= 0 && r->mem_limit >= 0;
}

static void check_annotation(const char *name, const char *value)
{
	struct resannot a, b, keep;
	char err[128] = "";
	int r;

	memset(&a, 0x5a, sizeof(a));
	keep = a;
	r = resannot_parse(value, name, &a, err, sizeof(err));
	if (r < 0) {
		if (!err[0] && r != -ENOMEM)
			abort();
		if (memcmp(&a, &keep, sizeof(a)))
			abort();
		return;
	}
	if (resannot_parse(value, name, &b, NULL, 0) != 0 || memcmp(&a, &b, sizeof(a)))
		abort();
	if (!res_ok(&a.self) || !res_ok(&a.sum) || !res_ok(&a.init_max))
		abort();
	if (a.n_without > a.n_containers || (!a.found && resannot_res_any(&a.self)))
		abort();
	if (a.found && !a.init &&
	    (a.self.request_mcpu > a.sum.request_mcpu || a.self.limit_mcpu > a.sum.limit_mcpu ||
	     a.self.mem_limit > a.sum.mem_limit))
		abort();
	if (a.found && a.init && a.self.request_mcpu > a.init_max.request_mcpu)
		abort();
}

static void check_printed(int64_t v, int scale)
{
	char buf[32];
	int64_t back = -1;

	snprintf(buf, sizeof(buf), scale == 3 ? "%lldm" : "%lld", (long long)v);
	if (resannot_quantity(buf, scale, &back) != 0 || back != v)
		abort();
}

static void check_quantity(const char *s)
{
	int64_t milli = -1, units = -1;
	int rm = resannot_quantity(s, 3, &milli), ru = resannot_quantity(s, 0, &units);

	if ((rm == 0 && milli < 0) || (ru == 0 && units < 0))
		abort();
	if (rm == -EINVAL && ru == 0) /* the syntax does not depend on the scale */
		abort();
	if (rm == 0 && ru == 0 &&
	    ((__int128)milli > (__int128)units * 1000 ||
	     (__int128)milli <= ((__int128)units - 1) * 1000))
		abort();
	if (rm == 0)
		check_printed(milli, 3);
	if (ru == 0)
		check_printed(units, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *nl;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		check_annotation(buf, nl + 1);
	} else {
		check_annotation(NULL, buf);
	}
	check_quantity(buf);
	free(buf);
	return 0;
}
