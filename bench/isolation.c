/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's benchmark. A 1 ms wakeup-latency probe (a latency-sensitive
 * Burstable container, 500m, target by annotation) and CPU burners (a batch pod:
 * Burstable containers requesting 1 CPU each, no limit) share the node; nobody
 * is pinned by hand: every process may run on every CPU its cpuset allows. Four runs in one process:
 *   1. the probe alone;
 *   2. the probe and the burners, no topoguard;
 *   3. the same under topoguard (daemon + nri-sim --apply-cgroups
 *      --report-real-cgroups: the simulator makes the containers' cgroups, with
 *      the kubelet's cpu.shares, and writes whatever the daemon's UpdateContainers
 *      carry, cpusets and quotas);
 *   4. the same with live.shield off: throttling is the only lever (for comparison).
 * Runs 1 and 2 use cgroups the bench makes with the shares the kubelet gives
 * those requests (512 for the probe, 1024 for each burner).
 *
 * Prints p50/p99/p99.9 wakeup lateness, the burners' loops/s, how many CPUs the
 * burners could use (the CPUs not pinned: the shared pool), and their throughput
 * per such CPU against run 2; and the reaction time: the probe's p99 over its
 * last 100 ms above the target -> the first cgroup write (cpuset or quota) the
 * daemon caused, and the daemon's own topoguard_control_reaction_seconds.
 *
 *   build/rel/bench/isolation [seconds_per_run [burners [target_us]]]
 *
 * Needs root (real cgroups, BPF), 2 CPUs and the v1 cpuset and cpu controllers;
 * otherwise says why and exits 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cpuset.h"
#include "tests/integration/closed_loop_rig.h"
#include "tests/lib/e2e.h"

#define MS	 1000000ull
#define MAX_BURN 4

static struct rig_shared *sh;
static int n_burn = 2;
static unsigned int n_cpus;

struct result {
	uint64_t p50, p99, p999;
	size_t n;
	double loops_per_s;
	double burner_cpus;	       /* CPUs in the burners' cpuset, averaged over the run */
	double react_ms;	       /* breach (probe's view) -> first cgroup write, -1 none */
	double shield_ms, throttle_ms; /* the daemon's metric, mean, -1 none */
};

struct run {
	char cg_ls[256], cg_b[MAX_BURN][256];
	pid_t probe, burners[MAX_BURN];
	uint64_t loops0[MAX_BURN];
};

static void measure(uint64_t from, uint64_t to, const struct run *rn, struct result *r)
{
	static uint64_t lat[RIG_PROBE_MAX];
	uint64_t sum = 0;

	r->n = rig_lateness(sh, from, to, lat, RIG_PROBE_MAX);
	r->p50 = rig_pct(lat, r->n, 50);
	r->p99 = rig_pct(lat, r->n, 99);
	r->p999 = rig_pct(lat, r->n, 99.9);
	for (int i = 0; rn && i < n_burn; i++)
		sum += sh->loops[i] - rn->loops0[i];
	r->loops_per_s = rn ? (double)sum / ((double)(to - from) / 1e9) : 0;
}

static void start_burners(struct run *rn)
{
	for (int i = 0; i < n_burn; i++) {
		sh->loops[i] = 0;
		rn->burners[i] = rig_spawn(rn->cg_b[i], -1, rig_burner_fn, sh, i);
	}
}

static void stop_all(struct run *rn)
{
	for (int i = 0; i < n_burn; i++)
		rig_kill(&rn->burners[i]);
	rig_kill(&rn->probe);
}

static void mark_loops(struct run *rn)
{
	for (int i = 0; i < n_burn; i++)
		rn->loops0[i] = sh->loops[i];
}

/* ---- runs 1 and 2: the bench's own cgroups --------------------------------------- */

static int plain_cgroups(struct run *rn)
{
	snprintf(rn->cg_ls, sizeof(rn->cg_ls), "/tgiso-%d/ls", getpid());
	if (rig_mkcg(rn->cg_ls) < 0 || rig_write("cpu", rn->cg_ls, "cpu.shares", "512") < 0)
		return -1;
	for (int i = 0; i < n_burn; i++) {
		snprintf(rn->cg_b[i], sizeof(rn->cg_b[i]), "/tgiso-%d/b%d", getpid(), i + 1);
		if (rig_mkcg(rn->cg_b[i]) < 0 ||
		    rig_write("cpu", rn->cg_b[i], "cpu.shares", "1024") < 0)
			return -1;
	}
	return 0;
}

