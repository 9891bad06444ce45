/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Root integration of the closed loop: the daemon, the runtime simulator and real
 * v1 cgroups (tests/integration/closed_loop_rig.h).
 *
 * (a) A latency-sensitive container (annotation latency-target-us.topoguard.io)
 *     runs a wakeup-latency probe; two best-effort CPU burners join it on the same
 *     CPU. The daemon must throttle the burners within 250 ms of the breach (the
 *     probe's own p99 over its last 100 ms of wakeups above the target), the
 *     probe's p99 must come back under the target, and once the
 *     burners stop the throttle must be lifted.
 * (c) The same probe with two best-effort burners that may run on every CPU: the
 *     shared pool saturates, and the daemon must lend the probe a CPU of its own
 *     (a shield: its cpuset one CPU, the burners' the rest) instead of throttling
 *     them; the burners must end up unthrottled, the probe's p99 under the target,
 *     and once the burners stop the shield must be given back (everyone on the
 *     whole pool again).
 * (b) A best-effort memory hog crosses eviction.memory_watermark_bytes: within
 *     500 ms an eviction of the hog's pod must reach a local HTTPS API stand-in
 *     (self-signed CA, bearer token checked), which refuses it once with 429; the
 *     retry must come after a backoff.
 *
 * The reaction times are printed against their targets (250 ms, 500 ms); the
 * assertions use CI_REACTION_BOUND_MS, because a timing target is a benchmark's job
 * (bench/isolation) and a shared CI machine misses tight bounds at random.
 *
 * (a) runs twice: on cgroups the test makes at the kubepods paths nri-sim reports,
 * where the test plays the runtime's cgroup writes (it reads what the daemon imposed
 * from `topoguard status`, closed_loop.throttled, and writes cpu.cfs_period_us /
 * cpu.cfs_quota_us); and through nri-sim --apply-cgroups --report-real-cgroups,
 * which makes the cgroups, reports them as cgroups_path and writes what the
 * daemon's UpdateContainers carry, the test only reading the kernel's values back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "policy/cpuset.h"
#include "tests/integration/closed_loop_rig.h"
#include "tests/integration/kube_server.h"
#include "tests/lib/e2e.h"
#include "tests/lib/skip.h"

#define MS		     1000000ull
#define CI_REACTION_BOUND_MS 1000
#define TARGET_US	     2000
#define PROBE_CPU	     1
#define WATERMARK_MB	     64

static char uid_ls[64], uid_be[64], uid_hog[64], uid_idle[64];
static char cg_ls[256], cg_b1[256], cg_b2[256], cg_hog[256], cg_idle[256];
static pid_t pids[8];
static struct rig_shared *sh;

static void kill_all(void)
{
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
		rig_kill(&pids[i]);
}

static int teardown(void **state)
{
	(void)state;
	kill_all();
	rig_rmcg(cg_ls);
	rig_rmcg(cg_b1);
	rig_rmcg(cg_b2);
	rig_rmcg(cg_hog);
	rig_rmcg(cg_idle);
	return 0;
}

static json_object *status_get(const char *sock)
{
	char *answer = NULL;
	json_object *st;

	if (status_client_request(sock, "status", 1000, &answer) < 0)
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
};

/* --apply-cgroups: the simulator applied the UpdateContainers; read the kernel's. */
static void read_back(struct loop_state *ls)
{
	long long q1 = ls->q1, q2 = ls->q2;

	ls->q1 = rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us");
	ls->q2 = rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us");
	ls->t1 = ls->q1 != -1;
	ls->t2 = ls->q2 != -1;
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

	ls->t1 = mirror_one(thr, "b1", cg_b1, &ls->q1);
	ls->t2 = mirror_one(thr, "b2", cg_b2, &ls->q2);
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
	struct e2e e;
	char sock[256], stat[256], log[256], rep[256], scen[256], cfg[256], maddr[64];
	pid_t sim, tg;
};

static void start_daemon(struct daemon_run *r, const char *scenario, const char *config)
{
	const char *sim_args[] = {"--listen",
				  r->sock,
				  "--scenario",
				  r->scen,
				  "--report",
				  r->rep,
				  r->apply ? "--apply-cgroups" : NULL,
				  r->apply,
				  "--report-real-cgroups",
				  NULL};
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

static const char latency_config[] = "live:\n"
				     "  shield: false\n"
				     "  sampling_interval: 100ms\n"
				     "  throttle_step_percent: 50\n"
				     "  throttle_min_quota_percent: 0\n"
				     "  throttle_period: 1s\n"
				     "  hysteresis_percent: 10\n"
				     "  cooldown: 3s\n"
				     "  relax_interval: 100ms\n"
				     "  throttle_interval: 100ms\n"
				     "  intrusion_target_percent: 0\n"
				     "  actions_per_second: 0\n"
				     "log:\n"
				     "  level: info\n";

/* The probe (latency-sensitive by annotation) and two BestEffort burners. */
static void latency_scenario(char *buf, size_t size)
{
	snprintf(buf, size,
		 "existing pod p1 default/probe uid=%s qos=burstable "
		 "annotation latency-target-us.topoguard.io=%d\n"
		 "existing create ls pod=p1 name=probe cpu-request=500\n"
		 "existing pod p2 default/batch uid=%s qos=besteffort\n"
		 "existing create b1 pod=p2 name=burner1\n"
		 "existing create b2 pod=p2 name=burner2\n"
		 "sleep 30000\n",
		 uid_ls, TARGET_US, uid_be);
}

/*
 * apply: NULL = the test makes the cgroups at the kubepods paths nri-sim reports
 * and writes the quotas the daemon imposed; else nri-sim --apply-cgroups apply
 * --report-real-cgroups makes them, writes what the daemon sends, and the test
 * only puts its processes in them and reads the kernel's values back.
 */
static void run_latency(const char *apply)
{
	static uint64_t lat[RIG_PROBE_MAX];
	struct loop_state ls = {.q1 = -1, .q2 = -1, .real = apply != NULL};
	struct daemon_run r = {.apply = apply};
	char scen[1024], p[512];
	uint64_t t_burn, t_late, t_floor, t_stop, p99_before, p99_after;
	size_t n;
	int tg_rc;

	assert_int_equal(e2e_setup(&r.e), 0);
	latency_scenario(scen, sizeof(scen));
	if (apply) {
		snprintf(cg_ls, sizeof(cg_ls), "/%s/ls", apply);
		snprintf(cg_b1, sizeof(cg_b1), "/%s/b1", apply);
		snprintf(cg_b2, sizeof(cg_b2), "/%s/b2", apply);
	} else {
		assert_int_equal(rig_mkcg(cg_ls), 0);
		assert_int_equal(rig_mkcg(cg_b1), 0);
		assert_int_equal(rig_mkcg(cg_b2), 0);
		pids[0] = rig_spawn(cg_ls, PROBE_CPU, rig_probe_fn, sh, 0);
	}
	start_daemon(&r, scen, latency_config);
	if (apply) {
		snprintf(p, sizeof(p), "/sys/fs/cgroup/cpu%s", cg_b2);
		assert_int_equal(e2e_wait_path(p, 5000), 0);
		pids[0] = rig_spawn(cg_ls, PROBE_CPU, rig_probe_fn, sh, 0);
	}
	ls.sock = r.stat;
	for (int i = 0; i < 100 && !(followed(r.stat, "ls") && followed(r.stat, "b1")); i++)
		usleep(50000);
	assert_true(followed(r.stat, "ls"));
	run_for(&ls, 1000 * MS); /* the probe alone: nothing to do */
	assert_int_equal(ls.first_change, 0);

	t_burn = rig_now();
	pids[1] = rig_spawn(cg_b1, PROBE_CPU, rig_burner_fn, sh, 0);
	pids[2] = rig_spawn(cg_b2, PROBE_CPU, rig_burner_fn, sh, 1);
	for (int i = 0; i < 1000 && !(ls.t1 && ls.t2 && ls.q1 == 1000 && ls.q2 == 1000); i++) {
		mirror(&ls);
		usleep(5000);
	}
	t_floor = rig_now();
	t_late = rig_first_breach(sh, t_burn, 100 * MS, TARGET_US * 1000ull);
	n = rig_lateness(sh, t_burn, ls.first_change ? ls.first_change : t_floor, lat,
			 RIG_PROBE_MAX);
	p99_before = rig_pct(lat, n, 99);
	assert_true(t_late > 0);
	assert_true(ls.first_change > 0);
	fprintf(stderr,
		"burners started; probe p99 (last 100 ms) over target after %.1f ms, quota changed "
		"%.1f ms after "
		"it (p99 before %.0f us), both at the floor after %.1f ms\n",
		(double)(t_late - t_burn) / 1e6, ((double)ls.first_change - (double)t_late) / 1e6,
		(double)p99_before / 1e3, (double)(t_floor - t_burn) / 1e6);
	/* The target is 250 ms (printed above, and by bench/isolation); CI asserts a bound a
	 * loaded 2-vCPU runner meets, so the test checks the behaviour, not the machine. */
	assert_true(ls.first_change <= t_late + CI_REACTION_BOUND_MS * MS);
	assert_int_equal(ls.q1, 1000);
	assert_int_equal(ls.q2, 1000);

	run_for(&ls, 3000 * MS);
	n = rig_lateness(sh, t_floor + 500 * MS, rig_now(), lat, RIG_PROBE_MAX);
	p99_after = rig_pct(lat, n, 99);
	fprintf(stderr, "throttled: probe p99 %.0f us over %zu wakeups (target %d us)\n",
		(double)p99_after / 1e3, n, TARGET_US);
	assert_true(n > 1000);
	assert_true(p99_after < TARGET_US * 1000ull);

	rig_kill(&pids[1]);
	rig_kill(&pids[2]);
	t_stop = rig_now();
	for (int i = 0; i < 3000 && (ls.t1 || ls.t2); i++) {
		mirror(&ls);
		usleep(5000);
	}
	fprintf(stderr, "burners stopped: throttle lifted after %.0f ms\n",
		(double)(rig_now() - t_stop) / 1e6);
	assert_false(ls.t1 || ls.t2);
	assert_int_equal(rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us"), -1);
	assert_true(metric(r.maddr,
			   "topoguard_control_reaction_seconds_count{kind=\"throttle\"}") >= 1);
	assert_true(metric(r.maddr,
			   "topoguard_control_actions_total{kind=\"restore\",result=\"sent\"}") >=
		    2);
	/* the runtime answered the UpdateContainers carrying them */
	assert_true(
		metric(r.maddr,
		       "topoguard_control_actions_total{kind=\"throttle\",result=\"applied\"}") >=
		2);
	tg_rc = stop_daemon(&r);
	rig_kill(&pids[0]);
	keep_log(r.log, apply ? "latency-sim" : "latency");
	assert_int_equal(tg_rc, 0);
	assert_true(e2e_file_count(r.log, "closed loop: throttle container=b1") >= 1);
	e2e_teardown(&r.e);
}

static void test_closed_loop_throttles_burners_and_lifts_it(void **state)
{
	(void)state;
	run_latency(NULL);
}

/* The same through the simulator's real cgroups: it applies the UpdateContainers. */
static void test_closed_loop_through_the_simulators_cgroups(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "tgcl-sim-%d", getpid());
	run_latency(name);
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

static const char shield_config[] = "live:\n"
				    "  sampling_interval: 100ms\n"
				    "  throttle_step_percent: 50\n"
				    "  throttle_min_quota_percent: 0\n"
				    "  throttle_period: 1s\n"
				    "  cooldown: 2s\n"
				    "  intrusion_target_percent: 0\n"
				    "  actions_per_second: 0\n";

static void test_closed_loop_shields_the_probe_from_a_saturated_pool(void **state)
{
	static uint64_t lat[RIG_PROBE_MAX];
	struct daemon_run r = {0};
	struct shield_view v;
	char scen[1024], name[64], p[512], cl[64];
	uint64_t t_burn, t_shield, t_stop, p99;
	size_t n;
	int tg_rc;

	(void)state;
	snprintf(name, sizeof(name), "tgcl-shield-%d", getpid());
	r.apply = name;
	assert_int_equal(e2e_setup(&r.e), 0);
	latency_scenario(scen, sizeof(scen));
	start_daemon(&r, scen, shield_config);
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/b2", name);
	assert_int_equal(e2e_wait_path(p, 5000), 0);
	snprintf(cg_ls, sizeof(cg_ls), "/%s/ls", name);
	snprintf(cg_b1, sizeof(cg_b1), "/%s/b1", name);
	snprintf(cg_b2, sizeof(cg_b2), "/%s/b2", name);
	cpus_of(name, ".", v.all, sizeof(v.all));
	pids[0] = rig_spawn(cg_ls, -1, rig_probe_fn, sh, 0);
	for (int i = 0; i < 100 && !(followed(r.stat, "ls") && followed(r.stat, "b1")); i++)
		usleep(50000);
	assert_true(followed(r.stat, "ls"));
	usleep(500000);

	t_burn = rig_now();
	pids[1] = rig_spawn(cg_b1, -1, rig_burner_fn, sh, 0);
	pids[2] = rig_spawn(cg_b2, -1, rig_burner_fn, sh, 1);
	for (int i = 0; i < 600; i++) {
		view(name, &v);
		if (shielded(&v))
			break;
		usleep(5000);
	}
	t_shield = rig_now();
	fprintf(stderr, "burners started: probe on CPU %s, burners on %s after %.1f ms (pool %s)\n",
		v.ls, v.b1, (double)(t_shield - t_burn) / 1e6, v.all);
	assert_true(shielded(&v));
	assert_true(t_shield <= t_burn + 2 * CI_REACTION_BOUND_MS * MS);
	/* nobody stays throttled: the shield replaced any throttle */
	for (int i = 0; i < 400 && (rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us") != -1 ||
				    rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us") != -1);
	     i++)
		usleep(5000);
	assert_int_equal(rig_read_ll("cpu", cg_b1, "cpu.cfs_quota_us"), -1);
	assert_int_equal(rig_read_ll("cpu", cg_b2, "cpu.cfs_quota_us"), -1);
	usleep(2000000);
	view(name, &v);
	assert_true(shielded(&v));
	n = rig_lateness(sh, t_shield + 500 * MS, rig_now(), lat, RIG_PROBE_MAX);
	p99 = rig_pct(lat, n, 99);
	fprintf(stderr, "shielded: probe p99 %.0f us over %zu wakeups (target %d us)\n",
		(double)p99 / 1e3, n, TARGET_US);
	assert_true(n > 1000);
	assert_true(p99 < TARGET_US * 1000ull);
	snprintf(cl, sizeof(cl), "%s", v.ls);

	rig_kill(&pids[1]);
	rig_kill(&pids[2]);
	t_stop = rig_now();
	for (int i = 0; i < 1600 && !whole(&v); i++) {
		usleep(5000);
		view(name, &v);
	}
	fprintf(stderr, "burners stopped: shield of CPU %s given back after %.0f ms\n", cl,
		(double)(rig_now() - t_stop) / 1e6);
	assert_true(whole(&v));
	assert_true(metric(r.maddr, "topoguard_control_reaction_seconds_count{kind=\"shield\"}") >=
		    1);
	assert_true(metric(r.maddr,
			   "topoguard_control_actions_total{kind=\"shield\",result=\"applied\"}") >=
		    1);
	assert_true(metric(r.maddr,
			   "topoguard_control_actions_total{kind=\"unshield\",result=\"sent\"}") >=
		    1);
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
	tg_rc = stop_daemon(&r);
	kube_server_stop(&ks);
	assert_int_equal(tg_rc, 0);
	assert_int_equal(n, 2);
	assert_true(sh->crossed_ns > 0);
	fprintf(stderr,
		"watermark crossed: eviction request after %.1f ms (429), retried %.1f ms later "
		"(201)\n",
		((double)req[0].at_ns - (double)sh->crossed_ns) / 1e6,
		(double)(req[1].at_ns - req[0].at_ns) / 1e6);
	assert_string_equal(req[0].path, "/api/v1/namespaces/default/pods/hog/eviction");
	assert_string_equal(req[1].path, req[0].path); /* the retry; the idle pod stays */
	assert_true(req[0].token_ok && req[1].token_ok);
	assert_int_equal(req[0].status, 429);
	assert_int_equal(req[1].status, 201);
	assert_non_null(strstr(req[0].body, "\"Eviction\""));
	assert_true(req[0].at_ns <= sh->crossed_ns + CI_REACTION_BOUND_MS * MS); /* target 500 */
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
		cmocka_unit_test_teardown(test_closed_loop_shields_the_probe_from_a_saturated_pool,
					  teardown),
		cmocka_unit_test_teardown(test_closed_loop_memory_hog_is_evicted_through_the_api,
					  teardown),
	};
	struct stat st;

	if (geteuid() != 0) {
		fprintf(stderr, "needs root (real cgroups and BPF)\n");
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
	snprintf(cg_b1, sizeof(cg_b1), "/kubepods/besteffort/pod%s/b1", uid_be);
	snprintf(cg_b2, sizeof(cg_b2), "/kubepods/besteffort/pod%s/b2", uid_be);
	snprintf(cg_hog, sizeof(cg_hog), "/kubepods/besteffort/pod%s/hog", uid_hog);
	snprintf(cg_idle, sizeof(cg_idle), "/kubepods/besteffort/pod%s/idle", uid_idle);
	rig_pin(0); /* the daemon and the simulator inherit CPU 0 */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
