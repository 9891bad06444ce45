/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the closed-loop controller (policy/control.c, control_pick.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/control.h"

#define MS UINT64_C(1000000)
#define S  UINT64_C(1000000000)

static struct control_config base_cfg(void)
{
	return (struct control_config){
		.target_us = 1000,
		.hysteresis_percent = 10,
		.step_percent = 25,
		.min_quota_percent = 20,
		.cooldown_ns = 1 * S,
		.relax_interval_ns = 200 * MS,
		.step_interval_ns = 100 * MS,
		.actions_per_second = 0,
		.evict_enabled = true,
		.evictions_per_minute = 1,
		.pressure_persist_ns = 300 * MS,
	};
}

/* ls: the protected container; b1, b2: best-effort / burstable burners. */
struct fx {
	struct control *c;
	struct control_sample s[3];
	struct control_action a[8];
};

static void fx_init(struct fx *f, const struct control_config *cfg)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(control_new(cfg, &f->c), 0);
	f->s[0] = (struct control_sample){.id = "ls",
					  .qos = QOS_GUARANTEED,
					  .latency_sensitive = true,
					  .has_rq = true,
					  .rq_samples = 100,
					  .rq_p99_us = 100,
					  .quota = 100000,
					  .period = 100000,
					  .request_mcpu = 1000,
					  .limit_mcpu = 1000,
					  .interval_ns = 100 * MS};
	f->s[1] = (struct control_sample){.id = "b1",
					  .qos = QOS_BESTEFFORT,
					  .cpu_cores = 1.0,
					  .preempt_inflicted = 50,
					  .has_memory = true,
					  .memory_bytes = 10 << 20,
					  .period = 100000,
					  .interval_ns = 100 * MS};
	f->s[2] = (struct control_sample){.id = "b2",
					  .qos = QOS_BURSTABLE,
					  .cpu_cores = 0.8,
					  .preempt_inflicted = 10,
					  .has_memory = true,
					  .memory_bytes = 20 << 20,
					  .quota = 200000,
					  .period = 100000,
					  .request_mcpu = 500,
					  .limit_mcpu = 2000,
					  .interval_ns = 100 * MS};
}

static int fx_step(struct fx *f, uint64_t now)
{
	int n = control_step(f->c, f->s, 3, NULL, now, f->a, 8);

	assert_true(n >= 0);
	return n;
}

static const struct control_action *find_action(const struct fx *f, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(f->a[i].id, id))
			return &f->a[i];
	return NULL;
}

static void test_control_step_breach_throttles_in_one_tick(void **state)
{
	struct control_config cfg = base_cfg();
	const struct control_action *a1, *a2;
	struct fx f;
	int n;

	(void)state;
	fx_init(&f, &cfg);
	assert_int_equal(fx_step(&f, 1 * S), 0);
	f.s[0].rq_p99_us = 5000;
	n = fx_step(&f, 1 * S + 100 * MS);
	assert_int_equal(n, 2);
	/* the most harmful first */
	assert_string_equal(f.a[0].id, "b1");
	a1 = find_action(&f, n, "b1");
	a2 = find_action(&f, n, "b2");
	assert_int_equal(a1->kind, CONTROL_THROTTLE);
	assert_int_equal(a1->reason, CONTROL_R_LATENCY);
	assert_string_equal(a1->protected_id, "ls");
	/* from the start of the interval in which the breach was seen */
	assert_int_equal(a1->since_ns, 1 * S);
	/* unlimited, using 1 CPU: starts at 100000, one step of 25 % of a CPU */
	assert_int_equal(a1->quota, 75000);
	assert_int_equal(a1->period, 100000);
	/* limited to 2 CPUs, uses 0.8: starts at 80000, step 25 % of the 2-CPU limit */
	assert_int_equal(a2->quota, 30000);
	assert_false(a1->dry_run);
	assert_null(find_action(&f, n, "ls"));
	control_free(f.c);
}

static void test_control_step_throttles_step_by_step_to_the_floor(void **state)
{
	struct control_config cfg = base_cfg();
	int64_t q = 0;
	struct fx f;
	int n;

	(void)state;
	fx_init(&f, &cfg);
	f.s[0].rq_p99_us = 5000;
	f.s[2].cpu_cores = 0; /* idle: not worth throttling */
	assert_int_equal(fx_step(&f, 0), 1);
	/* too soon for the next step */
	assert_int_equal(fx_step(&f, 50 * MS), 0);
	uint64_t t = 100 * MS;
	const int64_t want[] = {50000, 25000, 20000};
	for (size_t i = 0; i < 3; i++, t += 100 * MS) {
		n = fx_step(&f, t);
		assert_int_equal(n, 1);
		assert_int_equal(f.a[0].quota, want[i]);
	}
	/* at the floor (20 % of a CPU): nothing more */
	assert_int_equal(fx_step(&f, t), 0);
	assert_int_equal(control_throttle_of(f.c, "b1", &q, NULL), 1);
	assert_int_equal(q, 20000);
	assert_int_equal(control_throttle_of(f.c, "b2", &q, NULL), 0);
	control_free(f.c);
}

