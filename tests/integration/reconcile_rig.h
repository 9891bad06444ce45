/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rig of the reconciliation tests on real cgroups (test_reconcile_cgroups.c,
 * test_reconcile_node.c; header-only: no Makefile change). nri-sim --apply-cgroups NAME
 * puts every container in NAME/<id> under the v1 cpuset, cpu and memory hierarchies, or
 * under the cgroup2 root on a cgroup v2 only host (rig_skip_reason() decides, as the
 * simulator does), with a process in it from `start`, reports those paths to plugins
 * (--report-real-cgroups) and removes the whole NAME tree however it ends; the daemon
 * runs on the real cgroup root and is asked through its status socket. Cgroups a test
 * makes itself (squat()) are its own to remove: rig_teardown() does, before the
 * simulator's watchdog would. cmocka asserts throughout; include after <cmocka.h>.
 */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin/host/kubepods.h"
#include "plugin/obs/status.h"
#include "policy/cpuset.h"
#include "tests/lib/e2e.h"

/* The v1 hierarchies, or the cgroup2 root for all of them; set by rig_skip_reason(). */
static bool g_v2;
#define CG_FS	    "/sys/fs/cgroup"
#define CPUSET_ROOT (g_v2 ? CG_FS : CG_FS "/cpuset")
#define CPU_ROOT    (g_v2 ? CG_FS : CG_FS "/cpu")
/* What applies: v2's cpuset.cpus is empty until written, its .effective is the kernel's
 * view, which v1's cpuset.cpus always is. */
#define CPUS_FILE     (g_v2 ? "cpuset.cpus.effective" : "cpuset.cpus")
#define QUOTA_FILE    (g_v2 ? "cpu.max" : "cpu.cfs_quota_us")
#define SHARES_FILE   (g_v2 ? "cpu.weight" : "cpu.shares")
#define CFS_PERIOD_US 100000 /* the kubelet's, the one the simulator's containers get */

