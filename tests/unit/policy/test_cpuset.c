/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy/cpuset.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/cpuset.h"

/* Parse a C string that must be valid. */
static struct cpuset parse_ok(const char *s)
{
	struct cpuset c;

	assert_int_equal(cpuset_parse(s, strlen(s), &c), 0);
	return c;
}

static void assert_formats_as(const struct cpuset *s, const char *want)
{
	char buf[512];

	assert_int_equal(cpuset_format(s, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_cpuset_set_basic(void **state)
{
	struct cpuset s;

	(void)state;
	cpuset_zero(&s);
	assert_true(cpuset_is_empty(&s));
	cpuset_set(&s, 0);
	cpuset_set(&s, 63);
	cpuset_set(&s, 64);
	cpuset_set(&s, CPUSET_MAX - 1);
	cpuset_set(&s, CPUSET_MAX); /* out of range: ignored, no crash */
	assert_int_equal(cpuset_count(&s), 4);
	assert_true(cpuset_test(&s, 63));
	assert_false(cpuset_test(&s, 62));
	assert_false(cpuset_test(&s, CPUSET_MAX));
	cpuset_clear(&s, 63);
	cpuset_clear(&s, CPUSET_MAX + 5);
	assert_false(cpuset_test(&s, 63));
	assert_int_equal(cpuset_count(&s), 3);
	assert_false(cpuset_is_empty(&s));
}

static void test_cpuset_next_walks_words(void **state)
{
	struct cpuset s = parse_ok("3,64,200,4095");
	int id, seen[8], n = 0;

	(void)state;
	cpuset_foreach (id, &s) {
		assert_true(n < 8);
		seen[n++] = id;
	}
	assert_int_equal(n, 4);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 64);
	assert_int_equal(seen[2], 200);
	assert_int_equal(seen[3], 4095);
	assert_int_equal(cpuset_next(&s, -7), 3);
	assert_int_equal(cpuset_next(&s, 4096), -1);
	assert_int_equal(cpuset_next(&s, 201), 4095);
}

static void test_cpuset_ops_combine(void **state)
{
	struct cpuset a = parse_ok("0-7,64-71"), b = parse_ok("4-11,70"), d;

	(void)state;
	cpuset_and(&d, &a, &b);
	assert_formats_as(&d, "4-7,70");
	cpuset_or(&d, &a, &b);
	assert_formats_as(&d, "0-11,64-71");
	cpuset_andnot(&d, &a, &b);
	assert_formats_as(&d, "0-3,64-69,71");
	assert_true(cpuset_intersects(&a, &b));
	assert_false(cpuset_is_subset(&b, &a));
	cpuset_and(&d, &a, &b);
	assert_true(cpuset_is_subset(&d, &a));
	assert_true(cpuset_is_subset(&d, &b));
	/* aliasing dst with a source is allowed */
	cpuset_or(&a, &a, &b);
	assert_formats_as(&a, "0-11,64-71");
	d = parse_ok("100");
	assert_false(cpuset_intersects(&d, &b));
	assert_false(cpuset_equal(&d, &b));
	assert_true(cpuset_equal(&d, &d));
}

static void test_cpuset_parse_ranges(void **state)
{
	struct cpuset s = parse_ok("0-2,5-6,10-12,15-16,40-42");

	(void)state;
	assert_int_equal(cpuset_count(&s), 13);
	assert_formats_as(&s, "0-2,5-6,10-12,15-16,40-42");
	s = parse_ok("0-4095");
	assert_int_equal(cpuset_count(&s), CPUSET_MAX);
	assert_formats_as(&s, "0-4095");
	s = parse_ok("63-64");
	assert_formats_as(&s, "63-64");
	s = parse_ok("5,3,4"); /* unsorted input is still a set */
	assert_formats_as(&s, "3-5");
}

static void test_cpuset_parse_padding(void **state)
{
	static const char nul_tail[] = "0-3\n\0\0";
	static const char nul_head[] = "\0\n";
	struct cpuset s;

	(void)state;
	assert_int_equal(cpuset_parse(nul_tail, sizeof(nul_tail), &s), 0);
	assert_formats_as(&s, "0-3");
	assert_int_equal(cpuset_parse(nul_head, 2, &s), 0); /* hsw nohz_full was "\0\n" */
	assert_true(cpuset_is_empty(&s));
	s = parse_ok("  1,2 \n");
	assert_formats_as(&s, "1-2");
	s = parse_ok("");
	assert_true(cpuset_is_empty(&s));
	s = parse_ok("\n");
	assert_true(cpuset_is_empty(&s));
	assert_int_equal(cpuset_parse(NULL, 0, &s), 0);
	assert_true(cpuset_is_empty(&s));
}

static void test_cpuset_parse_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"a",   "1-",	"-1",  "1,,2", ",1",   "1,", "3-1",
		"1 2", "1-2-3", "0x1", "1;",   "1\n2", "+1", "1-+2",
	};
	static const char mid_nul[] = "1\0,2";
	struct cpuset s = parse_ok("7");

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cpuset_parse(bad[i], strlen(bad[i]), &s);

		if (r != -EINVAL)
			fail_msg("'%s' gave %d, want -EINVAL", bad[i], r);
	}
	assert_int_equal(cpuset_parse(mid_nul, sizeof(mid_nul) - 1, &s), -EINVAL);
	assert_formats_as(&s, "7"); /* untouched on failure */
}

