/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of blame before acting and verify-and-undo (policy/control_verify.c):
 * the pure blame rule, the decisions it gates in control_step() (acted / did not
 * act), and the verification of each lever (helped / undone / withdrawn, the
 * ineffective lever skipped, the next one tried). Decisions only, on synthetic
 * samples: no latency is measured here.
 */
#include "test_control_shield_fx.h"

static struct control_config blame_cfg(void)
{
	struct control_config k = base_cfg();

	k.shield_enabled = false;
	k.blame_percent = 50;
	k.blame_min_waits = 4;
	k.verify_intervals = 3;
	k.verify_margin_percent = 20;
	k.ineffective_ns = 10 * S;
	return k;
}

/* Evidence on every sample: ls waited beside containers ctr times, beside host
 * tasks host times, over the interval. */
static void evidence(struct fx *f, uint64_t ctr, uint64_t host)
{
	for (size_t i = 0; i < 4; i++)
		f->s[i].has_blame = true;
	f->s[0].waits_containers = ctr;
	f->s[0].waits_host = host;
}

static enum control_blame blame_of(const struct fx *f, const char *id)
{
	struct control_explain x;

	assert_int_equal(control_explain_of(f->c, id, &x), 1);
	return x.blame;
}

/* ---- the rule ---------------------------------------------------------------- */

static void test_control_blame_rule_neighbours_need_container_waits(void **state)
{
	struct control_config k = blame_cfg();

	(void)state;
	assert_int_equal(control_blame_rule(&k, 10, 2, 0, 0), CONTROL_BLAME_NEIGHBOURS);
	/* exactly the share */
	assert_int_equal(control_blame_rule(&k, 5, 5, 0, 0), CONTROL_BLAME_NEIGHBOURS);
	/* under the share: the host's */
	assert_int_equal(control_blame_rule(&k, 4, 6, 0, 0), CONTROL_BLAME_HOST);
	/* under the minimum: not enough to blame anyone for */
	assert_int_equal(control_blame_rule(&k, 3, 0, 0, 0), CONTROL_BLAME_UNKNOWN);
}

static void test_control_blame_rule_never_blames_steal_or_host_load_on_containers(void **state)
{
	struct control_config k = blame_cfg();

	(void)state;
	assert_int_equal(control_blame_rule(&k, 0, 0, 0.5, 0), CONTROL_BLAME_STEAL);
	assert_int_equal(control_blame_rule(&k, 0, 0, 0, 3.0), CONTROL_BLAME_HOST);
	assert_int_equal(control_blame_rule(&k, 2, 0, 4.0, 4.0), CONTROL_BLAME_STEAL);
	/* host waits seen beside the victim come before steal */
	assert_int_equal(control_blame_rule(&k, 0, 9, 0.5, 0), CONTROL_BLAME_HOST);
	assert_int_equal(control_blame_rule(&k, 0, 0, 0.01, 0.1), CONTROL_BLAME_UNKNOWN);
	k.blame_percent = 0;
	assert_int_equal(control_blame_rule(&k, 0, 0, 0.5, 0), CONTROL_BLAME_UNCHECKED);
}

/* ---- the decisions it gates ------------------------------------------------------ */

static void test_control_step_lone_probe_with_steal_does_not_act(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;

	fx_init(f, &k);
	f->s[1].cpu_cores = f->s[2].cpu_cores = 0; /* idle neighbours */
	evidence(f, 0, 1);
	f->node.steal_cpus = 0.3;
	f->s[0].rq_p99_us = 9000;
	for (uint64_t t = 1 * S; t < 3 * S; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_STEAL);
}

static void test_control_step_host_burners_do_not_throttle_containers(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;

	fx_init(f, &k);
	evidence(f, 1, 40);
	f->node.host_cpus = 2;
	f->s[0].rq_p99_us = 9000;
	for (uint64_t t = 1 * S; t < 3 * S; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_HOST);
}

static void test_control_step_container_burners_throttle_at_once(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &k);
	evidence(f, 30, 2);
	assert_int_equal(fx_step(f, 1 * S), 0);
	f->s[0].rq_p99_us = 9000;
	n = fx_step(f, 1 * S + 100 * MS);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NEIGHBOURS);
}

static void test_control_step_steal_noise_still_acts_against_containers(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	int n;

	fx_init(f, &k);
	evidence(f, 30, 2);
	f->node.steal_cpus = 0.4;
	f->s[0].rq_p99_us = 9000;
	n = fx_step(f, 1 * S);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	for (int i = 0; i < n; i++)
		assert_string_not_equal(f->a[i].id, "ls");
}

