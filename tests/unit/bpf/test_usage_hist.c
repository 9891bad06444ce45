/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for bpf/usage_hist.c (percentiles of the log2 latency histogram). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/types.h>

#include "bpf/usage_abi.h"
#include "bpf/usage_hist.h"

static void test_usage_hist_percentile_empty(void **state)
{
	__u64 h[USAGE_HIST_BUCKETS] = {0};
	double v = -1;

	(void)state;
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 0.5, &v), -ENODATA);
	assert_true(v == -1);
}

static void test_usage_hist_percentile_bad_q(void **state)
{
	__u64 h[USAGE_HIST_BUCKETS] = {[3] = 1};
	double v;

	(void)state;
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 0.0, &v), -EINVAL);
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 1.5, &v), -EINVAL);
	assert_int_equal(usage_hist_percentile(NULL, USAGE_HIST_BUCKETS, 0.5, &v), -EINVAL);
}

/* One bucket [8, 16) us with 4 samples: ranks interpolate across the bucket. */
static void test_usage_hist_percentile_single_bucket(void **state)
{
	__u64 h[USAGE_HIST_BUCKETS] = {[3] = 4};
	double v;

	(void)state;
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 0.5, &v), 0);
	assert_true(v == 12.0); /* rank 2 of 4 -> 8 + 8 * 2/4 */
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 1.0, &v), 0);
	assert_true(v == 16.0);
}

/* 99 fast samples and 1 slow one: p50 is fast, p99 still fast, p100 slow. */
static void test_usage_hist_percentile_tail(void **state)
{
	__u64 h[USAGE_HIST_BUCKETS] = {[0] = 99, [10] = 1};
	double v;

	(void)state;
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 0.5, &v), 0);
	assert_true(v < 2.0);
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 0.99, &v), 0);
	assert_true(v <= 2.0);
	assert_int_equal(usage_hist_percentile(h, USAGE_HIST_BUCKETS, 1.0, &v), 0);
	assert_true(v > 1024.0 && v <= 2048.0);
}

static void test_usage_hist_delta_saturates(void **state)
{
	__u64 now[3] = {10, 5, 7}, before[3] = {4, 9, 7}, out[3];

	(void)state;
	usage_hist_delta(now, before, out, 3);
	assert_int_equal(out[0], 6);
	assert_int_equal(out[1], 0); /* went backwards: slot was reset */
	assert_int_equal(out[2], 0);
	assert_int_equal(usage_hist_total(now, 3), 22);
}

static void test_usage_hist_bucket_lo_powers(void **state)
{
	(void)state;
	assert_true(usage_hist_bucket_lo(0) == 0.0);
	assert_true(usage_hist_bucket_lo(1) == 2.0);
	assert_true(usage_hist_bucket_lo(10) == 1024.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_hist_percentile_empty),
		cmocka_unit_test(test_usage_hist_percentile_bad_q),
		cmocka_unit_test(test_usage_hist_percentile_single_bucket),
		cmocka_unit_test(test_usage_hist_percentile_tail),
		cmocka_unit_test(test_usage_hist_delta_saturates),
		cmocka_unit_test(test_usage_hist_bucket_lo_powers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
