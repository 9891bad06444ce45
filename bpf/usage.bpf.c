/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * usage.bpf.c - live per-cgroup CPU usage, run-queue latency, preemption and
 * exclusive-CPU intrusion accounting from the scheduler tracepoints, plus OOM
 * kill events.
 *
 * Design:
 * - Only cgroups user space registered in cgroup_slots (cgroup id -> slot) are
 *   tracked; every other task counts as slot 0 ("other"). The id is the v2
 *   cgroup's kn->id or, with cfg_cgroup_mode == USAGE_CGROUP_V1, the v1 cpu
 *   controller's cgroup kn->id (== the directory's inode number).
 * - All hot counters live in per-CPU maps so the handlers never need atomics;
 *   user space sums the CPUs and takes deltas.
 * - CPU time: at sched_switch, prev is charged the growth of its
 *   se.sum_exec_runtime since it was switched in on this CPU (a per-CPU stash),
 *   i.e. the very delta the kernel charges to cpuacct. No clock read needed.
 *   A pinned per-CPU timer (cfg_tick_ns, 10 ms) also charges the current
 *   run's progress, so long runs do not arrive in one lump when they end.
 *   Kernels before 6.7 reject BPF_F_TIMER_CPU_PIN (-EINVAL): the timer is
 *   then started unpinned, which the first refusal records in tick_unpinned
 *   for user space's status note. An unpinned hrtimer still fires on the CPU
 *   that armed it unless timer migration moves it (nohz_full, an idle CPU);
 *   a tick that fires elsewhere charges nothing and is counted.
 *   If this CPU has an exclusive owner slot (cpu_owner) and prev belongs to a
 *   different slot, the same time is also an intrusion on this CPU.
 * - A switch-in this program did not see (some hosts do not deliver every
 *   sched_switch) must not lose the run that follows: once a switch has been
 *   seen on a CPU since the attach, a run found there without its switch-in
 *   is charged from the scheduler's own mark of its start,
 *   se.prev_sum_exec_runtime (fair class), by the tick or at its switch-out.
 * - Run-queue latency is charged to the task that WAITED, in its own cgroup
 *   (not the waker's, not prev's, the bug bcc's runqlat has with cgroup
 *   filters). Three sources, chosen by cfg_rq_source:
 *   USAGE_RQ_SCHEDSTAT (default): the kernel's own per-task wait accounting
 *     (sched_info.run_delay, CONFIG_SCHED_INFO). The kernel adds a wait to
 *     run_delay just after this tracepoint, at the switch-in; so run_delay at
 *     prev's switch-out minus run_delay stashed per CPU at its switch-in is
 *     the wait that preceded the run now ending: from its wakeup, or from its
 *     preemption if it was re-queued still runnable. No wakeup hooks, no clock
 *     reads, no per-task state: the stash sits next to the CPU-time one. It
 *     misses the time a task sat queued on another CPU before the load
 *     balancer moved it (that dequeue adds to run_delay before the switch-in).
 *   USAGE_RQ_SCHEDSTAT_TASK: run_delay too, snapshotted per task at
 *     switch-out in task storage, so the growth between two switch-outs also
 *     holds that pre-migration wait; one task-storage lookup per switch.
 *   USAGE_RQ_WAKEUP: the wakeup hooks store a timestamp in the woken task's
 *     own task storage (a preempted prev starts waiting at switch-out), and
 *     its switch-in charges now - timestamp. Works without CONFIG_SCHED_INFO,
 *     costs two more program runs and clock reads per wakeup/switch pair.
 * - cgroup id -> slot is cached per CPU (direct-mapped, tagged with the
 *   registration generation user space bumps), so the hot path looks up the
 *   cgroup_slots hash only on a miss.
 * - Per-task state (the two non-default sources only) lives in task storage
 *   (no pid-keyed hash to fill up or leak on exit) and only for tasks of
 *   registered cgroups: slot 0 gets CPU time and preemptions, no latency
 *   histogram.
 * - Preemption: when prev is switched out still runnable, next's slot
 *   "inflicted" and prev's slot "received" one preemption (pair in
 *   preempt_pairs).
 * - Helper calls are the cost on mitigated CPUs (every call/return pays), so
 *   the default path makes none at all (array lookups and
 *   bpf_get_smp_processor_id() are inlined by the verifier) except the
 *   preempt_pairs hash for a preemption between different slots.
 * - Nothing here ever fails loudly: lost samples are counted in the enum-indexed
 *   per-CPU counters, and a configuration this kernel cannot honour is recorded
 *   once in exit_info, after which the handlers do nothing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpf/usage_abi.h"

