/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the closed-loop controller's shields (policy/control_pool.c): when
 * a shield is asked instead of a throttle, what happens once it shows, when it is
 * given back, refusals, dry run and rate limits. How the pool's saturation is
 * measured and waited for: test_control_pool.c. Fixture: test_control_shield_fx.h.
 */
#include "tests/unit/policy/test_control_shield_fx.h"

/* fx_shielded_then_idle(): the pool's room (its containers want less than
 * unshield_percent of it) begins here, 2 s after its last busy step, T_SHIELD. */
#define T_ROOM (T_SHIELD + 2 * S)

static void test_control_step_shield_instead_of_throttle(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	uint64_t t;
	int n;

	fx_init(f, &cfg);
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_int_equal(f->a[0].reason, CONTROL_R_POOL_SATURATED);
	assert_string_equal(f->a[0].id, "ls");
	assert_string_equal(f->a[0].protected_id, "ls");
	/* the breach began in the interval before T_SHIELD */
	assert_int_equal(f->a[0].since_ns, T_SHIELD - 100 * MS);
	assert_false(f->a[0].dry_run);
	/* pending (< 1 s): nobody throttled, not asked twice */
	for (t = T_SHIELD + 100 * MS; t < T_SHIELD + 1 * S; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
	assert_int_equal(control_throttle_of(f->c, "b2", NULL, NULL), 0);
}

/*
 * Shielded and breached for 4 s: nobody else runs on its CPUs, so holding its
 * former neighbours back cannot help it. Neither a throttle (even once the pool is
 * idle and nothing holds a breach back) nor a second shield.
 */
static void test_control_step_shield_never_throttles_for_a_shielded_container(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	fx_shield(f);
	assert_int_equal(fx_step(f, T_SHIELD + 100 * MS), 0);
	f->s[0].shielded = true;
	fx_quiet_steps(f, T_SHIELD + 200 * MS, T_SHIELD + 2 * S);
	set_pool_busy(f, false);
	fx_quiet_steps(f, T_SHIELD + 2 * S, T_SHIELD + 4 * S);
	assert_int_equal(control_pool_of(f->c, NULL, NULL, NULL), 0);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
	assert_int_equal(control_throttle_of(f->c, "b2", NULL, NULL), 0);
}

static void test_control_step_shield_not_when_disabled(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	cfg.shield_enabled = false;
	fx_init(f, &cfg);
	assert_throttles_without_shield(f, 0); /* nothing to wait for */
}

static void test_control_step_shield_not_off_the_shared_pool(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->s[0].shared = false;
	assert_throttles_without_shield(f, 0);
}

static void test_control_step_shield_unseen_within_1s_is_refused(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shield(f);
	fx_quiet_steps(f, T_SHIELD + 100 * MS, T_SHIELD + 1 * S);
	/* never shown shielded: throttle as if shields were off */
	n = fx_step(f, T_SHIELD + 1 * S);
	assert_int_equal(n, 2);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	/* not asked again for the cool-down (1 s) */
	for (t = T_SHIELD + 1100 * MS; t < T_SHIELD + 2 * S; t += 100 * MS) {
		n = fx_step(f, t);
		assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
	}
	n = fx_step(f, T_SHIELD + 2 * S);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
}

static void test_control_shield_refused_throttles_at_once(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shield(f);
	/* neither a NULL controller, a NULL id nor an unknown id is this refusal */
	control_shield_refused(NULL, "ls", T_SHIELD);
	control_shield_refused(f->c, NULL, T_SHIELD);
	control_shield_refused(f->c, "nobody", T_SHIELD);
	assert_int_equal(fx_step(f, T_SHIELD + 50 * MS), 0);
	control_shield_refused(f->c, "ls", T_SHIELD + 50 * MS);
	n = fx_step(f, T_SHIELD + 100 * MS);
	assert_int_equal(n, 2);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	for (t = T_SHIELD + 200 * MS; t < T_SHIELD + 1050 * MS; t += 100 * MS) {
		n = fx_step(f, t);
		assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
	}
	n = fx_step(f, T_SHIELD + 1050 * MS);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
}

static void assert_restored_shielded(const struct control_action *a, const char *id, int64_t quota)
{
	assert_int_equal(a->kind, CONTROL_RESTORE);
	assert_int_equal(a->reason, CONTROL_R_SHIELDED);
	assert_string_equal(control_reason_name(a->reason), "shielded");
	assert_string_equal(a->id, id);
	assert_int_equal(a->quota, quota);
	assert_int_equal(a->period, 100000);
}

/*
 * No saturation when ls breached: throttled after the hold. Calm thanks to that,
 * while b1 and b2 want more than their quotas let them run (their throttled time
 * shows it): once that saturation persists the shield replaces the throttle, and
 * when it shows, both are restored at once.
 */
static void test_control_step_shield_replaces_a_throttle(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t t0 = T_SHIELD + 300 * MS; /* throttled */
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	set_pool_busy(f, false);
	fx_quiet_steps(f, T_SAT, T_SHIELD);
	f->s[0].rq_p99_us = 5000;
	fx_quiet_steps(f, T_SHIELD, t0);
	n = fx_step(f, t0);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_string_equal(f->a[0].protected_id, "ls");
	/* 0.25 + 0.75 and 0.1 + 0.7 CPUs wanted: 1.8 of 2 */
	f->s[0].rq_p99_us = 100;
	f->s[1].cpu_cores = 0.25;
	f->s[1].throttled_ns = 75 * MS;
	f->s[2].cpu_cores = 0.1;
	f->s[2].throttled_ns = 70 * MS;
	fx_quiet_steps(f, t0 + 100 * MS, t0 + 300 * MS);
	n = fx_step(f, t0 + 300 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	assert_int_equal(f->a[0].reason, CONTROL_R_POOL_SATURATED);
	assert_string_equal(f->a[0].id, "ls");
	assert_int_equal(f->a[0].since_ns, t0); /* the saturation's start */
	f->s[0].shielded = true;
	n = fx_step(f, t0 + 400 * MS);
	assert_int_equal(n, 2);
	assert_restored_shielded(&f->a[0], "b1", -1);
	assert_restored_shielded(&f->a[1], "b2", 200000);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
	assert_int_equal(control_throttle_of(f->c, "b2", NULL, NULL), 0);
	assert_int_equal(fx_step(f, t0 + 500 * MS), 0);
}

/*
 * ls2 has CPUs off the pool (no shield for it): b1 and b2 are throttled for ls2,
 * breached as long as ls, which gets a shield instead. When that shows, the
 * throttles for ls2 stay.
 */
static void test_control_step_shield_restores_only_throttles_for_it(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	f->n = 4;
	f->s[3].shared = false;
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 3);
	assert_string_equal(find_kind(f, n, CONTROL_SHIELD)->id, "ls");
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_string_equal(find_kind(f, n, CONTROL_THROTTLE)->protected_id, "ls2");
	f->s[0].shielded = true;
	n = fx_step(f, T_SHIELD + 100 * MS);
	assert_int_equal(count_kind(f, n, CONTROL_RESTORE), 0);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_string_equal(find_kind(f, n, CONTROL_THROTTLE)->protected_id, "ls2");
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 1);
}

