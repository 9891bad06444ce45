/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconciliation with the node against the real kernel (root; cgroup v1's cpuset and cpu
 * controllers, or cgroup v2 with cpuset and cpu enabled at the root): the daemon drives nri-sim --apply-cgroups, whose containers live in
 * real cgroups with a process each, and reads them back by the paths the runtime
 * reports (--report-real-cgroups). A third party then writes behind the runtime's
 * back: the simulator rewrites a shared container's cpuset onto another's exclusive
 * CPU (`fault rewrite-cpuset`), the test itself lifts an exclusive container's CFS
 * quota. The test watches the kernel and measures how long each drift lives: it must
 * be gone within one reconcile period (reconcile.interval 1 s here, plus the 250 ms
 * tick and room for a busy machine), and status/explain must tell what happened.
 * Both modes assert the same: v2's cpuset.cpus.effective for v1's cpuset.cpus, cpu.max
 * "max 100000" / "50000 100000" for cfs_quota_us -1 / 50000. Times are scaled by
 * TOPOGUARD_TIMEOUT_SCALE (1 here; a TCG guest needs more).
 * The rig (simulator, daemon, cgroup files) is reconcile_rig.h; ghosts and stale specs
 * on real cgroups are test_reconcile_node.c.
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

#define PERIOD_MS 1000
/* one period, the tick that notices it is due, and room for a loaded 2-CPU VM */
#define BOUND_MS (PERIOD_MS + 250 + 750)

static void start_daemon(struct run *r)
{
	start_daemon_with(r, "reconcile:\n  interval: 1s\nlive:\n  enabled: false\n");
}

static void scenario(char *buf, size_t len)
{
	snprintf(buf, len,
		 "pod p1 default/gua uid=u1 qos=guaranteed\n"
		 "create c1 pod=p1 name=app cpu-request=1000 cpu-limit=1000 "
		 "mem-limit=134217728 exclusive\n"
		 "start c1\n"
		 "pod p2 default/web uid=u2 qos=burstable\n"
		 "create c2 pod=p2 name=web cpu-request=250 cpu-limit=1000 mem-limit=67108864\n"
		 "start c2\n"
		 "sleep %d\n"
		 "fault rewrite-cpuset c2 0-1\n"
		 "sleep %d\n",
		 e2e_timeout_ms(3000), e2e_timeout_ms(7000));
}

static void test_drift_repaired_within_one_period(void **state)
{
	struct run *r = *state;
	char scn[1024], want_c2[64], c1_quota[32], unlimited[32], lifted[32], cpus[64];
	int bound = e2e_timeout_ms(BOUND_MS);
	json_object *st, *rep;
	long rewritten, cpus_ms, quota_ms;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tg_skip("needs 2 CPUs: an exclusive CPU next to a shared one");
	scenario(scn, sizeof(scn));
	start_sim(r, scn);
	start_daemon(r);
	/* the sim's third party strikes at ~3 s: c2 spreads onto c1's exclusive CPU */
	rewritten = wait_value(r, CPUSET_ROOT, "c2", CPUS_FILE, "0-1", e2e_timeout_ms(8000));
	assert_true(rewritten >= 0);
	intended_cpus(r, "c2", want_c2, sizeof(want_c2));
	assert_int_not_equal(strcmp(want_c2, "0-1"), 0);
	cpus_ms = wait_value(r, CPUSET_ROOT, "c2", CPUS_FILE, want_c2, e2e_timeout_ms(3000));
	fprintf(stderr, "cpuset drift lived %ld ms (reconcile.interval %d ms, cgroup v%d)\n",
		cpus_ms, PERIOD_MS, g_v2 ? 2 : 1);
	assert_true(cpus_ms >= 0 && cpus_ms <= bound);
	/* and the test lifts c1's quota (exclusive: unlimited) */
	quota_text(-1, unlimited, sizeof(unlimited));
	quota_text(50000, lifted, sizeof(lifted));
	assert_int_equal(read_file(CPU_ROOT, r->name, "c1", QUOTA_FILE, c1_quota, sizeof(c1_quota)),
			 0);
	assert_string_equal(c1_quota, unlimited);
	assert_int_equal(write_file(CPU_ROOT, r->name, "c1", QUOTA_FILE, lifted), 0);
	quota_ms = wait_value(r, CPU_ROOT, "c1", QUOTA_FILE, unlimited, e2e_timeout_ms(3000));
	fprintf(stderr, "quota drift lived %ld ms\n", quota_ms);
	assert_true(quota_ms >= 0 && quota_ms <= bound);
	/* c2's process follows its cgroup back off c1's CPU */
	st = ask(r, "status");
	assert_true(json_object_get_int(e2e_jget(
			    e2e_jget(e2e_jget(st, "reconcile"), "drift_repaired"), "cpus")) >= 1);
	assert_true(json_object_get_int(e2e_jget(
			    e2e_jget(e2e_jget(st, "reconcile"), "drift_repaired"), "quota")) >= 1);
	assert_non_null(e2e_jget(e2e_jget(st, "reconcile"), "last_drift"));
	json_object_put(st);
	st = ask(r, "explain c2");
	assert_non_null(strstr(e2e_jstr(st, "explanation"), "last drift of its cgroup"));
	assert_non_null(strstr(e2e_jstr(st, "explanation"), "cpus 0-1"));
	json_object_put(st);
	assert_true(e2e_file_count(r->dlog, "drift repaired: container=c2 cpus 0-1") >= 1);
	assert_int_equal(e2e_wait_exit(r->sim, 30000), 0); /* e2e_wait_exit scales it */
	r->sim = 0;
	rep = e2e_load_json(r->report);
	assert_non_null(rep);
	snprintf(cpus, sizeof(cpus), "%s",
		 e2e_jstr(e2e_jget(e2e_report_container(rep, "c2"), "cgroup"), "allowed"));
	assert_string_equal(cpus, want_c2);
	json_object_put(rep);
}

/* The same with the kubelet's systemd driver: containerd's .scope under a .slice, the
 * path reported as "NAME.slice:cri-containerd:<id>", which the daemon must expand. */
static void test_drift_repaired_systemd_driver(void **state)
{
	test_drift_repaired_within_one_period(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drift_repaired_within_one_period, rig_setup,
						rig_teardown),
		cmocka_unit_test_setup_teardown(test_drift_repaired_systemd_driver,
						rig_setup_systemd, rig_teardown),
	};
	const char *why = rig_skip_reason();

	if (why) {
		fprintf(stderr, "%s\n", why);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