#define TASK_RUNNING	0
#define E2BIG		7 /* vmlinux.h has no errno values */
#define EINVAL		22
#define CLOCK_MONOTONIC 1

const volatile __u32 cfg_cgroup_mode = USAGE_CGROUP_V2;
const volatile __u32 cfg_track_rq_latency = 1;
const volatile __u32 cfg_track_preemption = 1;
const volatile __u32 cfg_rq_source = USAGE_RQ_SCHEDSTAT;
/* Tests only (0: off): switches away from this tgid are ignored, as if not delivered. */
const volatile __u32 cfg_blind_tgid;
/* Period of the per-CPU tick that charges runs in progress (0: only at switch-out). */
const volatile __u64 cfg_tick_ns = 10000000;
/* 0: never ask for BPF_F_TIMER_CPU_PIN (tests prove the figures of older kernels). */
const volatile __u32 cfg_tick_pin = 1;

/*
 * The configuration the handlers branch on. The generic programs read it from
 * rodata (rodata_cfg()); the default configuration, one program per cgroup
 * mode (tg_switch_v2, tg_switch_v1), gets it as constants (DEFAULT_CFG), so the
 * compiler folds every branch on it and the switch path loads none of it.
 * User space loads exactly one of the three switch programs.
 */
struct hcfg {
	__u32 mode;	 /* enum usage_cgroup_mode */
	__u32 rq_source; /* enum usage_rq_source */
	__u32 blind_tgid;
	bool rq;      /* run-queue latency tracked */
	bool preempt; /* preemptions tracked */
};

#define DEFAULT_CFG(m) \
	((struct hcfg){.mode = (m), .rq_source = USAGE_RQ_SCHEDSTAT, .rq = true, .preempt = true})

static __always_inline struct hcfg rodata_cfg(void)
{
	return (struct hcfg){.mode = cfg_cgroup_mode,
			     .rq_source = cfg_rq_source,
			     .blind_tgid = cfg_blind_tgid,
			     .rq = cfg_track_rq_latency,
			     .preempt = cfg_track_preemption};
}

struct usage_exit_info exit_info = {};
/* Bumped by user space after every cgroup_slots change; invalidates slot caches. */
__u32 slots_gen;
/* Bumped by user space at every attach: a stash from before it is not trusted. */
__u32 attach_gen;
/* Set by user space while the programs are detached: the progress ticks stop. */
__u32 ticks_off;
/* Set here once the kernel refused BPF_F_TIMER_CPU_PIN (before 6.7), or by cfg_tick_pin. */
__u32 tick_unpinned;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, USAGE_MAX_SLOTS);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USAGE_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct usage_slot_stats);
} slot_stats SEC(".maps");

/* USAGE_RQ_WAKEUP and USAGE_RQ_SCHEDSTAT_TASK only: the default keeps no per-task state. */
struct task_ctx {
	__u64 wake_ts;	 /* USAGE_RQ_WAKEUP: 0 = not waiting */
	__u64 run_delay; /* USAGE_RQ_SCHEDSTAT_TASK: sched_info.run_delay at last switch-out */
	__u64 rd_seen;	 /* run_delay above is valid */
};