static void run_plain(bool with_burners, unsigned int secs, struct result *r)
{
	struct run rn = {0};
	uint64_t t0;

	memset(r, 0, sizeof(*r));
	r->react_ms = r->shield_ms = r->throttle_ms = -1;
	if (plain_cgroups(&rn) < 0) {
		fprintf(stderr, "isolation: cannot make the cgroups\n");
		return;
	}
	rn.probe = rig_spawn(rn.cg_ls, -1, rig_probe_fn, sh, 0);
	if (with_burners)
		start_burners(&rn);
	usleep(300000);
	t0 = rig_now();
	mark_loops(&rn);
	usleep(secs * 1000000u);
	measure(t0, rig_now(), with_burners ? &rn : NULL, r);
	r->burner_cpus = with_burners ? n_cpus : 0;
	stop_all(&rn);
	rig_rmcg(rn.cg_ls);
	for (int i = 0; i < n_burn; i++)
		rig_rmcg(rn.cg_b[i]);
}

/* ---- runs 3 and 4: daemon + simulator, the simulator's cgroups --------------------- */

struct tg {
	struct e2e e;
	char name[64], sock[256], stat[256], log[256], scen[256], cfg[256], maddr[64];
	pid_t sim, tg;
};

static int write_inputs(struct tg *t, unsigned int target_us, bool shield)
{
	char text[2048], cfg[512];
	size_t n;

	n = (size_t)snprintf(
		text, sizeof(text),
		"existing pod p1 default/probe uid=bench-ls-%d qos=burstable annotation "
		"latency-target-us.topoguard.io=%u\n"
		"existing create ls pod=p1 name=probe cpu-request=500\n"
		"existing pod p2 default/batch uid=bench-be-%d qos=burstable\n",
		getpid(), target_us, getpid());
	for (int i = 0; i < n_burn; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "existing create b%d pod=p2 name=burner%d cpu-request=1000\n",
				      i + 1, i + 1);
	snprintf(text + n, sizeof(text) - n, "sleep 600000\n");
	snprintf(cfg, sizeof(cfg),
		 "live:\n  shield: %s\n  throttle_step_percent: 50\n"
		 "  throttle_min_quota_percent: 0\n  throttle_period: 1s\n  cooldown: 3s\n"
		 "  relax_interval: 500ms\n  intrusion_target_percent: 0\n"
		 "  actions_per_second: 0\n",
		 shield ? "true" : "false");
	return e2e_write(&t->e, "s.scn", text) < 0 || e2e_write(&t->e, "topoguard.yaml", cfg) < 0
		       ? -1
		       : 0;
}

static int start_tg(struct tg *t, unsigned int target_us, bool shield)
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
	snprintf(t->name, sizeof(t->name), "tgiso-sim-%d-%d", getpid(), shield);
	e2e_path(&t->e, t->sock, sizeof(t->sock), "nri.sock");
	e2e_path(&t->e, t->stat, sizeof(t->stat), "status.sock");
	e2e_path(&t->e, t->log, sizeof(t->log), "daemon.log");
	e2e_path(&t->e, t->scen, sizeof(t->scen), "s.scn");
	e2e_path(&t->e, t->cfg, sizeof(t->cfg), "topoguard.yaml");
	snprintf(t->maddr, sizeof(t->maddr), "127.0.0.1:%d", e2e_free_port());
	if (write_inputs(t, target_us, shield) < 0)
		return -1;
	t->sim = e2e_spawn(t->e.sim, sim_args, NULL);
	if (e2e_wait_path(t->sock, 5000) < 0)
		return -1;
	t->tg = e2e_spawn(t->e.topoguard, tg_args, t->log);
	snprintf(last, sizeof(last), "/sys/fs/cgroup/cpu/%s/b%d", t->name, n_burn);
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

