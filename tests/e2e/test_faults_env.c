/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection in the daemon's environment, end to end (real daemon, real
 * simulator, real socket):
 *
 * - sysfs damaged: the daemon is started on a copy of tests/fixtures/sysfs/skx-4s-smt
 *   with files removed or garbled. It must either work (fallbacks) or exit with a
 *   clear message and a non-zero status: never die from a signal.
 * - the ConfigMap replaced by garbage, deleted, or made larger than 1 MiB: the daemon
 *   keeps running with the previous configuration and says so in the log (and, for a
 *   content it refuses, in topoguard_config_reloads_total{result="refused"}).
 * - BPF that cannot load: the daemon run as root without CAP_BPF/CAP_PERFMON/
 *   CAP_SYS_ADMIN (setpriv) falls back to cgroupfs polling and keeps placing containers.
 * - a container's cgroup removed while the live collector follows it: the daemon goes on
 *   (cgroup v1 dirs created by the test at the paths the simulator announces).
 */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e_run.h"
#include "tests/lib/skip.h"

#define FIXTURE "tests/fixtures/sysfs/skx-4s-smt"

static int run_cmd(const char *const *argv)
{
	pid_t pid = e2e_spawn(argv[0], argv + 1, NULL);

	return pid > 0 ? e2e_wait_exit(pid, 20000) : -1;
}

static pid_t start_sim(struct e2e_run *r, const char *scenario)
{
	const char *extra[] = {"--accept-timeout", "4000", NULL};
	pid_t pid = e2e_run_sim(r, scenario, extra);

	assert_true(pid > 0);
	return pid;
}

/* prefix (NULL-terminated, may be NULL): a command the daemon is started through */
static void start_daemon_via(struct e2e_run *r, const char *sysfs, bool with_config,
			     const char *const *prefix)
{
	const char *cfg[] = {"--config", r->config, NULL};

	assert_true(e2e_run_daemon(r, sysfs, prefix, with_config ? cfg : NULL) > 0);
}

static void start_daemon(struct e2e_run *r, const char *sysfs, bool with_config)
{
	start_daemon_via(r, sysfs, with_config, NULL);
}

/* The damaged copy of a fixture lives in the run's directory. */
static const char *sysfs_copy(struct e2e_run *r)
{
	static char path[256];

	e2e_path(&r->e, path, sizeof(path), "sysfs");
	return path;
}

/* ---- damaged sysfs -------------------------------------------------------------- */

struct damage {
	const char *name;
	const char *rm[4];     /* paths under the copy to delete (rm -rf) */
	const char *garble[2]; /* files whose content becomes garbage */
};

static const struct damage damages[] = {
	{"no cpu/online", {"devices/system/cpu/online"}, {NULL}},
	{"no cpu/possible and present",
	 {"devices/system/cpu/possible", "devices/system/cpu/present"},
	 {NULL}},
	{"no node directory", {"devices/system/node"}, {NULL}},
	{"no topology of cpu0 and cpu5",
	 {"devices/system/cpu/cpu0/topology", "devices/system/cpu/cpu5/topology"},
	 {NULL}},
	{"no cache of cpu0", {"devices/system/cpu/cpu0/cache"}, {NULL}},
	{"garbage online list", {NULL}, {"devices/system/cpu/online"}},
	{"garbage siblings and node cpulist",
	 {NULL},
	 {"devices/system/cpu/cpu3/topology/thread_siblings_list",
	  "devices/system/node/node1/cpulist"}},
	{"empty tree", {"devices"}, {NULL}},
};

static void damage_copy(struct e2e_run *r, const struct damage *d)
{
	char src[256], path[512];
	const char *rm[] = {"/bin/rm", "-rf", sysfs_copy(r), NULL};
	/* hard links: fast, and the fixture is safe as long as files are replaced, not
	 * rewritten in place; a plain copy where /tmp is another mount (tmpfs, a guest) */
	const char *cp[] = {"/bin/cp", "-al", src, sysfs_copy(r), NULL};
	const char *copy[] = {"/bin/cp", "-a", src, sysfs_copy(r), NULL};

	e2e_src_path(&r->e, src, sizeof(src), FIXTURE);
	assert_int_equal(run_cmd(rm), 0);
	if (run_cmd(cp) != 0) {
		assert_int_equal(run_cmd(rm), 0);
		assert_int_equal(run_cmd(copy), 0);
	}
	for (size_t i = 0; i < 4 && d->rm[i]; i++) {
		const char *rmp[] = {"/bin/rm", "-rf", path, NULL};

		snprintf(path, sizeof(path), "%s/%s", sysfs_copy(r), d->rm[i]);
		assert_int_equal(run_cmd(rmp), 0);
	}
	for (size_t i = 0; i < 2 && d->garble[i]; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", sysfs_copy(r), d->garble[i]);
		assert_int_equal(unlink(path), 0);
		f = fopen(path, "we");
		assert_non_null(f);
		fputs("0-\xff,,99999999999999999999,-3\n", f);
		fclose(f);
	}
}