#define SLOT_CACHE_WAYS 64 /* per CPU, direct-mapped by the low bits of the cgroup id */

struct slot_cache_entry {
	__u64 id;  /* cgroup id (kn->id: unique for the boot) the slot is for */
	__u32 gen; /* slots_gen it was computed at */
	__u32 slot;
};

/* This CPU's state: the stash of the run in progress and the slot cache (one lookup). */
struct cpu_run {
	__u64 switches; /* USAGE_CNT_SWITCH: first, where user space reads it */
	__u64 task;	/* the task switched in last on this CPU (0: idle) */
	__u64 sum_in;	/* its se.sum_exec_runtime then */
	__u64 rd_in;	/* its sched_info.run_delay then (before the kernel adds this wait) */
	__u32 gen;	/* attach_gen when a switch was last seen here */
	__u32 no_wait;	/* the run was adopted by the tick (adopt_run()): rd_in is unknown */
	/* cgroup id -> slot: no helper call on a hit */
	struct slot_cache_entry sc[SLOT_CACHE_WAYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, USAGE_MAX_PAIRS);
	__type(key, struct usage_pair);
	__type(value, __u64);
} preempt_pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USAGE_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u32);
} cpu_owner SEC(".maps");

/* Written only by the CPU it describes, so plain adds are race-free. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USAGE_MAX_CPUS);
	__type(key, __u32);
	__type(value, __u64);
} cpu_intrusion_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_run);
} cpu_run SEC(".maps");

struct cpu_tick {
	struct bpf_timer timer;
	__u32 armed; /* written only on its own CPU */
};

/* One pinned timer per CPU; see charge_progress(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, USAGE_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct cpu_tick);
} cpu_ticks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, USAGE_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} oom_events SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		(*v)++;
}

static __always_inline void give_up(__u32 reason, __u64 detail)
{
	if (exit_info.reason != USAGE_EXIT_NONE)
		return;
	exit_info.cpu = bpf_get_smp_processor_id();
	exit_info.ts_ns = bpf_ktime_get_ns();
	exit_info.detail = detail;
	exit_info.reason = reason;
}

/* Returns true when the handlers must not run (configuration unusable). */
static __always_inline bool gave_up(struct hcfg c)
{
	if (exit_info.reason != USAGE_EXIT_NONE)
		return true;
	if (c.mode != USAGE_CGROUP_V2 && c.mode != USAGE_CGROUP_V1) {
		give_up(USAGE_EXIT_BAD_MODE, c.mode);
		return true;
	}
	if (c.mode == USAGE_CGROUP_V1 &&
	    !bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id)) {
		give_up(USAGE_EXIT_NO_CPU_SUBSYS, 0);
		return true;
	}
	return false;
}

/*
 * tp_btf arguments are trusted BTF pointers, so the cgroup chain is walked with
 * plain loads (CO-RE relocated through vmlinux.h's preserve_access_index)
 * instead of bpf_probe_read_kernel() calls: this is the hot path of every
 * context switch.
 */
static __always_inline __u64 task_cgroup_id(struct hcfg c, struct task_struct *t)
{
	int idx;

	if (c.mode == USAGE_CGROUP_V2)
		return t->cgroups->dfl_cgrp->kn->id;
	idx = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
	return t->cgroups->subsys[idx]->cgroup->kn->id;
}

static __always_inline __u64 task_mem_cgroup_id(struct task_struct *t)
{
	int idx;

	if (cfg_cgroup_mode == USAGE_CGROUP_V2)
		return t->cgroups->dfl_cgrp->kn->id;
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return 0;
	idx = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	return t->cgroups->subsys[idx]->cgroup->kn->id;
}

static __always_inline __u32 lookup_slot(__u64 id)
{
	__u32 *slot = bpf_map_lookup_elem(&cgroup_slots, &id);

	if (!slot || *slot >= USAGE_MAX_SLOTS)
		return 0;
	return *slot;
}

