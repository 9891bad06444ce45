/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fixture of tests/integration/test_closed_loop.c (header-only, so the test stays
 * one binary of one .c file): the daemon and the simulator of a run, the loop that
 * follows the burners' quotas (or plays the runtime writing them), the probe's
 * holding cgroup, and what the probe saw in a phase. Processes the test starts go in
 * pids[] so that the teardown kills them after a failed assertion; assertions fail
 * the test directly (cmocka), the rest returns what it found. Include it with
 * _GNU_SOURCE defined (closed_loop_rig.h).
 */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "tests/integration/closed_loop_rig.h"
#include "tests/lib/e2e.h"
#include "tests/lib/skip.h"

#define MS		     1000000ull
#define CI_REACTION_BOUND_MS 2000  /* the daemon's reaction; targets 250 ms (500 ms evicting) */
#define SEEN_BOUND_MS	     5000  /* the same as the test sees it in the cgroups, see below */
#define FLOOR_BOUND_MS	     10000 /* first quota change -> both burners at the 1 ms floor */
#define LIFT_BOUND_MS	     15000 /* burners gone -> throttle or shield lifted (about 5 s) */
#define PHASE_MIN_WAKEUPS    500   /* a phase lasts until the probe woke this often ... */
#define PHASE_MAX_MS	     8000  /* ... or this long */
#define TARGET_US	     2000
#define LATE_US		     (TARGET_US / 2) /* a "late" wakeup, see assert_better() */
#define HARM_MIN	     0.05	     /* compared from this share of late wakeups */
#define PROBE_CPU	     1
#define WATERMARK_MB	     64

static char uid_ls[64], uid_be[64], uid_hog[64], uid_idle[64];
static char cg_ls[256], cg_b1[256], cg_b2[256], cg_hog[256], cg_idle[256], cg_hold[256];
static pid_t pids[8];
static struct rig_shared *sh;

static void hold_remove(void);

static void kill_all(void)
{
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
		rig_kill(&pids[i]);
}

static int teardown(void **state)
{
	(void)state;
	kill_all();
	hold_remove();
	rig_rmcg(cg_ls);
	rig_rmcg(cg_b1);
	rig_rmcg(cg_b2);
	rig_rmcg(cg_hog);
	rig_rmcg(cg_idle);
	return 0;
}

/* topoguard status, or NULL: a daemon starved on a loaded CPU may answer late. */
static json_object *status_get(const char *sock)
{
	char *answer = NULL;
	json_object *st;

	if (status_client_request(sock, "status", SEEN_BOUND_MS, &answer) < 0)
		return NULL;
	st = json_tokener_parse(answer);
	free(answer);
	return st;
}

/* Write what the daemon imposed on id into its cgroup; true if it is throttled. */
static bool mirror_one(json_object *throttled, const char *id, const char *rel, long long *applied)
{
	json_object *t = throttled ? e2e_jget(throttled, id) : NULL;
	long long quota = t ? json_object_get_int64(e2e_jget(t, "quota_us")) : -1;
	long long period = t ? json_object_get_int64(e2e_jget(t, "period_us")) : 100000;
	char v[32];

	if (quota == *applied)
		return t != NULL;
	/* unlimited first, so any period is accepted, then the new pair */
	rig_write("cpu", rel, "cpu.cfs_quota_us", "-1");
	snprintf(v, sizeof(v), "%lld", period);
	assert_int_equal(rig_write("cpu", rel, "cpu.cfs_period_us", v), 0);
	snprintf(v, sizeof(v), "%lld", quota);
	assert_int_equal(rig_write("cpu", rel, "cpu.cfs_quota_us", v), 0);
	*applied = quota;
	return t != NULL;
}

struct loop_state {
	const char *sock;
	bool real; /* nri-sim writes the cgroups (--apply-cgroups); only read them back */
	long long q1, q2;
	uint64_t first_change; /* the burners' quota first changed */
	bool t1, t2;
	bool probe_throttled; /* ever: the LS container must never be */
};

/* --apply-cgroups: the simulator applied the UpdateContainers; read the kernel's. */
static void read_back(struct loop_state *ls)
{
	long long q1 = ls->q1, q2 = ls->q2;

	ls->q1 = rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us");
	ls->q2 = rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us");
	ls->t1 = ls->q1 != -1;
	ls->t2 = ls->q2 != -1;
	if (rig_read_ll("cpu", cg_ls, "cpu.cfs_quota_us") != -1)
		ls->probe_throttled = true;
	if (!ls->first_change && (q1 != ls->q1 || q2 != ls->q2))
		ls->first_change = rig_now();
}

