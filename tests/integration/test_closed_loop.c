/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root integration of the closed loop: the daemon, the runtime simulator and real
 * v1 cgroups (tests/integration/closed_loop_rig.h).
 *
 * (a) A latency-sensitive container (annotation latency-target-us.topoguard.io)
 *     runs a wakeup-latency probe; two CPU burners (a batch pod) share its CPU. The
 *     probe first waits outside its container while the burners run (unprotected:
 *     the daemon cannot see it suffer and must not act), then joins it: the daemon
 *     must throttle both burners, and only them, to the floor, the kernel must hold
 *     them back, the probe must be late less often than it was unprotected, and
 *     once the burners stop the throttle must be lifted.
 * (c) The probe in its container and burners that may run on every CPU: the shared
 *     pool saturates, and the daemon must lend the probe a CPU of its own
 *     (a shield: its cpuset one CPU, the burners' the rest) instead of
 *     throttling them; the burners must end up unthrottled and unable to run where
 *     the probe runs, and once they stop the shield must be given back.
 * (d) The probe in its container, CPU burners outside every container on its CPU and a
 *     lightly loaded container: the breach is the host's, and the daemon must not
 *     act against any container (blame before acting, docs/closed-loop.md).
 * (b) A best-effort memory hog crosses eviction.memory_watermark_bytes: an eviction
 *     of the hog's pod must reach a local HTTPS API stand-in (self-signed CA, bearer
 *     token checked), which refuses it once with 429; the retry must come after a
 *     backoff.
 *
 * Asserted are causes and bounded reactions, never an absolute latency or rate: a
 * shared CI machine sets those (bench/isolation measures them). Reaction times are
 * printed against their targets (250 ms, 500 ms) and asserted against generous CI
 * bounds (CI_REACTION_BOUND_MS, SEEN_BOUND_MS); the probe's latency is compared with
 * the same run's unprotected phase (assert_better()).
 *
 * (a) runs twice: on cgroups the test makes at the kubepods paths nri-sim reports,
 * where the test plays the runtime's cgroup writes (it reads what the daemon imposed
 * from `topoguard status`, closed_loop.throttled, and writes cpu.cfs_period_us /
 * cpu.cfs_quota_us); and through nri-sim --apply-cgroups --report-real-cgroups,
 * which makes the cgroups, reports them as cgroups_path and writes what the
 * daemon's UpdateContainers carry, the test only reading the kernel's values back;
 * and a third time through nri-sim's cgroups on NRI v0.9.0 with --lock-inversion,
 * where the daemon writes the quotas into the cgroups itself (direct actuation).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "policy/cpuset.h"
#include "tests/integration/closed_loop_fx.h"
#include "tests/integration/kube_server.h"

/* cooldown: longer than any protected phase, so the throttle holds through it; the
 * burners' quiet restore lifts it once they stop (5 periods of 1 s). verify_intervals
 * 0: these cases check that a lever is carried out and held, and on a shared machine
 * other load can keep the probe's p99 from improving while it holds, which
 * verification then rightly undoes (seen: throttled p99 5.4 ms, unprotected 4.6 ms);
 * the verify-and-undo decisions are asserted in tests/unit/policy/test_control_verify.c.
 * throttle_step_percent 100: one step takes a burner from its limit to the floor, so
 * reaching the floor depends on one breach, not on the breach outlasting a first step
 * (seen under two busy loops and a VM: a weak breach gone after the 50 % step, the
 * floor never reached); the step sizes are test_control_props' to check. */
static const char latency_config[] = "live:\n"
				     "  verify_intervals: 0\n"
				     "  shield: false\n"
				     "  sampling_interval: 100ms\n"
				     "  throttle_step_percent: 100\n"
				     "  throttle_min_quota_percent: 0\n"
				     "  throttle_period: 1s\n"
				     "  hysteresis_percent: 10\n"
				     "  cooldown: 30s\n"
				     "  relax_interval: 100ms\n"
				     "  throttle_interval: 100ms\n"
				     "  intrusion_target_percent: 0\n"
				     "  actions_per_second: 0\n"
				     "log:\n"
				     "  level: info\n";

/*
 * The probe (latency-sensitive by annotation, 500m: 512 shares) and two burners, a
 * batch pod of Burstable containers requesting 1 CPU each (1024 shares), as in
 * bench/isolation. Not BestEffort: at 2 shares against the probe's 512 those delay it
 * only while other load on its CPU makes their group wait, so whether the daemon had
 * a breach to react to was luck (seen: in one run of ten, none within 5 s of their
 * start, and no shield).
 */
static void latency_scenario(char *buf, size_t size)
{
	snprintf(buf, size,
		 "existing pod p1 default/probe uid=%s qos=burstable "
		 "annotation latency-target-us.topoguard.io=%d\n"
		 "existing create ls pod=p1 name=probe cpu-request=500\n"
		 "existing pod p2 default/batch uid=%s qos=burstable\n"
		 "existing create b1 pod=p2 name=burner1 cpu-request=1000\n"
		 "existing create b2 pod=p2 name=burner2 cpu-request=1000\n"
		 "sleep 30000\n",
		 uid_ls, TARGET_US, uid_be);
}