static __always_inline struct task_ctx *task_ctx_of(struct task_struct *t)
{
	struct task_ctx *c = bpf_task_storage_get(&task_ctxs, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!c)
		count(USAGE_CNT_NO_TASK_CTX);
	return c;
}

/*
 * Keyed by the cgroup id, not by the css_set pointer: freed css_sets are
 * reused at the same address, ids are not. The chain walk is a few plain
 * loads; the cgroup_slots hash lookup is the call a hit avoids.
 * Only the switch handler and the tick fill the cache (fill): the wakeup
 * hooks may run in a hard interrupt on top of the tick's softirq, and must
 * not tear the entry it is writing.
 */
static __always_inline __u32 task_slot(struct hcfg c, struct task_struct *t, struct cpu_run *run,
				       bool fill)
{
	__u32 gen = *(volatile __u32 *)&slots_gen, slot;
	__u64 id = task_cgroup_id(c, t);
	struct slot_cache_entry *e = &run->sc[id & (SLOT_CACHE_WAYS - 1)];

	if (e->id == id && e->gen == gen)
		return e->slot < USAGE_MAX_SLOTS ? e->slot : 0;
	slot = lookup_slot(id);
	if (fill) {
		e->slot = slot;
		e->id = id;
		e->gen = gen;
	}
	return slot;
}

static __always_inline struct usage_slot_stats *stats_of(__u32 slot)
{
	return bpf_map_lookup_elem(&slot_stats, &slot);
}

static __always_inline void record_wait(struct usage_slot_stats *st, __u64 delta)
{
	__u32 b = usage_wait_bucket(delta);

	st->rq_count++;
	st->rq_sum_ns += delta;
	st->rq_hist[b]++;
}

static __always_inline void record_wait_slot(__u32 slot, __u64 delta)
{
	struct usage_slot_stats *st = stats_of(slot);

	if (st)
		record_wait(st, delta);
}

/*
 * USAGE_RQ_SCHEDSTAT: the kernel adds a task's wait to sched_info.run_delay
 * when it is switched in, after this tracepoint (sched_info_switch() runs in
 * context_switch()). So run_delay at prev's switch-out minus run_delay at its
 * switch-in on this CPU is exactly the wait before the run now ending: from
 * its wakeup or its preemption, including time queued on another CPU before a
 * migration (a running task cannot migrate, so in and out are on this CPU).
 */
static __always_inline void schedstat_wait(struct task_struct *prev, const struct cpu_run *run,
					   struct usage_slot_stats *st)
{
	__u64 delta = prev->sched_info.run_delay - run->rd_in;

	if ((__s64)delta >= 0)
		record_wait(st, delta);
}

static __always_inline void charge_intrusion(__u32 prev_slot, __u64 delta)
{
	__u32 cpu = bpf_get_smp_processor_id(), *owner;
	__u64 *intr;

	owner = bpf_map_lookup_elem(&cpu_owner, &cpu);
	intr = bpf_map_lookup_elem(&cpu_intrusion_ns, &cpu);
	if (owner && intr && *owner && *owner != prev_slot)
		*intr += delta;
}

/*
 * USAGE_RQ_SCHEDSTAT_TASK: run_delay growth since prev's previous switch-out,
 * which also holds what a migration's dequeue added (time queued elsewhere).
 */
static __always_inline void schedstat_wait_task(struct task_struct *prev, struct task_ctx *c,
						__u32 slot)
{
	__u64 rd;

	if (!c || !bpf_core_field_exists(prev->sched_info))
		return;
	rd = prev->sched_info.run_delay;
	if (c->rd_seen && rd >= c->run_delay)
		record_wait_slot(slot, rd - c->run_delay);
	c->run_delay = rd;
	c->rd_seen = 1;
}

#define MAX_RT_PRIO 100 /* prio below it: rt or deadline class */

