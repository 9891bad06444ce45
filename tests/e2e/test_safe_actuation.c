/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end: safe actuation (docs/deploy.md "Safe actuation") against nri-sim's
 * --lock-inversion, which reproduces containerd#13733: a plugin UpdateContainers that
 * meets the runtime's own UpdateContainer deadlocks containerd before NRI v0.12.1.
 *
 * One scenario does what used to send unsolicited updates while the runtime keeps
 * UpdateContainer calls going: a RemoveContainer without StopContainer (the shared pool
 * grows back) and a config reload (exclusive pinning off: the exclusive container joins
 * the shared pool). The daemon runs on tests/fixtures/sysfs/skx-4s-smt with CPUs 0,72
 * reserved, and a fake cgroup v1 tree in which the direct writes land.
 *   - NRI v0.9.0, actuation auto: no unsolicited call, no lock inversion, the runtime's
 *     view correct after its next replies, the cgroup written directly;
 *   - NRI v0.12.2, actuation auto: unsolicited updates go out as before, no cgroup write;
 *   - NRI v0.9.0 with actuation: nri forced: the simulator catches the inversion, so the
 *     first case cannot pass by luck.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "tests/lib/e2e_run.h"

#define FIXTURE	   "tests/fixtures/sysfs/skx-4s-smt"
#define SHARED_ALL "1-71,73-143"
#define GIB	   "mem-limit=1073741824"
#define W2_CGROUP  "kubepods/burstable/podu1/w2"
#define UNTOUCHED  "7" /* w2's cpuset.cpus in the fake tree until someone writes it */
/*
 * UpdateContainer calls around the reload, 20 ms apart: the reload must land inside
 * them (the forced-nri control relies on it), and it comes after this test has seen e2
 * in status and swapped the config. Seen in the emulated guest of make vmtest: 60
 * calls were over before the reload, and the control found no inversion.
 */
#define CHURN_HOST 150
#define CHURN	   (getenv("TOPOGUARD_EMULATED_CPUS") ? 4 * CHURN_HOST : CHURN_HOST)

/* No reconciliation: its drift repair would write the fake cgroups too. */
#define CONFIG                                                   \
	"reserved:\n  cpus: \"0,72\"\nlive:\n  enabled: false\n" \
	"reconcile:\n  interval: 0s\n  ghost_after: 0s\n"