/*
 * The probe fared better throttled than unprotected, in the same run: the share of
 * its wakeups later than LATE_US, in the median window of RIG_WINDOW wakeups, is at
 * most half of what it was unprotected. Only if the burners did delay it unprotected,
 * in at least HARM_MIN of the median window (unprotected_phase() waits up to
 * PHASE_MAX_MS for that): below it a window holds a late wakeup or two, and half of
 * that is noise; that is printed instead.
 *
 * Not an absolute figure: the machine's load sets those; the two phases see the same
 * load, seconds apart. Not p99: the one worst wakeup of a hundred, which a loaded
 * 2-CPU machine makes late with or without burners (2-6 ms throttled, measured). The
 * share of late wakeups counts how often something was in the probe's way; the median
 * window ignores a burst of other load in part of a phase (another build starting);
 * half is a wide margin on both sides. Measured through the simulator's cgroups with
 * two busy loops beside the test on the loaded 2-vCPU development VM (BestEffort
 * burners then): unprotected 10-67 %, throttled 0-4 %, a ratio of 0-0.17 in 22 runs;
 * with live.dry_run and the causes not asserted (the daemon does nothing), 0.42-3.7,
 * under a half in 1 of 12. Half the target as "late": on a quiet machine the burners
 * delay the probe by 1-8 ms (docs/closed-loop.md), much of it under the target.
 */
static void assert_better(const struct phase *before, const struct phase *during)
{
	if (before->st.late_med < HARM_MIN) {
		fprintf(stderr, "not compared: the burners hardly delayed the probe unprotected\n");
		return;
	}
	assert_true(during->st.late_med <= before->st.late_med / 2);
}

/*
 * Both burners (pinned to cpu, or free with cpu < 0) in their cgroups and looping.
 * Waited for, not slept on: joining a cgroup waits for every fork and exit on the
 * machine to pass (cgroup_threadgroup_rwsem), and under load that took over a second
 * (seen: a phase measured with the burners not yet started).
 */
static void start_burners(struct loop_state *ls, int cpu)
{
	uint64_t end = rig_now() + SEEN_BOUND_MS * MS;

	pids[1] = rig_spawn(cg_b1, cpu, rig_burner_fn, sh, 0);
	pids[2] = rig_spawn(cg_b2, cpu, rig_burner_fn, sh, 1);
	while (!(sh->loops[0] && sh->loops[1]) && rig_now() < end)
		run_for(ls, 5 * MS);
	assert_true(sh->loops[0] && sh->loops[1]);
}

/*
 * The burners start (pinned to cpu, or free with cpu < 0) while the probe waits in
 * the holding cgroup; measured once the probe woke PHASE_MIN_WAKEUPS times in at least
 * a second and, with harm, once the burners were seen delaying it (HARM_MIN of the
 * median window), as the daemon waits for a breach, at most PHASE_MAX_MS: how much
 * they delay it also depends on the other load on its CPU, which comes and goes.
 */
static void unprotected_phase(struct loop_state *ls, int cpu, bool harm, struct phase *before)
{
	uint64_t end;

	move_probe(cg_hold, cpu);
	end = rig_now() + CI_REACTION_BOUND_MS * MS;
	while (!out_of_sight(ls->sock) && rig_now() < end)
		run_for(ls, 20 * MS);
	assert_true(out_of_sight(ls->sock));
	start_burners(ls, cpu);
	run_for(ls, 200 * MS); /* both burners settled */
	phase_begin(before, rig_now());
	run_phase(ls, before->t0, PHASE_MIN_WAKEUPS, 1000, PHASE_MAX_MS);
	while (harm && rig_late_median(sh, before->t0, rig_now(), LATE_US * 1000ull) < HARM_MIN &&
	       rig_now() < before->t0 + PHASE_MAX_MS * MS)
		run_for(ls, 100 * MS);
	phase_end(before, "unprotected (probe outside its container, burners running)");
}

/* Cgroups, daemon and probe of (a): the probe in its container, followed. */
static void latency_start(struct daemon_run *r, struct loop_state *ls)
{
	char scen[1024], p[512];

	assert_int_equal(e2e_setup(&r->e), 0);
	latency_scenario(scen, sizeof(scen));
	rig_reset(sh); /* a fresh record: the last test's workloads are gone */
	if (r->apply) {
		snprintf(cg_ls, sizeof(cg_ls), "/%s/ls", r->apply);
		snprintf(cg_b1, sizeof(cg_b1), "/%s/b1", r->apply);
		snprintf(cg_b2, sizeof(cg_b2), "/%s/b2", r->apply);
	} else {
		assert_int_equal(rig_mkcg(cg_ls), 0);
		assert_int_equal(rig_mkcg(cg_b1), 0);
		assert_int_equal(rig_mkcg(cg_b2), 0);
		pids[0] = rig_spawn(cg_ls, PROBE_CPU, rig_probe_fn, sh, 0);
	}
	start_daemon(r, scen, latency_config);
	if (r->apply) {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/cpu%s", cg_b2);
		assert_int_equal(e2e_wait_path(p, 5000), 0);
		pids[0] = rig_spawn(cg_ls, PROBE_CPU, rig_probe_fn, sh, 0);
	}
	hold_make();
	ls->sock = r->stat;
	for (int i = 0; i < 100 && !(followed(r->stat, "ls") && followed(r->stat, "b1")); i++)
		usleep(50000);
	assert_true(followed(r->stat, "ls"));
}

/* The daemon's own view: it throttles both burners and never the probe. */
static void assert_throttled_are_the_burners(const char *sock)
{
	json_object *st = status_get(sock);
	json_object *cl = st ? e2e_jget(st, "closed_loop") : NULL;
	json_object *thr = cl ? e2e_jget(cl, "throttled") : NULL;
	bool b1 = thr && e2e_jget(thr, "b1"), b2 = thr && e2e_jget(thr, "b2");
	bool probe = thr && e2e_jget(thr, "ls");

	json_object_put(st);
	assert_true(b1 && b2);
	assert_false(probe);
}