/* True when this CPU's stash is from the current attachment (a switch was seen here since). */
static __always_inline bool run_synced(const struct cpu_run *run)
{
	return run->gen == *(volatile __u32 *)&attach_gen;
}

/*
 * Where the run of t now on this CPU began, in t's se.sum_exec_runtime, when
 * this program did not see its switch-in. The fair class sets
 * se.prev_sum_exec_runtime when it picks t (set_next_entity()), i.e. at that
 * very switch-in (or later, if the run was restarted in place by a cgroup move
 * or an affinity change: then only the time before is lost). Other classes do
 * not maintain it, so their unseen run cannot be recovered: its start is "now".
 * Only trusted once a switch was seen here since the attach (run_synced()):
 * every run found later began after it, so none reaches back before the
 * attach.
 */
static __always_inline __u64 unseen_run_start(const struct cpu_run *run, struct task_struct *t)
{
	if (!run_synced(run) || t->prio < MAX_RT_PRIO)
		return t->se.sum_exec_runtime;
	return t->se.prev_sum_exec_runtime;
}

/* Charges prev's run since its switch-in here; remembers next's start. */
static __always_inline void account_run(struct hcfg c, struct cpu_run *run,
					struct task_struct *prev, struct task_struct *next,
					bool prev_idle, bool next_idle, __u32 prev_slot)
{
	bool schedstat = c.rq && c.rq_source == USAGE_RQ_SCHEDSTAT &&
			 bpf_core_field_exists(prev->sched_info);
	struct usage_slot_stats *st;
	__u64 delta, in;
	bool seen;

	if (!prev_idle) {
		seen = run->task == (__u64)prev && run_synced(run);
		in = seen ? run->sum_in : unseen_run_start(run, prev);
		if (!seen)
			count(USAGE_CNT_RUN_UNSEEN);
		delta = prev->se.sum_exec_runtime - in;
		st = stats_of(prev_slot);
		if (st && (__s64)delta > 0) {
			st->cpu_ns += delta;
			charge_intrusion(prev_slot, delta);
		}
		/* Slot 0 gets no latency histogram: nothing reads it. */
		if (st && schedstat && prev_slot && seen && !run->no_wait)
			schedstat_wait(prev, run, st);
	}
	run->task = next_idle ? 0 : (__u64)next;
	run->sum_in = next->se.sum_exec_runtime;
	run->gen = *(volatile __u32 *)&attach_gen;
	run->no_wait = 0;
	if (schedstat)
		run->rd_in = next->sched_info.run_delay;
}

static __always_inline void count_preemption(__u32 from, __u32 to)
{
	struct usage_pair key = {.from = from, .to = to};
	struct usage_slot_stats *st;
	__u64 one = 1, *v;

	st = stats_of(from);
	if (st)
		st->preempt_inflicted++;
	st = stats_of(to);
	if (st)
		st->preempt_received++;
	/* Within one cgroup (or among untracked tasks) the pair says nothing new. */
	if (from == to)
		return;
	v = bpf_map_lookup_elem(&preempt_pairs, &key);
	if (v)
		(*v)++;
	else if (bpf_map_update_elem(&preempt_pairs, &key, &one, BPF_NOEXIST) == -E2BIG)
		count(USAGE_CNT_PAIRS_FULL);
}

/*
 * The tick found cur running here, but not as the task whose switch-in this
 * program saw last: that switch was not delivered. Take the run over from its
 * start (unseen_run_start()), so the tick charges it and its switch-out finds
 * it; without this the whole run, however long, would be lost. Its wait before
 * the run is unknown: no sample. A stash from before the attach names no one.
 */
static __always_inline void adopt_run(struct cpu_run *run, struct task_struct *cur)
{
	if (!run_synced(run)) {
		run->task = 0; /* cur may have been running since before the attach */
		return;
	}
	count(USAGE_CNT_RUN_UNSEEN);
	run->sum_in = unseen_run_start(run, cur);
	run->task = (__u64)cur;
	run->no_wait = 1;
}

