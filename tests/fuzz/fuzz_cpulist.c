/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the cpulist / cpumask parsers in policy/cpuset.c.
 *
 * Oracle: each parser is compared with a slow reference written here from the
 * documented format (policy/cpuset.h), one character and one CPU at a time, numbers
 * compared as digit strings so nothing can overflow: the same verdict (0, -EINVAL or
 * -ERANGE), the same set on success, *ret untouched otherwise.
 * Also: whatever parses formats back to a list that parses to the same set; a
 * truncated format stays inside its buffer and NUL-terminated.
 *
 * The format, as the references read it: surrounding blanks are tolerated (leading
 * ' ', '\t', '\n'; trailing also '\r' and NUL padding); nothing left is the empty set.
 * A cpulist is items "N" or "N-M" (M >= N) joined by single commas; a cpumask is
 * groups of 1..8 hex digits joined by commas, most significant first. Any syntax
 * error (a reversed range included) is -EINVAL even when a number is also too large;
 * otherwise an id >= CPUSET_MAX is -ERANGE.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cpuset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Worst case "0,2,4,...": under 6 bytes per id. */
static char out[CPUSET_MAX * 6];

/* ---- the reference parsers ------------------------------------------------------------ */

static void ref_trim(const char *buf, size_t len, size_t *start, size_t *end)
{
	size_t b = 0, e = len;

	while (e > 0 && strchr(" \t\n\r", buf[e - 1])) /* strchr also matches NUL */
		e--;
	while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n'))
		b++;
	*start = b;
	*end = e;
}

/* A decimal number as text: its digits without leading zeros (at least one digit). */
struct ref_num {
	const char *d;
	size_t n;
};

static struct ref_num ref_num(const char *s, size_t n)
{
	while (n > 1 && *s == '0')
		s++, n--;
	return (struct ref_num){s, n};
}

static int ref_num_cmp(struct ref_num a, struct ref_num b)
{
	if (a.n != b.n)
		return a.n < b.n ? -1 : 1;
	return memcmp(a.d, b.d, a.n);
}

/* The number's value if it is a CPU id, else CPUSET_MAX. */
static unsigned int ref_id(struct ref_num a)
{
	unsigned int v = 0;

	if (a.n > 4)
		return CPUSET_MAX;
	for (size_t i = 0; i < a.n; i++)
		v = v * 10 + (unsigned int)(a.d[i] - '0');
	return v < CPUSET_MAX ? v : CPUSET_MAX;
}

static size_t ref_digits(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && s[k] >= '0' && s[k] <= '9')
		k++;
	return k;
}

/* One cpulist item s[0, n): 0 and its ids in *lo..*hi (CPUSET_MAX if too large), or -EINVAL. */
static int ref_item(const char *s, size_t n, unsigned int *lo, unsigned int *hi)
{
	size_t a = ref_digits(s, n), b;
	struct ref_num x, y;

	if (a == 0)
		return -EINVAL;
	x = y = ref_num(s, a);
	if (a < n) {
		if (s[a] != '-')
			return -EINVAL;
		b = ref_digits(s + a + 1, n - a - 1);
		if (b == 0 || a + 1 + b != n)
			return -EINVAL;
		y = ref_num(s + a + 1, b);
		if (ref_num_cmp(y, x) < 0)
			return -EINVAL;
	}
	*lo = ref_id(x);
	*hi = ref_id(y);
	return 0;
}

static int ref_parse_list(const char *buf, size_t len, struct cpuset *ret)
{
	size_t b, e, i;
	bool range = false;
	struct cpuset s;

	ref_trim(buf, len, &b, &e);
	cpuset_zero(&s);
	for (i = b; i < e;) {
		size_t j = i;
		unsigned int lo, hi;

		while (j < e && buf[j] != ',')
			j++;
		if (ref_item(buf + i, j - i, &lo, &hi) < 0)
			return -EINVAL;
		if (hi >= CPUSET_MAX)
			range = true;
		for (unsigned int id = lo; !range && id <= hi; id++)
			cpuset_set(&s, id);
		if (j == e)
			break;
		i = j + 1;
		if (i == e) /* a trailing comma */
			return -EINVAL;
	}
	if (range)
		return -ERANGE;
	*ret = s;
	return 0;
}

static int ref_hex(char c)
{
	const char *digits = "0123456789abcdef", *p;

	if (c >= 'A' && c <= 'F')
		c = (char)(c - 'A' + 'a');
	p = c ? strchr(digits, c) : NULL;
	return p ? (int)(p - digits) : -1;
}

static int ref_parse_mask(const char *buf, size_t len, struct cpuset *ret)
{
	size_t b, e, n_groups = 1;
	bool range = false;
	struct cpuset s;

	ref_trim(buf, len, &b, &e);
	cpuset_zero(&s);
	if (b == e) {
		*ret = s;
		return 0;
	}
	for (size_t i = b; i < e; i++)
		n_groups += buf[i] == ',';
	for (size_t i = b, g = 0; g < n_groups; g++) {
		size_t j = i;

		while (j < e && buf[j] != ',')
			j++;
		if (j == i || j - i > 8)
			return -EINVAL;
		/* group g of n_groups, most significant first: bits from 32 * (n_groups-1-g) */
		for (size_t k = i; k < j; k++) {
			int h = ref_hex(buf[k]);

			if (h < 0)
				return -EINVAL;
			for (int bit = 0; bit < 4; bit++) {
				size_t id = 32 * (n_groups - 1 - g) + 4 * (j - 1 - k) + (size_t)bit;

				if (!(h & (1 << bit)))
					continue;
				if (id >= CPUSET_MAX)
					range = true;
				else
					cpuset_set(&s, (unsigned int)id);
			}
		}
		i = j + 1;
	}
	if (range)
		return -ERANGE;
	*ret = s;
	return 0;
}

/* ---- the checks ---------------------------------------------------------------------- */

static void oracle_fail(const char *what, const char *buf, size_t len, int got, int want)
{
	fprintf(stderr, "fuzz_cpulist oracle: %s: parser %d, reference %d, input (%zu bytes) '",
		what, got, want, len);
	for (size_t i = 0; i < len && i < 200; i++)
		fprintf(stderr, buf[i] >= 0x20 && buf[i] < 0x7f ? "%c" : "\\x%02x",
			(unsigned char)buf[i]);
	fprintf(stderr, "'\n");
	abort();
}

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

/* The parser against its reference: same verdict, same set, *ret untouched on error. */
static int check_against(const char *what, int (*parse)(const char *, size_t, struct cpuset *),
			 int (*ref)(const char *, size_t, struct cpuset *), const char *buf,
			 size_t len, struct cpuset *ret)
{
	struct cpuset untouched, want;
	int r, w;

	memset(&untouched, 0xa5, sizeof(untouched));
	*ret = want = untouched;
	r = parse(buf, len, ret);
	w = ref(buf, len, &want);
	if (r != w)
		oracle_fail(what, buf, len, r, w);
	if (!cpuset_equal(ret, &want))
		oracle_fail(r ? "*ret written on failure" : "different sets", buf, len, r, w);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct cpuset s;

	if (check_against("cpulist", cpuset_parse, ref_parse_list, buf, size, &s) == 0) {
		check_roundtrip(&s);
		check_truncation(&s, size % 33);
	}
	if (check_against("cpumask", cpuset_parse_mask, ref_parse_mask, buf, size, &s) == 0)
		check_roundtrip(&s);
	return 0;
}
