/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of how the closed-loop controller measures the shared pool
 * (policy/control_pool.c): saturation from the containers' peak demand (CPU used
 * plus CFS throttled time) and other load, when it persists, how long a breach
 * waits for it (the hold), and control_pool_of(). The shield's life cycle:
 * test_control_shield.c. Fixture: test_control_shield_fx.h.
 */
#include "tests/unit/policy/test_control_shield_fx.h"

/* Breach seen at T_SHIELD on a pool that does not saturate: throttled 300 ms later. */
#define HOLD (300 * MS)

/* Saturated for 200 ms only when the breach is seen: held, no throttle; shielded
 * once the saturation persists, dated from the breach's start. */
static void test_control_step_shield_waits_for_saturation_to_persist(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	assert_int_equal(fx_step(f, T_SAT), 0);
	f->s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(f, T_SAT + 100 * MS), 0);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
	n = fx_step(f, T_SAT + 200 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_int_equal(f->a[0].since_ns, T_SAT);
}

/* A tick 10 ms early still counts as a whole interval; 20 ms early does not. */
static void test_control_step_shield_persist_allows_tick_jitter(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	assert_int_equal(fx_step(f, T_SAT), 0); /* saturated since T_SAT - 100 ms */
	f->s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(f, T_SAT + 100 * MS), 0);
	assert_int_equal(fx_step(f, T_SAT + 180 * MS), 0);
	n = fx_step(f, T_SAT + 190 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
}

/* The pool saturates during the hold: shielded, never throttled. */
static void test_control_step_shield_hold_then_shield(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t t0 = 2 * S;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	set_pool_busy(f, false);
	fx_quiet_steps(f, T_SAT, t0);
	f->s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(f, t0), 0);
	set_pool_busy(f, true);
	fx_quiet_steps(f, t0 + 100 * MS, t0 + 300 * MS);
	n = fx_step(f, t0 + 300 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_int_equal(f->a[0].since_ns, t0 - 100 * MS);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
}

/*
 * A neighbour that begins to use CPU during the hold restarts it: its load shows
 * as a fraction of itself in the interval it began in. Without the restart the
 * hold ends at t0 + 300 ms, 100 ms before the saturation persists.
 */
static void test_control_step_shield_hold_restarts_when_load_begins(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t t0 = 2 * S;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	f->s[2].cpu_cores = 0; /* b2 idle: 1.0 of 2 CPUs */
	fx_quiet_steps(f, T_SAT, t0);
	f->s[0].rq_p99_us = 5000;
	fx_quiet_steps(f, t0, t0 + 200 * MS);
	/* b2 begins to want CPU; its own quota holds it back: throttled time only */
	f->s[2].cpu_cores = 0.02;
	f->s[2].throttled_ns = 78 * MS;
	fx_quiet_steps(f, t0 + 200 * MS, t0 + 400 * MS);
	n = fx_step(f, t0 + 400 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
}

/* An LS container that begins to use CPU is not load a shield would move. */
static void test_control_step_shield_hold_not_restarted_by_ls_load(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	f->n = 4;
	f->s[2].cpu_cores = 0.2; /* with ls2's 0.3 later: 1.5 of 2 CPUs */
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 0);
	assert_int_equal(fx_step(f, T_SHIELD + 100 * MS), 0);
	f->s[3].cpu_cores = 0.3;
	assert_int_equal(fx_step(f, T_SHIELD + 200 * MS), 0);
	n = fx_step(f, T_SHIELD + HOLD);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
}

/* Dry run: shields are recommendations, so nothing waits for one. */
static void test_control_step_shield_dry_run_does_not_hold(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	cfg.dry_run = true;
	fx_init(f, &cfg);
	f->s[2].cpu_cores = 0.5;
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 2);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_true(f->a[0].dry_run);
}

/* 1.5 of 2 CPUs (75 % < 80 %): the hold ends without saturation, throttled. */
static void test_control_step_shield_not_on_unsaturated_pool(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->s[2].cpu_cores = 0.5;
	assert_throttles_without_shield(f, HOLD);
}