/*
 * Shielded from T_SHIELD + 100 ms (calm there when calm: the shield cured the
 * breach; breached all along otherwise), the pool idle from then on: its demand,
 * the peak of the last 2 s, still shows the busy step at T_SHIELD until T_ROOM,
 * where the room begins. No action until then.
 */
static void fx_shielded_then_idle(struct fx *f, bool calm)
{
	double ctr;

	fx_shield(f);
	f->s[0].shielded = true;
	if (calm)
		f->s[0].rq_p99_us = 100;
	set_pool_busy(f, false);
	fx_quiet_steps(f, T_SHIELD + 100 * MS, T_ROOM);
	assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 1);
	assert_near(ctr, 1.8);
	assert_int_equal(fx_step(f, T_ROOM), 0);
	assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 0);
	assert_near(ctr, 0.8);
}

/* The room began at room: ls given back (calm) exactly wait later, not before. */
static void fx_unshield_at(struct fx *f, uint64_t room, uint64_t wait)
{
	const struct control_action *a;
	uint64_t t;
	int n;

	for (t = room + 100 * MS; t < room + wait; t += 100 * MS)
		assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_UNSHIELD), 0);
	n = fx_step(f, room + wait);
	assert_int_equal(count_kind(f, n, CONTROL_UNSHIELD), 1);
	a = find_kind(f, n, CONTROL_UNSHIELD);
	assert_int_equal(a->reason, CONTROL_R_CALM);
	assert_string_equal(a->id, "ls");
}

