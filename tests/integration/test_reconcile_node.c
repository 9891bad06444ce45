/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Trust the node, not the runtime's report (issue 19), against the real kernel (root;
 * cgroup v1's cpuset and cpu controllers, or cgroup v2 with cpuset and cpu enabled at the
 * root; the rig is reconcile_rig.h: nri-sim
 * --apply-cgroups, the daemon on the real cgroup root). Every verdict is read from the
 * cgroup files, not from the simulator's model:
 *   - ghosts: a creation that failed after CreateContainer (`fail-after`: no cgroup, no
 *     PostCreate, Stop or Remove) keeps its exclusive CPU until reconcile.ghost_after
 *     and not a moment less, then the shared cgroup widens and the next Guaranteed
 *     container's cgroup gets that CPU; the same ghost whose cgroup the test made, with
 *     a process in it, keeps its CPU long past ghost_after (a process is proof of life)
 *     and loses it within one pass once that cgroup vanishes with no event;
 *   - stale specs: after `fault runtime-restart stale-specs` the runtime reports
 *     creation-time cpusets. The resync re-asserts the intent whatever the report says
 *     (a CPU freed while the runtime was down reaches the shared cgroup although the
 *     report shows it there already), and two containers the report both puts on one
 *     exclusive CPU never share it in the kernel.
 * Both modes assert the same: v2 reads cpuset.cpus.effective, cpu.weight and cpu.max
 * where v1 reads cpuset.cpus, cpu.shares and cpu.cfs_quota_us, with the values
 * translated (shares 512 is weight 20, the kubelet's conversion).
 * Times are scaled by TOPOGUARD_TIMEOUT_SCALE; lower bounds are measured from a moment
 * before the simulator started, so that no scheduling delay can make them pass.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/integration/reconcile_rig.h"
#include "tests/lib/skip.h"

#define GHOST_AFTER_MS 3000 /* reconcile.ghost_after, before the scale */
#define PASS_BOUND_MS  2000 /* reconcile.interval 1 s, the 250 ms tick, a busy machine */
#define GUA	       "cpu-request=1000 cpu-limit=1000 mem-limit=134217728"
#define GUA_SHARES     1024 /* what the kubelet gives GUA's 1000m request */

/* Each case skips, with its reason, where the cgroups it needs are missing. */
static void skip_unless_ready(void)
{
	const char *why = rig_skip_reason();

	if (why)
		tg_skip("%s", why);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tg_skip("needs 2 CPUs: an exclusive CPU next to a shared one");
}

static void config(char *buf, size_t len, const char *interval)
{
	snprintf(buf, len,
		 "reconcile:\n  interval: %s\n  ghost_after: %dms\nlive:\n  enabled: false\n",
		 interval, e2e_timeout_ms(GHOST_AFTER_MS));
}

/* Shared w1, then the ghost id (exclusive, fail-after); once the release went out (the
 * first unsolicited update) and w1's widened cgroup had 2 s to be seen, the next
 * Guaranteed container e2. */
static void ghost_scenario(char *buf, size_t len, const char *id, int wait_ms)
{
	snprintf(buf, len,
		 "pod p2 default/web uid=u2 qos=burstable\n"
		 "create w1 pod=p2 name=web cpu-request=250 cpu-limit=1000 "
		 "mem-limit=67108864\n"
		 "start w1\n"
		 "pod p1 default/gua uid=u1 qos=guaranteed\n"
		 "create %s pod=p1 name=app " GUA " exclusive fail-after\n"
		 "wait-updates 1 %d\n"
		 "sleep %d\n"
		 "create e2 pod=p1 name=next " GUA " exclusive\n"
		 "start e2\n"
		 "sleep %d\n",
		 id, wait_ms, e2e_timeout_ms(2000), e2e_timeout_ms(1000));
}

/* The ghost is placed: w1's cgroup lost one CPU, the ghost's (*ret). The ms it took. */
static long ghost_placed(const struct run *r, const struct cpuset *all, struct cpuset *ret)
{
	struct cpuset w1;
	long ms = wait_count(r, "w1", cpuset_count(all) - 1, e2e_timeout_ms(10000), &w1);

	assert_true(ms >= 0);
	cpuset_andnot(ret, all, &w1);
	assert_int_equal(cpuset_count(ret), 1);
	return ms;
}

/* The freed CPU went to the next Guaranteed container, in the kernel, and off w1. */
static void next_gets(const struct run *r, const struct cpuset *cpu, const struct cpuset *all)
{
	struct cpuset rest;

	assert_true(wait_cpus(r, "e2", cpu, e2e_timeout_ms(5000)) >= 0);
	cpuset_andnot(&rest, all, cpu);
	assert_true(wait_cpus(r, "w1", &rest, e2e_timeout_ms(5000)) >= 0);
}

static void assert_released(const struct run *r, const char *id, const char *reason)
{
	char line[128];
	json_object *st = ask(r, "status");

	assert_null(status_container(st, id));
	json_object_put(st);
	assert_int_equal(reconcile_count(r, "ghosts_released"), 1);
	snprintf(line, sizeof(line), "ghost released: container=%s", id);
	assert_int_equal(e2e_file_count(r->dlog, line), 1);
	snprintf(line, sizeof(line), "reason=%s", reason);
	assert_int_equal(e2e_file_count(r->dlog, line), 1);
}

/*
 * (a) A ghost with no cgroup: its CPU stays out of w1's cgroup until ghost_after after
 * its creation (measured from before the simulator started, so never earlier), comes
 * back within a tick and a busy machine's delay, and e2's cgroup gets it.
 */
static void test_ghost_released_at_ghost_after(void **state)
{
	struct run *r = *state;
	int ga = e2e_timeout_ms(GHOST_AFTER_MS);
	char cfg[256], scn[1024];
	struct cpuset all, gh;
	uint64_t t0, seen, freed;

	skip_unless_ready();
	all_cpus(&all);
	config(cfg, sizeof(cfg), "1s");
	ghost_scenario(scn, sizeof(scn), "gh", ga * 4 + e2e_timeout_ms(10000));
	t0 = now_ms();
	start_sim(r, scn);
	start_daemon_with(r, cfg);
	ghost_placed(r, &all, &gh);
	seen = now_ms();
	/* the runtime made no cgroup for it: nothing runs there */
	assert_false(ctr_dir_exists(r, "gh"));
	assert_true(wait_cpus(r, "w1", &all, ga + e2e_timeout_ms(10000)) >= 0);
	freed = now_ms();
	fprintf(stderr, "ghost: seen placed at %llu ms, its CPU back at %llu ms (ghost_after %d)\n",
		(unsigned long long)(seen - t0), (unsigned long long)(freed - t0), ga);
	assert_true(freed - t0 >= (uint64_t)ga);
	assert_true(freed - seen <= (uint64_t)(ga + e2e_timeout_ms(PASS_BOUND_MS)));
	next_gets(r, &gh, &all);
	assert_released(r, "gh", "never-started");
	finish_sim(r, e2e_timeout_ms(20000));
}

/* Fail unless w1's cgroup keeps exactly held until until_ms after t0. */
static void hold(const struct run *r, const struct cpuset *held, uint64_t t0, uint64_t until_ms)
{
	struct cpuset have;

	while (now_ms() - t0 < until_ms) {
		if (kernel_cpus(r, "w1", &have) && !cpuset_equal(&have, held))
			fail_msg(
				"w1's cgroup changed at %llu ms although the ghost's has a process",
				(unsigned long long)(now_ms() - t0));
		usleep(20000);
	}
}

/*
 * (b) The same ghost, but the test gives it the cgroup a runtime would have made, on
 * its CPU, with a process: a process is proof of life, so twice ghost_after later it
 * still holds the CPU. Then the process ends and the cgroup goes, with no event (a
 * runtime that forgot it): the next pass sees the cgroup gone and releases it.
 */
static void test_ghost_kept_while_its_cgroup_has_tasks(void **state)
{
	struct run *r = *state;
	int ga = e2e_timeout_ms(GHOST_AFTER_MS);
	char cfg[256], scn[1024], cpus[64], mems[64];
	struct cpuset all, gk, w1;
	uint64_t t0, gone;
	long ms;

	skip_unless_ready();
	all_cpus(&all);
	config(cfg, sizeof(cfg), "1s");
	ghost_scenario(scn, sizeof(scn), "gk", ga * 4 + e2e_timeout_ms(20000));
	t0 = now_ms();
	start_sim(r, scn);
	start_daemon_with(r, cfg);
	ghost_placed(r, &all, &gk);
	assert_true(cpuset_format(&gk, cpus, sizeof(cpus)) >= 0);
	intended_set(r, "gk", "mems", mems, sizeof(mems));
	assert_int_equal(squat(r, "gk", cpus, mems, GUA_SHARES), 0);
	if (now_ms() - t0 >= (uint64_t)ga)
		fail_msg("the ghost's cgroup came %llu ms after the start, past ghost_after",
			 (unsigned long long)(now_ms() - t0));
	cpuset_andnot(&w1, &all, &gk);
	hold(r, &w1, t0, 2 * (uint64_t)ga + (uint64_t)e2e_timeout_ms(PASS_BOUND_MS));
	assert_int_equal(reconcile_count(r, "ghosts_released"), 0);
	squat_remove(r);
	gone = now_ms();
	ms = wait_cpus(r, "w1", &all, e2e_timeout_ms(10000));
	fprintf(stderr,
		"ghost with a process: kept %llu ms, released %ld ms after its cgroup went\n",
		(unsigned long long)(gone - t0), ms);
	assert_true(ms >= 0 && ms <= e2e_timeout_ms(PASS_BOUND_MS));
	next_gets(r, &gk, &all);
	assert_released(r, "gk", "cgroup-gone");
	finish_sim(r, e2e_timeout_ms(20000));
}

/*
 * (c) CRI-O 1.26 restarts: its report then shows w1 on every CPU (its creation-time
 * cpuset) while the kernel has it squeezed off e1's CPU, and e1's process ended while
 * the runtime was away. The report already shows w1 where topoguard wants it, so only
 * the resync's re-assertion gives w1's cgroup e1's CPU back: reconcile.interval is 0
 * here, no pass could repair it instead.
 */
static void test_resync_reasserts_what_stale_specs_hide(void **state)
{
	struct run *r = *state;
	char cfg[256], scn[1024], procs[64];
	struct cpuset all, e1, w1;

	skip_unless_ready();
	all_cpus(&all);
	config(cfg, sizeof(cfg), "0s");
	snprintf(scn, sizeof(scn),
		 "pod p2 default/web uid=u2 qos=burstable\n"
		 "create w1 pod=p2 name=web cpu-request=250 cpu-limit=1000 "
		 "mem-limit=67108864\n"
		 "start w1\n"
		 "pod p1 default/gua uid=u1 qos=guaranteed\n"
		 "create e1 pod=p1 name=app " GUA " exclusive\n"
		 "start e1\n"
		 "sleep %d\n"
		 "fault runtime-restart 300 stale-specs lose=e1\n"
		 "sleep %d\n",
		 e2e_timeout_ms(1500), e2e_timeout_ms(3000));
	start_sim(r, scn);
	start_daemon_with(r, cfg);
	assert_true(wait_count(r, "e1", 1, e2e_timeout_ms(10000), &e1) >= 0);
	cpuset_andnot(&w1, &all, &e1);
	assert_true(wait_cpus(r, "w1", &w1, e2e_timeout_ms(5000)) >= 0);
	/* e1's process ends, its cgroup stays; w1 gets every CPU back */
	assert_true(wait_cpus(r, "w1", &all, e2e_timeout_ms(10000)) >= 0);
	assert_int_equal(e2e_file_count(r->dlog, "synchronized:"), 2);
	assert_true(ctr_dir_exists(r, "e1"));
	assert_int_equal(
		read_file(CPUSET_ROOT, r->name, "e1", "cgroup.procs", procs, sizeof(procs)), 0);
	assert_string_equal(procs, "");
	finish_sim(r, e2e_timeout_ms(20000));
}

/* Every exclusive container in status st holds CPUs no other cgroup of ids has. */
static void assert_disjoint(const struct run *r, json_object *st, const char *const *ids, int n)
{
	for (int i = 0; i < n; i++) {
		json_object *c = status_container(st, ids[i]);
		struct cpuset mine, other;

		if (!c || strcmp(e2e_jstr(c, "pool"), "exclusive"))
			continue;
		assert_true(kernel_cpus(r, ids[i], &mine));
		for (int j = 0; j < n; j++) {
			if (j != i && kernel_cpus(r, ids[j], &other) &&
			    cpuset_intersects(&mine, &other))
				fail_msg("exclusive %s shares CPUs with %s in the kernel", ids[i],
					 ids[j]);
		}
	}
}

/*
 * (d) c1 had the exclusive CPU, was resized to 500m (the CPU freed) and e2 took it.
 * After a restart with stale specs the report puts both on that CPU as exclusive.
 * The kernel must never show them sharing it (nri-sim checks after every update, both
 * being marked `exclusive`), and once the resync and the pass after it are done every
 * cgroup holds the daemon's intent, whose exclusive CPUs no other cgroup has. The
 * daemon ran on across the runtime's restart, so it trusts what it last gave each
 * container over the stale report: e2 keeps its CPU, and c1 keeps its resized
 * 500m (shares 512, quota 50000), not the creation-time 1024 and unlimited.
 */
static void test_stale_specs_hand_no_cpu_twice(void **state)
{
	static const char *const ids[] = {"w1", "c1", "e2"};
	struct run *r = *state;
	char cfg[256], scn[1536], want[64], have[64], quota[32];
	struct cpuset all, e2, now;
	uint64_t t0;
	json_object *st;

	skip_unless_ready();
	all_cpus(&all);
	config(cfg, sizeof(cfg), "1s");
	snprintf(scn, sizeof(scn),
		 "pod p2 default/web uid=u2 qos=burstable\n"
		 "create w1 pod=p2 name=web cpu-request=250 cpu-limit=1000 "
		 "mem-limit=67108864\n"
		 "start w1\n"
		 "pod p1 default/gua uid=u1 qos=guaranteed\n"
		 "create c1 pod=p1 name=app " GUA " exclusive\n"
		 "start c1\n"
		 "update c1 cpu-request=500 cpu-limit=500 mem-limit=134217728\n"
		 "pod p3 default/gua2 uid=u3 qos=guaranteed\n"
		 "create e2 pod=p3 name=next " GUA " exclusive\n"
		 "start e2\n"
		 "sleep %d\n"
		 "fault runtime-restart 300 stale-specs\n"
		 "sleep %d\n",
		 e2e_timeout_ms(1500), e2e_timeout_ms(6000));
	start_sim(r, scn);
	start_daemon_with(r, cfg);
	assert_true(wait_count(r, "e2", 1, e2e_timeout_ms(10000), &e2) >= 0);
	/* the resync, then its pass 1.5 s later, then room for a busy machine */
	t0 = now_ms();
	while (e2e_file_count(r->dlog, "synchronized:") < 2 &&
	       now_ms() - t0 < (uint64_t)e2e_timeout_ms(10000))
		usleep(20000);
	assert_int_equal(e2e_file_count(r->dlog, "synchronized:"), 2);
	usleep((useconds_t)e2e_timeout_ms(1500 + PASS_BOUND_MS) * 1000);
	st = ask(r, "status");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(want, sizeof(want), "%s", e2e_jstr(status_container(st, ids[i]), "cpus"));
		assert_int_equal(
			read_file(CPUSET_ROOT, r->name, ids[i], CPUS_FILE, have, sizeof(have)), 0);
		assert_string_equal(have, want);
	}
	assert_disjoint(r, st, ids, (int)(sizeof(ids) / sizeof(ids[0])));
	json_object_put(st);
	assert_true(kernel_cpus(r, "e2", &now));
	assert_true(cpuset_equal(&now, &e2));
	assert_int_equal(read_file(CPU_ROOT, r->name, "c1", SHARES_FILE, have, sizeof(have)), 0);
	shares_text(512, want, sizeof(want));
	assert_string_equal(have, want);
	assert_int_equal(read_file(CPU_ROOT, r->name, "c1", QUOTA_FILE, have, sizeof(have)), 0);
	quota_text(50000, quota, sizeof(quota));
	assert_string_equal(have, quota);
	assert_int_equal(e2e_file_count(r->dlog, "container=c1: the runtime reports"), 1);
	finish_sim(r, e2e_timeout_ms(20000));
}

/* (b) with the kubelet's systemd driver: the ghost's cgroup is containerd's .scope under
 * a .slice, found from "NAME.slice:cri-containerd:<id>", its process and its going. */
static void test_ghost_kept_systemd_driver(void **state)
{
	test_ghost_kept_while_its_cgroup_has_tasks(state);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)
	const struct CMUnitTest tests[] = {
		T(test_ghost_released_at_ghost_after),
		T(test_ghost_kept_while_its_cgroup_has_tasks),
		cmocka_unit_test_setup_teardown(test_ghost_kept_systemd_driver, rig_setup_systemd,
						rig_teardown),
		T(test_resync_reasserts_what_stale_specs_hide),
		T(test_stale_specs_hand_no_cpu_twice),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