/* Without the pool's size its saturation can never show: nothing to hold the
 * breach for, throttled at the step that saw it. */
static void test_control_step_shield_not_without_node(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->np = NULL;
	assert_throttles_without_shield(f, 0);
}

static void test_control_step_shield_not_with_unknown_pool_size(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->node.shared_cpus = 0;
	assert_throttles_without_shield(f, 0);
}

static void test_control_step_shield_counts_only_unshielded_pool_use(void **state)
{
	struct control_config cfg = base_cfg();
	double ctr;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	/* 1.8 CPUs in use, but only b1's 1.0 on the pool (50 %): ls2 has a shield of
	 * its own, b2 a cpuset off the pool */
	f->n = 4;
	f->s[3].shielded = true;
	f->s[3].cpu_cores = 0.8;
	f->s[2].shared = false;
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 0);
	assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 0);
	assert_near(ctr, 1.0);
	fx_quiet_steps(f, T_SHIELD + 100 * MS, T_SHIELD + HOLD);
	n = fx_step(f, T_SHIELD + HOLD);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
}

/* The containers want 1.2 of 2 CPUs (60 %), other load keeps 0.6 more busy: 90 %. */
static void test_control_step_shield_counts_other_load(void **state)
{
	struct control_config cfg = base_cfg();
	double wanted, ctr;
	unsigned int cpus;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	f->s[1].cpu_cores = 0.6;
	f->s[2].cpu_cores = 0.6;
	f->node.shared_busy_cpus = 1.8;
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, &cpus), 1);
	assert_near(wanted, 1.8);
	assert_near(ctr, 1.2);
	assert_int_equal(cpus, 2);
}

/* The pool is full, but the containers want 0.8 of 2 CPUs (40 % < 50 %): a shield
 * would move containers, not the load that fills it. */
static void test_control_step_shield_not_for_other_load_alone(void **state)
{
	struct control_config cfg = base_cfg();
	double wanted, ctr;
	struct fx *f = *state;

	fx_init(f, &cfg);
	set_pool_busy(f, false);
	f->node.shared_busy_cpus = 2.0;
	assert_throttles_without_shield(f, HOLD);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, NULL), 0);
	assert_near(wanted, 2.0);
	assert_near(ctr, 0.8);
}

/*
 * Throttled with a 1 s period, b1 runs 0.2 CPU and its throttled time (0.8 s per
 * period) arrives in one lump when each period ends: its demand stays 1.0 and the
 * pool saturated (b2, Guaranteed, is never throttled), so the shield is asked
 * again once the refusal's 3 s cool-down is over.
 */
static void test_control_step_shield_throttled_time_lumps_keep_pool_saturated(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t again = T_SHIELD + 3 * S;
	double ctr;
	struct fx *f = *state;
	int n;

	cfg.cooldown_ns = 3 * S;
	cfg.throttle_period_us = 1000000;
	fx_init(f, &cfg);
	f->s[2].qos = QOS_GUARANTEED;
	fx_shield(f);
	control_shield_refused(f->c, "ls", T_SHIELD);
	n = fx_step(f, T_SHIELD + 100 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_THROTTLE);
	assert_int_equal(f->a[0].period, 1000000);
	f->s[1].cpu_cores = 0.2;
	for (uint64_t t = T_SHIELD + 200 * MS; t < again; t += 100 * MS) {
		f->s[1].throttled_ns = t % S ? 0 : 800 * MS;
		assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_SHIELD), 0);
		assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 1);
		assert_near(ctr, 1.8);
	}
	f->s[1].throttled_ns = 0;
	n = fx_step(f, again);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
}