/* The daemon either served the scenario, or exited by itself with a message. */
static void check_damage_outcome(struct e2e_run *r, const struct damage *d, pid_t sim)
{
	int sim_rc = -1, status = 0;
	pid_t w = 0;

	for (int i = 0; i < 2000 && w == 0; i++) {
		if (waitpid(sim, &sim_rc, WNOHANG) == sim) {
			sim_rc = WIFEXITED(sim_rc) ? WEXITSTATUS(sim_rc) : -1;
			sim = 0;
			break;
		}
		w = waitpid(r->daemon, &status, WNOHANG);
		usleep(10000);
	}
	if (sim > 0) /* the daemon gave up: no need to wait for the accept timeout */
		sim_rc = e2e_stop(sim, 3000);
	if (w == 0)
		w = waitpid(r->daemon, &status, WNOHANG);

	if (w == 0) { /* still running: it must have served the runtime */
		assert_int_equal(e2e_run_stop_daemon(r, 5000), 0);
		if (sim_rc != 0)
			fail_msg("%s: daemon up but the scenario failed (%d)", d->name, sim_rc);
		fprintf(stderr, "sysfs %-36s: daemon ran with fallbacks\n", d->name);
	} else {
		assert_int_equal(w, r->daemon);
		if (WIFSIGNALED(status))
			fail_msg("%s: daemon killed by signal %d", d->name, WTERMSIG(status));
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
		assert_true(e2e_file_count(r->log, "level=error") >= 1);
		fprintf(stderr, "sysfs %-36s: daemon refused to start (exit %d)\n", d->name,
			WEXITSTATUS(status));
	}
	r->daemon = 0;
}

static void test_faults_env_damaged_sysfs(void **state)
{
	struct e2e_run *r = *state;

	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		pid_t sim;

		damage_copy(r, &damages[i]);
		unlink(r->log);
		sim = start_sim(r, "pod b1 default/web qos=burstable\n"
				   "create w1 pod=b1 name=nginx cpu-request=500\n"
				   "pod g1 default/db qos=guaranteed\n"
				   "create e1 pod=g1 name=pg cpu-request=2000 cpu-limit=2000 "
				   "mem-limit=1073741824\n");
		start_daemon(r, sysfs_copy(r), false);
		check_damage_outcome(r, &damages[i], sim);
	}
}

/* ---- a stop during start-up ------------------------------------------------------ */

/*
 * SIGTERM that arrives before the daemon is connected (slow BPF load, a slow guest)
 * must end it with 0 like any other stop, never kill it by the signal. The signal is
 * made pending before exec: blocked here (the mask is inherited), sent by a shell to
 * itself, which then execs the daemon with it still pending. So it is delivered the
 * moment the daemon unblocks it, whatever the machine's speed.
 */
static void test_faults_env_sigterm_during_startup(void **state)
{
	const char *prefix[] = {"/bin/sh", "-c", "kill -TERM $$ && exec \"$@\"", "sh", NULL};
	struct e2e_run *r = *state;
	char fixture[256];
	sigset_t set, old;
	pid_t pid;

	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	pid = e2e_run_daemon(r, fixture, prefix, NULL);
	assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	assert_true(pid > 0);
	/* No simulator is listening: only the early stop can end it within the wait. */
	assert_int_equal(e2e_wait_exit(pid, 20000), 0);
	r->daemon = 0;
	assert_int_equal(e2e_file_count(r->log, "stop asked for during start-up"), 1);
}

/* ---- ConfigMap faults ------------------------------------------------------------- */

#define metric	 e2e_run_metric
#define REFUSED	 "topoguard_config_reloads_total{result=\"refused\"}"
#define RESERVED "topoguard_pool_capacity_cpus{pool=\"reserved\"}"

static bool wait_for(struct e2e_run *r, const char *series, double want, const char *log_needle,
		     int log_want)
{
	for (int i = 0; i < 250; i++) {
		if ((!series || metric(r, series) >= want) &&
		    (!log_needle || e2e_file_count(r->log, log_needle) >= log_want))
			return true;
		usleep(20000);
	}
	return false;
}

static void swap_config(struct e2e_run *r, const char *text, size_t len, int gen)
{
	assert_int_equal(e2e_run_swap_config(r, text, len, gen), 0);
}