static void test_control_step_hysteresis(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	fx_init(&f, &cfg);
	/* over the target, but not by the hysteresis: no breach */
	f.s[0].rq_p99_us = 1050;
	assert_int_equal(fx_step(&f, 0), 0);
	f.s[0].rq_p99_us = 1200;
	assert_int_equal(fx_step(&f, 100 * MS), 2);
	/* back under the target but not under target - 10 %: still breached */
	f.s[0].rq_p99_us = 950;
	assert_int_equal(fx_step(&f, 200 * MS), 2);
	f.s[0].rq_p99_us = 850;
	assert_int_equal(fx_step(&f, 300 * MS), 0);
	control_free(f.c);
}

static void test_control_step_cooldown_then_relax_then_restore(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx f;
	int n;

	(void)state;
	fx_init(&f, &cfg);
	f.s[2].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 1);
	assert_int_equal(fx_step(&f, 100 * MS), 1); /* 50000 */
	f.s[0].rq_p99_us = 100;
	/* calm from 200 ms: nothing during the cool-down */
	for (t = 200 * MS; t < 1200 * MS; t += 100 * MS)
		assert_int_equal(fx_step(&f, t), 0);
	n = fx_step(&f, 1200 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f.a[0].kind, CONTROL_RELAX);
	assert_int_equal(f.a[0].reason, CONTROL_R_CALM);
	assert_int_equal(f.a[0].quota, 75000);
	/* relax interval 200 ms */
	assert_int_equal(fx_step(&f, 1300 * MS), 0);
	n = fx_step(&f, 1400 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f.a[0].kind, CONTROL_RESTORE);
	assert_int_equal(f.a[0].quota, -1); /* it had no limit */
	assert_int_equal(control_throttle_of(f.c, "b1", NULL, NULL), 0);
	assert_int_equal(fx_step(&f, 2 * S), 0);
	control_free(f.c);
}

static void test_control_step_quiet_victim_is_restored_at_once(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.relax_interval_ns = 10 * S; /* no ordinary relax step in this test */
	fx_init(&f, &cfg);
	f.s[2].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 1); /* b1 to 75000 */
	f.s[0].rq_p99_us = 100;
	f.s[1].cpu_cores = 0;
	f.s[1].throttled_ns = 90 * MS; /* no CPU, but only because CFS held it back */
	assert_int_equal(fx_step(&f, 100 * MS), 0);
	assert_int_equal(fx_step(&f, 1100 * MS), 0);
	f.s[1].throttled_ns = 0; /* the burner stopped: quiet for 5 periods + an interval */
	assert_int_equal(fx_step(&f, 1150 * MS), 0);
	assert_int_equal(fx_step(&f, 1700 * MS), 0);
	assert_int_equal(fx_step(&f, 1750 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_RESTORE);
	assert_int_equal(f.a[0].reason, CONTROL_R_QUIET);
	control_free(f.c);
}

