/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconciliation with the node against the real kernel (root, cgroup v1 cpuset and cpu
 * controllers): the daemon drives nri-sim --apply-cgroups, whose containers live in
 * real cgroups with a process each, and reads them back by the paths the runtime
 * reports (--report-real-cgroups). A third party then writes behind the runtime's
 * back: the simulator rewrites a shared container's cpuset onto another's exclusive
 * CPU (`fault rewrite-cpuset`), the test itself lifts an exclusive container's CFS
 * quota. The test watches the kernel and measures how long each drift lives: it must
 * be gone within one reconcile period (reconcile.interval 1 s here, plus the 250 ms
 * tick and room for a busy machine), and status/explain must tell what happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "policy/cpuset.h"
#include "tests/lib/e2e.h"
#include "tests/lib/skip.h"

#define CPUSET_ROOT "/sys/fs/cgroup/cpuset"
#define CPU_ROOT    "/sys/fs/cgroup/cpu"
#define PERIOD_MS   1000
/* one period, the tick that notices it is due, and room for a loaded 2-CPU VM */
#define BOUND_MS (PERIOD_MS + 250 + 750)

struct run {
	struct e2e e;
	char name[64], report[256], log[256], sock[256], status[256], dlog[256];
	pid_t sim, daemon;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int read_file(const char *root, const char *name, const char *ctr, const char *file,
		     char *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s/%s", root, name, ctr, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_file(const char *root, const char *name, const char *ctr, const char *file,
		      const char *val)
{
	char path[512];
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/%s/%s/%s", root, name, ctr, file);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Poll ctr's file every 10 ms until it equals want; the ms it took, -1 after ms_max. */
static long wait_value(const struct run *r, const char *root, const char *ctr, const char *file,
		       const char *want, long ms_max)
{
	uint64_t t0 = now_ms();
	char buf[256];

	while ((long)(now_ms() - t0) <= ms_max) {
		if (read_file(root, r->name, ctr, file, buf, sizeof(buf)) == 0 &&
		    !strcmp(buf, want))
			return (long)(now_ms() - t0);
		usleep(10000);
	}
	return -1;
}

static int setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r || e2e_setup(&r->e) < 0) {
		free(r);
		return -1;
	}
	rmdir(r->e.dir); /* a prefix of our own: other suites sweep /tmp/tg-e2e-* */
	snprintf(r->e.dir, sizeof(r->e.dir), "/tmp/tg-reccg-XXXXXX");
	if (!mkdtemp(r->e.dir)) {
		free(r);
		return -1;
	}
	snprintf(r->name, sizeof(r->name), "tg-reccg-%d", (int)getpid());
	e2e_path(&r->e, r->report, sizeof(r->report), "report.json");
	e2e_path(&r->e, r->log, sizeof(r->log), "sim.log");
	e2e_path(&r->e, r->sock, sizeof(r->sock), "nri.sock");
	e2e_path(&r->e, r->status, sizeof(r->status), "status.sock");
	e2e_path(&r->e, r->dlog, sizeof(r->dlog), "daemon.log");
	*state = r;
	return 0;
}

/* Fails the case unless the daemon, when one ran, exited 0 on SIGTERM. */
static int teardown(void **state)
{
	struct run *r = *state;
	int ret = 0;

	if (r->daemon > 0)
		ret = e2e_stop_daemon(r->daemon, r->dlog, 5000);
	if (r->sim > 0)
		e2e_stop(r->sim, 5000);
	if (getenv("E2E_KEEP"))
		fprintf(stderr, "kept %s\n", r->e.dir);
	else
		e2e_teardown(&r->e);
	free(r);
	return ret;
}

static void start_sim(struct run *r, const char *scenario)
{
	char scen[256];
	const char *args[] = {"--listen",
			      r->sock,
			      "--scenario",
			      scen,
			      "--report",
			      r->report,
			      "--apply-cgroups",
			      r->name,
			      "--report-real-cgroups",
			      "--check-exclusive",
			      NULL};

	e2e_path(&r->e, scen, sizeof(scen), "scenario.scn");
	assert_int_equal(e2e_write(&r->e, "scenario.scn", scenario), 0);
	r->sim = e2e_spawn(r->e.sim, args, r->log);
	assert_true(r->sim > 0);
}

static void start_daemon(struct run *r)
{
	char cfg[256];
	const char *const args[] = {
		"run",	"--socket",   r->sock, "--status-socket", r->status, "--metrics-address",
		"none", "--log-file", r->dlog, "--checkpoint",	  "",	     "--config",
		cfg,	NULL};

	e2e_path(&r->e, cfg, sizeof(cfg), "topoguard.yaml");
	assert_int_equal(e2e_write(&r->e, "topoguard.yaml",
				   "reconcile:\n  interval: 1s\nlive:\n  enabled: false\n"),
			 0);
	r->daemon = e2e_spawn(r->e.topoguard, args, r->dlog);
	assert_true(r->daemon > 0);
}

