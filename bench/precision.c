/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's precision benchmark (docs/closed-loop.md "Blame before acting"),
 * beside bench/isolation: does it act only on real harm? The same 1 ms wakeup probe
 * (a latency-sensitive Burstable container, 500m, target by annotation) and a batch
 * pod of two Burstable 1000m containers, under the daemon + nri-sim --apply-cgroups
 * --report-real-cgroups, in four runs:
 *   1. the probe alone (the batch containers idle): no action expected;
 *   2. two CPU burners outside every container (a cgroup the daemon does not follow,
 *      like system daemons or other host work) and one batch container with a light
 *      load (2 ms of every 10): no action against containers expected, the breach
 *      blamed on the host;
 *   3. the burners in the batch containers: an action within 150 ms expected, and the
 *      probe's p99 near its p99 alone;
 *   4. as 3, with steal-like noise: on every CPU a SCHED_FIFO task outside the
 *      containers takes 1 ms of every 10 (a hypervisor taking the vCPU away cannot be
 *      made on demand; this takes the CPU from everyone at once, as steal does).
 * For each: false actions (runs 1-2: every throttle or shield; runs 3-4: one against
 * the probe), whether the burners in containers were missed (no action at all), the
 * reaction (react_ms: the load's start -> the first cgroup write the daemon caused;
 * daemon_ms: its own topoguard_control_reaction_seconds, from the start of the
 * interval in which it blamed the breach on neighbours to the update sent), levers
 * undone as ineffective, what the daemon blamed the breach on most
 * often (status, polled every 50 ms), the node's steal and load outside containers it
 * measured, and the probe's p99 against run 1.
 *
 *   build/rel/bench/precision [seconds_per_run [target_us]]
 *
 * Needs root (real cgroups, BPF), 2 CPUs and the v1 cpuset and cpu controllers;
 * otherwise says why and exits 0.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/obs/status.h"
#include "policy/control.h"
#include "tests/integration/closed_loop_rig.h"
#include "tests/lib/e2e.h"

#define MS	UINT64_C(1000000)
#define N_BURN	2
#define MAX_CPU 64

enum scenario { SC_ALONE = 0, SC_HOST, SC_CONTAINERS, SC_NOISE, SC_COUNT };

static const char *const sc_names[SC_COUNT] = {
	"1 lone probe",
	"2 burners outside containers",
	"3 burners in containers",
	"4 as 3 + steal-like noise",
};

static struct rig_shared *sh;
static unsigned int n_cpus;

struct result {
	bool ran;
	char explain[2048]; /* `explain` of the probe at the end of the run */
	uint64_t p99;
	size_t n;
	int actions, false_actions, undone;
	int missed;	  /* 1: the burners in containers ran, nothing was done */
	double react_ms;  /* load start -> the first cgroup write the daemon caused */
	double daemon_ms; /* the daemon's reaction metric (throttle or shield), mean */
	unsigned int blame[CONTROL_BLAME_COUNT]; /* status polls per blame */
	double steal_sum, host_sum;
	unsigned int polls;
};

struct tg {
	struct e2e e;
	char name[64], sock[256], stat[256], log[256], scen[256], cfg[256], maddr[64];
	pid_t sim, tg;
	pid_t work[N_BURN + MAX_CPU];
	size_t n_work;
	char host_cg[128];
};

/* ---- workloads ------------------------------------------------------------------- */

static void spin_ns(uint64_t ns)
{
	uint64_t end = rig_now() + ns;

	while (rig_now() < end)
		;
}

/* 2 ms of CPU in every 10: uses CPU, would be throttled by a loop that does not blame. */
static void light_fn(struct rig_shared *s, int arg)
{
	(void)s;
	(void)arg;
	for (;;) {
		spin_ns(2 * MS);
		usleep(8000);
	}
}