static void test_cpuset_parse_range_errors(void **state)
{
	struct cpuset s = parse_ok("1");

	(void)state;
	assert_int_equal(cpuset_parse("4096", 4, &s), -ERANGE);
	assert_int_equal(cpuset_parse("0-4096", 6, &s), -ERANGE);
	assert_int_equal(cpuset_parse("99999999999999999999999", 23, &s), -ERANGE);
	assert_int_equal(cpuset_parse("99999999999999999999999-x", 25, &s), -EINVAL);
	assert_formats_as(&s, "1");
}

/*
 * The last id is CPUSET_MAX - 1; CPUSET_MAX is refused, and so is every number that
 * only looks small once cut to 32 or 64 bits (2^32, 2^64 + 1, 2^64 + 4095 ...).
 */
static void test_cpuset_parse_id_limits(void **state)
{
	static const char *const too_big[] = {
		"4096",
		"4095-4096",
		"4096-4096",
		"0,4096",
		"4294967296",		/* 2^32: 0 as unsigned int */
		"4294967297",		/* 2^32 + 1 */
		"18446744073709551616", /* 2^64: 0 as uint64_t */
		"18446744073709551617", /* 2^64 + 1 */
		"18446744073709555711", /* 2^64 + 4095 */
		"0-18446744073709551616",
		"1,18446744073709551617-18446744073709551618",
		"340282366920938463463374607431768211457", /* 2^128 + 1 */
	};
	struct cpuset s = parse_ok("1");

	(void)state;
	s = parse_ok("4095");
	assert_true(cpuset_test(&s, 4095));
	assert_int_equal(cpuset_count(&s), 1);
	s = parse_ok("4095-4095");
	assert_int_equal(cpuset_count(&s), 1);
	s = parse_ok("4094-4095");
	assert_formats_as(&s, "4094-4095");
	s = parse_ok("000000000000000000000000004095");
	assert_formats_as(&s, "4095");
	for (size_t i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++) {
		int r;

		s = parse_ok("1");
		r = cpuset_parse(too_big[i], strlen(too_big[i]), &s);
		if (r != -ERANGE)
			fail_msg("'%s' gave %d, want -ERANGE", too_big[i], r);
		assert_formats_as(&s, "1"); /* untouched */
	}
	/* a syntax error anywhere still wins over the range */
	assert_int_equal(cpuset_parse("18446744073709551617,x", 22, &s), -EINVAL);
}

/* A reversed range is a syntax error whatever its numbers; an ordered one out of range
 * is a range error, also when both ids are too large to tell apart as CPU ids. */
static void test_cpuset_parse_reversed_huge_ranges(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"5000-4097", -EINVAL},
		{"4097-5000", -ERANGE},
		{"5000-100", -EINVAL},
		{"100-5000", -ERANGE},
		{"4097-4097", -ERANGE},
		{"0004097-4097", -ERANGE},
		{"4097-00004096", -EINVAL},
		{"18446744073709551617-18446744073709551616", -EINVAL},
		{"18446744073709551616-18446744073709551617", -ERANGE},
		{"99999999999999999999999-100000000000000000000000", -ERANGE},
		{"100000000000000000000000-99999999999999999999999", -EINVAL},
		{"1,4097-4096,99999", -EINVAL},
	};
	struct cpuset s = parse_ok("1");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = cpuset_parse(cases[i].text, strlen(cases[i].text), &s);

		if (r != cases[i].want)
			fail_msg("'%s' gave %d, want %d", cases[i].text, r, cases[i].want);
	}
	assert_formats_as(&s, "1");
}