/* What the cgroups say now: the burners' CPU count; whether anything changed. */
static unsigned int watch(const struct tg *t, const char *ls0, const char *b0, bool *changed)
{
	char p[512], rel[128], ls[256], b[256];
	struct cpuset set;
	long long q;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/ls/cpuset.cpus", t->name);
	read_text(p, ls, sizeof(ls));
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/b1/cpuset.cpus", t->name);
	read_text(p, b, sizeof(b));
	snprintf(rel, sizeof(rel), "/%s/b1", t->name);
	q = rig_read_ll("cpu", rel, "cpu.cfs_quota_us");
	*changed = strcmp(ls, ls0) || strcmp(b, b0) || q != -1;
	return cpuset_parse(b, strlen(b), &set) == 0 ? cpuset_count(&set) : 0;
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

static void run_loop(struct tg *t, struct run *rn, unsigned int secs, unsigned int target_us,
		     struct result *r)
{
	char p[512], ls0[256], b0[256];
	uint64_t t_burn, t0, end, first = 0, t_late;
	double cpus_sum = 0;
	unsigned int samples = 0;
	bool changed;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/ls/cpuset.cpus", t->name);
	read_text(p, ls0, sizeof(ls0));
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset/%s/b1/cpuset.cpus", t->name);
	read_text(p, b0, sizeof(b0));
	t_burn = rig_now();
	start_burners(rn);
	t0 = t_burn + 200 * MS;
	end = t0 + (uint64_t)secs * 1000 * MS;
	while (rig_now() < end) {
		unsigned int c = watch(t, ls0, b0, &changed);

		if (changed && !first)
			first = rig_now();
		if (rig_now() >= t0 && !rn->loops0[0]) {
			mark_loops(rn);
			rn->loops0[0] = rn->loops0[0] ? rn->loops0[0] : 1;
		}
		if (rig_now() >= t0) {
			cpus_sum += c;
			samples++;
		}
		usleep(5000);
	}
	measure(t0, rig_now(), rn, r);
	r->burner_cpus = samples ? cpus_sum / samples : 0;
	t_late = rig_first_breach(sh, t_burn, 100 * MS, target_us * 1000ull);
	r->react_ms = first && t_late ? ((double)first - (double)t_late) / 1e6 : -1;
	r->shield_ms = metric_mean_ms(t, "shield");
	r->throttle_ms = metric_mean_ms(t, "throttle");
}

/* $TG_KEEP_LOGS=DIR keeps the daemon's log of each run. */
static void keep_log(const struct tg *t)
{
	const char *dir = getenv("TG_KEEP_LOGS");
	char cmd[1024];

	if (!dir || !*t->log)
		return;
	snprintf(cmd, sizeof(cmd), "cp %s %s/isolation-%s.log", t->log, dir, t->name);
	if (system(cmd) != 0)
		fprintf(stderr, "isolation: could not keep %s\n", t->log);
}

static int run_tg(unsigned int secs, unsigned int target_us, bool shield, struct result *r)
{
	struct run rn = {0};
	struct tg t = {0};
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->react_ms = r->shield_ms = r->throttle_ms = -1;
	if (start_tg(&t, target_us, shield) == 0) {
		snprintf(rn.cg_ls, sizeof(rn.cg_ls), "/%s/ls", t.name);
		for (int i = 0; i < n_burn; i++)
			snprintf(rn.cg_b[i], sizeof(rn.cg_b[i]), "/%s/b%d", t.name, i + 1);
		usleep(1000000); /* connected, synchronized, following the cgroups */
		rn.probe = rig_spawn(rn.cg_ls, -1, rig_probe_fn, sh, 0);
		usleep(500000);
		run_loop(&t, &rn, secs, target_us, r);
		stop_all(&rn);
		ret = 0;
	}
	e2e_stop(t.tg, 5000);
	e2e_stop(t.sim, 5000);
	keep_log(&t);
	e2e_teardown(&t.e);
	return ret;
}

/* ---- report ------------------------------------------------------------------------ */

static void print_row(const char *name, const struct result *r, const struct result *base)
{
	printf("%-36s %7.0f %7.0f %8.0f %7zu", name, (double)r->p50 / 1e3, (double)r->p99 / 1e3,
	       (double)r->p999 / 1e3, r->n);
	if (r->loops_per_s > 0 && base->loops_per_s > 0 && r->burner_cpus > 0)
		printf(" %13.0f %6.1f%% %6.2f %8.1f%%", r->loops_per_s,
		       100.0 * r->loops_per_s / base->loops_per_s, r->burner_cpus,
		       100.0 * (r->loops_per_s / r->burner_cpus) /
			       (base->loops_per_s / base->burner_cpus));
	printf("\n");
}

static void print_verdict(const char *name, const struct result *r, const struct result *alone,
			  const struct result *noisy)
{
	double keep = r->burner_cpus > 0 && noisy->loops_per_s > 0
			      ? 100.0 * (r->loops_per_s / r->burner_cpus) /
					(noisy->loops_per_s / noisy->burner_cpus)
			      : 0;

	printf("%s: p99 / alone %.2f (target <= 1.5); burners keep %.1f%% of the CPUs not pinned "
	       "(target >= 80%%)\n",
	       name, alone->p99 ? (double)r->p99 / (double)alone->p99 : 0, keep);
	printf("%s: reaction, probe p99 (last 100 ms) over target -> first cgroup write %.1f ms; "
	       "daemon metric (start of the breached interval -> update sent) shield %.1f ms, "
	       "throttle %.1f ms (-1: none)\n",
	       name, r->react_ms, r->shield_ms, r->throttle_ms);
}

static int usable(unsigned int secs, unsigned int target)
{
	if (geteuid() != 0) {
		printf("isolation: needs root (real cgroups, BPF): not run\n");
		return 0;
	}
	if (n_cpus < 2 || access("/sys/fs/cgroup/cpu/tasks", F_OK) < 0 ||
	    access("/sys/fs/cgroup/cpuset/tasks", F_OK) < 0) {
		printf("isolation: needs 2 CPUs and the cgroup v1 cpu and cpuset controllers: not "
		       "run\n");
		return 0;
	}
	if (n_burn < 1 || n_burn > MAX_BURN || !secs || !target) {
		fprintf(stderr, "usage: isolation [seconds_per_run [burners(1-4) [target_us]]]\n");
		return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	unsigned int secs = argc > 1 ? (unsigned int)atoi(argv[1]) : 5;
	unsigned int target = argc > 3 ? (unsigned int)atoi(argv[3]) : 2000;
	struct result alone, noisy, guarded, throttled;
	int u;

	n_burn = argc > 2 ? atoi(argv[2]) : 2;
	n_cpus = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	u = usable(secs, target);
	if (u <= 0)
		return u < 0 ? 2 : 0;
	sh = rig_shared_new();
	if (!sh)
		return 1;
	/* the bench, the daemon and the simulator stay on CPU 0, like a node's system
	 * daemons on its housekeeping CPU; the workloads unpin themselves */
	rig_pin(0);
	run_plain(false, secs, &alone);
	run_plain(true, secs, &noisy);
	if (run_tg(secs, target, true, &guarded) < 0)
		fprintf(stderr, "isolation: could not run the daemon (build it: make all; "
				"$TOPOGUARD_BIN / $NRI_SIM_BIN name other builds)\n");
	if (run_tg(secs, target, false, &throttled) < 0)
		fprintf(stderr, "isolation: could not run the daemon for run 4\n");

	printf("probe: 1 ms periodic wakeup, Burstable 500m, target %u us; %d burner(s), "
	       "Burstable 1000m, no limit; workloads not pinned, the harness on CPU 0; %u CPUs; "
	       "%u s per run\n",
	       target, n_burn, n_cpus, secs);
	printf("%-36s %7s %7s %8s %7s %13s %7s %6s %9s\n", "run", "p50_us", "p99_us", "p99.9_us",
	       "wakeups", "burner_loop/s", "vs_run2", "b_cpus", "per_cpu");
	print_row("1 probe alone", &alone, &noisy);
	print_row("2 probe + burners, no topoguard", &noisy, &noisy);
	print_row("3 probe + burners, topoguard", &guarded, &noisy);
	print_row("4 same, live.shield off (throttle)", &throttled, &noisy);
	print_verdict("run 3", &guarded, &alone, &noisy);
	print_verdict("run 4", &throttled, &alone, &noisy);
	return 0;
}