/* CFS throttled time counts per period, or per interval when the period is shorter. */
static void test_control_pool_of_counts_throttled_time(void **state)
{
	struct control_config cfg = base_cfg();
	double wanted, ctr;
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->s[1].cpu_cores = 0.5;
	f->s[1].period = 50000; /* 50 ms of 100 ms held back: 0.5 */
	f->s[1].throttled_ns = 50 * MS;
	f->s[2].cpu_cores = 0.5;
	f->s[2].quota = 2000000;
	f->s[2].period = 1000000; /* a 1 s period's 300 ms: 0.3 */
	f->s[2].throttled_ns = 300 * MS;
	fx_step(f, T_SAT);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, NULL), 1);
	assert_near(ctr, 1.8);
	assert_near(wanted, 1.8);
}

/* A container's demand counts at its peak for 2 s: a throttle must not hide the
 * saturation that calls for a shield. */
static void test_control_pool_of_peak_lasts_2s(void **state)
{
	struct control_config cfg = base_cfg();
	double ctr;
	struct fx *f = *state;

	fx_init(f, &cfg);
	fx_step(f, T_SAT);
	set_pool_busy(f, false);
	for (uint64_t t = T_SAT + 100 * MS; t < T_SAT + 2 * S; t += 100 * MS) {
		fx_step(f, t);
		assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 1);
		assert_near(ctr, 1.8);
	}
	fx_step(f, T_SAT + 2 * S);
	assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 0);
	assert_near(ctr, 0.8);
}

/* At the threshold is saturated (1.5 of 2 CPUs, 75 %), just under it is not. */
static void test_control_pool_of_saturated_at_threshold(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	cfg.pool_saturation_percent = 75;
	fx_init(f, &cfg);
	f->s[2].cpu_cores = 0.5;
	fx_step(f, T_SAT);
	assert_int_equal(control_pool_of(f->c, NULL, NULL, NULL), 1);
	control_free(f->c);
	f->c = NULL;

	fx_init(f, &cfg);
	f->s[2].cpu_cores = 0.49;
	fx_step(f, T_SAT);
	assert_int_equal(control_pool_of(f->c, NULL, NULL, NULL), 0);
}

static void test_control_pool_of_reports(void **state)
{
	struct control_config cfg = base_cfg();
	double wanted = -1, ctr = -1;
	unsigned int cpus = 99;
	struct fx *f = *state;

	assert_int_equal(control_pool_of(NULL, &wanted, &ctr, &cpus), 0);
	fx_init(f, &cfg);
	/* nothing seen yet */
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, &cpus), 0);
	assert_near(wanted, 0);
	assert_near(ctr, 0);
	assert_int_equal(cpus, 0);
	/* other load smaller than the containers' use adds nothing */
	f->node.shared_busy_cpus = 1.0;
	fx_step(f, T_SAT);
	assert_int_equal(control_pool_of(f->c, NULL, NULL, NULL), 1);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, &cpus), 1);
	assert_near(wanted, 1.8);
	assert_near(ctr, 1.8);
	assert_int_equal(cpus, 2);
	/* pool size unknown: never saturated, the demand still measured */
	f->np = NULL;
	fx_step(f, T_SAT + 100 * MS);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, &cpus), 0);
	assert_near(ctr, 1.8);
	assert_int_equal(cpus, 0);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_control_step_shield_waits_for_saturation_to_persist),
		T(test_control_step_shield_persist_allows_tick_jitter),
		T(test_control_step_shield_hold_then_shield),
		T(test_control_step_shield_hold_restarts_when_load_begins),
		T(test_control_step_shield_hold_not_restarted_by_ls_load),
		T(test_control_step_shield_dry_run_does_not_hold),
		T(test_control_step_shield_not_on_unsaturated_pool),
		T(test_control_step_shield_not_without_node),
		T(test_control_step_shield_not_with_unknown_pool_size),
		T(test_control_step_shield_counts_only_unshielded_pool_use),
		T(test_control_step_shield_counts_other_load),
		T(test_control_step_shield_not_for_other_load_alone),
		T(test_control_step_shield_throttled_time_lumps_keep_pool_saturated),
		T(test_control_pool_of_counts_throttled_time),
		T(test_control_pool_of_peak_lasts_2s),
		T(test_control_pool_of_saturated_at_threshold),
		T(test_control_pool_of_reports),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
