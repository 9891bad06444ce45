/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Buffer parsers for single sysfs values (declared in plugin/host/sysfs.h). Kept apart
 * from the reader so they stay pure and can be tested and fuzzed without a tree.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host/sysfs.h"

/* Copy the trimmed value into tmp (size n) as a C string. */
static int trim_copy(const char *buf, size_t len, char *tmp, size_t n)
{
	size_t b = 0, e = len;

	while (e > b && (buf[e - 1] == '\0' || buf[e - 1] == '\n' || buf[e - 1] == ' '))
		e--;
	while (b < e && (buf[b] == ' ' || buf[b] == '\n'))
		b++;
	if (e == b || e - b >= n)
		return -EINVAL;
	memcpy(tmp, buf + b, e - b);
	tmp[e - b] = '\0';
	return 0;
}

int sysfs_parse_ll(const char *buf, size_t len, long long *ret)
{
	char tmp[32], *end;
	long long v;

	if (trim_copy(buf, len, tmp, sizeof(tmp)) < 0)
		return -EINVAL;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end || end == tmp)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sysfs_parse_size(const char *buf, size_t len, uint64_t *ret)
{
	char tmp[32], *end;
	unsigned long long v;
	unsigned int shift = 0;

	if (trim_copy(buf, len, tmp, sizeof(tmp)) < 0 || tmp[0] < '0' || tmp[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(tmp, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 'K')
		shift = 10;
	else if (*end == 'M')
		shift = 20;
	else if (*end == 'G')
		shift = 30;
	if ((shift && end[1]) || (!shift && *end) || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

int sysfs_parse_meminfo_total(const char *buf, size_t len, uint64_t *ret)
{
	static const char key[] = "MemTotal:";
	const char *p = buf, *end = buf + len;
	unsigned long long kb = 0;

	for (; p + sizeof(key) - 1 <= end; p++)
		if (!memcmp(p, key, sizeof(key) - 1))
			break;
	if (p + sizeof(key) - 1 > end)
		return -EINVAL;
	p += sizeof(key) - 1;
	while (p < end && *p == ' ')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return -EINVAL;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (kb > (UINT64_MAX >> 10) / 10)
			return -EINVAL;
		kb = kb * 10 + (unsigned long long)(*p - '0');
	}
	*ret = (uint64_t)kb << 10; /* the kernel always prints kB here */
	return 0;
}

int sysfs_parse_distances(const char *buf, size_t len, int *out, int max)
{
	size_t p = 0;
	int n = 0;

	while (p < len) {
		long v = 0;

		if (buf[p] == ' ' || buf[p] == '\n' || buf[p] == '\0') {
			p++;
			continue;
		}
		if (buf[p] < '0' || buf[p] > '9')
			return -EINVAL;
		for (; p < len && buf[p] >= '0' && buf[p] <= '9'; p++)
			if ((v = v * 10 + (buf[p] - '0')) > INT_MAX / 10)
				return -EINVAL;
		if (n < max)
			out[n] = (int)v;
		n++;
	}
	return n;
}
