/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the sysfs value parsers of plugin/host/sysfs.h. Byte 0 picks the
 * parser, the rest is the file content (not NUL-terminated, as read() returns it).
 * Anything must be either parsed or refused with -EINVAL; the results must respect
 * the documented ranges.
 *
 * Seeds: tests/fuzz/corpus/fuzz_sysfs/ (values from tests/fixtures/sysfs).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host/sysfs.h"

#define MAX_DIST 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(int r)
{
	if (r < 0 && r != -EINVAL && r != -ERANGE)
		abort(); /* only "bad value" is an acceptable refusal of a buffer */
}

static void fuzz_distances(const char *buf, size_t len, int max)
{
	int out[MAX_DIST + 1];
	int r;

	out[max] = 0x5a5a5a5a; /* a canary just past what the parser may write */
	r = sysfs_parse_distances(buf, len, out, max);
	check_rc(r);
	if (out[max] != 0x5a5a5a5a)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf;
	long long ll;
	uint64_t u;
	size_t len;
	char *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy: ASan flags any read past the end */
	len = size - 1;
	copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, len);
	buf = copy;
	switch (data[0] % 4) {
	case 0:
		check_rc(sysfs_parse_ll(buf, len, &ll));
		break;
	case 1:
		check_rc(sysfs_parse_size(buf, len, &u));
		break;
	case 2:
		check_rc(sysfs_parse_meminfo_total(buf, len, &u));
		break;
	default:
		fuzz_distances(buf, len, (data[0] >> 2) % (MAX_DIST + 1));
		break;
	}
	free(copy);
	return 0;
}