struct run {
	struct e2e e;
	char name[64], report[256], log[256], sock[256], status[256], dlog[256];
	pid_t sim, daemon;
	/* a cgroup the test made itself (squat()): its directories and its process */
	char squat_dir[2][512];
	pid_t squatter;
};

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline int read_path(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static inline int write_path(const char *path, const char *val)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * The kubelet's cgroup driver the simulator plays (rig_setup_systemd()): with systemd,
 * containerd's names, NAME.slice/cri-containerd-<id>.scope, reported to the daemon as
 * "NAME.slice:cri-containerd:<id>"; with cgroupfs NAME/<id>, reported as "/NAME/<id>".
 */
static bool g_systemd;

/* ctr's directory under root (a hierarchy's root), then "/file" when file is given. */
static inline void ctr_path(char *buf, size_t len, const char *root, const char *name,
			    const char *ctr, const char *file)
{
	if (g_systemd)
		snprintf(buf, len, "%s/%s.slice/cri-containerd-%s.scope%s%s", root, name, ctr,
			 file ? "/" : "", file ? file : "");
	else
		snprintf(buf, len, "%s/%s/%s%s%s", root, name, ctr, file ? "/" : "",
			 file ? file : "");
}

static inline int read_file(const char *root, const char *name, const char *ctr, const char *file,
			    char *buf, size_t len)
{
	char path[512];

	ctr_path(path, sizeof(path), root, name, ctr, file);
	return read_path(path, buf, len);
}

static inline int write_file(const char *root, const char *name, const char *ctr, const char *file,
			     const char *val)
{
	char path[512];

	ctr_path(path, sizeof(path), root, name, ctr, file);
	return write_path(path, val);
}

/* Poll ctr's file every 10 ms until it equals want; the ms it took, -1 after ms_max. */
static inline long wait_value(const struct run *r, const char *root, const char *ctr,
			      const char *file, const char *want, long ms_max)
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

/* What the kernel holds in ctr's cpuset.cpus; false while unreadable or empty. */
static inline bool kernel_cpus(const struct run *r, const char *ctr, struct cpuset *ret)
{
	char buf[4096];

	return read_file(CPUSET_ROOT, r->name, ctr, CPUS_FILE, buf, sizeof(buf)) == 0 && *buf &&
	       cpuset_parse(buf, strlen(buf), ret) >= 0;
}

/* The CPUs of the root cpuset: every CPU a container may have. */
static inline void all_cpus(struct cpuset *ret)
{
	char buf[4096], path[128];

	snprintf(path, sizeof(path), "%s/%s", CPUSET_ROOT, CPUS_FILE); /* v2's root: .effective */
	assert_int_equal(read_path(path, buf, sizeof(buf)), 0);
	assert_int_equal(cpuset_parse(buf, strlen(buf), ret), 0);
}

/* Poll until ctr's cgroup holds n CPUs (*ret gets them); the ms it took, -1 after ms_max. */
static inline long wait_count(const struct run *r, const char *ctr, unsigned int n, long ms_max,
			      struct cpuset *ret)
{
	uint64_t t0 = now_ms();

	while ((long)(now_ms() - t0) <= ms_max) {
		if (kernel_cpus(r, ctr, ret) && cpuset_count(ret) == n)
			return (long)(now_ms() - t0);
		usleep(10000);
	}
	return -1;
}

/* Poll until ctr's cgroup holds exactly want; the ms it took, -1 after ms_max. */
static inline long wait_cpus(const struct run *r, const char *ctr, const struct cpuset *want,
			     long ms_max)
{
	uint64_t t0 = now_ms();
	struct cpuset have;

	while ((long)(now_ms() - t0) <= ms_max) {
		if (kernel_cpus(r, ctr, &have) && cpuset_equal(&have, want))
			return (long)(now_ms() - t0);
		usleep(10000);
	}
	return -1;
}

static inline bool ctr_dir_exists(const struct run *r, const char *ctr)
{
	char path[512];

	ctr_path(path, sizeof(path), CPUSET_ROOT, r->name, ctr, NULL);
	return access(path, F_OK) == 0;
}

/* ---- a cgroup of the test's own ------------------------------------------------ */

/* Kill the squatter and remove its directories (a task leaves its cgroup asynchronously). */
static inline void squat_remove(struct run *r)
{
	if (r->squatter > 0) {
		kill(r->squatter, SIGKILL);
		waitpid(r->squatter, NULL, 0);
		r->squatter = 0;
	}
	for (int i = 0; i < 2; i++) {
		for (int tries = 0; *r->squat_dir[i] && tries < 200; tries++) {
			if (rmdir(r->squat_dir[i]) == 0 || errno == ENOENT)
				*r->squat_dir[i] = '\0';
			else
				usleep(10000);
		}
		if (*r->squat_dir[i])
			fprintf(stderr, "cannot remove %s: %m\n", r->squat_dir[i]);
	}
}

static inline pid_t squatter_spawn(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the test's death is the squatter's */
		for (;;)
			pause();
	}
	return pid;
}

/* A CFS quota in QUOTA_FILE's spelling: v1 "-1" or "50000", v2 "max 100000" or
 * "50000 100000" (the period the simulator's containers have). */
static inline void quota_text(long long quota_us, char *buf, size_t len)
{
	if (!g_v2)
		snprintf(buf, len, "%lld", quota_us > 0 ? quota_us : -1);
	else if (quota_us > 0)
		snprintf(buf, len, "%lld %d", quota_us, CFS_PERIOD_US);
	else
		snprintf(buf, len, "max %d", CFS_PERIOD_US);
}

/* CPU shares in SHARES_FILE's spelling: v2's cpu.weight is the kubelet's conversion. */
static inline void shares_text(uint64_t shares, char *buf, size_t len)
{
	snprintf(buf, len, "%llu",
		 (unsigned long long)(g_v2 ? kubepods_shares_to_weight(shares) : shares));
}

