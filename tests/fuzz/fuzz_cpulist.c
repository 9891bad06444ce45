/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the cpulist / cpumask parsers in policy/cpuset.c.
 *
 * Properties: no crash or sanitizer report on any input; whatever parses formats
 * back to a list that parses to the same set; a truncated format stays inside its
 * buffer and NUL-terminated.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cpuset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Worst case "0,2,4,...": under 6 bytes per id. */
static char out[CPUSET_MAX * 6];

static void check_roundtrip(const struct cpuset *s)
{
	struct cpuset back;
	int n = cpuset_format(s, out, sizeof(out));

	if (n < 0 || (size_t)n != strlen(out))
		__builtin_trap();
	if (cpuset_parse(out, (size_t)n, &back) != 0 || !cpuset_equal(s, &back))
		__builtin_trap();
}

/* A short buffer must give -ENOSPC (or fit) and never overrun. */
static void check_truncation(const struct cpuset *s, size_t size)
{
	char small[32];
	int n;

	if (size > sizeof(small))
		size = sizeof(small);
	memset(small, 'x', sizeof(small));
	n = cpuset_format(s, small, size);
	if (size && !memchr(small, '\0', size))
		__builtin_trap();
	if (n >= 0 && (size_t)n >= size)
		__builtin_trap();
	if (n < 0 && n != -ENOSPC)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct cpuset s, untouched;
	int r;

	memset(&untouched, 0xa5, sizeof(untouched));
	s = untouched;
	r = cpuset_parse(buf, size, &s);
	if (r == 0) {
		check_roundtrip(&s);
		check_truncation(&s, size % 33);
	} else if ((r != -EINVAL && r != -ERANGE) || !cpuset_equal(&s, &untouched)) {
		__builtin_trap();
	}
	s = untouched;
	r = cpuset_parse_mask(buf, size, &s);
	if (r == 0)
		check_roundtrip(&s);
	else if ((r != -EINVAL && r != -ERANGE) || !cpuset_equal(&s, &untouched))
		__builtin_trap();
	return 0;
}
