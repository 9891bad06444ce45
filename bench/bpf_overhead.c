/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf_overhead: what the usage BPF programs cost the scheduler.
 *
 * Two threads pinned to one CPU ping-pong a byte over two pipes, so every
 * round trip is at least two context switches and two wakeups. Two phases:
 *
 * 1. Throughput, run-time statistics OFF (as the daemon runs between its
 *    sampling windows): runs alternate between "programs detached" and
 *    "programs attached" in one process (same CPU, same cache state, same
 *    noise); the loss is 1 - the median of the per-pair ratios.
 * 2. Per-event cost, statistics ON (BPF_STATS_RUN_TIME run_time_ns /
 *    run_cnt, as the kernel measures it), one figure per run. The statistics
 *    cost two clock reads per run themselves; an empty tp_btf/sched_switch
 *    program timed the same way gives that floor, printed next to it (not
 *    subtracted from the figure the target is checked against).
 *
 * The statistics switch is host-wide: if something else holds it on during
 * phase 1, the loss includes its cost, and the bench says so.
 *
 * usage: bpf_overhead [cpu [pairs [ms_per_run [rq_source]]]]   (root; exit 77 otherwise)
 * rq_source: enum usage_rq_source (0 schedstat, 1 wakeup hooks, 2 schedstat per task).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bpf/usageprog.h"

#define MAX_PAIRS 64

struct pingpong {
	int cpu;
	int a2b[2];
	int b2a[2];
	volatile int stop;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -1 : 0;
}

static void *pong(void *arg)
{
	struct pingpong *pp = arg;
	char c;

	if (pin(pp->cpu) < 0)
		return NULL;
	while (read(pp->a2b[0], &c, 1) == 1) {
		if (c == 'q' || write(pp->b2a[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * One timed run; returns context switches per wall-clock second (2 per round
 * trip) and, in *ret_per_cpu, per second of CPU time the two threads got. The
 * programs' run time is charged to these threads (they are prev or next of
 * nearly every switch on the CPU), while time other tenants of a shared VM
 * take is not: the CPU-time rate is the less noisy measure of the same loss.
 */
static double run_once_cpu(struct pingpong *pp, double seconds, double *ret_per_cpu)
{
	double start = now_s(), c0 = cpu_s(), end = start + seconds, t;
	unsigned long rounds = 0;
	char c = 'p';

	do {
		for (int i = 0; i < 256; i++) {
			if (write(pp->a2b[1], &c, 1) != 1 || read(pp->b2a[0], &c, 1) != 1)
				return -1;
		}
		rounds += 256;
		t = now_s();
	} while (t < end);
	if (ret_per_cpu)
		*ret_per_cpu = 2.0 * (double)rounds / (cpu_s() - c0);
	return 2.0 * (double)rounds / (t - start);
}

static double run_once(struct pingpong *pp, double seconds)
{
	return run_once_cpu(pp, seconds, NULL);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Track our own v1 cpu cgroup so the hot path takes the "registered" branch. */
static void register_self(struct usageprog *p)
{
	char line[512], path[600];
	struct stat st;
	FILE *f = fopen("/proc/self/cgroup", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL;

		if (!cg || strncmp(ctl, ":cpu:", 5) != 0)
			continue;
		cg[strcspn(cg, "\n")] = '\0';
		snprintf(path, sizeof(path), "/sys/fs/cgroup/cpu%s", cg + 1);
		if (stat(path, &st) == 0)
			usageprog_slot_set(p, st.st_ino, 1);
	}
	if (f)
		fclose(f);
}

/* "r0 = 0; exit" on tp_btf/sched_switch; returns the program fd or -errno. */
static int load_empty_switch_prog(void)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id, fd;

	if (!vmlinux)
		return -errno;
	id = btf__find_by_name_kind(vmlinux, "btf_trace_sched_switch", BTF_KIND_TYPEDEF);
	btf__free(vmlinux);
	if (id < 0)
		return id;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
		    .attach_btf_id = (__u32)id);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "tg_empty", "GPL", insns, 2, &opts);
	return fd < 0 ? -errno : fd;
}

/* ns per run of the empty program: the statistics' own floor. */
static double stats_floor(struct pingpong *pp, double secs)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = load_empty_switch_prog(), link;
	double r = -1;

	if (fd < 0)
		return -1;
	link = bpf_raw_tracepoint_open(NULL, fd);
	if (link >= 0) {
		run_once(pp, secs);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.run_cnt)
			r = (double)info.run_time_ns / (double)info.run_cnt;
		close(link);
	}
	close(fd);
	return r;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * The statistics switch is host-wide and reference-counted; the sysctl shows
 * only its own setting, not other processes' fds (a daemon built before the
 * sampling window holds it for its whole life). So probe: with our reference
 * dropped, do the attached programs' counters still move?
 */
static bool stats_held_elsewhere(struct usageprog *p, struct pingpong *pp)
{
	struct usageprog_stats a, b;
	bool held;

	usageprog_stats_enable(p, false);
	if (usageprog_attach(p) < 0 || usageprog_read_stats(p, &a) < 0)
		return false;
	run_once(pp, 0.02);
	held = usageprog_read_stats(p, &b) == 0 && b.run_cnt != a.run_cnt;
	usageprog_detach(p);
	return held;
}

