/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ABI shared by usage.bpf.c and its user-space loader (usageprog.c): map value
 * layouts, enum indexes and limits. Only __u32/__u64 so both sides agree on the
 * layout; the includer provides them (vmlinux.h in BPF, <linux/types.h> in
 * user space). Plain data, no ownership rules.
 */
#ifndef TOPOGUARD_BPF_USAGE_ABI_H
#define TOPOGUARD_BPF_USAGE_ABI_H

/* Slot 0 is "other": every cgroup user space did not register. */
#define USAGE_MAX_SLOTS	   1024
#define USAGE_MAX_CPUS	   1024
#define USAGE_HIST_BUCKETS 27 /* log2(us): bucket 26 holds >= 2^26 us (~67 s) */
#define USAGE_MAX_PAIRS	   16384

/* rodata cfg_cgroup_mode: which cgroup identifies a task. */
enum usage_cgroup_mode {
	USAGE_CGROUP_V2 = 0, /* task->cgroups->dfl_cgrp (cgroup2 hierarchy) */
	USAGE_CGROUP_V1 = 1, /* the v1 cpu controller's cgroup */
};

/* rodata cfg_rq_source: where run-queue waits come from (see usage.bpf.c). */
enum usage_rq_source {
	USAGE_RQ_SCHEDSTAT = 0, /* sched_info.run_delay (CONFIG_SCHED_INFO) */
	USAGE_RQ_WAKEUP = 1,	/* sched_wakeup timestamps in task storage */
	/*
	 * run_delay too, but snapshotted per task at switch-out (task storage):
	 * also counts time queued on another CPU before a migration, which
	 * USAGE_RQ_SCHEDSTAT's per-CPU switch-in stash misses. One task-storage
	 * lookup per switch of a tracked task.
	 */
	USAGE_RQ_SCHEDSTAT_TASK = 2,
};

/* Per-slot, per-CPU counters (percpu array slot_stats). */
struct usage_slot_stats {
	__u64 cpu_ns;		 /* on-CPU time */
	__u64 preempt_received;	 /* times a task here was preempted while runnable */
	__u64 preempt_inflicted; /* times a task here preempted a runnable task */
	__u64 rq_count;		 /* run-queue latency samples */
	__u64 rq_sum_ns;
	__u64 rq_hist[USAGE_HIST_BUCKETS]; /* bucket i: [2^i, 2^(i+1)) us, 0 also holds 0 */
};

/* floor(log2(v)) for v > 0, 0 for 0; plain shifts (BPF has no clz). */
static inline __attribute__((always_inline)) __u32 usage_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r;
}

/*
 * rq_hist bucket of a wait of ns nanoseconds: floor(log2(ns / 1000)) (0 below
 * 2 us), capped at the last bucket, without the 64-bit division (the
 * costliest instruction of the switch handler). With L = floor(log2(ns)),
 * 512 < 1000 < 1024 leaves two candidates, L - 10 and L - 9; one compare picks.
 */
static inline __attribute__((always_inline)) __u32 usage_wait_bucket(__u64 ns)
{
	__u32 b;

	if (ns < 2000)
		return 0;
	b = usage_log2(ns) - 9;
	if (ns < (1000ULL << b))
		b--;
	return b < USAGE_HIST_BUCKETS ? b : USAGE_HIST_BUCKETS - 1;
}

/* Key of preempt_pairs: "from" preempted "to" (slots). */
struct usage_pair {
	__u32 from; /* next's (the preempting task's) slot */
	__u32 to;   /* prev's (the preempted task's) slot */
};

/* Enum-indexed per-CPU event/drop counters (percpu array counters). */
enum usage_counter {
	/*
	 * Switches seen. Kept in the switch handler's per-CPU state (the first
	 * __u64 of a cpu_run value) rather than here, to save the hot path a
	 * lookup; usageprog_read_counters() reports it in this index.
	 */
	USAGE_CNT_SWITCH = 0,
	USAGE_CNT_WAKEUP,
	USAGE_CNT_OOM,
	USAGE_CNT_NO_TASK_CTX,	  /* task storage unavailable: sample lost */
	USAGE_CNT_PAIRS_FULL,	  /* preempt_pairs full: pair lost (slot totals still counted) */
	USAGE_CNT_RINGBUF_FULL,	  /* OOM event dropped */
	USAGE_CNT_RUN_UNSEEN,	  /* a run began unseen: charged from se.prev_sum_exec_runtime */
	USAGE_CNT_TICK_ELSEWHERE, /* unpinned progress tick fired on another CPU: not charged */
	USAGE_CNT_NR,
};

/* Why the BPF side stopped doing work (bss exit_info.reason). */
enum usage_exit_reason {
	USAGE_EXIT_NONE = 0,
	USAGE_EXIT_BAD_MODE,	  /* cfg_cgroup_mode is not a known mode */
	USAGE_EXIT_NO_CPU_SUBSYS, /* kernel has no cpu_cgrp_id (v1 mode impossible) */
};

struct usage_exit_info {
	__u32 reason; /* enum usage_exit_reason */
	__u32 cpu;    /* CPU that saw it first */
	__u64 ts_ns;  /* bpf_ktime_get_ns() when it happened */
	__u64 detail; /* reason-specific value (e.g. the bad mode) */
};

/* Ring buffer record for an OOM kill (tracepoint oom/mark_victim). */
struct usage_oom_event {
	__u64 ts_ns;
	__u64 cgroup_id;     /* per cfg_cgroup_mode (same id space as cgroup_slots) */
	__u64 mem_cgroup_id; /* v1: memory controller's cgroup; v2: dfl cgroup */
	__u32 pid;
	__u32 slot;
};

#endif