static void test_control_step_unshield_after_cooldown(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shielded_then_idle(f, true);
	fx_quiet_steps(f, T_ROOM + 100 * MS, T_ROOM + 1 * S);
	n = fx_step(f, T_ROOM + 1 * S);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_UNSHIELD);
	assert_int_equal(f->a[0].reason, CONTROL_R_CALM);
	assert_string_equal(f->a[0].id, "ls");
	assert_string_equal(f->a[0].protected_id, "");
	/* the caller has not carried it out yet: not asked twice at once */
	assert_int_equal(fx_step(f, T_ROOM + 1100 * MS), 0);
}

/* The trigger is the room: since_ns is when it began, not when ls became calm
 * (T_SHIELD + 100 ms, 1.9 s earlier). */
static void test_control_step_unshield_dated_from_room_start(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shielded_then_idle(f, true);
	fx_quiet_steps(f, T_ROOM + 100 * MS, T_ROOM + 1 * S);
	n = fx_step(f, T_ROOM + 1 * S);
	assert_int_equal(count_kind(f, n, CONTROL_UNSHIELD), 1);
	assert_int_equal(find_kind(f, n, CONTROL_UNSHIELD)->since_ns, T_ROOM);
}

/* Other load (daemons, the kernel) runs on the shield too: only the containers'
 * demand on the pool decides. Counted with it the pool is full (2.0 of 2 CPUs). */
static void test_control_step_unshield_ignores_other_load(void **state)
{
	struct control_config cfg = base_cfg();
	double wanted, ctr;
	struct fx *f = *state;

	fx_init(f, &cfg);
	f->node.shared_busy_cpus = 2.0;
	fx_shielded_then_idle(f, true);
	fx_unshield_at(f, T_ROOM, 1 * S);
	assert_int_equal(control_pool_of(f->c, &wanted, &ctr, NULL), 0);
	assert_near(wanted, 2.0);
	assert_near(ctr, 0.8);
}

/*
 * The caller carries the shield out late (ls calm by then, so it is not taken for
 * a refusal), when the room has already lasted 1.5 s: it is held for the
 * cool-down (1 s) before it is given back, not given back at once.
 */
static void test_control_step_unshield_after_held_for_cooldown(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t seen = T_ROOM + 1500 * MS;
	struct fx *f = *state;

	fx_init(f, &cfg);
	fx_shield(f);
	f->s[0].rq_p99_us = 100;
	set_pool_busy(f, false);
	fx_quiet_steps(f, T_SHIELD + 100 * MS, seen);
	assert_int_equal(control_pool_of(f->c, NULL, NULL, NULL), 0);
	f->s[0].shielded = true;
	assert_int_equal(fx_step(f, seen), 0);
	fx_unshield_at(f, seen, 1 * S);
}

/*
 * 1.0 of 2 CPUs is 50 %: not under unshield_percent. b2 wants 0.5 for one step,
 * 500 ms into the room: that peak counts for 2 s, the room ends, and the wait
 * starts again when it decays, not from the first room.
 */
static void test_control_step_unshield_not_while_pool_busy(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t busy = T_ROOM + 500 * MS;
	double ctr;
	struct fx *f = *state;

	fx_init(f, &cfg);
	fx_shielded_then_idle(f, true);
	fx_quiet_steps(f, T_ROOM + 100 * MS, busy);
	f->s[2].cpu_cores = 0.5;
	assert_int_equal(fx_step(f, busy), 0);
	assert_int_equal(control_pool_of(f->c, NULL, &ctr, NULL), 0);
	assert_near(ctr, 1.0);
	f->s[2].cpu_cores = 0.3;
	fx_quiet_steps(f, busy + 100 * MS, busy + 2 * S);
	assert_int_equal(fx_step(f, busy + 2 * S), 0); /* the room again */
	fx_unshield_at(f, busy + 2 * S, 1 * S);
}

/* Breached all along, but with the neighbours quiet the breach is not theirs to
 * cause: given back after the cool-down all the same, nobody throttled. */