/*
 * The probe joins its container with the burners running: the throttle must follow.
 * Within CI_REACTION_BOUND_MS by the daemon's own clock (its reaction histogram: from
 * the start of the sampling interval in which it saw the breach to the update sent),
 * and within SEEN_BOUND_MS in the cgroups, from the breach as the probe felt it (its
 * p99 over its last 100 ms above the target) or from the join if it never did (the
 * daemon's run-queue signal may cross first). The second bound is wider: it also holds
 * the runtime applying the update and this test noticing, both on CPU 0 with the
 * daemon, the simulator and whatever else the machine pinned there (seen: a shield
 * the daemon sent 203 ms after the breach in the cgroups 2.3 s after the join).
 */
static void throttle_phase(struct daemon_run *r, struct loop_state *ls)
{
	uint64_t t_join, t_late, t_floor, from;
	double reaction;
	bool floor;

	t_join = rig_now();
	move_probe(cg_ls, PROBE_CPU);
	hold_remove();
	floor = mirror_until(ls, at_floor, FLOOR_BOUND_MS);
	t_floor = rig_now();
	t_late = rig_first_breach(sh, t_join, 100 * MS, TARGET_US * 1000ull);
	from = t_late && t_late < ls->first_change ? t_late : t_join;
	reaction = daemon_reaction_ms(r->maddr, "throttle");
	fprintf(stderr,
		"probe joined its container: breach felt after %.1f ms; the daemon's reaction "
		"%.1f ms (target 250 ms, CI bound %d ms); quota in the cgroups %.1f ms after %s "
		"(bound %d ms), both at the floor after %.1f ms\n",
		t_late ? (double)(t_late - t_join) / 1e6 : -1.0, reaction, CI_REACTION_BOUND_MS,
		ls->first_change ? ((double)ls->first_change - (double)from) / 1e6 : -1.0,
		from == t_join ? "the join" : "the breach", SEEN_BOUND_MS,
		(double)(t_floor - t_join) / 1e6);
	assert_true(ls->first_change > 0);
	assert_true(reaction >= 0 && reaction <= CI_REACTION_BOUND_MS);
	assert_true(ls->first_change <= from + SEEN_BOUND_MS * MS);
	assert_true(floor);
	assert_throttled_are_the_burners(r->stat);
}

/* explain's answer for id, "" if none (the caller frees nothing: a static buffer). */
static const char *explain_of(const char *sock, const char *id)
{
	static char text[4096];
	char req[128], *answer = NULL;
	json_object *o;

	text[0] = '\0';
	snprintf(req, sizeof(req), "explain %s", id);
	if (status_client_request(sock, req, 1000, &answer) < 0)
		return text;
	o = json_tokener_parse(answer);
	free(answer);
	snprintf(text, sizeof(text), "%s", o ? e2e_jstr(o, "explanation") : "");
	json_object_put(o);
	return text;
}

/* explain names the action taken for the probe and against each burner, and why. */
static void assert_explained(const char *sock)
{
	const char *t = explain_of(sock, "ls");

	assert_non_null(strstr(t, "last action for it: throttle of its neighbours"));
	assert_non_null(strstr(t, "breach blamed on neighbours"));
	t = explain_of(sock, "b1");
	assert_non_null(strstr(t, "last action against it: throttle for ls"));
}