static void test_control_step_quiet_victim_is_restored_during_a_breach(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	fx_init(&f, &cfg);
	f.s[2].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 1);
	/* the breach goes on (not its fault any more), the burner stopped */
	f.s[1].cpu_cores = 0;
	assert_int_equal(fx_step(&f, 100 * MS), 0);
	assert_int_equal(fx_step(&f, 600 * MS), 0);
	assert_int_equal(fx_step(&f, 700 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_RESTORE);
	assert_int_equal(f.a[0].reason, CONTROL_R_QUIET);
	assert_int_equal(f.a[0].quota, -1);
	/* still quiet and no longer throttled: nothing more */
	assert_int_equal(fx_step(&f, 800 * MS), 0);
	/* busy again, breach: throttled again, and the next quiet restore takes twice
	 * as long (10 periods) */
	f.s[1].cpu_cores = 1.0;
	assert_int_equal(fx_step(&f, 900 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_THROTTLE);
	f.s[1].cpu_cores = 0;
	assert_int_equal(fx_step(&f, 1000 * MS), 0);
	assert_int_equal(fx_step(&f, 2000 * MS), 0);
	assert_int_equal(fx_step(&f, 2100 * MS), 1);
	assert_int_equal(f.a[0].reason, CONTROL_R_QUIET);
	control_free(f.c);
}

static void test_control_step_rebreach_after_relax_doubles_the_cooldown(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx f;

	(void)state;
	fx_init(&f, &cfg);
	f.s[2].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 1);	    /* 75000 */
	assert_int_equal(fx_step(&f, 100 * MS), 1); /* 50000 */
	f.s[1].cpu_cores = 0.5;			    /* pressing against its quota */
	f.s[0].rq_p99_us = 100;
	assert_int_equal(fx_step(&f, 200 * MS), 0);
	assert_int_equal(fx_step(&f, 1200 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_RELAX);
	assert_int_equal(f.a[0].quota, 75000);
	/* the relax brings the breach back: throttled again */
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 1300 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_THROTTLE);
	f.s[0].rq_p99_us = 100;
	/* calm from 1400 ms: now it takes 2 s, not 1 s */
	for (t = 1400 * MS; t < 3400 * MS; t += 100 * MS)
		assert_int_equal(fx_step(&f, t), 0);
	assert_int_equal(fx_step(&f, 3400 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_RELAX);
	control_free(f.c);
}

static void test_control_step_restores_the_runtime_quota(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.cooldown_ns = 0;
	cfg.relax_interval_ns = 0;
	fx_init(&f, &cfg);
	f.s[1].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 1);
	assert_int_equal(f.a[0].quota, 30000);
	f.s[0].rq_p99_us = 10;
	for (uint64_t t = 100 * MS;; t += 100 * MS) {
		assert_int_equal(fx_step(&f, t), 1);
		if (f.a[0].kind == CONTROL_RESTORE)
			break;
		assert_true(t < 2 * S);
	}
	assert_int_equal(f.a[0].quota, 200000);
	control_free(f.c);
}

static void test_control_step_throttle_period_stretches_and_restores(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.throttle_period_us = 1000000;
	cfg.min_quota_percent = 0;
	cfg.step_percent = 100;
	cfg.cooldown_ns = 0;
	cfg.relax_interval_ns = 0;
	fx_init(&f, &cfg);
	f.s[1].cpu_cores = 0;
	f.s[0].rq_p99_us = 5000;
	/* b2: 2-CPU limit at 100 ms = 200000; at 1 s, using 0.8 CPU: starts at 800000,
	 * a step of 100 % of the limit takes it to the kernel's 1 ms floor */
	assert_int_equal(fx_step(&f, 0), 1);
	assert_int_equal(f.a[0].quota, 1000);
	assert_int_equal(f.a[0].period, 1000000);
	f.s[0].rq_p99_us = 10;
	assert_int_equal(fx_step(&f, 100 * MS), 1);
	assert_int_equal(f.a[0].kind, CONTROL_RESTORE);
	assert_int_equal(f.a[0].quota, 200000);
	assert_int_equal(f.a[0].period, 100000);
	control_free(f.c);
}

static void test_control_step_protected_gone_restores_at_once(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;
	int n;

	(void)state;
	fx_init(&f, &cfg);
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 2);
	n = control_step(f.c, &f.s[1], 2, NULL, 100 * MS, f.a, 8);
	assert_int_equal(n, 2);
	assert_int_equal(f.a[0].kind, CONTROL_RESTORE);
	assert_int_equal(f.a[0].reason, CONTROL_R_GONE);
	assert_int_equal(find_action(&f, n, "b2")->quota, 200000);
	control_free(f.c);
}

static void test_control_step_rate_limit(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.actions_per_second = 3;
	fx_init(&f, &cfg);
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 2);
	assert_int_equal(fx_step(&f, 100 * MS), 1); /* the third of this second */
	assert_int_equal(fx_step(&f, 200 * MS), 0);
	assert_int_equal(fx_step(&f, 900 * MS), 0);
	assert_int_equal(fx_step(&f, 1 * S), 2); /* a new second */
	control_free(f.c);
}

static void test_control_step_intrusion_breach(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.intrusion_percent = 5;
	fx_init(&f, &cfg);
	f.s[0].exclusive = true;
	f.s[0].has_intrusion = true;
	f.s[0].intrusion_ns = 20 * MS; /* 20 % of the interval */
	assert_int_equal(fx_step(&f, 0), 2);
	assert_int_equal(f.a[0].reason, CONTROL_R_INTRUSION);
	control_free(f.c);
}

