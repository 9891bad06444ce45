/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for bpf/statwin.c (when the BPF run-time statistics are on). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bpf/statwin.h"

#define MS 1000000ULL

static void test_statwin_init_defaults(void **state)
{
	struct statwin w;

	(void)state;
	statwin_init(&w, 0, 0);
	assert_true(w.window_ns == STATWIN_DEFAULT_WINDOW_NS);
	assert_true(w.period_ns == STATWIN_DEFAULT_PERIOD_NS);
	assert_true(statwin_duty(&w) > 0.099 && statwin_duty(&w) < 0.101);
}

/* The first step opens; the window closes once window_ns has passed, not before. */
static void test_statwin_step_open_close(void **state)
{
	struct statwin w;

	(void)state;
	statwin_init(&w, 100 * MS, 1000 * MS);
	assert_int_equal(statwin_step(&w, 5000 * MS), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 5050 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 5099 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 5120 * MS), STATWIN_CLOSE);
	assert_true(w.last_len == 120 * MS);
}

/* The next window opens one period after the previous opening, not after the close. */
static void test_statwin_step_period(void **state)
{
	struct statwin w;

	(void)state;
	statwin_init(&w, 100 * MS, 1000 * MS);
	assert_int_equal(statwin_step(&w, 0), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 150 * MS), STATWIN_CLOSE);
	assert_int_equal(statwin_step(&w, 500 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 999 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 1000 * MS), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 1100 * MS), STATWIN_CLOSE);
	/* A collect that comes late opens at once. */
	assert_int_equal(statwin_step(&w, 5000 * MS), STATWIN_OPEN);
}

/* window >= period: statistics stay on, each window rolls into the next. */
static void test_statwin_step_always_on(void **state)
{
	struct statwin w;

	(void)state;
	statwin_init(&w, 200 * MS, 100 * MS);
	assert_true(statwin_duty(&w) == 1.0);
	assert_int_equal(statwin_step(&w, 0), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 100 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 200 * MS), STATWIN_ROLL);
	assert_true(w.last_len == 200 * MS);
	assert_int_equal(statwin_step(&w, 300 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 450 * MS), STATWIN_ROLL);
	assert_true(w.last_len == 250 * MS);
}

/* A clock that goes back restarts the window instead of timing a negative span. */
static void test_statwin_step_clock_back(void **state)
{
	struct statwin w;

	(void)state;
	statwin_init(&w, 100 * MS, 1000 * MS);
	assert_int_equal(statwin_step(&w, 500 * MS), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 400 * MS), STATWIN_OPEN);
	assert_int_equal(statwin_step(&w, 450 * MS), STATWIN_NONE);
	assert_int_equal(statwin_step(&w, 500 * MS), STATWIN_CLOSE);
	assert_true(w.last_len == 100 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statwin_init_defaults),
		cmocka_unit_test(test_statwin_step_open_close),
		cmocka_unit_test(test_statwin_step_period),
		cmocka_unit_test(test_statwin_step_always_on),
		cmocka_unit_test(test_statwin_step_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