/* The burners stop: the throttle must be lifted, and the runtime must have applied it. */
static void lift_phase(struct daemon_run *r, struct loop_state *ls)
{
	uint64_t t_stop;
	bool up;

	rig_kill(&pids[1]);
	rig_kill(&pids[2]);
	t_stop = rig_now();
	up = mirror_until(ls, lifted, LIFT_BOUND_MS);
	fprintf(stderr, "burners stopped: throttle lifted after %.0f ms (bound %d ms)\n",
		(double)(rig_now() - t_stop) / 1e6, LIFT_BOUND_MS);
	assert_true(up);
	assert_int_equal(rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us"), -1);
	assert_int_equal(rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us"), -1);
	assert_false(ls->probe_throttled);
	assert_true(metric_at_least(r->maddr,
				    "topoguard_control_reaction_seconds_count{kind=\"throttle\"}",
				    1) >= 1);
	assert_true(
		metric_at_least(r->maddr,
				"topoguard_control_actions_total{kind=\"restore\",result=\"sent\"}",
				2) >= 2);
	/* the runtime answered the UpdateContainers carrying them */
	assert_true(metric_at_least(
			    r->maddr,
			    "topoguard_control_actions_total{kind=\"throttle\",result=\"applied\"}",
			    2) >= 2);
}

/*
 * apply: NULL = the test makes the cgroups at the kubepods paths nri-sim reports
 * and writes the quotas the daemon imposed; else nri-sim --apply-cgroups apply
 * --report-real-cgroups makes them, writes what the daemon sends, and the test
 * only puts its processes in them and reads the kernel's values back.
 */
/*
 * Direct actuation (NRI before v0.12.1): the throttle reached the kernel (the caller's
 * assertions) without a single unsolicited UpdateContainers, which nri-sim
 * --lock-inversion would have left unanswered: the daemon wrote the cgroups itself.
 */
static void assert_direct(struct daemon_run *r)
{
	json_object *st = status_get(r->stat);
	json_object *a = st ? e2e_jget(st, "actuation") : NULL;

	assert_non_null(a);
	assert_string_equal(e2e_jstr(a, "mode"), "direct");
	assert_true(json_object_get_int64(e2e_jget(a, "direct_writes")) >= 2); /* b1, b2 */
	assert_int_equal(json_object_get_int64(e2e_jget(a, "direct_failures")), 0);
	json_object_put(st);
	assert_int_equal(e2e_file_count(r->log, "unsolicited updates queued"), 0);
}

static void run_latency(const char *apply, const char *nri)
{
	struct loop_state ls = {.q1 = -1, .q2 = -1, .real = apply != NULL};
	struct daemon_run r = {.apply = apply, .nri = nri};
	struct phase before, during;
	long long thr1, thr2;
	int tg_rc;

	latency_start(&r, &ls);
	run_for(&ls, 1000 * MS); /* the probe alone: nothing to do */
	assert_int_equal(ls.first_change, 0);
	unprotected_phase(&ls, PROBE_CPU, apply != NULL, &before);
	/* CPU use alone is no reason: the daemon acts for a container that suffers */
	assert_int_equal(ls.first_change, 0);

	throttle_phase(&r, &ls);
	assert_explained(r.stat);
	run_for(&ls, 500 * MS); /* the floor in force over a whole period */
	thr1 = nr_throttled(cg_b1);
	thr2 = nr_throttled(cg_b2);
	phase_begin(&during, rig_now());
	run_phase(&ls, during.t0, PHASE_MIN_WAKEUPS, 2000, PHASE_MAX_MS);
	phase_end(&during, "throttled (probe in its container, burners at the floor)");
	assert_true(at_floor(&ls)); /* the throttle held all along */
	assert_false(ls.probe_throttled);
	/* the kernel held both back: the quota is in force, not only written */
	assert_true(nr_throttled(cg_b1) > thr1 && nr_throttled(cg_b2) > thr2);
	/*
	 * Compared only where the cgroups are the simulator's own (/NAME/...): the test's
	 * /kubepods is the machine's, and other engineers' tests run their burners there
	 * at the same time; inside that shared parent they slow the probe whatever this
	 * daemon does (seen: the burners at a twentieth of their usual pace unprotected,
	 * the probe worse throttled than not).
	 */
	if (apply)
		assert_better(&before, &during);

	lift_phase(&r, &ls);
	if (nri)
		assert_direct(&r);
	tg_rc = stop_daemon(&r);
	rig_kill(&pids[0]);
	keep_log(r.log, nri ? "latency-direct" : apply ? "latency-sim" : "latency");
	assert_int_equal(tg_rc, 0);
	assert_true(e2e_file_count(r.log, "closed loop: throttle container=b1") >= 1);
	e2e_teardown(&r.e);
}

static void test_closed_loop_throttles_burners_and_lifts_it(void **state)
{
	(void)state;
	run_latency(NULL, NULL);
}

/* The same through the simulator's real cgroups: it applies the UpdateContainers. */
static void test_closed_loop_through_the_simulators_cgroups(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "tgcl-sim-%d", getpid());
	run_latency(name, NULL);
}

/* The same on a runtime with containerd#13733 (NRI v0.9.0): direct actuation. */
static void test_closed_loop_direct_actuation_on_old_nri(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "tgcl-direct-%d", getpid());
	run_latency(name, "v0.9.0");
}

/* 2 ms of every 10: a container that uses CPU, which a loop without blame throttles. */
static void light_fn(struct rig_shared *s, int arg)
{
	(void)s;
	(void)arg;
	for (;;) {
		uint64_t end = rig_now() + 2 * MS;

		while (rig_now() < end)
			;
		usleep(8000);
	}
}

/* Who the daemon blames the probe's breach on now ("" while not breached). */
static void blame_now(const char *sock, char *buf, size_t size)
{
	json_object *st = status_get(sock);
	json_object *cl = st ? e2e_jget(st, "closed_loop") : NULL;
	json_object *br = cl ? e2e_jget(cl, "breached") : NULL;

	br = br ? e2e_jget(br, "ls") : NULL;
	snprintf(buf, size, "%s", br ? e2e_jstr(br, "blame") : "");
	json_object_put(st);
}

/*
 * (d) Two CPU burners outside every container (the holding cgroup, which the daemon
 * does not follow) on the probe's CPU, and a container that uses a little CPU:
 * the probe breaches, the breach is the host's, and the daemon must not act against
 * any container (before blame it throttled the light one, which cannot help). Only
 * the decisions: no quota, no shield, the breach blamed on the host when one was seen.
 */