static void print_spread(const char *what, double *v, int n, const char *unit)
{
	double m = median(v, n); /* sorts v */

	printf("%s: median %.4g%s, min %.4g, max %.4g (%d runs)\n", what, m, unit, v[0], v[n - 1],
	       n);
}

struct tput {
	double off[MAX_PAIRS], on[MAX_PAIRS], ratio[MAX_PAIRS], loss[MAX_PAIRS];
	double coff[MAX_PAIRS], con[MAX_PAIRS], cratio[MAX_PAIRS], closs[MAX_PAIRS];
	double cempty[MAX_PAIRS], eloss[MAX_PAIRS];
};

/*
 * Throughput with only the empty program attached, per CPU second: what any
 * tp_btf/sched_switch program costs (tracepoint on, dispatch) before its body.
 */
static double run_empty(int empty_fd, struct pingpong *pp, double secs)
{
	double per_cpu = -1;
	int link = empty_fd >= 0 ? bpf_raw_tracepoint_open(NULL, empty_fd) : -1;

	if (link < 0)
		return -1;
	run_once_cpu(pp, secs, &per_cpu);
	close(link);
	return per_cpu;
}

static void print_tput(const struct tput *t, int i)
{
	printf("run %2d: detached %8.0f sw/s %8.0f sw/cpu-s   attached %8.0f sw/s %8.0f "
	       "sw/cpu-s   ratio %.3f cpu-ratio %.3f   empty prog cpu-ratio %.3f\n",
	       i, t->off[i], t->coff[i], t->on[i], t->con[i], t->ratio[i], t->cratio[i],
	       t->cempty[i] > 0 ? t->cempty[i] / t->coff[i] : 0.0);
}

/* One pair (plus the empty-program arm) of phase 1; -1 if attaching failed. */
static int measure_pair(struct usageprog *p, struct pingpong *pp, double secs, int empty_fd,
			struct tput *t, int i)
{
	usageprog_detach(p);
	t->off[i] = run_once_cpu(pp, secs, &t->coff[i]);
	if (usageprog_attach(p) < 0)
		return -1;
	t->on[i] = run_once_cpu(pp, secs, &t->con[i]);
	usageprog_detach(p);
	t->ratio[i] = t->on[i] / t->off[i];
	t->cratio[i] = t->con[i] / t->coff[i];
	t->loss[i] = 100.0 * (1.0 - t->ratio[i]);
	t->closs[i] = 100.0 * (1.0 - t->cratio[i]);
	t->cempty[i] = run_empty(empty_fd, pp, secs);
	print_tput(t, i);
	return 0;
}

/* Phase 1: attached vs detached with the statistics off; median losses in %. */
static int phase_throughput(struct usageprog *p, struct pingpong *pp, int pairs, double secs,
			    double *ret_loss, double *ret_cpu_loss, double *ret_empty_loss)
{
	int empty_fd = load_empty_switch_prog(), n_empty = 0, r = 0;
	bool held = stats_held_elsewhere(p, pp);
	struct tput *t = calloc(1, sizeof(*t));

	printf("phase 1: throughput, run-time statistics off%s\n",
	       held ? " here, BUT another process holds them on host-wide: the loss below "
		      "includes their cost"
		    : "");
	for (int i = 0; t && r == 0 && i < pairs; i++) {
		r = measure_pair(p, pp, secs, empty_fd, t, i);
		if (r == 0 && t->cempty[i] > 0)
			t->eloss[n_empty++] = 100.0 * (1.0 - t->cempty[i] / t->coff[i]);
	}
	if (empty_fd >= 0)
		close(empty_fd);
	if (!t || r < 0) {
		free(t);
		return -1;
	}
	if (!held && stats_held_elsewhere(p, pp))
		printf("warning: another process turned BPF run-time statistics on during phase "
		       "1\n");
	printf("median: detached %.0f switches/s, attached %.0f switches/s\n",
	       median(t->off, pairs), median(t->on, pairs));
	*ret_loss = 100.0 * (1.0 - median(t->ratio, pairs));
	*ret_cpu_loss = 100.0 * (1.0 - median(t->cratio, pairs));
	print_spread("throughput loss per pair, wall clock", t->loss, pairs, "%");
	print_spread("throughput loss per pair, per CPU second", t->closs, pairs, "%");
	*ret_empty_loss = -100;
	if (n_empty) {
		print_spread("empty program's loss per CPU second (any sched_switch hook)",
			     t->eloss, n_empty, "%");
		*ret_empty_loss = median(t->eloss, n_empty);
	}
	free(t);
	return 0;
}

/*
 * Per-event cost, statistics on, A/B: each run of the usage programs is
 * followed by a run of the empty program timed the same way (the statistics'
 * own floor), so both see the same moment's noise; the figure the target is
 * checked against is the median of the per-pair differences.
 */