/* 1 ms of every 10 at real-time priority, pinned by rig_spawn(): steal-like noise. */
static void noise_fn(struct rig_shared *s, int arg)
{
	struct sched_param p = {.sched_priority = 10};

	(void)s;
	(void)arg;
	if (sched_setscheduler(0, SCHED_FIFO, &p) < 0)
		_exit(1);
	for (;;) {
		spin_ns(1 * MS);
		usleep(9000);
	}
}

static void spawn(struct tg *t, const char *cg, int cpu, void (*fn)(struct rig_shared *, int),
		  int arg)
{
	pid_t p = rig_spawn(cg, cpu, fn, sh, arg);

	if (p > 0)
		t->work[t->n_work++] = p;
}

static void start_load(struct tg *t, enum scenario sc)
{
	char cg[128];

	for (int i = 0; sc == SC_HOST && i < N_BURN; i++)
		spawn(t, t->host_cg, -1, rig_burner_fn, i);
	if (sc == SC_HOST) {
		snprintf(cg, sizeof(cg), "/%s/b1", t->name);
		spawn(t, cg, -1, light_fn, 0);
	}
	for (int i = 0; (sc == SC_CONTAINERS || sc == SC_NOISE) && i < N_BURN; i++) {
		snprintf(cg, sizeof(cg), "/%s/b%d", t->name, i + 1);
		spawn(t, cg, -1, rig_burner_fn, i);
	}
	for (unsigned int c = 0; sc == SC_NOISE && c < n_cpus && c < MAX_CPU; c++)
		spawn(t, t->host_cg, (int)c, noise_fn, 0);
}

static void stop_load(struct tg *t)
{
	for (size_t i = 0; i < t->n_work; i++)
		rig_kill(&t->work[i]);
	t->n_work = 0;
}

/* ---- the daemon and the simulator (as bench/isolation) ------------------------------ */

static int write_inputs(struct tg *t, unsigned int target_us)
{
	char text[2048];
	size_t n;

	n = (size_t)snprintf(
		text, sizeof(text),
		"existing pod p1 default/probe uid=prec-ls-%d qos=burstable annotation "
		"latency-target-us.topoguard.io=%u\n"
		"existing create ls pod=p1 name=probe cpu-request=500\n"
		"existing pod p2 default/batch uid=prec-be-%d qos=burstable\n",
		getpid(), target_us, getpid());
	for (int i = 0; i < N_BURN; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "existing create b%d pod=p2 name=burner%d cpu-request=1000\n",
				      i + 1, i + 1);
	snprintf(text + n, sizeof(text) - n, "sleep 600000\n");
	return e2e_write(&t->e, "s.scn", text) < 0 ||
			       e2e_write(&t->e, "topoguard.yaml",
					 "live:\n  throttle_step_percent: 50\n"
					 "  throttle_min_quota_percent: 0\n  throttle_period: 1s\n"
					 "  cooldown: 3s\n  relax_interval: 500ms\n"
					 "  intrusion_target_percent: 0\n  actions_per_second: 0\n"
					 "log:\n  level: info\n") < 0
		       ? -1
		       : 0;
}

static int start_tg(struct tg *t, unsigned int target_us, enum scenario sc)
{
	const char *sim_args[] = {"--listen",
				  t->sock,
				  "--scenario",
				  t->scen,
				  "--apply-cgroups",
				  t->name,
				  "--report-real-cgroups",
				  NULL};
	const char *tg_args[] = {"run",	   "--socket",	      t->sock, "--config",
				 t->cfg,   "--status-socket", t->stat, "--metrics-address",
				 t->maddr, "--log-file",      t->log,  NULL};
	char last[512];

	if (e2e_setup(&t->e) < 0)
		return -1;
	snprintf(t->name, sizeof(t->name), "tgprec-sim-%d-%d", getpid(), sc);
	snprintf(t->host_cg, sizeof(t->host_cg), "/tgprec-host-%d", getpid());
	e2e_path(&t->e, t->sock, sizeof(t->sock), "nri.sock");
	e2e_path(&t->e, t->stat, sizeof(t->stat), "status.sock");
	e2e_path(&t->e, t->log, sizeof(t->log), "daemon.log");
	e2e_path(&t->e, t->scen, sizeof(t->scen), "s.scn");
	e2e_path(&t->e, t->cfg, sizeof(t->cfg), "topoguard.yaml");
	snprintf(t->maddr, sizeof(t->maddr), "127.0.0.1:%d", e2e_free_port());
	if (write_inputs(t, target_us) < 0 || rig_mkcg(t->host_cg) < 0)
		return -1;
	t->sim = e2e_spawn(t->e.sim, sim_args, NULL);
	if (e2e_wait_path(t->sock, 5000) < 0)
		return -1;
	t->tg = e2e_spawn(t->e.topoguard, tg_args, t->log);
	snprintf(last, sizeof(last), "/sys/fs/cgroup/cpu/%s/b%d", t->name, N_BURN);
	return t->tg > 0 && e2e_wait_path(last, 5000) == 0 ? 0 : -1;
}