static void mirror(struct loop_state *ls)
{
	json_object *st;

	if (ls->real) {
		read_back(ls);
		return;
	}
	st = status_get(ls->sock);
	json_object *cl = st ? e2e_jget(st, "closed_loop") : NULL;
	json_object *thr = cl ? e2e_jget(cl, "throttled") : NULL;
	long long q1 = ls->q1, q2 = ls->q2;

	/* no answer is no news: taken for "nothing throttled", it once lifted the
	 * throttle in the burners' cgroups on the daemon's behalf */
	if (!thr) {
		json_object_put(st);
		return;
	}
	ls->t1 = mirror_one(thr, "b1", cg_b1, &ls->q1);
	ls->t2 = mirror_one(thr, "b2", cg_b2, &ls->q2);
	if (e2e_jget(thr, "ls"))
		ls->probe_throttled = true;
	if (!ls->first_change && (q1 != ls->q1 || q2 != ls->q2))
		ls->first_change = rig_now();
	json_object_put(st);
}

static void run_for(struct loop_state *ls, uint64_t ns)
{
	uint64_t end = rig_now() + ns;

	while (rig_now() < end) {
		mirror(ls);
		usleep(5000);
	}
}

/* Mirror until done(ls), for at most ms; whether it came. */
static bool mirror_until(struct loop_state *ls, bool (*done)(const struct loop_state *),
			 uint64_t ms)
{
	uint64_t end = rig_now() + ms * MS;

	for (;;) {
		mirror(ls);
		if (done(ls))
			return true;
		if (rig_now() >= end)
			return false;
		usleep(5000);
	}
}

static bool at_floor(const struct loop_state *ls)
{
	return ls->t1 && ls->t2 && ls->q1 == 1000 && ls->q2 == 1000;
}

static bool lifted(const struct loop_state *ls)
{
	return !ls->t1 && !ls->t2;
}

/*
 * Mirror until the probe woke min_n times since from and min_ms passed, for at most
 * max_ms: a loaded machine wakes the probe less often, so a phase lasts until it has
 * enough wakeups for a comparison rather than a fixed time.
 */
static void run_phase(struct loop_state *ls, uint64_t from, size_t min_n, uint64_t min_ms,
		      uint64_t max_ms)
{
	uint64_t t0 = rig_now();

	while (rig_now() < t0 + max_ms * MS &&
	       (rig_now() < t0 + min_ms * MS || rig_count(sh, from) < min_n)) {
		mirror(ls);
		usleep(5000);
	}
}

/* The container's live usage has arrived in the daemon (it follows the cgroup). */
static bool followed(const char *sock, const char *id)
{
	json_object *st = status_get(sock), *ctrs = st ? e2e_jget(st, "containers") : NULL;
	bool ok = false;

	for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
		json_object *c = json_object_array_get_idx(ctrs, i);

		if (!strcmp(e2e_jstr(c, "id"), id) && e2e_jget(c, "usage"))
			ok = true;
	}
	json_object_put(st);
	return ok;
}

struct daemon_run {
	const char *apply; /* nri-sim --apply-cgroups NAME --report-real-cgroups, or NULL */
	const char *nri;   /* nri-sim --nri-version NRI --lock-inversion, or NULL */
	struct e2e e;
	char sock[256], stat[256], log[256], rep[256], scen[256], cfg[256], maddr[64];
	pid_t sim, tg;
};