static void test_control_step_memory_victim_by_growth(void **state)
{
	struct control_config cfg = base_cfg();
	struct control_node node = {.mem_total_bytes = 1000, .mem_used_bytes = 990};
	struct fx f;
	int n;

	(void)state;
	cfg.memory_watermark_percent = 95;
	fx_init(&f, &cfg);
	assert_int_equal(control_step(f.c, f.s, 3, &node, 0, f.a, 8), 0);
	/* b1 (BestEffort, smaller) grows; b2 (Burstable, larger) does not */
	f.s[1].memory_bytes += 50 << 20;
	assert_int_equal(control_step(f.c, f.s, 3, &node, 200 * MS, f.a, 8), 0);
	n = control_step(f.c, f.s, 3, &node, 300 * MS, f.a, 8);
	assert_int_equal(n, 1);
	assert_int_equal(f.a[0].kind, CONTROL_EVICT);
	assert_int_equal(f.a[0].reason, CONTROL_R_MEMORY_WATERMARK);
	assert_string_equal(f.a[0].id, "b1");
	assert_int_equal(f.a[0].since_ns, 0);
	assert_false(f.a[0].dry_run);
	/* one per minute */
	assert_int_equal(control_step(f.c, f.s, 3, &node, 5 * S, f.a, 8), 0);
	n = control_step(f.c, f.s, 3, &node, 61 * S, f.a, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f.a[0].id, "b2");
	/* the Guaranteed one is never a victim */
	assert_int_equal(control_step(f.c, f.s, 3, &node, 200 * S, f.a, 8), 0);
	control_free(f.c);
}

static void test_control_step_eviction_waits_for_the_victim_to_go(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.memory_watermark_bytes = 1;
	cfg.pressure_persist_ns = 0;
	cfg.evictions_per_minute = 100;
	cfg.evict_settle_ns = 30 * S;
	fx_init(&f, &cfg);
	assert_int_equal(fx_step(&f, 0), 1);
	assert_string_equal(f.a[0].id, "b1"); /* no growth seen: BestEffort first */
	/* still there: nothing more until it is gone or the settle time passed */
	assert_int_equal(fx_step(&f, 1 * S), 0);
	assert_int_equal(fx_step(&f, 31 * S), 1);
	assert_string_equal(f.a[0].id, "b2");
	/* gone: the next one may go at once */
	f.s[0].qos = QOS_BURSTABLE;
	f.s[0].latency_sensitive = false;
	f.s[0].has_memory = true;
	f.s[0].memory_bytes = 1 << 20;
	assert_int_equal(control_step(f.c, f.s, 1, NULL, 32 * S, f.a, 8), 1);
	assert_string_equal(f.a[0].id, "ls");
	control_free(f.c);
}

static void test_control_step_memory_priority_on_equal_harm(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;
	int n;

	(void)state;
	cfg.memory_watermark_bytes = 1;
	cfg.pressure_persist_ns = 0;
	fx_init(&f, &cfg);
	f.s[1].memory_bytes = f.s[2].memory_bytes;
	/* pressure from the first tick: no growth seen, BestEffort goes first */
	n = control_step(f.c, f.s, 3, NULL, 0, f.a, 8);
	assert_int_equal(n, 1);
	assert_string_equal(f.a[0].id, "b1");
	assert_int_equal(f.a[0].reason, CONTROL_R_MEMORY_WATERMARK);
	control_free(f.c);
}

static void test_control_step_evicts_guaranteed_only_if_configured(void **state)
{
	struct control_config cfg = base_cfg();
	struct control_node node = {.has_psi = true, .psi_mem_some_avg10 = 80};
	struct control_sample g = {
		.id = "g", .qos = QOS_GUARANTEED, .has_memory = true, .memory_bytes = 1 << 30};
	struct control_action a[2];
	struct control *c;

	(void)state;
	cfg.psi_threshold_percent = 40;
	cfg.pressure_persist_ns = 0;
	assert_int_equal(control_new(&cfg, &c), 0);
	assert_int_equal(control_step(c, &g, 1, &node, 0, a, 2), 0);
	cfg.evict_guaranteed = true;
	control_set_config(c, &cfg);
	assert_int_equal(control_step(c, &g, 1, &node, 1, a, 2), 1);
	assert_int_equal(a[0].reason, CONTROL_R_MEMORY_PSI);
	control_free(c);
}