static void test_control_step_unshield_while_breached_on_a_quiet_pool(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;

	fx_init(f, &cfg);
	fx_shielded_then_idle(f, false);
	fx_quiet_steps(f, T_ROOM + 100 * MS, T_ROOM + 1 * S);
	assert_int_equal(fx_step(f, T_ROOM + 1 * S), 1);
	assert_int_equal(f->a[0].kind, CONTROL_UNSHIELD);
	assert_int_equal(f->a[0].reason, CONTROL_R_CALM);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
}

static void test_control_step_unshield_protected_gone_at_once(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shield(f);
	f->s[0].shielded = true;
	assert_int_equal(fx_step(f, T_SHIELD + 100 * MS), 0);
	/* no longer latency-sensitive; the pool still busy, nothing calm */
	f->s[0].latency_sensitive = false;
	n = fx_step(f, T_SHIELD + 200 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_UNSHIELD);
	assert_int_equal(f->a[0].reason, CONTROL_R_GONE);
	assert_string_equal(f->a[0].id, "ls");
	assert_int_equal(f->a[0].since_ns, T_SHIELD + 200 * MS);
}

static void test_control_step_reshield_doubles_the_unshield_cooldown(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t t0 = T_ROOM + 1 * S; /* given back */
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shielded_then_idle(f, true);
	fx_unshield_at(f, T_ROOM, 1 * S);
	/* carried out; the pool fills up again and the breach comes back */
	f->s[0].shielded = false;
	set_pool_busy(f, true);
	fx_quiet_steps(f, t0 + 100 * MS, t0 + 400 * MS);
	f->s[0].rq_p99_us = 5000;
	n = fx_step(f, t0 + 400 * MS);
	assert_int_equal(n, 1);
	assert_int_equal(f->a[0].kind, CONTROL_SHIELD);
	/* shielded and calm, the pool idle: its peak decays 2 s after t0 + 400 ms */
	f->s[0].shielded = true;
	f->s[0].rq_p99_us = 100;
	set_pool_busy(f, false);
	fx_quiet_steps(f, t0 + 500 * MS, t0 + 2500 * MS);
	/* now 2 s of room, not 1 s */
	fx_unshield_at(f, t0 + 2400 * MS, 2 * S);
}

/*
 * The shield is carried out after the breach already ended: the controller must
 * not keep it as "asked, never seen", or the next breach, after an unshield, is
 * taken for a refusal (dated 1 s after the ask, T_SHIELD + 1 s, so a 3 s cool-down
 * covers it until T_SHIELD + 4 s) and held, then throttled, instead of shielded.
 * The room comes at once here: an exclusive container left and the pool grew to
 * 4 CPUs (1.8 is 45 %); when it is back to 2 the pool is saturated again.
 */
static void test_control_step_shield_seen_after_calm_is_not_refused(void **state)
{
	struct control_config cfg = base_cfg();
	const uint64_t t0 = T_SHIELD + 100 * MS, t1 = t0 + 3 * S;
	struct fx *f = *state;
	int n;

	cfg.cooldown_ns = 3 * S;
	fx_init(f, &cfg);
	fx_shield(f);
	/* calm and shielded in the same sample */
	f->s[0].rq_p99_us = 100;
	f->s[0].shielded = true;
	f->node.shared_cpus = 4;
	assert_int_equal(fx_step(f, t0), 0);
	fx_unshield_at(f, t0, 3 * S);
	f->s[0].shielded = false;
	f->node.shared_cpus = 2;
	fx_quiet_steps(f, t1 + 100 * MS, t1 + 400 * MS);
	f->s[0].rq_p99_us = 5000;
	n = fx_step(f, t1 + 400 * MS);
	assert_true(t1 + 400 * MS < T_SHIELD + 4 * S);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 0);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
}

/*
 * The breach ends while the shield is pending and the caller never carries it
 * out: that refusal dates from 1 s after the ask, so a new breach long after its
 * cool-down is asked a shield again, not throttled as if just refused.
 */
static void test_control_step_shield_stale_ask_is_not_a_refusal(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	fx_shield(f);
	f->s[0].rq_p99_us = 100;
	for (t = T_SHIELD + 100 * MS; t < T_SHIELD + 10 * S; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
	f->s[0].rq_p99_us = 5000;
	n = fx_step(f, t);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 0);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
}

static void assert_dry_shield(const struct fx *f, int n)
{
	const struct control_action *sh = find_kind(f, n, CONTROL_SHIELD);

	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
	assert_true(sh->dry_run);
	assert_string_equal(sh->id, "ls");
	assert_int_equal(sh->reason, CONTROL_R_POOL_SATURATED);
}