static void start_daemon(struct daemon_run *r, const char *scenario, const char *config)
{
	const char *sim_args[16] = {"--listen", r->sock, "--scenario", r->scen, "--report", r->rep};
	size_t n = 6;
	const char *tg_args[] = {"run",	   "--socket",	      r->sock, "--config",
				 r->cfg,   "--status-socket", r->stat, "--metrics-address",
				 r->maddr, "--log-file",      r->log,  NULL};

	e2e_path(&r->e, r->sock, sizeof(r->sock), "nri.sock");
	e2e_path(&r->e, r->stat, sizeof(r->stat), "status.sock");
	e2e_path(&r->e, r->log, sizeof(r->log), "daemon.log");
	e2e_path(&r->e, r->rep, sizeof(r->rep), "report.json");
	e2e_path(&r->e, r->scen, sizeof(r->scen), "s.scn");
	e2e_path(&r->e, r->cfg, sizeof(r->cfg), "topoguard.yaml");
	snprintf(r->maddr, sizeof(r->maddr), "127.0.0.1:%d", e2e_free_port());
	assert_int_equal(e2e_write(&r->e, "s.scn", scenario), 0);
	assert_int_equal(e2e_write(&r->e, "topoguard.yaml", config), 0);
	if (r->apply) {
		sim_args[n++] = "--apply-cgroups";
		sim_args[n++] = r->apply;
		sim_args[n++] = "--report-real-cgroups";
	}
	if (r->nri) { /* an old runtime with containerd#13733's lock inversion */
		sim_args[n++] = "--nri-version";
		sim_args[n++] = r->nri;
		sim_args[n++] = "--lock-inversion";
	}
	sim_args[n] = NULL;
	r->sim = e2e_spawn(r->e.sim, sim_args, NULL);
	assert_int_equal(e2e_wait_path(r->sock, 5000), 0);
	r->tg = e2e_spawn(r->e.topoguard, tg_args, r->log);
	/* the teardown kills them if an assertion ends the test early */
	pids[6] = r->sim;
	pids[7] = r->tg;
	assert_true(r->sim > 0 && r->tg > 0);
}

/* 0 iff the daemon exited 0 on SIGTERM (e2e_stop_daemon() says why not); the caller
 * asserts it after its own cleanup. */
static int stop_daemon(struct daemon_run *r)
{
	int rc = e2e_stop_daemon(r->tg, r->log, 5000);

	e2e_stop(r->sim, 5000);
	pids[6] = pids[7] = 0;
	return rc;
}

#define metric e2e_metric

/* $TG_KEEP_LOGS=DIR keeps the daemon's log for a look after the run. */
static void keep_log(const char *log, const char *what)
{
	const char *dir = getenv("TG_KEEP_LOGS");
	char cmd[768];

	if (!dir)
		return;
	snprintf(cmd, sizeof(cmd), "cp %s %s/closed-loop-%s.log", log, dir, what);
	if (system(cmd) != 0)
		fprintf(stderr, "could not keep %s\n", log);
}

/*
 * The probe's waiting room: a sibling of the LS container's cgroup with its weight
 * (cpu.shares) and the parent's cpuset, which the daemon knows nothing of. While the
 * probe is there, the burners hurt it as they would in its container, and the daemon
 * cannot see it: the unprotected phase the protected one is compared with, in the same
 * run under the same load.
 */
static void hold_make(void)
{
	char parent[256], shares[32];
	int n = (int)(strrchr(cg_ls, '/') - cg_ls);

	snprintf(parent, sizeof(parent), "%.*s", n, cg_ls);
	assert_true(snprintf(cg_hold, sizeof(cg_hold), "%s/hold", parent) < (int)sizeof(cg_hold));
	/* only where the container has a cgroup (the simulator makes no cpuacct one): the
	 * probe stays where it is in the others, and nothing is left behind */
	for (int c = 0; c < RIG_NCTRL; c++) {
		char p[512];

		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", rig_ctrls[c], cg_ls);
		if (access(p, F_OK) < 0)
			continue;
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", rig_ctrls[c], cg_hold);
		assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	}
	assert_int_equal(rig_mkcg_cpuset(cg_hold, parent), 0);
	assert_int_equal(rig_read_str("cpu", cg_ls, "cpu.shares", shares, sizeof(shares)), 0);
	assert_int_equal(rig_write("cpu", cg_hold, "cpu.shares", shares), 0);
}

static void hold_remove(void)
{
	char p[512];

	if (!cg_hold[0])
		return;
	for (int c = 0; c < RIG_NCTRL; c++) {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", rig_ctrls[c], cg_hold);
		rmdir(p);
	}
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset%s", cg_hold);
	rmdir(p);
	cg_hold[0] = '\0';
}

/* The probe into cgroup rel; pinned to cpu again (>= 0): a v1 cpuset join resets it. */
static void move_probe(const char *rel, int cpu)
{
	assert_int_equal(rig_move(pids[0], rel), 0);
	if (cpu >= 0)
		assert_int_equal(rig_pin_pid(pids[0], cpu), 0);
}