static void test_control_step_blame_holds_for_the_breach(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;

	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
	/* the throttle removes the very evidence; the breach is still theirs */
	evidence(f, 0, 0);
	assert_int_equal(count_kind(f, fx_step(f, 1 * S + 100 * MS), CONTROL_THROTTLE), 2);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NEIGHBOURS);
	/* over: a new breach needs new evidence */
	f->s[0].rq_p99_us = 100;
	fx_step(f, 1 * S + 200 * MS);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NONE);
}

/* No lever acts for it (its neighbours are Guaranteed): a long breach changes hands
 * as the evidence does. */
static void test_control_step_blame_follows_the_evidence_without_a_lever(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	uint64_t t = 1 * S;

	fx_init(f, &k);
	f->s[1].qos = f->s[2].qos = QOS_GUARANTEED;
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(fx_step(f, t), 0);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NEIGHBOURS);
	evidence(f, 0, 40);
	/* 30 halves: 15, 7.5, 3.75 < blame_min_waits */
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx_step(f, t += 100 * MS), 0);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_HOST);
}

/* Leaving the neighbours' blame takes a share hysteresis_percent (10) lower. */
static void test_control_step_blame_has_hysteresis(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	uint64_t t = 1 * S;

	fx_init(f, &k);
	f->s[1].qos = f->s[2].qos = QOS_GUARANTEED; /* no lever: judged every tick */
	f->s[0].rq_p99_us = 9000;
	/* steady 50 / 50: reached (50 %), then held at 50 % >= 45 % */
	evidence(f, 50, 50);
	for (int i = 0; i < 5; i++)
		fx_step(f, t += 100 * MS);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NEIGHBOURS);
	/* 46 %: under the 50 % that reaches it, over the 45 % that leaves it */
	evidence(f, 46, 54);
	for (int i = 0; i < 10; i++)
		fx_step(f, t += 100 * MS);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_NEIGHBOURS);
	/* 40 %: gone */
	evidence(f, 40, 60);
	for (int i = 0; i < 10; i++)
		fx_step(f, t += 100 * MS);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_HOST);
	/* and 46 % does not reach it again */
	evidence(f, 46, 54);
	for (int i = 0; i < 10; i++)
		fx_step(f, t += 100 * MS);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_HOST);
}

/* The host's breach that becomes the neighbours': their reaction counts from then. */
static void test_control_step_reaction_counts_from_the_neighbours_blame(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	const struct control_action *a;
	int n;

	fx_init(f, &k);
	evidence(f, 0, 40);
	f->s[0].rq_p99_us = 9000;
	for (uint64_t t = 1 * S; t < 2 * S; t += 100 * MS)
		assert_int_equal(fx_step(f, t), 0);
	evidence(f, 200, 0);
	n = fx_step(f, 2 * S);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 2);
	a = find_kind(f, n, CONTROL_THROTTLE);
	assert_int_equal(a->since_ns, 2 * S - 100 * MS);
}

static void test_control_step_without_evidence_acts_as_before(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;

	fx_init(f, &k);
	f->s[0].rq_p99_us = 9000; /* has_blame false: no BPF pairs */
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
	assert_int_equal(blame_of(f, "ls"), CONTROL_BLAME_UNCHECKED);
}

/* ---- verify and undo ----------------------------------------------------------- */

/* Breach at 1 s blamed on neighbours: both burners throttled. */
static void breach(struct fx *f)
{
	struct control_config k = blame_cfg();

	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
}

static struct control_outcome outcome_for(const struct fx *f, const char *id)
{
	struct control_explain x;

	assert_int_equal(control_explain_of(f->c, id, &x), 1);
	assert_true(x.has_for);
	return x.for_it;
}

/*
 * Steps every 100 ms from t on while ls stays breached at p99: the throttle goes down
 * to its floor, and is judged verify_intervals (3) intervals after its last step.
 * Returns the step of the judgement (its actions in f->a, *ret_n of them).
 */