/*
 * What a runtime that crashed before telling anyone leaves: ctr's cgroup under NAME in
 * the cpuset and cpu hierarchies (v2: the one cgroup), with a process in it, holding
 * what the runtime would have applied: cpus, mems and the CPU shares (v2: their
 * cpu.weight) topoguard intends. Anything else would be drift, which the daemon
 * repairs with an update the runtime rejects for a container it does not know. 0 or
 * -errno.
 */
static inline int squat(struct run *r, const char *ctr, const char *cpus, const char *mems,
			uint64_t shares)
{
	const char *const roots[2] = {CPUSET_ROOT, CPU_ROOT};
	int n = g_v2 ? 1 : 2;
	char path[600], pid[24], val[32];
	int err = 0;

	for (int i = 0; i < n && !err; i++) {
		ctr_path(r->squat_dir[i], sizeof(r->squat_dir[i]), roots[i], r->name, ctr, NULL);
		if (mkdir(r->squat_dir[i], 0755) < 0) {
			err = -errno;
			*r->squat_dir[i] = '\0';
		}
	}
	/* a v1 cpuset takes no task before its cpus and mems are set */
	snprintf(path, sizeof(path), "%s/cpuset.mems", r->squat_dir[0]);
	err = err ?: write_path(path, mems);
	shares_text(shares, val, sizeof(val));
	snprintf(path, sizeof(path), "%s/%s", r->squat_dir[n - 1], SHARES_FILE);
	err = err ?: write_path(path, val);
	snprintf(path, sizeof(path), "%s/cpuset.cpus", r->squat_dir[0]);
	err = err ?: write_path(path, cpus);
	r->squatter = err ? 0 : squatter_spawn();
	if (r->squatter < 0) {
		err = -errno;
		r->squatter = 0;
	}
	snprintf(pid, sizeof(pid), "%d", (int)r->squatter);
	for (int i = 0; i < n && !err; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", r->squat_dir[i]);
		err = write_path(path, pid);
	}
	if (err)
		squat_remove(r);
	return err;
}

/* ---- the two cgroup modes -------------------------------------------------------- */

/* Whether the space-separated list has word (v2's "cpu" is not "cpuset"). */
static inline bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word)) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* Why the suite cannot run here, NULL if it can; sets g_v2 as nri-sim decides it. */
static inline const char *rig_skip_reason(void)
{
	char ctl[256] = "";

	if (geteuid() != 0)
		return "needs root (creates cgroups)";
	g_v2 = access(CG_FS "/cgroup.controllers", F_OK) == 0 &&
	       read_path(CG_FS "/cgroup.controllers", ctl, sizeof(ctl)) == 0 &&
	       word_in(ctl, "cpuset");
	if (g_v2) {
		if (read_path(CG_FS "/cgroup.subtree_control", ctl, sizeof(ctl)) < 0 ||
		    !word_in(ctl, "cpuset") || !word_in(ctl, "cpu") || !word_in(ctl, "memory"))
			return "cgroup v2: cpuset, cpu and memory not all enabled in " CG_FS
			       "/cgroup.subtree_control";
		return NULL;
	}
	if (access(CG_FS "/cpuset/cpuset.cpus", F_OK) < 0)
		return "needs a cpuset controller: cgroup v1's at " CG_FS
		       "/cpuset or cgroup v2's at " CG_FS;
	if (access(CG_FS "/cpu/cpu.cfs_quota_us", F_OK) < 0)
		return "cgroup v1 without the cpu controller at " CG_FS "/cpu";
	return NULL;
}

/* ---- the simulator and the daemon ----------------------------------------------- */

static inline int rig_setup(void **state)
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
	/* systemd: NAME becomes a slice, where a '-' would nest it */
	snprintf(r->name, sizeof(r->name), g_systemd ? "tgreccg%d" : "tg-reccg-%d", (int)getpid());
	e2e_path(&r->e, r->report, sizeof(r->report), "report.json");
	e2e_path(&r->e, r->log, sizeof(r->log), "sim.log");
	e2e_path(&r->e, r->sock, sizeof(r->sock), "nri.sock");
	e2e_path(&r->e, r->status, sizeof(r->status), "status.sock");
	e2e_path(&r->e, r->dlog, sizeof(r->dlog), "daemon.log");
	*state = r;
	return 0;
}