/*
 * A run is otherwise charged only when it ends, so a task that runs for
 * seconds without a switch (a busy container on a quiet CPU) would show
 * nothing and then many cores in one interval. Every cfg_tick_ns a timer
 * pinned to this CPU charges the current run's progress (sum_exec_runtime is
 * brought up to date by the scheduler tick) and moves the stash forward. It
 * runs in softirq on the same CPU as the switch handler, which runs with
 * interrupts off, so the two never interleave on this CPU's stash. It stops
 * while the CPU is idle; the next switch to a task re-arms it.
 */
static int start_tick(struct cpu_tick *ct);

static int charge_progress(void *map, __u32 *key, struct cpu_tick *ct)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct usage_slot_stats *st;
	__u32 zero = 0, slot;
	struct cpu_run *run;
	__u64 delta;

	if (*key != bpf_get_smp_processor_id()) { /* unpinned and migrated: not our stash */
		count(USAGE_CNT_TICK_ELSEWHERE);
		ct->armed = 0;
		return 0;
	}
	run = bpf_map_lookup_elem(&cpu_run, &zero);
	if (!run || cur->pid == 0 || *(volatile __u32 *)&ticks_off) {
		ct->armed = 0;
		return 0;
	}
	if (run->task != (__u64)cur || !run_synced(run))
		adopt_run(run, cur);
	if (run->task == (__u64)cur) {
		delta = cur->se.sum_exec_runtime - run->sum_in;
		if ((__s64)delta > 0) {
			slot = task_slot(rodata_cfg(), cur, run, true);
			st = stats_of(slot);
			if (st)
				st->cpu_ns += delta;
			charge_intrusion(slot, delta);
			run->sum_in += delta;
		}
	}
	if (start_tick(ct) < 0)
		ct->armed = 0;
	return 0;
}

/* Pinned where the kernel knows how (6.7+), else unpinned; see the design comment. */
static int start_tick(struct cpu_tick *ct)
{
	long r;

	if (cfg_tick_pin && !*(volatile __u32 *)&tick_unpinned) {
		r = bpf_timer_start(&ct->timer, cfg_tick_ns, BPF_F_TIMER_CPU_PIN);
		if (r != -EINVAL)
			return r;
	}
	if (!tick_unpinned)
		tick_unpinned = 1;
	return bpf_timer_start(&ct->timer, cfg_tick_ns, 0);
}

static __always_inline void arm_tick(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct cpu_tick *ct;

	if (!cfg_tick_ns)
		return;
	ct = bpf_map_lookup_elem(&cpu_ticks, &cpu);
	if (!ct || ct->armed)
		return;
	ct->armed = 1;
	bpf_timer_init(&ct->timer, &cpu_ticks, CLOCK_MONOTONIC); /* -EBUSY after the first */
	bpf_timer_set_callback(&ct->timer, charge_progress);
	if (start_tick(ct) < 0)
		ct->armed = 0;
}

/* USAGE_RQ_WAKEUP: next is switched in; charge its wait to its own cgroup. */
static __always_inline void finish_wait(struct task_ctx *c, __u64 now, __u32 slot)
{
	__u64 delta;

	if (!c || !c->wake_ts)
		return;
	delta = now - c->wake_ts;
	c->wake_ts = 0;
	if ((__s64)delta >= 0)
		record_wait_slot(slot, delta);
}

static __always_inline int on_switch(struct hcfg c, bool preempt, struct task_struct *prev,
				     struct task_struct *next, unsigned int prev_state)
{
	bool prev_idle = prev->pid == 0, next_idle = next->pid == 0;
	bool runnable = !prev_idle && (preempt || prev_state == TASK_RUNNING);
	bool wakeup_src = c.rq && c.rq_source == USAGE_RQ_WAKEUP;
	bool task_src = c.rq && c.rq_source == USAGE_RQ_SCHEDSTAT_TASK;
	bool preempted = runnable && !next_idle && c.preempt;
	struct task_ctx *pc = NULL, *nc = NULL;
	__u32 prev_slot = 0, next_slot = 0, zero = 0;
	struct cpu_run *run;
	__u64 now;