static void test_closed_loop_does_not_act_on_load_outside_containers(void **state)
{
	struct loop_state ls = {.q1 = -1, .q2 = -1, .real = true};
	struct daemon_run r = {0};
	char name[64], blame[32];
	int host = 0, neighbours = 0, breached = 0, tg_rc;
	uint64_t end;

	(void)state;
	snprintf(name, sizeof(name), "tgcl-host-%d", getpid());
	r.apply = name;
	latency_start(&r, &ls);
	pids[1] = rig_spawn(cg_hold, PROBE_CPU, rig_burner_fn, sh, 0);
	pids[2] = rig_spawn(cg_hold, PROBE_CPU, rig_burner_fn, sh, 1);
	/* on the other CPU: it does not delay the probe, the burners do */
	pids[3] = rig_spawn(cg_b1, PROBE_CPU ? 0 : 1, light_fn, sh, 0);
	end = rig_now() + PHASE_MAX_MS * MS;
	for (uint64_t min = rig_now() + 3000 * MS; rig_now() < end;) {
		run_for(&ls, 100 * MS);
		blame_now(r.stat, blame, sizeof(blame));
		host += !strcmp(blame, "host");
		neighbours += !strcmp(blame, "neighbours");
		breached += *blame != '\0';
		if (host >= 10 && rig_now() >= min)
			break;
	}
	tg_rc = stop_daemon(&r);
	kill_all();
	keep_log(r.log, "host-load");
	fprintf(stderr,
		"burners outside containers: %d status polls saw a breach, %d blamed on the host, "
		"%d on neighbours%s\n",
		breached, host, neighbours,
		breached ? "" : " (no breach: the decisions below had nothing to gate)");
	assert_int_equal(tg_rc, 0);
	assert_int_equal(ls.first_change, 0);
	assert_false(ls.probe_throttled);
	assert_int_equal(e2e_file_count(r.log, "closed loop: throttle container="), 0);
	assert_int_equal(e2e_file_count(r.log, "closed loop: shield container="), 0);
	assert_int_equal(neighbours, 0);
	e2e_teardown(&r.e);
}