static void test_cpuset_parse_mask_words(void **state)
{
	static const char kp[] = "00000000,0000ffff\n\0";
	struct cpuset s;

	(void)state;
	assert_int_equal(cpuset_parse_mask(kp, sizeof(kp) - 1, &s), 0);
	assert_formats_as(&s, "0-15");
	assert_int_equal(cpuset_parse_mask("1,00000000,80000001", 19, &s), 0);
	assert_formats_as(&s, "0,31,64");
	assert_int_equal(cpuset_parse_mask("F0", 2, &s), 0);
	assert_formats_as(&s, "4-7");
	assert_int_equal(cpuset_parse_mask("0", 1, &s), 0);
	assert_true(cpuset_is_empty(&s));
	assert_int_equal(cpuset_parse_mask("", 0, &s), 0);
	assert_true(cpuset_is_empty(&s));
}

static void test_cpuset_parse_mask_rejects(void **state)
{
	static const char *const bad[] = {"g", "ff,", ",ff", "ff,,ff", "123456789", "f f"};
	struct cpuset s = parse_ok("9");
	char big[CPUSET_WORDS * 2 * 9 + 16];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cpuset_parse_mask(bad[i], strlen(bad[i]), &s) != -EINVAL)
			fail_msg("'%s' not rejected", bad[i]);
	/* 129 groups: a zero high group is fine, a set bit past CPUSET_MAX is not */
	memcpy(big, "00000000", 8);
	n = 8;
	for (int i = 0; i < CPUSET_WORDS * 2; i++) {
		memcpy(big + n, ",00000001", 9);
		n += 9;
	}
	assert_int_equal(cpuset_parse_mask(big, n, &s), 0);
	assert_int_equal(cpuset_count(&s), CPUSET_WORDS * 2);
	big[7] = '1';
	s = parse_ok("9");
	assert_int_equal(cpuset_parse_mask(big, n, &s), -ERANGE);
	assert_formats_as(&s, "9");
}

static void test_cpuset_format_nospace(void **state)
{
	struct cpuset s = parse_ok("0-3,100-200");
	char buf[6];

	(void)state;
	assert_int_equal(cpuset_format(&s, buf, sizeof(buf)), -ENOSPC);
	assert_string_equal(buf, "0-3,1");
	assert_int_equal(cpuset_format(&s, buf, 0), -ENOSPC);
	cpuset_zero(&s);
	assert_int_equal(cpuset_format(&s, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(cpuset_format(&s, buf, 1), 0);
}

static void test_cpuset_format_roundtrip_alternate(void **state)
{
	struct cpuset s, back;
	static char buf[CPUSET_MAX * 6];
	int n;

	(void)state;
	cpuset_zero(&s);
	for (unsigned int i = 0; i < CPUSET_MAX; i += 2)
		cpuset_set(&s, i);
	n = cpuset_format(&s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(cpuset_parse(buf, (size_t)n, &back), 0);
	assert_true(cpuset_equal(&s, &back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuset_set_basic),
		cmocka_unit_test(test_cpuset_next_walks_words),
		cmocka_unit_test(test_cpuset_ops_combine),
		cmocka_unit_test(test_cpuset_parse_ranges),
		cmocka_unit_test(test_cpuset_parse_padding),
		cmocka_unit_test(test_cpuset_parse_rejects_garbage),
		cmocka_unit_test(test_cpuset_parse_range_errors),
		cmocka_unit_test(test_cpuset_parse_id_limits),
		cmocka_unit_test(test_cpuset_parse_reversed_huge_ranges),
		cmocka_unit_test(test_cpuset_parse_mask_words),
		cmocka_unit_test(test_cpuset_parse_mask_rejects),
		cmocka_unit_test(test_cpuset_format_nospace),
		cmocka_unit_test(test_cpuset_format_roundtrip_alternate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