static char *huge_config(size_t *ret_len)
{
	static const char head[] = "reserved:\n  cpus: \"0-3,72-75\"\n";
	size_t len = (1u << 20) + 4096;
	char *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, '#', len);
	memcpy(buf, head, sizeof(head) - 1);
	for (size_t i = sizeof(head) - 1 + 80; i < len; i += 81)
		buf[i] = '\n'; /* comment lines: valid YAML, only too large */
	buf[len - 1] = '\n';
	*ret_len = len;
	return buf;
}

static void assert_old_config_in_force(struct e2e_run *r)
{
	int status;

	assert_int_equal(waitpid(r->daemon, &status, WNOHANG), 0);
	assert_true(metric(r, RESERVED) == 2);
}

static void test_faults_env_configmap_garbage_deleted_huge(void **state)
{
	static const char garbage[] = "reserved: [unclosed\n\t\x01\x02 pinning: {exclusive: ?}\n";
	struct e2e_run *r = *state;
	char data[256], fixture[256];
	size_t huge_len;
	char *huge;
	pid_t sim;

	swap_config(r, "reserved:\n  cpus: \"0,72\"\n", strlen("reserved:\n  cpus: \"0,72\"\n"), 1);
	sim = start_sim(r, "pod b1 default/web qos=burstable\n"
			   "create w1 pod=b1 name=nginx cpu-request=500\n"
			   "sleep 8000\n");
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	start_daemon(r, fixture, true);
	assert_true(wait_for(r, RESERVED, 2, NULL, 0));

	swap_config(r, garbage, sizeof(garbage) - 1, 2);
	assert_true(wait_for(r, REFUSED, 1, "keeping the configuration in force", 1));
	assert_old_config_in_force(r);

	huge = huge_config(&huge_len);
	swap_config(r, huge, huge_len, 3);
	free(huge);
	assert_true(wait_for(r, REFUSED, 2, "keeping the configuration in force", 2));
	assert_true(e2e_file_count(r->log, "larger than 1048576 bytes") >= 1);
	assert_old_config_in_force(r);

	e2e_path(&r->e, data, sizeof(data), "..data");
	assert_int_equal(unlink(data), 0);
	assert_true(wait_for(r, NULL, 0, "configuration file deleted", 1));
	assert_old_config_in_force(r);
	e2e_stop(sim, 3000);
}

/* ---- BPF that cannot load, a cgroup removed under the collector ------------------- */

static void test_faults_env_bpf_cannot_load(void **state)
{
	/* root without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN: bpf() fails with EPERM */
	static const char *const setpriv[] = {"/usr/bin/setpriv",
					      "--bounding-set=-bpf,-perfmon,-sys_admin",
					      "--inh-caps=-all", NULL};
	struct e2e_run *r = *state;
	char fixture[256];
	pid_t sim;
	int status;

	if (geteuid() != 0 || access(setpriv[0], X_OK) != 0)
		tg_skip("needs root and util-linux setpriv to drop the capabilities");
	sim = start_sim(r, "pod g1 default/db qos=guaranteed\n"
			   "create e1 pod=g1 name=pg cpu-request=2000 cpu-limit=2000 "
			   "mem-limit=1073741824 exclusive\n"
			   "start e1\n"
			   "pod b1 default/web qos=burstable\n"
			   "create w1 pod=b1 name=nginx cpu-request=500\n"
			   "start w1\n"
			   "sleep 300\n"
			   "expect-cpus e1 0,72\n"
			   "expect-cpus w1 1-71,73-143\n");
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	start_daemon_via(r, fixture, false, setpriv);
	assert_int_equal(e2e_wait_exit(sim, 20000), 0);
	assert_int_equal(waitpid(r->daemon, &status, WNOHANG), 0);
	assert_true(e2e_file_count(r->log, "BPF cannot be used") >= 1);
	assert_true(e2e_file_count(r->log, "Operation not permitted") >= 1);
}

/* The v1 controllers' hierarchies, or only the cgroup2 root on a cgroup v2 only host. */
static const char *const cg_ctrls_v1[] = {"/cpu", "/cpuacct", "/memory"};
static const char *const cg_ctrls_v2[] = {""};
static const char *const *cg_ctrls = cg_ctrls_v1;
static size_t cg_nr_ctrls = 3;

/* v2: a child has the cpu and memory files only if its parent hands them down. */
static void cg_enable(const char *dir)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	f = fopen(path, "we");
	if (f) {
		fputs("+cpu +memory", f);
		fclose(f);
	}
}