/* What the probe saw in a phase, and how fast both burners ran meanwhile. */
struct phase {
	struct rig_stats st;
	double loops_per_s;
	uint64_t loops0, t0; /* at the start */
};

static uint64_t burner_loops(void)
{
	return sh->loops[0] + sh->loops[1];
}

static void phase_begin(struct phase *p, uint64_t from)
{
	p->t0 = from;
	p->loops0 = burner_loops();
}

static void phase_end(struct phase *p, const char *what)
{
	uint64_t now = rig_now();
	char cpus[3][64];

	rig_stats_of(sh, p->t0, now, LATE_US * 1000ull, &p->st);
	p->loops_per_s = (double)(burner_loops() - p->loops0) * 1e9 / (double)(now - p->t0);
	for (int i = 0; i < 3; i++) {
		char list[48];

		if (rig_allowed(pids[i], list, sizeof(list)) < 0)
			snprintf(list, sizeof(list), "?");
		snprintf(cpus[i], sizeof(cpus[i]), "%s (%c)", list, rig_state(pids[i]));
	}
	fprintf(stderr,
		"%s: %zu wakeups, late p50 %.0f us p90 %.0f us p99 %.0f us; later than %d us: "
		"%.1f%% (median window of %d: %.1f%%); burners %.0f loops/s; may run on (state): "
		"probe %s, burners %s and %s\n",
		what, p->st.n, (double)p->st.p50 / 1e3, (double)p->st.p90 / 1e3,
		(double)p->st.p99 / 1e3, LATE_US, 100.0 * p->st.late, RIG_WINDOW,
		100.0 * p->st.late_med, p->loops_per_s, cpus[0], cpus[1], cpus[2]);
}

/* cpu.stat's nr_throttled of cgroup rel: CFS periods in which the quota ran out. */
static long long nr_throttled(const char *rel)
{
	char p[512], key[64];
	long long v, found = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpu%s/cpu.stat", rel);
	f = fopen(p, "re");
	if (!f)
		return -1;
	while (found < 0 && fscanf(f, "%63s %lld", key, &v) == 2)
		if (!strcmp(key, "nr_throttled"))
			found = v;
	fclose(f);
	return found;
}

/*
 * The daemon has measured an interval without any of the probe's wakeups in its
 * container (runqueue p99 0: no samples): a breach the probe's last wakeups there
 * showed (a loaded machine is enough) is over, and cannot be blamed on the burners.
 */
static bool out_of_sight(const char *sock)
{
	json_object *st = status_get(sock), *ctrs = st ? e2e_jget(st, "containers") : NULL;
	bool ok = false;

	for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
		json_object *c = json_object_array_get_idx(ctrs, i);
		json_object *u = e2e_jget(c, "usage"),
			    *p99 = u ? e2e_jget(u, "runqueue_p99_us") : NULL;

		/* a sample without run-queue figures says nothing; seen, and the breach
		 * of the probe's last wakeups there was still on */
		if (!strcmp(e2e_jstr(c, "id"), "ls") && p99)
			ok = json_object_get_double(p99) == 0;
	}
	json_object_put(st);
	return ok;
}

/*
 * The value of series once it is at least want, or the last one read after
 * SEEN_BOUND_MS: what the effect showed, the daemon's metrics show on its next tick,
 * and a daemon starved on a loaded CPU answers a scrape late or not at all.
 */
static double metric_at_least(const char *maddr, const char *series, double want)
{
	uint64_t end = rig_now() + SEEN_BOUND_MS * MS;
	double v;

	while ((v = metric(maddr, series)) < want && rig_now() < end)
		usleep(50000);
	return v;
}

/* The daemon's own mean reaction of kind (ms), from its histogram; -1 if none. */
static double daemon_reaction_ms(const char *maddr, const char *kind)
{
	char sum[128], count[128];
	double n;

	snprintf(sum, sizeof(sum), "topoguard_control_reaction_seconds_sum{kind=\"%s\"}", kind);
	snprintf(count, sizeof(count), "topoguard_control_reaction_seconds_count{kind=\"%s\"}",
		 kind);
	n = metric_at_least(maddr, count, 1);
	return n > 0 ? metric_at_least(maddr, sum, 0) * 1e3 / n : -1;
}