static void mkfile(struct e2e_run *r, const char *dir, const char *file, const char *text)
{
	char path[512], cmd[700];
	FILE *f;

	e2e_path(&r->e, path, sizeof(path), dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/%s", path, file);
	f = fopen(cmd, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* w2's cgroup as a v1 kubelet would have it (cgroupfs driver, Burstable pod u1). */
static void fake_cgroups(struct e2e_run *r)
{
	mkfile(r, "cg/cpuset/" W2_CGROUP, "cpuset.cpus", UNTOUCHED "\n");
	mkfile(r, "cg/cpu,cpuacct/" W2_CGROUP, "cpu.cfs_quota_us", "-1\n");
	mkfile(r, "cg/cpu,cpuacct/" W2_CGROUP, "cpu.cfs_period_us", "100000\n");
	mkfile(r, "cg/cpu,cpuacct/" W2_CGROUP, "cpu.shares", "512\n");
}

static char *w2_cpuset(struct e2e_run *r, char *buf, size_t len)
{
	char path[512];
	FILE *f;

	e2e_path(&r->e, path, sizeof(path), "cg/cpuset/" W2_CGROUP "/cpuset.cpus");
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* The scenario: remove without stop, then UpdateContainer calls around the reload. */
static char *scenario(void)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	fputs("pod b1 default/web qos=burstable uid=u1\n"
	      "create w1 pod=b1 name=nginx cpu-request=500\n"
	      "start w1\n"
	      "create w2 pod=b1 name=side cpu-request=500\n"
	      "start w2\n"
	      "pod g1 default/trading qos=guaranteed uid=g1\n"
	      "create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 " GIB "\n"
	      "start e1\n"
	      "remove e1 no-stop\n"
	      /* where an unsolicited update would meet the runtime's UpdateContainer */
	      "update w1 cpu-request=600\n"
	      "sleep 200\n" /* a fixed runtime's unsolicited update lands meanwhile */
	      "expect-cpus w2 " SHARED_ALL "\n"
	      "create e2 pod=g1 name=second cpu-request=4000 cpu-limit=4000 " GIB "\n"
	      "start e2\n",
	      f);
	for (int i = 0; i < CHURN; i++) /* the test reloads the config meanwhile */
		fprintf(f, "update w1 cpu-request=%d\nsleep 20\n", i % 2 ? 500 : 600);
	fputs("sleep 300\n"
	      "update w1 cpu-request=500\n" /* its reply tells what is still owed */
	      "expect-cpus w1 " SHARED_ALL "\n"
	      "expect-cpus w2 " SHARED_ALL "\n"
	      "expect-cpus e2 " SHARED_ALL "\n"
	      "expect-quota e2 400000 100000\n",
	      f);
	fclose(f);
	return s;
}

static bool status_has(struct e2e_run *r, const char *needle)
{
	char *answer = NULL;
	bool has;

	has = status_client_request(r->status, "status", e2e_timeout_ms(1000), &answer) == 0 &&
	      strstr(answer, needle);
	free(answer);
	return has;
}

/*
 * Run the scenario with the runtime's NRI version and the config's actuation line
 * (may be ""); the report, nri-sim's exit status in *ret_rc.
 */
static json_object *run(struct e2e_run *r, const char *nri, const char *actuation, int *ret_rc)
{
	const char *sim_args[] = {"--nri-version", nri, "--lock-inversion", NULL};
	char root[256], cfg[512];
	char *scn = scenario();
	const char *args[] = {"--config", r->config, "--cgroup-root", root, NULL};
	json_object *rep;
	pid_t sim;
	int i;

	fake_cgroups(r);
	e2e_path(&r->e, root, sizeof(root), "cg");
	snprintf(cfg, sizeof(cfg), CONFIG "%s", actuation);
	assert_int_equal(e2e_run_swap_config(r, cfg, strlen(cfg), 1), 0);
	/* a fixed runtime has no inversion to catch: it applies what comes */
	if (!strcmp(nri, "v0.12.2"))
		sim_args[2] = NULL;
	sim = e2e_run_sim(r, scn, sim_args);
	free(scn);
	assert_true(sim > 0);
	{
		char fixture[256];

		e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
		assert_true(e2e_run_daemon(r, fixture, NULL, args) > 0);
	}
	for (i = 0; i < e2e_timeout_ms(10000) / 10 && !status_has(r, "\"e2\""); i++)
		usleep(10000);
	assert_true(status_has(r, "\"e2\""));
	snprintf(cfg, sizeof(cfg), CONFIG "%spinning:\n  exclusive: false\n", actuation);
	assert_int_equal(e2e_run_swap_config(r, cfg, strlen(cfg), 2), 0);
	rep = e2e_run_finish_sim(r, sim, 60000, ret_rc);
	assert_non_null(rep);
	return rep;
}

static int64_t jint(json_object *o, const char *a, const char *b)
{
	json_object *v = e2e_jget(o, a);

	if (b)
		v = e2e_jget(v, b);
	assert_non_null(v);
	return json_object_get_int64(v);
}

static void fail_with(json_object *rep, int rc)
{
	fail_msg("nri-sim exit %d: %s / %s", rc,
		 json_object_to_json_string(e2e_jget(rep, "expectations_failed")),
		 json_object_to_json_string(e2e_jget(rep, "errors")));
}

/* NRI v0.9.0: nothing unsolicited, no inversion, cgroups written, replies catch up. */
static void test_old_runtime_never_gets_an_unsolicited_update(void **state)
{
	struct e2e_run *r = *state;
	char buf[256];
	int rc;
	json_object *rep = run(r, "v0.9.0", "", &rc);

	if (rc != 0)
		fail_with(rep, rc);
	assert_int_equal(jint(rep, "lock_inversions", NULL), 0);
	assert_int_equal(jint(rep, "unsolicited_updates", "calls"), 0);
	assert_true(e2e_count_requests(rep, "UpdateContainer", "ok") >= CHURN);
	assert_int_equal(jint(rep, "disconnects", NULL), 0);
	json_object_put(rep);
	/* the growth after the remove and the reload reached the kernel without the runtime */
	assert_string_equal(w2_cpuset(r, buf, sizeof(buf)), SHARED_ALL);
	assert_int_equal(e2e_run_stop_daemon(r, 5000), 0);
	assert_true(e2e_file_count(r->log, "actuation: mode=direct") >= 1);
	assert_true(e2e_file_count(r->log, "the runtime told in its next reply: reason=remove") ==
		    1);
	assert_true(e2e_file_count(r->log,
				   "the runtime told in its next reply: reason=config reload") ==
		    1);
}

/* NRI v0.12.2 (containerd#13733 fixed): unsolicited updates as before, no cgroup write. */
static void test_fixed_runtime_gets_unsolicited_updates(void **state)
{
	struct e2e_run *r = *state;
	char buf[256];
	int rc;
	json_object *rep = run(r, "v0.12.2", "", &rc);

	if (rc != 0)
		fail_with(rep, rc);
	assert_true(jint(rep, "unsolicited_updates", "calls") >= 2); /* remove, reload */
	json_object_put(rep);
	assert_string_equal(w2_cpuset(r, buf, sizeof(buf)), UNTOUCHED);
	assert_int_equal(e2e_run_stop_daemon(r, 5000), 0);
	assert_true(e2e_file_count(r->log, "actuation: mode=nri") >= 1);
}

/*
 * The control: with actuation forced to nri the same scenario on the old runtime gets
 * unsolicited UpdateContainers (applied, or caught as inversions), which auto never
 * sends it, so the first case cannot pass for want of occasions. Whether one of them
 * crosses an UpdateContainer is a race the churn makes likely, not certain (on the
 * host it always did; in the emulated guests of make vmtest, twice not): counted and
 * printed, and the run fails exactly when it happened. That the simulator catches
 * every crossing is test_stub_sim's lock-inversion case, which is deterministic.
 */
static void test_forced_nri_on_old_runtime_inverts(void **state)
{
	struct e2e_run *r = *state;
	int rc;
	json_object *rep = run(r, "v0.9.0", "actuation: nri\n", &rc);
	int64_t inv = jint(rep, "lock_inversions", NULL);
	int64_t calls = jint(rep, "unsolicited_updates", "calls");

	fprintf(stderr,
		"forced nri on NRI v0.9.0: %lld unsolicited calls applied, %lld lock "
		"inversions\n",
		(long long)calls, (long long)inv);
	assert_true(calls + inv >= 1);
	if (inv)
		assert_int_equal(rc, 1);
	json_object_put(rep);
	e2e_run_stop_daemon(r, 5000); /* its unanswered call may have made it give up */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_old_runtime_never_gets_an_unsolicited_update,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_fixed_runtime_gets_unsolicited_updates,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_forced_nri_on_old_runtime_inverts,
						e2e_run_setup, e2e_run_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
