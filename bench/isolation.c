/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's benchmark: a 1 ms wakeup-latency probe (latency-sensitive,
 * target by annotation) and CPU burners (best-effort) on the same CPU, three runs
 * in one process:
 *   1. the probe alone;
 *   2. the probe and the burners, no topoguard;
 *   3. the same under topoguard (daemon + nri-sim; the bench writes the quota the
 *      daemon imposes into the burners' real cgroups, as the runtime would).
 * Prints p50/p99/p99.9 wakeup lateness, the burners' loops/s, and the reaction
 * time (the probe's p99 over its last 100 ms above the target -> the burners'
 * cpu.cfs_quota_us written; and the daemon's own topoguard_control_reaction_seconds).
 *
 *   build/rel/bench/isolation [seconds_per_run [burners [target_us]]]
 *
 * Needs root (real cgroups, BPF) and 2 CPUs; otherwise says why and exits 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/status.h"
#include "tests/integration/closed_loop_rig.h"
#include "tests/lib/e2e.h"

#define MS	  1000000ull
#define PROBE_CPU 1
#define MAX_BURN  4

static struct rig_shared *sh;
static char uid_ls[64], cg_ls[256], cg_b[MAX_BURN][256];
static pid_t probe, burners[MAX_BURN];
static int n_burn = 2;
static long long applied[MAX_BURN];
static uint64_t first_change;

struct result {
	uint64_t p50, p99, p999;
	size_t n;
	double loops_per_s;
};

static void measure(uint64_t from, uint64_t to, const uint64_t *loops0, struct result *r)
{
	static uint64_t lat[RIG_PROBE_MAX];
	uint64_t sum = 0;

	r->n = rig_lateness(sh, from, to, lat, RIG_PROBE_MAX);
	r->p50 = rig_pct(lat, r->n, 50);
	r->p99 = rig_pct(lat, r->n, 99);
	r->p999 = rig_pct(lat, r->n, 99.9);
	for (int i = 0; loops0 && i < n_burn; i++)
		sum += sh->loops[i] - loops0[i];
	r->loops_per_s = (double)sum / ((double)(to - from) / 1e9);
}

static void start_burners(void)
{
	for (int i = 0; i < n_burn; i++) {
		sh->loops[i] = 0;
		burners[i] = rig_spawn(cg_b[i], PROBE_CPU, rig_burner_fn, sh, i);
	}
}

static void stop_burners(void)
{
	for (int i = 0; i < n_burn; i++)
		rig_kill(&burners[i]);
}

/* Write what the daemon imposed into the burners' cgroups. */
static void mirror(const char *sock)
{
	char *answer = NULL, id[8], v[32];
	json_object *st, *thr;

	if (status_client_request(sock, "status", 1000, &answer) < 0)
		return;
	st = json_tokener_parse(answer);
	free(answer);
	thr = e2e_jget(e2e_jget(st, "closed_loop"), "throttled");
	for (int i = 0; i < n_burn; i++) {
		json_object *t;
		long long q, p;

		snprintf(id, sizeof(id), "b%d", i + 1);
		t = thr ? e2e_jget(thr, id) : NULL;
		q = t ? json_object_get_int64(e2e_jget(t, "quota_us")) : -1;
		p = t ? json_object_get_int64(e2e_jget(t, "period_us")) : 100000;
		if (q == applied[i])
			continue;
		rig_write("cpu", cg_b[i], "cpu.cfs_quota_us", "-1");
		snprintf(v, sizeof(v), "%lld", p);
		rig_write("cpu", cg_b[i], "cpu.cfs_period_us", v);
		snprintf(v, sizeof(v), "%lld", q);
		rig_write("cpu", cg_b[i], "cpu.cfs_quota_us", v);
		applied[i] = q;
		if (!first_change)
			first_change = rig_now();
	}
	json_object_put(st);
}

static void run_plain(bool with_burners, unsigned int secs, struct result *r)
{
	uint64_t loops0[MAX_BURN] = {0}, t0, t1;

	if (with_burners)
		start_burners();
	usleep(200000);
	t0 = rig_now();
	for (int i = 0; i < n_burn; i++)
		loops0[i] = sh->loops[i];
	usleep(secs * 1000000u);
	t1 = rig_now();
	measure(t0, t1, with_burners ? loops0 : NULL, r);
	if (with_burners)
		stop_burners();
}

#define metric e2e_metric

struct tg {
	struct e2e e;
	char sock[256], stat[256], log[256], scen[256], cfg[256], maddr[64];
	pid_t sim, tg;
};

static int start_tg(struct tg *t, unsigned int target_us)
{
	const char *sim_args[] = {"--listen", t->sock, "--scenario", t->scen, NULL};
	const char *tg_args[] = {"run",	   "--socket",	      t->sock, "--config",
				 t->cfg,   "--status-socket", t->stat, "--metrics-address",
				 t->maddr, "--log-file",      t->log,  NULL};
	char text[2048];
	size_t n;

	if (e2e_setup(&t->e) < 0)
		return -1;
	e2e_path(&t->e, t->sock, sizeof(t->sock), "nri.sock");
	e2e_path(&t->e, t->stat, sizeof(t->stat), "status.sock");
	e2e_path(&t->e, t->log, sizeof(t->log), "daemon.log");
	e2e_path(&t->e, t->scen, sizeof(t->scen), "s.scn");
	e2e_path(&t->e, t->cfg, sizeof(t->cfg), "topoguard.yaml");
	snprintf(t->maddr, sizeof(t->maddr), "127.0.0.1:%d", e2e_free_port());
	n = (size_t)snprintf(text, sizeof(text),
			     "existing pod p1 default/probe uid=%s qos=burstable annotation "
			     "latency-target-us.topoguard.io=%u\n"
			     "existing create ls pod=p1 name=probe cpu-request=500\n"
			     "existing pod p2 default/batch uid=bench-be-%d qos=besteffort\n",
			     uid_ls, target_us, getpid());
	for (int i = 0; i < n_burn; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "existing create b%d pod=p2 name=burner%d\n", i + 1, i + 1);
	snprintf(text + n, sizeof(text) - n, "sleep 600000\n");
	if (e2e_write(&t->e, "s.scn", text) < 0 ||
	    e2e_write(&t->e, "topoguard.yaml",
		      "live:\n  throttle_step_percent: 50\n  throttle_min_quota_percent: 0\n"
		      "  throttle_period: 1s\n  cooldown: 3s\n  relax_interval: 500ms\n"
		      "  intrusion_target_percent: 0\n  actions_per_second: 0\n") < 0)
		return -1;
	t->sim = e2e_spawn(t->e.sim, sim_args, NULL);
	if (e2e_wait_path(t->sock, 5000) < 0)
		return -1;
	t->tg = e2e_spawn(t->e.topoguard, tg_args, t->log);
	return t->tg > 0 ? 0 : -1;
}

static int run_tg(unsigned int secs, unsigned int target_us, struct result *r, double *ret_react_ms,
		  double *ret_metric_ms)
{
	uint64_t loops0[MAX_BURN] = {0}, t_burn, t0, t_late = 0, end;
	struct tg t;
	double cnt, sum;

	if (start_tg(&t, target_us) < 0)
		return -1;
	usleep(1500000); /* connected, synchronized, following the cgroups */
	t_burn = rig_now();
	start_burners();
	end = rig_now() + 200 * MS + (uint64_t)secs * 1000 * MS;
	t0 = t_burn + 200 * MS;
	while (rig_now() < end) {
		mirror(t.stat);
		if (rig_now() >= t0 && !loops0[0])
			for (int i = 0; i < n_burn; i++)
				loops0[i] = sh->loops[i] ? sh->loops[i] : 1;
		usleep(5000);
	}
	measure(t0, rig_now(), loops0, r);
	t_late = rig_first_breach(sh, t_burn, 100 * MS, target_us * 1000ull);
	*ret_react_ms = first_change && t_late ? ((double)first_change - (double)t_late) / 1e6 : -1;
	cnt = metric(t.maddr, "topoguard_control_reaction_seconds_count{kind=\"throttle\"}");
	sum = metric(t.maddr, "topoguard_control_reaction_seconds_sum{kind=\"throttle\"}");
	*ret_metric_ms = cnt > 0 ? sum / cnt * 1e3 : -1;
	stop_burners();
	e2e_stop(t.tg, 5000);
	e2e_stop(t.sim, 5000);
	e2e_teardown(&t.e);
	return 0;
}

static void print_row(const char *name, const struct result *r, double base_loops)
{
	printf("%-34s %8.0f %8.0f %9.0f %8zu", name, (double)r->p50 / 1e3, (double)r->p99 / 1e3,
	       (double)r->p999 / 1e3, r->n);
	if (r->loops_per_s > 0)
		printf(" %14.0f %7.1f%%", r->loops_per_s,
		       base_loops > 0 ? 100.0 * r->loops_per_s / base_loops : 100.0);
	printf("\n");
}

int main(int argc, char **argv)
{
	unsigned int secs = argc > 1 ? (unsigned int)atoi(argv[1]) : 5;
	unsigned int target = argc > 3 ? (unsigned int)atoi(argv[3]) : 2000;
	struct result alone, noisy, guarded;
	double react = -1, react_metric = -1;

	n_burn = argc > 2 ? atoi(argv[2]) : 2;
	if (geteuid() != 0) {
		printf("isolation: needs root (real cgroups, BPF): not run\n");
		return 0;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || access("/sys/fs/cgroup/cpu/tasks", F_OK) < 0) {
		printf("isolation: needs 2 CPUs and the cgroup v1 cpu controller: not run\n");
		return 0;
	}
	if (n_burn < 1 || n_burn > MAX_BURN || !secs || !target) {
		fprintf(stderr, "usage: isolation [seconds_per_run [burners(1-4) [target_us]]]\n");
		return 2;
	}
	sh = rig_shared_new();
	if (!sh)
		return 1;
	snprintf(uid_ls, sizeof(uid_ls), "bench-ls-%d", getpid());
	snprintf(cg_ls, sizeof(cg_ls), "/kubepods/burstable/pod%s/ls", uid_ls);
	for (int i = 0; i < n_burn; i++) {
		snprintf(cg_b[i], sizeof(cg_b[i]), "/kubepods/besteffort/podbench-be-%d/b%d",
			 getpid(), i + 1);
		applied[i] = -1;
		if (rig_mkcg(cg_b[i]) < 0)
			return 1;
	}
	if (rig_mkcg(cg_ls) < 0)
		return 1;
	rig_pin(0);
	probe = rig_spawn(cg_ls, PROBE_CPU, rig_probe_fn, sh, 0);
	run_plain(false, secs, &alone);
	run_plain(true, secs, &noisy);
	if (run_tg(secs, target, &guarded, &react, &react_metric) < 0)
		fprintf(stderr, "isolation: could not run the daemon (build it: make all)\n");
	rig_kill(&probe);
	for (int i = 0; i < n_burn; i++)
		rig_rmcg(cg_b[i]);
	rig_rmcg(cg_ls);

	printf("probe: 1 ms periodic wakeup on CPU %d, %d best-effort burner(s) on the same CPU, "
	       "%u s per run, target %u us\n",
	       PROBE_CPU, n_burn, secs, target);
	printf("%-34s %8s %8s %9s %8s %14s %8s\n", "run", "p50_us", "p99_us", "p99.9_us", "wakeups",
	       "burner_loops/s", "vs_run2");
	print_row("1 probe alone", &alone, 0);
	print_row("2 probe + burners, no topoguard", &noisy, noisy.loops_per_s);
	print_row("3 probe + burners, topoguard", &guarded, noisy.loops_per_s);
	printf("p99 ratio run3/run1: %.2f (target <= 1.5)\n",
	       alone.p99 ? (double)guarded.p99 / (double)alone.p99 : 0);
	printf("reaction: probe p99 (last 100 ms) over target -> burners' quota written %.1f ms; "
	       "daemon metric "
	       "(start of the breached interval -> UpdateContainers sent) mean %.1f ms\n",
	       react, react_metric);
	return 0;
}