static uint64_t until_judged(struct fx *f, uint64_t t, double p99, int *ret_n)
{
	uint64_t last = t - 100 * MS; /* the step before throttled */

	f->s[0].rq_p99_us = p99;
	for (; t < 5 * S; t += 100 * MS) {
		int n = fx_step(f, t);

		if (count_kind(f, n, CONTROL_THROTTLE))
			last = t;
		if (outcome_for(f, "ls").verdict != CONTROL_V_PENDING) {
			/* one more step of the same lever restarts its judgement */
			assert_int_equal(t, last + 300 * MS);
			*ret_n = n;
			return t;
		}
	}
	fail_msg("never judged");
	return 0;
}

static void test_control_step_throttle_that_helped_stays(void **state)
{
	struct fx *f = *state;
	struct control_outcome w;
	struct control_explain x;
	uint64_t t;
	int n;

	breach(f);
	/* better, still over target: the steps go on to the floor */
	t = until_judged(f, 1 * S + 100 * MS, 3000, &n);
	assert_true(t > 1 * S + 300 * MS);
	assert_int_equal(count_kind(f, n, CONTROL_RESTORE), 0);
	w = outcome_for(f, "ls");
	assert_int_equal(w.kind, CONTROL_THROTTLE);
	assert_int_equal(w.verdict, CONTROL_V_HELPED);
	assert_true(w.before_us == 9000);
	assert_true(w.after_us == 3000);
	assert_int_equal(w.blame, CONTROL_BLAME_NEIGHBOURS);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 1);
	/* the burners name the action against them and who it was for */
	assert_int_equal(control_explain_of(f->c, "b1", &x), 1);
	assert_true(x.has_against);
	assert_int_equal(x.against_it.kind, CONTROL_THROTTLE);
	assert_string_equal(x.against_it.other_id, "ls");
}

static void test_control_step_throttle_that_did_not_help_is_undone(void **state)
{
	const struct control_action *a;
	struct fx *f = *state;
	uint64_t t;
	int n;

	breach(f);
	/* no better: 8000 is not 20 % under 9000 */
	t = until_judged(f, 1 * S + 100 * MS, 8000, &n);
	assert_int_equal(count_kind(f, n, CONTROL_RESTORE), 2);
	a = find_kind(f, n, CONTROL_RESTORE);
	assert_int_equal(a->reason, CONTROL_R_INEFFECTIVE);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_UNDONE);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 0);
	/* ineffective for ls for 10 s: the breach goes on, nothing is throttled */
	for (uint64_t u = t + 100 * MS; u < t + 10 * S; u += 100 * MS)
		assert_int_equal(count_kind(f, fx_step(f, u), CONTROL_THROTTLE), 0);
	/* then it may be tried again */
	assert_int_equal(count_kind(f, fx_step(f, t + 10 * S), CONTROL_THROTTLE), 2);
}

/* With a margin no p99 can meet, only the end of the breach counts as help. */
static void test_control_step_calm_after_the_throttle_counts_as_helped(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	int n;

	k.verify_margin_percent = 100;
	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
	/* 950: under target, not under the hysteresis band: still breached */
	until_judged(f, 1 * S + 100 * MS, 950, &n);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_UNDONE);

	control_free(f->c);
	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
	/* 100: the breach is over at once, no more steps */
	until_judged(f, 1 * S + 100 * MS, 100, &n);
	assert_int_equal(count_kind(f, n, CONTROL_RESTORE), 0);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_HELPED);
}

static void test_control_step_withdrawn_throttle_is_not_judged(void **state)
{
	struct fx *f = *state;

	breach(f);
	/* the burners go away: their throttles with them */
	f->n = 1;
	fx_step(f, 1 * S + 100 * MS);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_WITHDRAWN);
}

/* verify_intervals 0: nothing judged or undone, the action still explained. */
static void test_control_step_unverified_lever_is_explained_and_kept(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;

	k.verify_intervals = 0;
	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, 1 * S), CONTROL_THROTTLE), 2);
	for (uint64_t t = 1 * S + 100 * MS; t < 3 * S; t += 100 * MS)
		assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_RESTORE), 0);
	assert_int_equal(outcome_for(f, "ls").kind, CONTROL_THROTTLE);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_UNJUDGED);
	assert_int_equal(control_throttle_of(f->c, "b1", NULL, NULL), 1);
}

/* Pool of 2 CPUs saturated by b1 + b2; throttling ls's neighbours did not help: the
 * shield is the next lever, and when it does not help either, nothing is left. */