/* rig_setup() with the systemd cgroup driver's names (g_systemd; rig_teardown() ends it). */
static inline int rig_setup_systemd(void **state)
{
	g_systemd = true;
	return rig_setup(state);
}

/* Fails the case unless the daemon, when one ran, exited 0 on SIGTERM. */
static inline int rig_teardown(void **state)
{
	struct run *r = *state;
	int ret = 0;

	squat_remove(r);
	if (r->daemon > 0)
		ret = e2e_stop_daemon(r->daemon, r->dlog, 5000);
	if (r->sim > 0)
		e2e_stop(r->sim, 5000);
	if (getenv("E2E_KEEP"))
		fprintf(stderr, "kept %s\n", r->e.dir);
	else
		e2e_teardown(&r->e);
	free(r);
	g_systemd = false;
	return ret;
}

static inline void start_sim(struct run *r, const char *scenario)
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
			      "--cgroup-driver",
			      g_systemd ? "systemd" : "cgroupfs",
			      NULL};

	e2e_path(&r->e, scen, sizeof(scen), "scenario.scn");
	assert_int_equal(e2e_write(&r->e, "scenario.scn", scenario), 0);
	r->sim = e2e_spawn(r->e.sim, args, r->log);
	assert_true(r->sim > 0);
	assert_int_equal(e2e_wait_path(r->sock, 5000), 0);
}

/* The daemon on the real cgroup root, with config (YAML). */
static inline void start_daemon_with(struct run *r, const char *config)
{
	char cfg[256];
	const char *const args[] = {
		"run",	"--socket",   r->sock, "--status-socket", r->status, "--metrics-address",
		"none", "--log-file", r->dlog, "--checkpoint",	  "",	     "--config",
		cfg,	NULL};

	e2e_path(&r->e, cfg, sizeof(cfg), "topoguard.yaml");
	assert_int_equal(e2e_write(&r->e, "topoguard.yaml", config), 0);
	r->daemon = e2e_spawn(r->e.topoguard, args, r->dlog);
	assert_true(r->daemon > 0);
}

/* nri-sim's exit status must be 0: every expectation and exclusivity check held. */
static inline void finish_sim(struct run *r, int timeout_ms)
{
	int rc = e2e_wait_exit(r->sim, timeout_ms);

	r->sim = 0;
	if (rc != 0) {
		e2e_print_tail(r->log, 20);
		fail_msg("nri-sim exit %d", rc);
	}
}

static inline json_object *ask(const struct run *r, const char *req)
{
	char *answer = NULL;
	json_object *o;

	assert_int_equal(status_client_request(r->status, req, 2000, &answer), 0);
	o = json_tokener_parse(answer);
	free(answer);
	assert_non_null(o);
	return o;
}

/* id's entry in the daemon's status answer st, NULL if it has none. */
static inline json_object *status_container(json_object *st, const char *id)
{
	json_object *arr = e2e_jget(st, "containers");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *c = json_object_array_get_idx(arr, i);

		if (!strcmp(e2e_jstr(c, "id"), id))
			return c;
	}
	return NULL;
}

/* The daemon's intent for id (its status answer): key "cpus" or "mems", a list. */
static inline void intended_set(const struct run *r, const char *id, const char *key, char *buf,
				size_t len)
{
	json_object *st = ask(r, "status");

	buf[0] = '\0';
	snprintf(buf, len, "%s", e2e_jstr(status_container(st, id), key));
	json_object_put(st);
	assert_true(*buf);
}

static inline void intended_cpus(const struct run *r, const char *id, char *buf, size_t len)
{
	intended_set(r, id, "cpus", buf, len);
}

/* A number under the status answer's "reconcile" object. */
static inline int64_t reconcile_count(const struct run *r, const char *key)
{
	json_object *st = ask(r, "status");
	int64_t v = json_object_get_int64(e2e_jget(e2e_jget(st, "reconcile"), key));

	json_object_put(st);
	return v;
}