static void test_control_step_latency_persists_evicts_worst_harmer(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;
	uint64_t t;
	int n = 0;

	(void)state;
	cfg.step_percent = 100;
	cfg.latency_evict_after_ns = 500 * MS;
	fx_init(&f, &cfg);
	f.s[0].rq_p99_us = 5000;
	for (t = 0; t < 2 * S && n == 0; t += 100 * MS) {
		n = fx_step(&f, t);
		if (n && f.a[0].kind == CONTROL_THROTTLE)
			n = 0;
	}
	assert_int_equal(n, 1);
	assert_int_equal(f.a[0].kind, CONTROL_EVICT);
	assert_int_equal(f.a[0].reason, CONTROL_R_LATENCY_PERSISTS);
	assert_string_equal(f.a[0].id, "b1");
	assert_true(t - 100 * MS >= 500 * MS);
	control_free(f.c);
}

static void test_control_step_dry_run(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.dry_run = true;
	cfg.evict_dry_run = true;
	cfg.memory_watermark_bytes = 1;
	cfg.pressure_persist_ns = 0;
	fx_init(&f, &cfg);
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(fx_step(&f, 0), 3);
	for (int i = 0; i < 3; i++)
		assert_true(f.a[i].dry_run);
	control_free(f.c);
}

static void test_control_step_eviction_disabled(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx f;

	(void)state;
	cfg.evict_enabled = false;
	cfg.memory_watermark_bytes = 1;
	cfg.pressure_persist_ns = 0;
	fx_init(&f, &cfg);
	assert_int_equal(fx_step(&f, 0), 0);
	control_free(f.c);
}

static void test_control_step_bad_input(void **state)
{
	struct control_config cfg = base_cfg();
	struct control_action a[1];
	struct fx f;

	(void)state;
	fx_init(&f, &cfg);
	assert_int_equal(control_step(f.c, NULL, 1, NULL, 0, a, 1), -EINVAL);
	f.s[1].id = "ls";
	assert_int_equal(control_step(f.c, f.s, 3, NULL, 0, a, 1), -EINVAL);
	f.s[1].id = "";
	assert_int_equal(control_step(f.c, f.s, 3, NULL, 0, a, 1), -EINVAL);
	f.s[1].id = "b1";
	/* no room for actions: nothing is lost, they come out later */
	f.s[0].rq_p99_us = 5000;
	assert_int_equal(control_step(f.c, f.s, 3, NULL, 0, a, 0), 0);
	assert_int_equal(control_step(f.c, f.s, 3, NULL, 0, a, 1), 1);
	assert_string_equal(a[0].id, "b1");
	assert_int_equal(a[0].quota, 75000);
	assert_int_equal(control_new(NULL, &f.c), -EINVAL);
	control_free(f.c);
	control_free(NULL);
}

static void test_control_kind_name_all(void **state)
{
	(void)state;
	assert_string_equal(control_kind_name(CONTROL_EVICT), "evict");
	assert_string_equal(control_kind_name(CONTROL_KIND_COUNT), "unknown");
	assert_string_equal(control_reason_name(CONTROL_R_MEMORY_PSI), "memory-psi");
	assert_string_equal(control_reason_name(CONTROL_REASON_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_step_breach_throttles_in_one_tick),
		cmocka_unit_test(test_control_step_throttles_step_by_step_to_the_floor),
		cmocka_unit_test(test_control_step_hysteresis),
		cmocka_unit_test(test_control_step_cooldown_then_relax_then_restore),
		cmocka_unit_test(test_control_step_quiet_victim_is_restored_at_once),
		cmocka_unit_test(test_control_step_quiet_victim_is_restored_during_a_breach),
		cmocka_unit_test(test_control_step_rebreach_after_relax_doubles_the_cooldown),
		cmocka_unit_test(test_control_step_restores_the_runtime_quota),
		cmocka_unit_test(test_control_step_throttle_period_stretches_and_restores),
		cmocka_unit_test(test_control_step_protected_gone_restores_at_once),
		cmocka_unit_test(test_control_step_rate_limit),
		cmocka_unit_test(test_control_step_intrusion_breach),
		cmocka_unit_test(test_control_step_memory_victim_by_growth),
		cmocka_unit_test(test_control_step_eviction_waits_for_the_victim_to_go),
		cmocka_unit_test(test_control_step_memory_priority_on_equal_harm),
		cmocka_unit_test(test_control_step_evicts_guaranteed_only_if_configured),
		cmocka_unit_test(test_control_step_latency_persists_evicts_worst_harmer),
		cmocka_unit_test(test_control_step_dry_run),
		cmocka_unit_test(test_control_step_eviction_disabled),
		cmocka_unit_test(test_control_step_bad_input),
		cmocka_unit_test(test_control_kind_name_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
