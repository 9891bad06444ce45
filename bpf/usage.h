/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usage: per-container live usage for the daemon. Backed by usage.bpf.c when
 * BPF works, else by polling cgroupfs; both fill the same usage_sample, whose
 * `valid` bits say which fields the backend could provide.
 *
 * The daemon drives the timer: usage_collect(u, now) every interval (100 ms
 * suggested), then usage_get() per container. Rates are over the interval
 * between the last two collects.
 *
 * Ownership: usage_new() returns an object owned by the caller, freed with
 * usage_free() (NULL-safe); *ret is untouched on failure. Strings passed in are
 * copied. All other functions take a non-NULL object and return 0 or -errno.
 * Not thread-safe: one thread (the daemon's timer) drives an object.
 */
#ifndef TOPOGUARD_BPF_USAGE_H
#define TOPOGUARD_BPF_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Returned by usage_new() with USAGE_BACKEND_BPF when BPF cannot be used. */
#define USAGE_E_NOBPF (-EOPNOTSUPP)

enum usage_backend {
	USAGE_BACKEND_AUTO = 0, /* BPF, else polling (usage_new() returns 1) */
	USAGE_BACKEND_BPF,
	USAGE_BACKEND_POLL,
};

/* Which hierarchy identifies a container's cgroup. */
enum usage_hierarchy {
	USAGE_HIER_AUTO = 0, /* v1 if <root>/cpu is a v1 controller dir, else v2 */
	USAGE_HIER_V1,	     /* <root>/{cpu,cpuacct,memory}/<path> */
	USAGE_HIER_V2,	     /* <root>/<path>, or <root>/unified/<path> on hybrid hosts */
};

struct usage_opts {
	const char *cgroup_root; /* NULL: /sys/fs/cgroup */
	enum usage_backend backend;
	enum usage_hierarchy hierarchy;
	/*
	 * Run-queue waits from sched_wakeup timestamps instead of the kernel's
	 * schedstat run_delay. Costlier; chosen automatically when the kernel has
	 * no CONFIG_SCHED_INFO (no /proc/self/schedstat).
	 */
	bool rq_from_wakeups;
	/*
	 * schedstat waits snapshotted per task (task storage) instead of per CPU:
	 * also counts time a task spent queued on another CPU before a
	 * load-balancer migration. ~30-40 ns more per context switch of a tracked
	 * task on the development VM. Ignored with rq_from_wakeups.
	 */
	bool rq_migration_waits;
	/*
	 * The kernel's BPF run-time statistics (for usage_overhead()) cost two
	 * clock reads per program run while on, so they are on only for a window
	 * of overhead_window_ms out of every overhead_period_ms, timed by
	 * usage_collect()'s clock. 0 picks the default (1000 out of 10000);
	 * window >= period keeps them on all the time.
	 */
	unsigned int overhead_window_ms;
	unsigned int overhead_period_ms;
	/* Never pin the progress timer, as kernels before 6.7 cannot (tests). */
	bool no_tick_pin;
	/*
	 * BPF backend: keep the programs detached (nothing runs on sched_switch) while
	 * no registered container is marked with usage_set_live(); see there. Off: they
	 * stay attached from usage_new() on, as tests of the programs want.
	 */
	bool attach_on_demand;
};

enum {
	USAGE_F_CPU = 1u << 0,	      /* cpu_ns, cpu_cores */
	USAGE_F_RQ_LATENCY = 1u << 1, /* rq_* (BPF only) */
	USAGE_F_PREEMPT = 1u << 2,    /* preempt_* (BPF only) */
	USAGE_F_INTRUSION = 1u << 3,  /* intrusion_ns (BPF only, needs exclusive CPUs) */
	USAGE_F_THROTTLE = 1u << 4,   /* nr_throttled, throttled_ns */
	USAGE_F_MEMORY = 1u << 5,     /* memory_bytes */
	USAGE_F_PSI_CPU = 1u << 6,    /* psi_cpu_* (v2 only) */
	USAGE_F_PSI_MEMORY = 1u << 7, /* psi_mem_* (v2 only) */
	USAGE_F_OOM = 1u << 8,	      /* oom_kills */
};

/* One container over the last interval. Counters are deltas over the interval. */
struct usage_sample {
	unsigned int valid; /* USAGE_F_*; fields whose bit is clear are unavailable */
	__u64 interval_ns;
	__u64 cpu_ns;
	double cpu_cores; /* cpu_ns / interval_ns */
	__u64 rq_samples;
	double rq_p50_us;
	double rq_p99_us;
	__u64 rq_wait_ns; /* the waits summed (rq_*): CPU time its tasks wanted and did not get */
	__u64 preempt_received;	 /* this container's tasks preempted by others */
	__u64 preempt_inflicted; /* this container's tasks preempting others */
	__u64 intrusion_ns;	 /* others' time on this container's exclusive CPUs */
	__u64 nr_throttled;
	__u64 throttled_ns;
	__u64 memory_bytes; /* current usage (a level, not a delta) */
	double psi_cpu_some_avg10;
	double psi_mem_some_avg10;
	double psi_mem_full_avg10;
	__u64 oom_kills; /* since registration (a total, not a delta) */
};

/*
 * Cost of the BPF programs themselves, from the kernel's run statistics over
 * the last completed sampling window (see usage_opts.overhead_window_ms).
 * available is false until the first window has closed, or if the kernel
 * refused to turn the statistics on.
 */
struct usage_overhead {
	bool available;
	__u64 run_cnt;	     /* total of the runs measured (statistics on) since load */
	__u64 run_time_ns;   /* their total run time */
	double ns_per_event; /* over the last window */
	double cpu_fraction; /* over the last window: BPF time / (window * CPUs) */
};

struct usage;

/* 0: BPF in use; 1: AUTO fell back to polling (usage_bpf_error() says why). */
int usage_new(const struct usage_opts *opts, struct usage **ret);
void usage_free(struct usage *u);

enum usage_backend usage_backend(const struct usage *u);
/* -errno explaining why BPF is not in use, 0 if it is. */
int usage_bpf_error(const struct usage *u);
enum usage_hierarchy usage_hierarchy(const struct usage *u);
/*
 * What this kernel made the BPF backend do without, one static sentence each (for the
 * daemon's status); fills at most max entries of ret and returns how many there are.
 */
size_t usage_notes(const struct usage *u, const char **ret, size_t max);

/*
 * cgroup_path is relative to each hierarchy root, e.g. "/kubepods/pod1/abc".
 * -EEXIST if the id or the cgroup is already registered, -ENOENT if the cgroup
 * does not exist, -ENOSPC when all BPF slots are in use.
 */
int usage_register(struct usage *u, const char *container_id, const char *cgroup_path);
int usage_unregister(struct usage *u, const char *container_id);
/* Replaces the container's exclusive CPUs (n == 0 clears them). */
int usage_set_exclusive(struct usage *u, const char *container_id, const unsigned int *cpus,
			size_t n);

/*
 * Whether the container needs what only the BPF programs see (run-queue latency,
 * preemptions, intrusion on its exclusive CPUs). With opts.attach_on_demand, the first
 * container marked attaches the programs at once; usage_collect() detaches them when
 * none is left. While detached, CPU time comes from cgroupfs and samples carry no
 * BPF-only fields; across a switch every container starts its sampling over (one
 * interval without a sample) so no delta mixes the two sources. -ENOENT for an
 * unknown id; the attach's -errno (the mark is kept, the next collect retries).
 */
int usage_set_live(struct usage *u, const char *container_id, bool on);
/* true while the BPF programs are attached (false with the poll backend). */
bool usage_bpf_attached(const struct usage *u);

int usage_collect(struct usage *u, __u64 now_ns);
/* -EAGAIN until two collects have happened since registration. */
int usage_get(const struct usage *u, const char *container_id, struct usage_sample *ret);
int usage_overhead(const struct usage *u, struct usage_overhead *ret);
/*
 * Preemptions between cgroups since they were registered: `from` (the task
 * switched in) preempted `to` (a task switched out still runnable). An id is
 * NULL for "any unregistered cgroup". Pairs within one cgroup are not kept.
 * BPF backend only (-EOPNOTSUPP otherwise).
 */
typedef void (*usage_pair_fn)(const char *from, const char *to, __u64 count, void *userdata);
int usage_preemption_pairs(struct usage *u, usage_pair_fn fn, void *userdata);

/* The cgroup id (kn->id == directory inode) the BPF side matches for a container. */
int usage_cgroup_id(const struct usage *u, const char *container_id, __u64 *ret);

#endif