/* cpuset.cpus of the simulator's container cgroup NAME/id. */
static void cpus_of(const char *name, const char *id, char *buf, size_t size)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/%s/cpuset.cpus", name, id);
	buf[0] = '\0';
	f = fopen(p, "re");
	if (f && !fgets(buf, (int)size, f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

struct shield_view {
	char ls[64], b1[64], b2[64], all[64];
};

static void view(const char *name, struct shield_view *v)
{
	cpus_of(name, "ls", v->ls, sizeof(v->ls));
	cpus_of(name, "b1", v->b1, sizeof(v->b1));
	cpus_of(name, "b2", v->b2, sizeof(v->b2));
}

static bool parse(const char *text, struct cpuset *set)
{
	return *text && cpuset_parse(text, strlen(text), set) == 0;
}

/* The probe on CPUs of its own, both burners on the rest of the pool. */
static bool shielded(const struct shield_view *v)
{
	struct cpuset ls, b1, b2, all, u;

	if (!parse(v->ls, &ls) || !parse(v->b1, &b1) || !parse(v->b2, &b2) || !parse(v->all, &all))
		return false;
	cpuset_or(&u, &ls, &b1);
	return !cpuset_is_empty(&ls) && !cpuset_is_empty(&b1) && cpuset_equal(&b1, &b2) &&
	       !cpuset_intersects(&ls, &b1) && cpuset_equal(&u, &all);
}

static bool whole(const struct shield_view *v)
{
	return !strcmp(v->ls, v->all) && !strcmp(v->b1, v->all) && !strcmp(v->b2, v->all);
}

/*
 * cooldown: no give-back during the shielded phase. The daemon counts what the pool's
 * containers use, not what they wait for, and with the burners confined to a CPU the
 * machine keeps busy (everything pinned to CPU 0) they may seem to want little: with
 * 2 s, once given back 16 ms after the burners stopped, nearly inside the phase.
 */
/* verify_intervals 0: as latency_config (seen: shielded p99 2.7 ms, unprotected 0.2 ms,
 * under other engineers' load) */
/*
 * blame_percent 0: the lever is what this case tests, whoever is to blame. Probe and
 * burners share the whole pool, so load outside containers (CI's two busy loops) makes
 * about half the probe's waits the host's, and with blame on the daemon rightly held
 * back: no shield in 5 s, seen once in a busy CI run. Blame has its own cases (the
 * throttle case's "breach blamed on neighbours", load outside containers).
 */
static const char shield_config[] = "live:\n"
				    "  blame_percent: 0\n"
				    "  verify_intervals: 0\n"
				    "  sampling_interval: 100ms\n"
				    "  throttle_step_percent: 50\n"
				    "  throttle_min_quota_percent: 0\n"
				    "  throttle_period: 1s\n"
				    "  cooldown: 5s\n"
				    "  intrusion_target_percent: 0\n"
				    "  actions_per_second: 0\n";

/* The daemon's own view: the probe holds a shield. */
static bool shield_in_status(const char *sock)
{
	json_object *st = status_get(sock);
	json_object *cl = st ? e2e_jget(st, "closed_loop") : NULL;
	json_object *shd = cl ? e2e_jget(cl, "shielded") : NULL;
	bool ok = shd && e2e_jget(shd, "ls");

	json_object_put(st);
	return ok;
}

/* Cgroups, daemon and probe of (c): the simulator's cgroups, the probe in its own. */
static void shield_start(struct daemon_run *r, struct loop_state *ls, struct shield_view *v)
{
	char scen[1024], p[512];

	assert_int_equal(e2e_setup(&r->e), 0);
	latency_scenario(scen, sizeof(scen));
	rig_reset(sh);
	start_daemon(r, scen, shield_config);
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/b2", r->apply);
	assert_int_equal(e2e_wait_path(p, 5000), 0);
	snprintf(cg_ls, sizeof(cg_ls), "/%s/ls", r->apply);
	snprintf(cg_b1, sizeof(cg_b1), "/%s/b1", r->apply);
	snprintf(cg_b2, sizeof(cg_b2), "/%s/b2", r->apply);
	cpus_of(r->apply, ".", v->all, sizeof(v->all));
	ls->sock = r->stat;
	pids[0] = rig_spawn(cg_ls, -1, rig_probe_fn, sh, 0);
	for (int i = 0; i < 100 && !(followed(r->stat, "ls") && followed(r->stat, "b1")); i++)
		usleep(50000);
	assert_true(followed(r->stat, "ls"));
}

/* The CPUs process pid may run on, as the kernel has them (cpuset and affinity). */
static void allowed_of(pid_t pid, struct cpuset *set)
{
	char list[256];

	assert_int_equal(rig_allowed(pid, list, sizeof(list)), 0);
	assert_true(parse(list, set));
}

/* Where the processes may run now: the probe where its cgroup says, the burners not there. */
static void assert_apart(const struct shield_view *v)
{
	struct cpuset ls, probe, b1, b2;

	assert_true(parse(v->ls, &ls));
	allowed_of(pids[0], &probe);
	allowed_of(pids[1], &b1);
	allowed_of(pids[2], &b2);
	assert_true(cpuset_equal(&probe, &ls));
	assert_false(cpuset_intersects(&probe, &b1));
	assert_false(cpuset_intersects(&probe, &b2));
}

#define SHIELDS_SENT "topoguard_control_reaction_seconds_count{kind=\"shield\"}"

/*
 * Polls the cgroups until they show the shield, up to SEEN_BOUND_MS from the burners'
 * start (from), or from when the test first saw the daemon's shield counter move if
 * that is later (*sent; 0 if the cgroups showed the shield first). The daemon's breach
 * may come late: in a busy CI run the probe felt none in 5.3 s, and a shield came
 * after that, 100.6 ms after the breach by the daemon's clock, which a bound from the
 * burners' start counted as no shield at all. The counter is read once more after
 * the last look at the cgroups, so a shield sent at the deadline gets its bound too.
 * Returns when the look that found the shield began: the bound is the deadline of the
 * looks, not of the time this process spent off the CPU after one (a look and a
 * counter read took 2.3 s once, beside two busy loops).
 */
static uint64_t wait_shield(const struct daemon_run *r, struct shield_view *v, uint64_t from,
			    uint64_t *sent)
{
	uint64_t end = from + SEEN_BOUND_MS * MS, poll = 0;

	*sent = 0;
	for (;;) {
		uint64_t now = rig_now();
		bool late = now >= end;

		if (!*sent && (late || now >= poll)) {
			if (metric(r->maddr, SHIELDS_SENT) >= 1) {
				*sent = now;
				end = now + SEEN_BOUND_MS * MS > end ? now + SEEN_BOUND_MS * MS
								     : end;
				continue;
			}
			poll = now + 100 * MS;
		}
		view(r->apply, v);
		if (shielded(v) || late)
			return now;
		usleep(5000);
	}
}

/*
 * The burners start and saturate the pool: the shield must follow (bounds as in
 * throttle_phase(): the daemon's from its breach, the cgroups' from the burners' start
 * or from the shield sent, see wait_shield()). The probe is in its container from the
 * start: its latency is not compared here (see the test), so no unprotected phase.
 */
static bool shield_phase(struct daemon_run *r, struct loop_state *ls, struct shield_view *v,
			 struct phase *before)
{
	uint64_t t_burn, t_shield, t_sent, t_felt, from;
	double reaction;

	start_burners(ls, -1);
	phase_begin(before, rig_now());
	t_burn = before->t0;
	t_shield = wait_shield(r, v, t_burn, &t_sent);
	phase_end(before, "unprotected (burners running, until the shield)");
	t_felt = rig_first_breach(sh, t_burn, 100 * MS, TARGET_US * 1000ull);
	from = t_sent > t_burn ? t_sent : t_burn;
	/*
	 * No shield, none sent, and the burners never delayed the probe (no median window
	 * with late wakeups): there was no breach to act on, and acting would have been the
	 * fault. The case then has nothing to check; the caller skips it, saying so.
	 */
	if (!shielded(v) && !t_sent && before->st.late_med == 0) {
		fprintf(stderr,
			"burners started: no shield in %.1f ms, none sent; breach felt %s\n",
			(double)(t_shield - t_burn) / 1e6, t_felt ? "once" : "never");
		return false;
	}
	reaction = daemon_reaction_ms(r->maddr, "shield");
	fprintf(stderr,
		"burners started: breach felt after %.1f ms; the daemon's reaction %.1f ms "
		"(target 250 ms, CI bound %d ms); in the cgroups after %.1f ms, %.1f ms after "
		"%s (bound %d ms): probe on CPU %s, burners on %s (pool %s)\n",
		t_felt ? (double)(t_felt - t_burn) / 1e6 : -1.0, reaction, CI_REACTION_BOUND_MS,
		(double)(t_shield - t_burn) / 1e6, (double)(t_shield - from) / 1e6,
		from == t_burn ? "their start" : "the shield was seen sent", SEEN_BOUND_MS, v->ls,
		v->b1, v->all);
	assert_true(shielded(v));
	assert_true(reaction >= 0 && reaction <= CI_REACTION_BOUND_MS);
	assert_true(t_shield <= from + SEEN_BOUND_MS * MS);
	assert_true(shield_in_status(r->stat));
	/* nobody stays throttled: the shield replaced any throttle */
	assert_true(mirror_until(ls, lifted, CI_REACTION_BOUND_MS));
	return true;
}

static void test_closed_loop_shields_the_probe_from_a_saturated_pool(void **state)
{
	struct loop_state ls = {.q1 = -1, .q2 = -1, .real = true};
	struct daemon_run r = {0};
	struct shield_view v;
	struct phase before, during;
	char name[64], cl[64];
	uint64_t t_stop, end;
	int tg_rc;

	(void)state;
	snprintf(name, sizeof(name), "tgcl-shield-%d", getpid());
	r.apply = name;
	shield_start(&r, &ls, &v);
	run_for(&ls, 500 * MS); /* the probe alone: nothing to do */
	view(name, &v);
	assert_true(whole(&v));
	assert_int_equal(ls.first_change, 0);

	if (!shield_phase(&r, &ls, &v, &before)) {
		rig_kill(&pids[1]);
		rig_kill(&pids[2]);
		tg_rc = stop_daemon(&r);
		rig_kill(&pids[0]);
		keep_log(r.log, "shield");
		e2e_teardown(&r.e);
		assert_int_equal(tg_rc, 0);
		tg_skip("the burners never delayed the probe on this run (no breach), and rightly "
			"no shield came: nothing to check");
	}
	run_for(&ls, 500 * MS);
	phase_begin(&during, rig_now());
	run_phase(&ls, during.t0, PHASE_MIN_WAKEUPS, 1500, PHASE_MAX_MS);
	phase_end(&during, "shielded (probe on CPUs of its own, burners on the rest)");
	view(name, &v);
	assert_true(shielded(&v)); /* the shield held all along */
	assert_apart(&v);
	assert_true(lifted(&ls));
	assert_false(ls.probe_throttled);
	/*
	 * The shield moved the burners, it did not stop them. The probe's lateness is
	 * printed, not compared: free to run on both CPUs, the burners may or may not get
	 * in its way unprotected (the scheduler may keep them apart by itself: 0-32 % of
	 * wakeups late, measured); a shield keeps the pool's containers off its CPUs,
	 * not the host's own processes (docs/closed-loop.md, "Not done"), and two
	 * unconfined busy loops beside the test move onto the CPU the burners left
	 * (measured: later than 2 ms, 6 % unprotected, 24 % shielded, in one run).
	 */
	if (during.loops_per_s == 0) /* seen once: what the kernel says, for the next look */
		fprintf(stderr,
			"burners stalled: cfs_quota_us %lld and %lld, nr_throttled %lld and %lld\n",
			rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us"),
			rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us"), nr_throttled(cg_b1),
			nr_throttled(cg_b2));
	assert_true(during.loops_per_s > 0);
	snprintf(cl, sizeof(cl), "%s", v.ls);

	rig_kill(&pids[1]);
	rig_kill(&pids[2]);
	t_stop = rig_now();
	end = t_stop + LIFT_BOUND_MS * MS;
	while (!whole(&v) && rig_now() < end) {
		usleep(5000);
		view(name, &v);
	}
	fprintf(stderr,
		"burners stopped: shield of CPU %s given back after %.0f ms (bound %d ms)\n", cl,
		(double)(rig_now() - t_stop) / 1e6, LIFT_BOUND_MS);
	assert_true(whole(&v));
	assert_true(metric_at_least(r.maddr,
				    "topoguard_control_reaction_seconds_count{kind=\"shield\"}",
				    1) >= 1);
	assert_true(metric_at_least(
			    r.maddr,
			    "topoguard_control_actions_total{kind=\"shield\",result=\"applied\"}",
			    1) >= 1);
	assert_true(metric_at_least(
			    r.maddr,
			    "topoguard_control_actions_total{kind=\"unshield\",result=\"sent\"}",
			    1) >= 1);
	tg_rc = stop_daemon(&r);
	rig_kill(&pids[0]);
	keep_log(r.log, "shield");
	assert_int_equal(tg_rc, 0);
	assert_true(e2e_file_count(r.log, "closed loop: shield container=ls") >= 1);
	e2e_teardown(&r.e);
}

static void test_closed_loop_memory_hog_is_evicted_through_the_api(void **state)
{
	struct kube_server_req req[KUBE_SERVER_MAX_REQ];
	struct kube_server ks;
	struct daemon_run r;
	char scen[1024], cfg[2048], tok[256], dir[256];
	unsigned int n = 0;
	double reaction;
	int tg_rc;

	(void)state;
	assert_int_equal(e2e_setup(&r.e), 0);
	e2e_path(&r.e, dir, sizeof(dir), "");
	dir[strlen(dir) - 1] = '\0';
	if (system("openssl version >/dev/null 2>&1") != 0 ||
	    MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		e2e_teardown(&r.e);
		tg_skip("needs the openssl CLI and libmicrohttpd with TLS (the API stand-in)");
	}
	assert_int_equal(kube_server_start(&ks, dir, "tg-e2e-token", 1), 0);
	assert_int_equal(e2e_write(&r.e, "token", "tg-e2e-token\n"), 0);
	e2e_path(&r.e, tok, sizeof(tok), "token");
	snprintf(cfg, sizeof(cfg),
		 "live:\n  sampling_interval: 100ms\n"
		 "eviction:\n  enabled: true\n  dry_run: false\n"
		 "  memory_watermark_percent: 100\n  psi_threshold_percent: 100\n"
		 "  memory_watermark_bytes: %d\n  persist: 100ms\n  rate_limit_per_minute: 10\n"
		 "kubernetes:\n  enabled: true\n  api_server: \"%s\"\n  token_file: \"%s\"\n"
		 "  ca_file: \"%s\"\n  timeout: 2s\n",
		 WATERMARK_MB << 20, ks.url, tok, ks.ca_file);
	snprintf(scen, sizeof(scen),
		 "existing pod p3 default/hog uid=%s qos=besteffort\n"
		 "existing create hog pod=p3 name=hog\n"
		 "existing pod p4 default/idle uid=%s qos=besteffort\n"
		 "existing create idle pod=p4 name=idle\n"
		 "sleep 30000\n",
		 uid_hog, uid_idle);
	assert_int_equal(rig_mkcg(cg_hog), 0);
	assert_int_equal(rig_mkcg(cg_idle), 0);
	/* the idle container holds a little memory from the start; the hog grows */
	pids[4] = rig_spawn(cg_idle, 0, rig_hog_fn, sh, 8);
	start_daemon(&r, scen, cfg);
	for (int i = 0; i < 100 && !(followed(r.stat, "hog") && followed(r.stat, "idle")); i++)
		usleep(50000);
	assert_true(followed(r.stat, "hog"));
	sh->crossed_ns = 0;
	pids[3] = rig_spawn(cg_hog, 0, rig_hog_fn, sh, 128);
	for (int i = 0; i < 500 && n < 2; i++) {
		usleep(10000);
		n = kube_server_requests(&ks, req);
	}
	usleep(500000); /* the daemon collects the answer on its next tick; nothing else goes */
	n = kube_server_requests(&ks, req);
	reaction = daemon_reaction_ms(r.maddr, "evict");
	tg_rc = stop_daemon(&r);
	kube_server_stop(&ks);
	assert_int_equal(tg_rc, 0);
	assert_int_equal(n, 2);
	assert_true(sh->crossed_ns > 0);
	fprintf(stderr,
		"watermark crossed: eviction request after %.1f ms (429; the daemon's reaction "
		"%.1f ms, target 500 ms, CI bound %d ms), retried %.1f ms later (201)\n",
		((double)req[0].at_ns - (double)sh->crossed_ns) / 1e6, reaction,
		CI_REACTION_BOUND_MS, (double)(req[1].at_ns - req[0].at_ns) / 1e6);
	assert_string_equal(req[0].path, "/api/v1/namespaces/default/pods/hog/eviction");
	assert_string_equal(req[1].path, req[0].path); /* the retry; the idle pod stays */
	assert_true(req[0].token_ok && req[1].token_ok);
	assert_int_equal(req[0].status, 429);
	assert_int_equal(req[1].status, 201);
	assert_non_null(strstr(req[0].body, "\"Eviction\""));
	assert_true(reaction >= 0 && reaction <= CI_REACTION_BOUND_MS);
	assert_true(req[0].at_ns <= sh->crossed_ns + SEEN_BOUND_MS * MS);
	assert_true(req[1].at_ns - req[0].at_ns >= 200 * MS); /* kube.c's first backoff */
	keep_log(r.log, "memory");
	assert_true(e2e_file_count(r.log, "closed loop: evicted pod default/hog") == 1);
	e2e_teardown(&r.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_closed_loop_throttles_burners_and_lifts_it,
					  teardown),
		cmocka_unit_test_teardown(test_closed_loop_through_the_simulators_cgroups,
					  teardown),
		cmocka_unit_test_teardown(test_closed_loop_direct_actuation_on_old_nri, teardown),
		cmocka_unit_test_teardown(test_closed_loop_shields_the_probe_from_a_saturated_pool,
					  teardown),
		cmocka_unit_test_teardown(test_closed_loop_does_not_act_on_load_outside_containers,
					  teardown),
		cmocka_unit_test_teardown(test_closed_loop_memory_hog_is_evicted_through_the_api,
					  teardown),
	};
	struct stat st;

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (real cgroups and BPF)\n");
		return 77;
	}
	if (getenv("TOPOGUARD_EMULATED_CPUS")) { /* set by scripts/vmtest.sh in its guests */
		fprintf(stderr, "host only: its reaction bounds and phase comparisons assume real "
				"CPUs, and the QEMU guest runs its vCPUs on one host thread "
				"(docs/closed-loop.md)\n");
		return 77;
	}
	if (stat("/sys/fs/cgroup/cpu/tasks", &st) < 0 ||
	    stat("/sys/fs/cgroup/memory/tasks", &st) < 0) {
		fprintf(stderr, "needs the cgroup v1 cpu and memory controllers\n");
		return 77;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "needs 2 CPUs (the probe and burners on CPU 1, the daemon free)\n");
		return 77;
	}
	sh = rig_shared_new();
	if (!sh)
		return 1;
	snprintf(uid_ls, sizeof(uid_ls), "tgcl-ls-%d", getpid());
	snprintf(uid_be, sizeof(uid_be), "tgcl-be-%d", getpid());
	snprintf(uid_hog, sizeof(uid_hog), "tgcl-hog-%d", getpid());
	snprintf(uid_idle, sizeof(uid_idle), "tgcl-idle-%d", getpid());
	snprintf(cg_ls, sizeof(cg_ls), "/kubepods/burstable/pod%s/ls", uid_ls);
	snprintf(cg_b1, sizeof(cg_b1), "/kubepods/burstable/pod%s/b1", uid_be);
	snprintf(cg_b2, sizeof(cg_b2), "/kubepods/burstable/pod%s/b2", uid_be);
	snprintf(cg_hog, sizeof(cg_hog), "/kubepods/besteffort/pod%s/hog", uid_hog);
	snprintf(cg_idle, sizeof(cg_idle), "/kubepods/besteffort/pod%s/idle", uid_idle);
	rig_pin(0); /* the daemon and the simulator inherit CPU 0 */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
