/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-size bitmaps and the kernel's cpulist / cpumask text formats.
 *
 * Everything works a 64-bit word at a time: the policy walks and combines sets on
 * every container event, so set operations must stay O(CPUSET_WORDS) with no
 * per-bit loops. The parsers are strict (sysfs text is machine-written, anything
 * odd is a sign we read the wrong file) but tolerate the padding kernels emit.
 */
#include <errno.h>
#include <string.h>

#include "policy/cpuset.h"

#define WORD(id) ((id) / 64u)
#define BIT(id)	 (UINT64_C(1) << ((id) % 64u))

void cpuset_zero(struct cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

void cpuset_set(struct cpuset *s, unsigned int id)
{
	if (id < CPUSET_MAX)
		s->bits[WORD(id)] |= BIT(id);
}

void cpuset_clear(struct cpuset *s, unsigned int id)
{
	if (id < CPUSET_MAX)
		s->bits[WORD(id)] &= ~BIT(id);
}

bool cpuset_test(const struct cpuset *s, unsigned int id)
{
	return id < CPUSET_MAX && (s->bits[WORD(id)] & BIT(id));
}

unsigned int cpuset_count(const struct cpuset *s)
{
	unsigned int n = 0;

	for (size_t i = 0; i < CPUSET_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(s->bits[i]);
	return n;
}

/* libc's memcmp is vectorized; the plain loop over 64 words was not (-O2). */
bool cpuset_is_empty(const struct cpuset *s)
{
	static const struct cpuset none;

	return memcmp(s->bits, none.bits, sizeof(s->bits)) == 0;
}

bool cpuset_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool cpuset_is_subset(const struct cpuset *sub, const struct cpuset *super)
{
	for (size_t i = 0; i < CPUSET_WORDS; i++)
		if (sub->bits[i] & ~super->bits[i])
			return false;
	return true;
}

bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_WORDS; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

/* dst may alias a or b: each word is read before it is written. */
void cpuset_and(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] & b->bits[i];
}

void cpuset_or(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] | b->bits[i];
}

void cpuset_andnot(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b)
{
	for (size_t i = 0; i < CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] & ~b->bits[i];
}

/* First id >= from whose bit equals want, or -1. */
static int cpuset_scan(const struct cpuset *s, int from, bool want)
{
	unsigned int i;
	uint64_t w;

	if (from < 0)
		from = 0;
	if (from >= CPUSET_MAX)
		return -1;
	i = WORD((unsigned int)from);
	w = want ? s->bits[i] : ~s->bits[i];
	w &= ~UINT64_C(0) << ((unsigned int)from % 64u);
	for (;;) {
		if (w)
			return (int)(i * 64u + (unsigned int)__builtin_ctzll(w));
		if (++i >= CPUSET_WORDS)
			return -1;
		w = want ? s->bits[i] : ~s->bits[i];
	}
}

int cpuset_next(const struct cpuset *s, int from)
{
	return cpuset_scan(s, from, true);
}

/* Set bits lo..hi inclusive, whole words at a time. Caller checked hi < CPUSET_MAX. */
static void cpuset_set_range(struct cpuset *s, unsigned int lo, unsigned int hi)
{
	while (lo <= hi) {
		unsigned int w = WORD(lo), off = lo % 64u;
		unsigned int n = 64u - off;
		uint64_t m;

		if (hi - lo + 1 < n)
			n = hi - lo + 1;
		m = n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1) << off;
		s->bits[w] |= m;
		lo += n;
	}
}

/*
 * Shrink [*start, *end) to the meaningful text: kernels pad with '\n' and NULs, and
 * hand-made files may carry spaces. NULs are only accepted as trailing padding.
 */