static void test_control_step_ineffective_throttle_leads_to_the_shield(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	uint64_t t = 1 * S;
	int n;

	k.shield_enabled = true;
	k.pool_persist_ns = 0;
	k.unshield_percent = 10;
	fx_init(f, &k);
	evidence(f, 30, 0);
	f->node.shared_cpus = 4; /* 45 % of 4: not saturated at first */
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_THROTTLE), 2);
	t = until_judged(f, t + 100 * MS, 9000, &n);
	assert_int_equal(count_kind(f, n, CONTROL_RESTORE), 2);
	/* the pool shrinks to 2 CPUs: saturated; the shield is asked, no throttle */
	f->node.shared_cpus = 2;
	n = fx_step(f, t += 100 * MS);
	assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 1);
	assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 0);
	f->s[0].shielded = true;
	for (int i = 0; i < 3; i++)
		n = fx_step(f, t += 100 * MS);
	/* no better on its own CPUs: given back, and nothing else tried */
	assert_int_equal(count_kind(f, n, CONTROL_UNSHIELD), 1);
	assert_int_equal(find_kind(f, n, CONTROL_UNSHIELD)->reason, CONTROL_R_INEFFECTIVE);
	assert_int_equal(outcome_for(f, "ls").kind, CONTROL_SHIELD);
	assert_int_equal(outcome_for(f, "ls").verdict, CONTROL_V_UNDONE);
	f->s[0].shielded = false;
	for (int i = 0; i < 20; i++) {
		n = fx_step(f, t += 100 * MS);
		assert_int_equal(count_kind(f, n, CONTROL_THROTTLE), 0);
		assert_int_equal(count_kind(f, n, CONTROL_SHIELD), 0);
	}
}

/* After a shield the burners share the 1 CPU left: what they use of it may look
 * like room, what they wait for says there is none. */
static void test_control_step_shield_is_not_given_back_while_neighbours_wait(void **state)
{
	struct control_config k = blame_cfg();
	struct fx *f = *state;
	uint64_t t = 1 * S;

	k.shield_enabled = true;
	k.pool_persist_ns = 0;
	k.verify_intervals = 0;
	fx_init(f, &k);
	evidence(f, 30, 0);
	f->s[0].rq_p99_us = 9000;
	assert_int_equal(count_kind(f, fx_step(f, t), CONTROL_SHIELD), 1);
	f->s[0].shielded = true;
	f->s[0].rq_p99_us = 100;
	f->node.shared_cpus = 1;
	/* 0.4 of the CPU left used (under unshield_percent), 1.2 CPUs waited for */
	f->s[1].cpu_cores = f->s[2].cpu_cores = 0.2;
	f->s[1].rq_wait_ns = f->s[2].rq_wait_ns = 60 * MS;
	for (int i = 0; i < 60; i++)
		assert_int_equal(count_kind(f, fx_step(f, t += 100 * MS), CONTROL_UNSHIELD), 0);
	/* the wait ends: room, and after the cool-down the CPUs go back */
	f->s[1].rq_wait_ns = f->s[2].rq_wait_ns = 0;
	f->s[1].cpu_cores = f->s[2].cpu_cores = 0.1;
	for (int i = 0; i < 40; i++)
		if (count_kind(f, fx_step(f, t += 100 * MS), CONTROL_UNSHIELD))
			return;
	fail_msg("the shield was never given back");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_blame_rule_neighbours_need_container_waits),
		cmocka_unit_test(
			test_control_blame_rule_never_blames_steal_or_host_load_on_containers),
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_control_step_lone_probe_with_steal_does_not_act),
		T(test_control_step_host_burners_do_not_throttle_containers),
		T(test_control_step_container_burners_throttle_at_once),
		T(test_control_step_steal_noise_still_acts_against_containers),
		T(test_control_step_blame_holds_for_the_breach),
		T(test_control_step_blame_follows_the_evidence_without_a_lever),
		T(test_control_step_blame_has_hysteresis),
		T(test_control_step_reaction_counts_from_the_neighbours_blame),
		T(test_control_step_without_evidence_acts_as_before),
		T(test_control_step_throttle_that_helped_stays),
		T(test_control_step_throttle_that_did_not_help_is_undone),
		T(test_control_step_calm_after_the_throttle_counts_as_helped),
		T(test_control_step_withdrawn_throttle_is_not_judged),
		T(test_control_step_unverified_lever_is_explained_and_kept),
		T(test_control_step_ineffective_throttle_leads_to_the_shield),
		T(test_control_step_shield_is_not_given_back_while_neighbours_wait),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
