/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixture of the shield tests of the closed-loop controller
 * (tests/unit/policy/test_control_shield.c: the shield's life cycle;
 * test_control_pool.c: how the shared pool's saturation is measured and waited
 * for). Header-only (static inline) so each test binary stays one .c file. The
 * controller lives in a struct fx that setup allocates and teardown frees (also
 * after a failed assertion); fx_init() may be called again after control_free()
 * and f->c = NULL.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/control.h"

#define MS UINT64_C(1000000)
#define S  UINT64_C(1000000000)

/* The fixture's pool saturation is first seen at T_SAT (the first step), dated one
 * interval back; with the 10 % tick slack it has persisted pool_persist_ns (300
 * ms) from T_SAT + 200 ms on. fx_breach_at_persist() breaches at T_SHIELD. */
#define T_SAT	 (1 * S)
#define T_SHIELD (1 * S + 300 * MS)

static inline struct control_config base_cfg(void)
{
	return (struct control_config){
		.target_us = 1000,
		.hysteresis_percent = 10,
		.step_percent = 25,
		.min_quota_percent = 20,
		.cooldown_ns = 1 * S,
		.relax_interval_ns = 200 * MS,
		.step_interval_ns = 100 * MS,
		.shield_enabled = true,
		.pool_saturation_percent = 80,
		.pool_persist_ns = 300 * MS,
		.unshield_percent = 50,
	};
}

/*
 * ls (and ls2 when n is 4): the protected containers; b1, b2: burners. All on the
 * shared pool of 2 CPUs, which b1 + b2 (1.8 CPUs, 90 %) saturate.
 */
struct fx {
	struct control *c;
	struct control_sample s[4];
	size_t n;
	struct control_node node;
	const struct control_node *np;
	struct control_action a[8];
};

static inline struct control_sample ls_sample(const char *id)
{
	return (struct control_sample){.id = id,
				       .qos = QOS_GUARANTEED,
				       .latency_sensitive = true,
				       .has_rq = true,
				       .rq_samples = 100,
				       .rq_p99_us = 100,
				       .quota = 100000,
				       .period = 100000,
				       .request_mcpu = 1000,
				       .limit_mcpu = 1000,
				       .interval_ns = 100 * MS,
				       .shared = true};
}

/* Per test, so that a failed assertion (a longjmp) still frees the controller. */
static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	control_free(f->c);
	free(f);
	return 0;
}

static inline void fx_init(struct fx *f, const struct control_config *cfg)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(control_new(cfg, &f->c), 0);
	f->s[0] = ls_sample("ls");
	f->s[1] = (struct control_sample){.id = "b1",
					  .qos = QOS_BESTEFFORT,
					  .cpu_cores = 1.0,
					  .preempt_inflicted = 50,
					  .period = 100000,
					  .interval_ns = 100 * MS,
					  .shared = true};
	f->s[2] = (struct control_sample){.id = "b2",
					  .qos = QOS_BURSTABLE,
					  .cpu_cores = 0.8,
					  .preempt_inflicted = 10,
					  .quota = 200000,
					  .period = 100000,
					  .request_mcpu = 500,
					  .limit_mcpu = 2000,
					  .interval_ns = 100 * MS,
					  .shared = true};
	f->s[3] = ls_sample("ls2");
	f->n = 3;
	f->node.shared_cpus = 2;
	f->node.shared_busy_cpus = -1; /* unknown: only the containers count */
	f->np = &f->node;
}

static inline int fx_step(struct fx *f, uint64_t now)
{
	int n = control_step(f->c, f->s, f->n, f->np, now, f->a, 8);

	assert_true(n >= 0);
	return n;
}

static inline int count_kind(const struct fx *f, int n, enum control_kind k)
{
	int cnt = 0;

	for (int i = 0; i < n; i++)
		cnt += f->a[i].kind == k;
	return cnt;
}

static inline const struct control_action *find_kind(const struct fx *f, int n, enum control_kind k)
{
	for (int i = 0; i < n; i++)
		if (f->a[i].kind == k)
			return &f->a[i];
	return NULL;
}

/* Idle: 0.8 of 2 CPUs, 40 % < unshield_percent; a pool's demand is the peak of
 * the last 2 s, so it shows idle only 2 s after the last busy step. */
static inline void set_pool_busy(struct fx *f, bool busy)
{
	f->s[1].cpu_cores = busy ? 1.0 : 0.5;
	f->s[2].cpu_cores = busy ? 0.8 : 0.3;
}

/* Steps every 100 ms in [from, to), each expected to write no action. */
static inline void fx_quiet_steps(struct fx *f, uint64_t from, uint64_t to)
{
	for (uint64_t t = from; t < to; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
}

/* Calm ticks from T_SAT until saturation persists, then the breach; returns its
 * action count. */
static inline int fx_breach_at_persist(struct fx *f)
{
	fx_quiet_steps(f, T_SAT, T_SHIELD);
	f->s[0].rq_p99_us = 5000;
	f->s[3].rq_p99_us = 5000;
	return fx_step(f, T_SHIELD);
}

/* As above, and the breach got exactly one real shield. */
static inline void fx_shield(struct fx *f)
{
	int n = fx_breach_at_persist(f);

	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_false(f->a[0].dry_run);
}

/*
 * Breached for 3 s on a pool where no shield applies: no action while the breach
 * is held (hold: the breach waits for a saturation that may still show; 0: it
 * throttles at the step that saw it), the first throttles exactly hold after it
 * was seen, dated from its start, never a shield.
 */
static inline void assert_throttles_without_shield(struct fx *f, uint64_t hold)
{
	int n, throttles = 0;

	n = fx_breach_at_persist(f);
	if (hold) {
		assert_int_equal(n, 0);
		fx_quiet_steps(f, T_SHIELD + 100 * MS, T_SHIELD + hold);
		n = fx_step(f, T_SHIELD + hold);
	}
	assert_int_equal(n, 2);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_int_equal(f->a[0].since_ns, T_SHIELD - 100 * MS);
	for (uint64_t t = T_SHIELD + hold + 100 * MS; t < T_SHIELD + 3 * S; t += 100 * MS) {
		n = fx_step(f, t);
		assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
		throttles += count_kind(f, n, CONTROL_THROTTLE);
	}
	assert_true(throttles > 0);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 1);
}

/* cmocka 1.1.5 has no double comparison. */
static inline void assert_near(double got, double want)
{
	if (got - want > 1e-9 || want - got > 1e-9)
		fail_msg("got %.9f, want %.9f", got, want);
}