static void cpuset_trim(const char *buf, size_t len, size_t *start, size_t *end)
{
	size_t b = 0, e = len;

	while (e > b && (buf[e - 1] == '\0' || buf[e - 1] == '\n' || buf[e - 1] == ' ' ||
			 buf[e - 1] == '\t' || buf[e - 1] == '\r'))
		e--;
	while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\n'))
		b++;
	*start = b;
	*end = e;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal id at buf[*pos]; advances *pos. */
static int parse_id(const char *buf, size_t end, size_t *pos, unsigned int *ret)
{
	unsigned long v = 0;
	size_t p = *pos;

	if (p >= end || !is_digit(buf[p]))
		return -EINVAL;
	for (; p < end && is_digit(buf[p]); p++) {
		v = v * 10 + (unsigned long)(buf[p] - '0');
		if (v >= CPUSET_MAX)
			v = CPUSET_MAX; /* saturate: keep scanning for syntax errors */
	}
	*pos = p;
	*ret = (unsigned int)v;
	return 0;
}

/* Order of two decimal numbers given as digit strings, of any length. */
static int cmp_decimal(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 1 && *a == '0')
		a++, an--;
	while (bn > 1 && *b == '0')
		b++, bn--;
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

/* One "a" or "a-b" item starting at *pos. Syntax errors win over range errors. */
static int parse_item(const char *buf, size_t end, size_t *pos, struct cpuset *s, bool *range_err)
{
	size_t a = *pos, b;
	unsigned int lo, hi;
	int r;

	r = parse_id(buf, end, pos, &lo);
	if (r < 0)
		return r;
	hi = lo;
	if (*pos < end && buf[*pos] == '-') {
		size_t a_end = (*pos)++;

		b = *pos;
		r = parse_id(buf, end, pos, &hi);
		if (r < 0)
			return r;
		/* saturated ids are equal: a reversed range of huge ids is still reversed */
		if (hi < lo || (hi == CPUSET_MAX && lo == CPUSET_MAX &&
				cmp_decimal(buf + b, *pos - b, buf + a, a_end - a) < 0))
			return -EINVAL;
	}
	if (hi >= CPUSET_MAX) {
		*range_err = true;
		return 0;
	}
	cpuset_set_range(s, lo, hi);
	return 0;
}

int cpuset_parse(const char *buf, size_t len, struct cpuset *ret)
{
	struct cpuset s;
	size_t pos, end;
	bool range_err = false;
	int r;

	if (!buf && len)
		return -EINVAL;
	cpuset_trim(buf, len, &pos, &end);
	cpuset_zero(&s);
	while (pos < end) {
		r = parse_item(buf, end, &pos, &s, &range_err);
		if (r < 0)
			return r;
		if (pos == end)
			break;
		if (buf[pos] != ',' || ++pos == end)
			return -EINVAL;
	}
	if (range_err)
		return -ERANGE;
	*ret = s;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse one 1..8 digit hex group in buf[b, e) into *ret. */
static int parse_mask_word(const char *buf, size_t b, size_t e, uint32_t *ret)
{
	uint32_t v = 0;

	if (e == b || e - b > 8)
		return -EINVAL;
	for (size_t i = b; i < e; i++) {
		int h = hex_value(buf[i]);

		if (h < 0)
			return -EINVAL;
		v = (v << 4) | (uint32_t)h;
	}
	*ret = v;
	return 0;
}

/* Store 32-bit group number idx (0 = least significant); bits past CPUSET_MAX must be 0. */
static int mask_store(struct cpuset *s, size_t idx, uint32_t v)
{
	if (!v)
		return 0;
	if (idx >= CPUSET_WORDS * 2)
		return -ERANGE;
	s->bits[idx / 2] |= (uint64_t)v << (32 * (idx % 2));
	return 0;
}

int cpuset_parse_mask(const char *buf, size_t len, struct cpuset *ret)
{
	struct cpuset s;
	size_t start, end, e, idx = 0;
	bool range_err = false;
	int r;

	if (!buf && len)
		return -EINVAL;
	cpuset_trim(buf, len, &start, &end);
	cpuset_zero(&s);
	/* Groups are most significant first, so walk from the end. */
	for (e = end; e > start;) {
		size_t b = e;
		uint32_t v;

		while (b > start && buf[b - 1] != ',')
			b--;
		r = parse_mask_word(buf, b, e, &v);
		if (r < 0)
			return r;
		if (mask_store(&s, idx++, v) < 0)
			range_err = true;
		if (b == start)
			break;
		e = b - 1; /* skip the comma */
		if (e == start)
			return -EINVAL; /* leading comma */
	}
	if (range_err)
		return -ERANGE;
	*ret = s;
	return 0;
}

/* Writes decimal v at tmp + n (no NUL); tmp has room for 10 digits. Returns the new n. */
static size_t put_uint(char *tmp, size_t n, unsigned int v)
{
	char rev[10];
	size_t k = 0;

	do {
		rev[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		tmp[n++] = rev[--k];
	return n;
}

/*
 * Append "a" or "a-b" (with a leading comma unless first). *len counts the full
 * length even past size, so the caller can tell truncation; snprintf per run was
 * the bulk of the time, hence the hand-rolled digits.
 */
static void format_run(char *buf, size_t size, size_t *len, int lo, int hi)
{
	char tmp[32];
	size_t n = 0;

	if (*len)
		tmp[n++] = ',';
	n = put_uint(tmp, n, (unsigned int)lo);
	if (hi != lo) {
		tmp[n++] = '-';
		n = put_uint(tmp, n, (unsigned int)hi);
	}
	for (size_t i = 0; i < n; i++, (*len)++)
		if (*len + 1 < size)
			buf[*len] = tmp[i];
}

int cpuset_format(const struct cpuset *s, char *buf, size_t size)
{
	size_t len = 0;
	int lo, hi;

	for (lo = cpuset_scan(s, 0, true); lo >= 0; lo = cpuset_scan(s, hi + 1, true)) {
		hi = cpuset_scan(s, lo, false);
		hi = (hi < 0 ? CPUSET_MAX : hi) - 1;
		format_run(buf, size, &len, lo, hi);
	}
	if (size)
		buf[len < size ? len : size - 1] = '\0';
	if (len >= size)
		return -ENOSPC;
	return (int)len;
}