static json_object *ask(const struct run *r, const char *req)
{
	char *answer = NULL;
	json_object *o;

	assert_int_equal(status_client_request(r->status, req, 2000, &answer), 0);
	o = json_tokener_parse(answer);
	free(answer);
	assert_non_null(o);
	return o;
}

/* The daemon's intent for id (its status answer), as a cpulist. */
static void intended_cpus(const struct run *r, const char *id, char *buf, size_t len)
{
	json_object *st = ask(r, "status"), *arr = e2e_jget(st, "containers");

	buf[0] = '\0';
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *c = json_object_array_get_idx(arr, i);

		if (!strcmp(e2e_jstr(c, "id"), id))
			snprintf(buf, len, "%s", e2e_jstr(c, "cpus"));
	}
	json_object_put(st);
	assert_true(*buf);
}

static const char scenario[] =
	"pod p1 default/gua uid=u1 qos=guaranteed\n"
	"create c1 pod=p1 name=app cpu-request=1000 cpu-limit=1000 mem-limit=134217728 "
	"exclusive\n"
	"start c1\n"
	"pod p2 default/web uid=u2 qos=burstable\n"
	"create c2 pod=p2 name=web cpu-request=250 cpu-limit=1000 mem-limit=67108864\n"
	"start c2\n"
	"sleep 3000\n"
	"fault rewrite-cpuset c2 0-1\n"
	"sleep 7000\n";

static void test_drift_repaired_within_one_period(void **state)
{
	struct run *r = *state;
	char want_c2[64], c1_quota[32], cpus[64];
	json_object *st, *rep;
	long rewritten, cpus_ms, quota_ms;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tg_skip("needs 2 CPUs: an exclusive CPU next to a shared one");
	start_sim(r, scenario);
	assert_int_equal(e2e_wait_path(r->sock, 5000), 0);
	start_daemon(r);
	/* the sim's third party strikes at ~3 s: c2 spreads onto c1's exclusive CPU */
	rewritten = wait_value(r, CPUSET_ROOT, "c2", "cpuset.cpus", "0-1", 8000);
	assert_true(rewritten >= 0);
	intended_cpus(r, "c2", want_c2, sizeof(want_c2));
	assert_int_not_equal(strcmp(want_c2, "0-1"), 0);
	cpus_ms = wait_value(r, CPUSET_ROOT, "c2", "cpuset.cpus", want_c2, 3000);
	fprintf(stderr, "cpuset drift lived %ld ms (reconcile.interval %d ms)\n", cpus_ms,
		PERIOD_MS);
	assert_true(cpus_ms >= 0 && cpus_ms <= BOUND_MS);
	/* and the test lifts c1's quota (exclusive: unlimited) */
	assert_int_equal(
		read_file(CPU_ROOT, r->name, "c1", "cpu.cfs_quota_us", c1_quota, sizeof(c1_quota)),
		0);
	assert_string_equal(c1_quota, "-1");
	assert_int_equal(write_file(CPU_ROOT, r->name, "c1", "cpu.cfs_quota_us", "50000"), 0);
	quota_ms = wait_value(r, CPU_ROOT, "c1", "cpu.cfs_quota_us", "-1", 3000);
	fprintf(stderr, "quota drift lived %ld ms\n", quota_ms);
	assert_true(quota_ms >= 0 && quota_ms <= BOUND_MS);
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
	assert_int_equal(e2e_wait_exit(r->sim, 30000), 0);
	r->sim = 0;
	rep = e2e_load_json(r->report);
	assert_non_null(rep);
	snprintf(cpus, sizeof(cpus), "%s",
		 e2e_jstr(e2e_jget(e2e_report_container(rep, "c2"), "cgroup"), "allowed"));
	assert_string_equal(cpus, want_c2);
	json_object_put(rep);
}

static const char *skip_reason(void)
{
	if (geteuid() != 0)
		return "needs root (creates cgroups)";
	if (access(CPUSET_ROOT "/cpuset.cpus", F_OK) < 0)
		return "needs the cgroup v1 cpuset controller at " CPUSET_ROOT;
	if (access(CPU_ROOT "/cpu.cfs_quota_us", F_OK) < 0)
		return "needs the cgroup v1 cpu controller at " CPU_ROOT;
	return NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drift_repaired_within_one_period, setup,
						teardown),
	};
	const char *why = skip_reason();

	if (why) {
		fprintf(stderr, "%s\n", why);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