	if (gave_up(c))
		return 0;
	if (c.blind_tgid && prev->tgid == c.blind_tgid)
		return 0; /* tests: a switch the tracepoint did not deliver */
	run = bpf_map_lookup_elem(&cpu_run, &zero);
	if (!run)
		return 0;
	run->switches++;
	if (!prev_idle) {
		prev_slot = task_slot(c, prev, run, true);
		if (prev_slot && (wakeup_src || task_src))
			pc = task_ctx_of(prev);
	}
	if (!next_idle && (wakeup_src || preempted)) {
		next_slot = task_slot(c, next, run, true);
		if (next_slot && wakeup_src)
			nc = task_ctx_of(next);
	}
	account_run(c, run, prev, next, prev_idle, next_idle, prev_slot);
	if (!next_idle)
		arm_tick();
	if (wakeup_src) {
		now = bpf_ktime_get_ns();
		if (pc) /* preempted: waits from now on; blocked: the wakeup starts it */
			pc->wake_ts = runnable ? now : 0;
		finish_wait(nc, now, next_slot);
	} else if (task_src) {
		schedstat_wait_task(prev, pc, prev_slot);
	}
	if (preempted)
		count_preemption(next_slot, prev_slot);
	return 0;
}

/* Any configuration (tests, the non-default run-queue sources). */
SEC("tp_btf/sched_switch")
int BPF_PROG(tg_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return on_switch(rodata_cfg(), preempt, prev, next, prev_state);
}

/* The default configuration on cgroup v2. */
SEC("tp_btf/sched_switch")
int BPF_PROG(tg_switch_v2, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return on_switch(DEFAULT_CFG(USAGE_CGROUP_V2), preempt, prev, next, prev_state);
}

/* The default configuration on cgroup v1 (the cpu controller's hierarchy). */
SEC("tp_btf/sched_switch")
int BPF_PROG(tg_switch_v1, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	return on_switch(DEFAULT_CFG(USAGE_CGROUP_V1), preempt, prev, next, prev_state);
}

static __always_inline int on_wakeup(struct task_struct *p, bool is_new)
{
	struct hcfg cfg = rodata_cfg();
	struct cpu_run *run;
	struct task_ctx *c;
	__u32 zero = 0;

	if (gave_up(cfg) || !cfg.rq || cfg.rq_source != USAGE_RQ_WAKEUP)
		return 0;
	run = bpf_map_lookup_elem(&cpu_run, &zero);
	if (!run)
		return 0;
	count(USAGE_CNT_WAKEUP);
	/*
	 * A wakeup of a running task is a no-op for the scheduler: record nothing.
	 * A task woken while still queued after a preemption keeps its earlier
	 * start.
	 */
	if (p->on_cpu || !task_slot(cfg, p, run, false))
		return 0;
	c = task_ctx_of(p);
	if (!c || (!is_new && c->wake_ts))
		return 0;
	c->wake_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tg_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p, false);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tg_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p, true);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(tg_mark_victim, struct task_struct *task)
{
	struct hcfg cfg = rodata_cfg();
	struct usage_oom_event *e;
	__u64 id;

	if (gave_up(cfg))
		return 0;
	count(USAGE_CNT_OOM);
	e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);
	if (!e) {
		count(USAGE_CNT_RINGBUF_FULL);
		return 0;
	}
	id = task_cgroup_id(cfg, task);
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = id;
	e->mem_cgroup_id = task_mem_cgroup_id(task);
	e->pid = task->pid;
	e->slot = lookup_slot(id);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The kernel requires a GPL-compatible license for tracing programs. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