/*
 * Dry run: one recommendation per breach, none held back, throttling goes on. A
 * calm that follows (thanks to the throttles, on a saturated pool) recommends the
 * swap; that counts for the breach that follows it.
 */
static void test_control_step_shield_dry_run_once_per_breach(void **state)
{
	struct control_config cfg = base_cfg();
	uint64_t t;
	struct fx *f = *state;
	int n;

	cfg.dry_run = true;
	fx_init(f, &cfg);
	n = fx_breach_at_persist(f);
	assert_int_equal(n, 3);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_dry_shield(f, n);
	for (int i = 0; i < n; i++)
		assert_true(f->a[i].dry_run);
	/* the same breach: throttling goes on, no second recommendation */
	for (t = T_SHIELD + 100 * MS; t < T_SHIELD + 2 * S; t += 100 * MS) {
		n = fx_step(f, t);
		assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
	}
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 1);
	f->s[0].rq_p99_us = 100;
	assert_dry_shield(f, fx_step(f, t));
	/* a new breach right after: the swap just said it */
	f->s[0].rq_p99_us = 5000;
	for (int i = 1; i < 5; i++)
		assert_int_equal(count_kind(f, fx_step(f, t + i * 100 * MS), CONTROL_SHIELD), 0);
	/* calm again, still throttled: the swap once more */
	f->s[0].rq_p99_us = 100;
	assert_dry_shield(f, fx_step(f, t + 500 * MS));
}

static void test_control_step_shield_rate_limit(void **state)
{
	struct control_config cfg = base_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &cfg);
	f->n = 4; /* ls and ls2 breach at once */
	n = fx_breach_at_persist(f);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 2); /* no limit: both */
	control_free(f->c);
	f->c = NULL;

	cfg.actions_per_second = 1;
	fx_init(f, &cfg);
	f->n = 4;
	n = fx_breach_at_persist(f);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
	assert_string_equal(find_kind(f, n, CONTROL_SHIELD)->id, "ls");
	for (uint64_t t = T_SHIELD + 100 * MS; t < T_SHIELD + 1 * S; t += 100 * MS)
		assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_SHIELD), 0);
	n = fx_step(f, T_SHIELD + 1 * S); /* a new second */
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
	assert_string_equal(find_kind(f, n, CONTROL_SHIELD)->id, "ls2");
}

static void test_control_kind_name_shield(void **state)
{
	(void)state;
	assert_string_equal(control_kind_name(CONTROL_SHIELD), "shield");
	assert_string_equal(control_kind_name(CONTROL_UNSHIELD), "unshield");
	assert_string_equal(control_reason_name(CONTROL_R_POOL_SATURATED), "pool-saturated");
	assert_string_equal(control_reason_name(CONTROL_R_SHIELDED), "shielded");
	assert_string_equal(control_reason_name(CONTROL_R_CALM), "calm");
	assert_string_equal(control_reason_name(CONTROL_R_GONE), "protected-gone");
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_control_step_shield_instead_of_throttle),
		T(test_control_step_shield_never_throttles_for_a_shielded_container),
		T(test_control_step_shield_not_when_disabled),
		T(test_control_step_shield_not_off_the_shared_pool),
		T(test_control_step_shield_unseen_within_1s_is_refused),
		T(test_control_shield_refused_throttles_at_once),
		T(test_control_step_shield_replaces_a_throttle),
		T(test_control_step_shield_restores_only_throttles_for_it),
		T(test_control_step_unshield_after_cooldown),
		T(test_control_step_unshield_dated_from_room_start),
		T(test_control_step_unshield_ignores_other_load),
		T(test_control_step_unshield_after_held_for_cooldown),
		T(test_control_step_unshield_not_while_pool_busy),
		T(test_control_step_unshield_while_breached_on_a_quiet_pool),
		T(test_control_step_unshield_protected_gone_at_once),
		T(test_control_step_reshield_doubles_the_unshield_cooldown),
		T(test_control_step_shield_seen_after_calm_is_not_refused),
		T(test_control_step_shield_stale_ask_is_not_a_refusal),
		T(test_control_step_shield_dry_run_once_per_breach),
		T(test_control_step_shield_rate_limit),
		T(test_control_kind_name_shield),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