static void read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f && !fgets(buf, (int)size, f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The probe's and b1's cpusets and b1's quota, as one string: a change is an action. */
#define STATE_MAX 512

static void cgroup_state(const struct tg *t, char buf[STATE_MAX])
{
	char p[512], ls[200], b[200], rel[128];

	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/ls/cpuset.cpus", t->name);
	read_text(p, ls, sizeof(ls));
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/b1/cpuset.cpus", t->name);
	read_text(p, b, sizeof(b));
	snprintf(rel, sizeof(rel), "/%s/b1", t->name);
	snprintf(buf, STATE_MAX, "%s|%s|%lld", ls, b, rig_read_ll("cpu", rel, "cpu.cfs_quota_us"));
}

static enum control_blame blame_of(const char *name)
{
	for (int b = 0; b < CONTROL_BLAME_COUNT; b++)
		if (!strcmp(name, control_blame_name((enum control_blame)b)))
			return (enum control_blame)b;
	return CONTROL_BLAME_NONE;
}

/* One status poll: the probe's blame and the node's steal and outside load. */
static void poll_status(const struct tg *t, struct result *r)
{
	char *answer = NULL;
	json_object *st, *cl, *pool, *br;

	if (status_client_request(t->stat, "status", 1000, &answer) < 0)
		return;
	st = json_tokener_parse(answer);
	free(answer);
	cl = st ? e2e_jget(st, "closed_loop") : NULL;
	pool = cl ? e2e_jget(cl, "pool") : NULL;
	br = cl ? e2e_jget(cl, "breached") : NULL;
	br = br ? e2e_jget(br, "ls") : NULL;
	r->blame[br ? blame_of(e2e_jstr(br, "blame")) : CONTROL_BLAME_NONE]++;
	if (pool) {
		r->steal_sum += json_object_get_double(e2e_jget(pool, "steal_cpus"));
		r->host_sum += json_object_get_double(e2e_jget(pool, "outside_containers_cpus"));
		r->polls++;
	}
	json_object_put(st);
}

static void run_loop(struct tg *t, enum scenario sc, unsigned int secs, unsigned int target_us,
		     struct result *r)
{
	static uint64_t lat[RIG_PROBE_MAX];
	char s0[STATE_MAX], s[STATE_MAX];
	uint64_t t_load, end, first = 0;

	cgroup_state(t, s0);
	t_load = rig_now();
	start_load(t, sc);
	end = t_load + (uint64_t)secs * 1000 * MS;
	while (rig_now() < end) {
		cgroup_state(t, s);
		if (strcmp(s, s0) && !first)
			first = rig_now();
		poll_status(t, r);
		usleep(50000);
	}
	r->n = rig_lateness(sh, t_load + 200 * MS, rig_now(), lat, RIG_PROBE_MAX);
	r->p99 = rig_pct(lat, r->n, 99);
	stop_load(t);
	(void)target_us;
	r->react_ms = first ? ((double)first - (double)t_load) / 1e6 : -1;
}

static double metric_mean_ms(const struct tg *t, const char *kind)
{
	char c[160], s[160];
	double cnt, sum;

	snprintf(c, sizeof(c), "topoguard_control_reaction_seconds_count{kind=\"%s\"}", kind);
	snprintf(s, sizeof(s), "topoguard_control_reaction_seconds_sum{kind=\"%s\"}", kind);
	cnt = e2e_metric(t->maddr, c);
	sum = e2e_metric(t->maddr, s);
	return cnt > 0 ? sum / cnt * 1e3 : -1;
}

/* The daemon's own reaction: the first lever's, from its breach to the update sent. */
static double daemon_reaction(const struct tg *t)
{
	double shd = metric_mean_ms(t, "shield"), th = metric_mean_ms(t, "throttle");

	return shd >= 0 && (th < 0 || shd < th) ? shd : th;
}

/* The daemon's `explain` of the probe: its last action, evidence, whether it helped. */
static void explain_probe(const struct tg *t, struct result *r)
{
	char *answer = NULL;
	json_object *o;
	const char *text, *cl;

	r->explain[0] = '\0';
	if (status_client_request(t->stat, "explain ls", 1000, &answer) < 0)
		return;
	o = json_tokener_parse(answer);
	free(answer);
	text = o ? e2e_jstr(o, "explanation") : "";
	cl = strstr(text, "; closed loop: ");
	snprintf(r->explain, sizeof(r->explain), "%s", cl ? cl + 2 : text);
	json_object_put(o);
}

/* What the daemon's log says it did. */
static void count_actions(const struct tg *t, enum scenario sc, struct result *r)
{
	int throttles = e2e_file_count(t->log, "closed loop: throttle container=");
	int shields = e2e_file_count(t->log, "closed loop: shield container=");

	r->actions = throttles + shields;
	r->undone = e2e_file_count(t->log, "reason=ineffective");
	if (sc == SC_ALONE || sc == SC_HOST)
		r->false_actions = r->actions;
	else
		r->false_actions = e2e_file_count(t->log, "closed loop: throttle container=ls ");
	r->missed = (sc == SC_CONTAINERS || sc == SC_NOISE) && !r->actions;
}

/* $TG_KEEP_LOGS=DIR keeps the daemon's log of each run. */
static void keep_log(const struct tg *t)
{
	const char *dir = getenv("TG_KEEP_LOGS");
	char cmd[1024];

	if (!dir || !*t->log)
		return;
	snprintf(cmd, sizeof(cmd), "cp %s %s/precision-%s.log", t->log, dir, t->name);
	if (system(cmd) != 0)
		fprintf(stderr, "precision: could not keep %s\n", t->log);
}

static void run_one(enum scenario sc, unsigned int secs, unsigned int target_us, struct result *r)
{
	struct tg t = {0};
	char cg[128];
	pid_t probe;

	memset(r, 0, sizeof(*r));
	r->react_ms = -1;
	if (start_tg(&t, target_us, sc) == 0) {
		snprintf(cg, sizeof(cg), "/%s/ls", t.name);
		usleep(1000000); /* connected, synchronized, following the cgroups */
		probe = rig_spawn(cg, -1, rig_probe_fn, sh, 0);
		usleep(500000);
		run_loop(&t, sc, secs, target_us, r);
		r->daemon_ms = daemon_reaction(&t);
		explain_probe(&t, r);
		rig_kill(&probe);
		usleep(200000); /* the last actions into the log */
		count_actions(&t, sc, r);
		r->ran = true;
	} else {
		fprintf(stderr, "precision: could not run the daemon (build it: make all; "
				"$TOPOGUARD_BIN / $NRI_SIM_BIN name other builds)\n");
	}
	e2e_stop(t.tg, 5000);
	e2e_stop(t.sim, 5000);
	keep_log(&t);
	e2e_teardown(&t.e);
	rig_rmcg(t.host_cg);
}

/* ---- report ------------------------------------------------------------------------ */

/* The blame status showed most often while breached, "-" if never breached. */
static const char *top_blame(const struct result *r)
{
	int best = -1;

	for (int b = CONTROL_BLAME_UNCHECKED; b < CONTROL_BLAME_COUNT; b++)
		if (r->blame[b] && (best < 0 || r->blame[b] > r->blame[best]))
			best = b;
	return best < 0 ? "-" : control_blame_name((enum control_blame)best);
}

static void print_row(enum scenario sc, const struct result *r, const struct result *alone)
{
	char react[16] = "-", daemon[16] = "-", missed[8] = "-";

	if (!r->ran) {
		printf("%-32s not run\n", sc_names[sc]);
		return;
	}
	if (r->react_ms >= 0 && r->actions)
		snprintf(react, sizeof(react), "%.0f", r->react_ms);
	if (r->daemon_ms >= 0)
		snprintf(daemon, sizeof(daemon), "%.0f", r->daemon_ms);
	if (sc == SC_CONTAINERS || sc == SC_NOISE)
		snprintf(missed, sizeof(missed), "%d", r->missed);
	printf("%-32s %7d %6d %6s %8s %9s %6d %-10s %6.2f %8.2f %7.0f %6.2f\n", sc_names[sc],
	       r->actions, r->false_actions, missed, react, daemon, r->undone, top_blame(r),
	       r->polls ? r->steal_sum / r->polls : 0, r->polls ? r->host_sum / r->polls : 0,
	       (double)r->p99 / 1e3, alone->p99 ? (double)r->p99 / (double)alone->p99 : 0);
}

static int usable(unsigned int secs, unsigned int target)
{
	if (geteuid() != 0) {
		printf("precision: needs root (real cgroups, BPF): not run\n");
		return 0;
	}
	if (n_cpus < 2 || access("/sys/fs/cgroup/cpu/tasks", F_OK) < 0 ||
	    access("/sys/fs/cgroup/cpuset/tasks", F_OK) < 0) {
		printf("precision: needs 2 CPUs and the cgroup v1 cpu and cpuset controllers: not "
		       "run\n");
		return 0;
	}
	if (!secs || !target) {
		fprintf(stderr, "usage: precision [seconds_per_run [target_us]]\n");
		return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int secs = argc > 1 ? (unsigned int)atoi(argv[1]) : 5;
	unsigned int target = argc > 2 ? (unsigned int)atoi(argv[2]) : 2000;
	struct result r[SC_COUNT];
	int u;

	n_cpus = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	u = usable(secs, target);
	if (u <= 0)
		return u < 0 ? 2 : 0;
	sh = rig_shared_new();
	if (!sh)
		return 1;
	/* the bench, the daemon and the simulator stay on CPU 0 (see bench/isolation) */
	rig_pin(0);
	for (int sc = 0; sc < SC_COUNT; sc++) {
		rig_reset(sh);
		run_one((enum scenario)sc, secs, target, &r[sc]);
	}
	printf("probe: 1 ms periodic wakeup, Burstable 500m, target %u us; batch pod: 2 x "
	       "Burstable 1000m; %u CPUs; %u s per run\n",
	       target, n_cpus, secs);
	printf("%-32s %7s %6s %6s %8s %9s %6s %-10s %6s %8s %7s %6s\n", "run", "actions", "false",
	       "missed", "react_ms", "daemon_ms", "undone", "blamed_on", "steal", "outside",
	       "p99_us", "/alone");
	for (int sc = 0; sc < SC_COUNT; sc++)
		print_row((enum scenario)sc, &r[sc], &r[SC_ALONE]);
	printf("expected: runs 1-2 no action (false 0), run 2 blamed on host; runs 3-4 act "
	       "(missed 0) within 150 ms, p99 <= 1.2 x run 1; steal and outside: CPUs, means of "
	       "the daemon's figures; blamed_on: its most frequent blame while breached\n");
	for (int sc = 0; sc < SC_COUNT; sc++)
		if (r[sc].ran)
			printf("explain probe after run %d: %s\n", sc + 1, r[sc].explain);
	return 0;
}