/* /sys/fs/cgroup[/<ctrl>]/kubepods/burstable/pod<uid>[/<ctr>] for every controller */
static int cg_dirs(const char *uid, const char *ctr, bool make)
{
	static const char *const levels[] = {"kubepods", "burstable", NULL, NULL};
	int r = 0;

	for (size_t i = 0; i < cg_nr_ctrls; i++) {
		char path[512];
		int n = snprintf(path, sizeof(path), "/sys/fs/cgroup%s", cg_ctrls[i]);

		for (size_t l = 0; make && l < 4; l++) {
			const char *part = l < 2 ? levels[l] : l == 2 ? NULL : ctr;
			char pod[128];

			if (l == 2)
				snprintf(pod, sizeof(pod), "pod%s", uid), part = pod;
			if (!part)
				break;
			n += snprintf(path + n, sizeof(path) - (size_t)n, "/%s", part);
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				r = -errno;
			if (cg_ctrls == cg_ctrls_v2 && l < 3)
				cg_enable(path);
		}
		if (!make) {
			snprintf(path + n, sizeof(path) - (size_t)n, "/kubepods/burstable/pod%s/%s",
				 uid, ctr);
			if (rmdir(path) < 0 && errno != ENOENT)
				r = -errno;
		}
	}
	return r;
}

static void cg_cleanup(const char *uid)
{
	for (size_t i = 0; i < cg_nr_ctrls; i++) {
		char path[512];

		for (int c = 1; c <= 3; c++) {
			snprintf(path, sizeof(path),
				 "/sys/fs/cgroup%s/kubepods/burstable/pod%s/c%d", cg_ctrls[i], uid,
				 c);
			rmdir(path);
		}
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/kubepods/burstable/pod%s",
			 cg_ctrls[i], uid);
		rmdir(path);
		/* shared parents: removed only if nobody else uses them (rmdir of a busy one fails) */
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/kubepods/burstable", cg_ctrls[i]);
		rmdir(path);
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/kubepods", cg_ctrls[i]);
		rmdir(path);
	}
}

static void test_faults_env_cgroup_removed_under_collector(void **state)
{
	struct e2e_run *r = *state;
	char uid[64], scn[1024], fixture[256];
	pid_t sim;
	int status, rc;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
		cg_ctrls = cg_ctrls_v2;
		cg_nr_ctrls = 1;
	}
	if (geteuid() != 0 ||
	    (cg_ctrls == cg_ctrls_v1 && access("/sys/fs/cgroup/cpu/cgroup.procs", F_OK) != 0))
		tg_skip("needs root, and cgroup v2 or the v1 cpu, cpuacct and memory hierarchies");
	snprintf(uid, sizeof(uid), "h10fault%d", (int)getpid());
	assert_int_equal(cg_dirs(uid, "c1", true), 0);
	assert_int_equal(cg_dirs(uid, "c2", true), 0);
	assert_int_equal(cg_dirs(uid, "c3", true), 0);
	snprintf(scn, sizeof(scn),
		 "pod b1 default/web qos=burstable uid=%s\n"
		 "create c1 pod=b1 name=a cpu-request=500\nstart c1\n"
		 "create c2 pod=b1 name=b cpu-request=500\nstart c2\n"
		 "sleep 2500\n"
		 "create c3 pod=b1 name=c cpu-request=500\nstart c3\n"
		 "sleep 500\n"
		 "remove c1\nremove c2\n"
		 "expect-connected yes\n",
		 uid);
	sim = start_sim(r, scn);
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	start_daemon(r, fixture, false);
	for (int i = 0; i < 250 && e2e_file_count(r->log, "container=c2") < 1; i++)
		usleep(20000);
	usleep(400000); /* a few sampling periods with the cgroups present */
	rc = cg_dirs(uid, "c1", false);
	rc = rc ?: cg_dirs(uid, "c2", false);
	rc = rc ?: (e2e_wait_exit(sim, 20000) == 0 ? 0 : -EIO);
	cg_cleanup(uid);
	assert_int_equal(rc, 0);
	assert_int_equal(waitpid(r->daemon, &status, WNOHANG), 0);
	/* it did follow c1 before the removal (else this test proves nothing) */
	assert_int_equal(e2e_file_count(r->log, "not following container c1"), 0);
	assert_true(e2e_file_count(r->log, "live usage: BPF programs loaded") +
			    e2e_file_count(r->log, "falls back to cgroupfs polling") >=
		    1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_faults_env_damaged_sysfs, e2e_run_setup,
						e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_faults_env_sigterm_during_startup,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_faults_env_configmap_garbage_deleted_huge,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_faults_env_bpf_cannot_load, e2e_run_setup,
						e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_faults_env_cgroup_removed_under_collector,
						e2e_run_setup, e2e_run_teardown),
	};
	const char *sim = getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim";
	const char *tg = getenv("TOPOGUARD_BIN") ? getenv("TOPOGUARD_BIN") : "build/rel/topoguard";

	if (access(sim, X_OK) || access(tg, X_OK)) {
		fprintf(stderr, "nri-sim or topoguard not built (%s, %s)\n", sim, tg);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