static int phase_cost(struct usageprog *p, struct pingpong *pp, int runs, double secs,
		      double *ret_ns, double *ret_floor, double *ret_diff)
{
	double per[MAX_PAIRS], fl[MAX_PAIRS], diff[MAX_PAIRS];
	struct usageprog_stats s0, s1;
	int n = 0, r;

	r = usageprog_stats_enable(p, true);
	if (r < 0) {
		printf("phase 2: run-time statistics unavailable: %s\n", strerror(-r));
		return -1;
	}
	printf("phase 2: per-event cost, run-time statistics on, each run beside the empty "
	       "program's\n");
	for (int i = 0; i < runs; i++) {
		if (usageprog_attach(p) < 0 || usageprog_read_stats(p, &s0) < 0)
			break;
		run_once(pp, secs);
		r = usageprog_read_stats(p, &s1);
		usageprog_detach(p);
		if (r < 0 || s1.run_cnt <= s0.run_cnt)
			break;
		per[n] = (double)(s1.run_time_ns - s0.run_time_ns) /
			 (double)(s1.run_cnt - s0.run_cnt);
		fl[n] = stats_floor(pp, secs);
		if (fl[n] < 0)
			break;
		diff[n] = per[n] - fl[n];
		n++;
	}
	usageprog_stats_enable(p, false);
	if (!n)
		return -1;
	print_spread("bpf: ns per event as measured", per, n, " ns");
	print_spread("bpf: empty tp_btf program measured the same way", fl, n, " ns");
	print_spread("bpf: difference per pair of runs", diff, n, " ns");
	*ret_ns = median(per, n);
	*ret_floor = median(fl, n);
	*ret_diff = median(diff, n);
	return 0;
}

static int bench(struct usageprog *p, struct pingpong *pp, int pairs, double secs)
{
	double loss = 0, cpu_loss = 0, empty_loss = 0, per = -1, floor_ns = 0, diff = 0;

	run_once(pp, secs / 2); /* warm up */
	if (phase_throughput(p, pp, pairs, secs, &loss, &cpu_loss, &empty_loss) < 0)
		return -1;
	if (phase_cost(p, pp, pairs, secs, &per, &floor_ns, &diff) < 0) {
		printf("bpf: run-time statistics unavailable\n");
		per = -1;
	}
	printf("RESULT throughput loss, statistics off: %.2f%% wall clock, %.2f%% per CPU second; "
	       "the empty program's %.2f%% (target: <= the empty program's + 1 point): %s\n",
	       loss, cpu_loss, empty_loss, cpu_loss <= empty_loss + 1.0 ? "met" : "NOT met");
	if (per >= 0)
		printf("RESULT per event, statistics on: %.1f ns (target <= 150 ns): %s; "
		       "empty-program floor %.1f ns, difference %.1f ns (median of the pairs; "
		       "target <= +40 ns): %s\n",
		       per, per <= 150.0 ? "met" : "NOT met", floor_ns, diff,
		       diff <= 40.0 ? "met" : "NOT met");
	return 0;
}

int main(int argc, char **argv)
{
	struct usageprog_opts o = {
		.cgroup_mode = USAGE_CGROUP_V1, .no_attach = true, .no_stats = true};
	struct pingpong pp = {.cpu = argc > 1 ? atoi(argv[1]) : 0};
	int pairs = argc > 2 ? atoi(argv[2]) : 7;
	double secs = (argc > 3 ? atoi(argv[3]) : 300) / 1000.0;
	static const char *const sources[] = {"schedstat", "wakeup hooks", "schedstat per task"};
	struct usageprog *p;
	pthread_t th;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root to load BPF programs\n");
		return 77;
	}
	o.rq_source = argc > 4 ? (__u32)atoi(argv[4]) : USAGE_RQ_SCHEDSTAT;
	if (pairs < 1 || pairs > MAX_PAIRS || secs <= 0 || o.rq_source > USAGE_RQ_SCHEDSTAT_TASK) {
		fprintf(stderr, "usage: %s [cpu [pairs<=%d [ms_per_run [rq_source 0-2]]]]\n",
			argv[0], MAX_PAIRS);
		return 2;
	}
	libbpf_set_print(silent);
	r = usageprog_open(&o, &p);
	if (r < 0) {
		fprintf(stderr, "skip: cannot load the usage BPF programs: %s\n", strerror(-r));
		return 77;
	}
	register_self(p);
	if (pipe(pp.a2b) < 0 || pipe(pp.b2a) < 0 || pin(pp.cpu) < 0 ||
	    pthread_create(&th, NULL, pong, &pp) != 0) {
		fprintf(stderr, "setup failed: %s\n", strerror(errno));
		usageprog_free(p);
		return 1;
	}
	printf("bpf_overhead: ping-pong on CPU %d, %d pairs of %.0f ms runs, run-queue waits from "
	       "%s\n",
	       pp.cpu, pairs, secs * 1000, sources[o.rq_source]);
	r = bench(p, &pp, pairs, secs);
	if (write(pp.a2b[1], "q", 1) == 1)
		pthread_join(th, NULL);
	usageprog_free(p);
	return r < 0 ? 1 : 0;
}
