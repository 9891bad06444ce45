/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf_overhead: what the usage BPF programs cost the scheduler.
 *
 * Two threads pinned to one CPU ping-pong a byte over two pipes, so every
 * round trip is at least two context switches and two wakeups. Runs alternate
 * between "programs detached" and "programs attached" in one process (same
 * CPU, same cache state, same noise), and the report compares medians:
 * switches/s each way, the loss in %, and the per-event cost the kernel itself
 * measured (BPF_STATS_RUN_TIME run_time_ns / run_cnt).
 *
 * The run-time statistics cost two clock reads per run themselves, which on
 * some VMs is most of the number. An empty tp_btf/sched_switch program, timed
 * the same way on the same ping-pong, gives that floor; the net cost is the
 * difference.
 *
 * usage: bpf_overhead [cpu [pairs [ms_per_run]]]   (root; exit 77 otherwise)
 */
#define _GNU_SOURCE
#include <errno.h>
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

#define MAX_PAIRS 32

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

/* One timed run; returns context switches per second (2 per round trip). */
static double run_once(struct pingpong *pp, double seconds)
{
	double start = now_s(), end = start + seconds, t;
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
	return 2.0 * (double)rounds / (t - start);
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

static int bench(struct usageprog *p, struct pingpong *pp, int pairs, double secs)
{
	double off[MAX_PAIRS], on[MAX_PAIRS], ratio[MAX_PAIRS], mo, mn, mr, floor_ns, per;
	struct usageprog_stats s0, s1;
	__u64 cnt = 0, ns = 0;

	run_once(pp, secs / 2); /* warm up */
	for (int i = 0; i < pairs; i++) {
		usageprog_detach(p);
		off[i] = run_once(pp, secs);
		if (usageprog_attach(p) < 0 || usageprog_read_stats(p, &s0) < 0)
			return -1;
		on[i] = run_once(pp, secs);
		if (usageprog_read_stats(p, &s1) < 0)
			return -1;
		cnt += s1.run_cnt - s0.run_cnt;
		ns += s1.run_time_ns - s0.run_time_ns;
		ratio[i] = on[i] / off[i];
		printf("run %2d: detached %10.0f sw/s   attached %10.0f sw/s   ratio %.3f\n", i,
		       off[i], on[i], ratio[i]);
	}
	usageprog_detach(p);
	mo = median(off, pairs);
	mn = median(on, pairs);
	mr = median(ratio, pairs);
	printf("median: detached %.0f switches/s, attached %.0f switches/s\n", mo, mn);
	printf("median of per-pair ratios attached/detached %.4f: loss %.2f%% (target <= 1%%)\n",
	       mr, 100.0 * (1.0 - mr));
	if (!s1.enabled || !cnt) {
		printf("bpf: run-time statistics unavailable\n");
		return 0;
	}
	per = (double)ns / (double)cnt;
	printf("bpf: %llu program runs, %.1f ns per event as measured (target <= 150 ns)\n",
	       (unsigned long long)cnt, per);
	floor_ns = stats_floor(pp, secs);
	if (floor_ns >= 0)
		printf("bpf: empty tp_btf program measured the same way: %.1f ns; net %.1f ns per "
		       "event\n",
		       floor_ns, per - floor_ns);
	return 0;
}

int main(int argc, char **argv)
{
	struct usageprog_opts o = {.cgroup_mode = USAGE_CGROUP_V1, .no_attach = true};
	struct pingpong pp = {.cpu = argc > 1 ? atoi(argv[1]) : 0};
	int pairs = argc > 2 ? atoi(argv[2]) : 7;
	double secs = (argc > 3 ? atoi(argv[3]) : 300) / 1000.0;
	struct usageprog *p;
	pthread_t th;
	int r;

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root to load BPF programs\n");
		return 77;
	}
	if (pairs < 1 || pairs > MAX_PAIRS || secs <= 0) {
		fprintf(stderr, "usage: %s [cpu [pairs<=%d [ms_per_run]]]\n", argv[0], MAX_PAIRS);
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
	printf("bpf_overhead: ping-pong on CPU %d, %d pairs of %.0f ms runs\n", pp.cpu, pairs,
	       secs * 1000);
	r = bench(p, &pp, pairs, secs);
	if (write(pp.a2b[1], "q", 1) == 1)
		pthread_join(th, NULL);
	usageprog_free(p);
	return r < 0 ? 1 : 0;
}
