/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usageprog: loader for usage.bpf.c (open/load/attach, map plumbing, the
 * kernel's BPF run-time statistics). Thin and policy-free: usage.c builds the
 * per-container view on top of it.
 *
 * usageprog_open() loads the programs in a short-lived forked child, which hands the
 * maps' and programs' fds back over a socketpair: libbpf 1.1 holds two copies of the
 * kernel's BTF (~11 MiB) while loading, and that peak stays in the child. The
 * caller's skeleton is opened, never loaded; it adopts the maps (and maps .bss) and
 * attaches the programs itself.
 *
 * Ownership: usageprog_open() returns an object owned by the caller, freed with
 * usageprog_free() (NULL-safe); *ret is untouched on failure. Every other
 * function takes a non-NULL object and returns 0 or -errno.
 */
#ifndef TOPOGUARD_BPF_USAGEPROG_H
#define TOPOGUARD_BPF_USAGEPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "bpf/usage_abi.h"

struct usageprog;

struct usageprog_opts {
	__u32 cgroup_mode;  /* enum usage_cgroup_mode */
	__u32 rq_source;    /* enum usage_rq_source; WAKEUP also loads the wakeup hooks */
	__u32 blind_tgid;   /* tests: switches away from this tgid go unseen (0: off) */
	bool no_rq_latency; /* no run-queue latency at all */
	bool no_preemption; /* skip preemption attribution */
	bool no_stats;	    /* do not turn on BPF_STATS_RUN_TIME at open (see below) */
	bool no_attach;	    /* load only; attach later with usageprog_attach() */
	bool no_tick_pin;   /* never ask for BPF_F_TIMER_CPU_PIN, as on kernels before 6.7 */
};

/* Sum of the kernel's run statistics over all usage programs. */
struct usageprog_stats {
	bool enabled; /* false: BPF_STATS_RUN_TIME could not be turned on */
	__u64 run_cnt;
	__u64 run_time_ns;
};

typedef void (*usageprog_oom_fn)(const struct usage_oom_event *ev, void *userdata);
typedef void (*usageprog_pair_fn)(__u32 from, __u32 to, __u64 count, void *userdata);

int usageprog_open(const struct usageprog_opts *opts, struct usageprog **ret);

#define USAGEPROG_BTF_NAME_MAX 127
/*
 * 1 if name (1..USAGEPROG_BTF_NAME_MAX bytes) is a whole string of the string section
 * of the raw BTF file open at fd, 0 if not, -EBADMSG if fd is not raw BTF, -errno.
 * Reads in bounded chunks: nothing of the size of the file is allocated.
 */
int usageprog_btf_has_string(int fd, const char *name);
void usageprog_free(struct usageprog *p);

int usageprog_attach(struct usageprog *p);
void usageprog_detach(struct usageprog *p);

/* Maps cgroup_id to slot (1..USAGE_MAX_SLOTS-1) and zeroes the slot's counters. */
int usageprog_slot_set(struct usageprog *p, __u64 cgroup_id, __u32 slot);
int usageprog_slot_clear(struct usageprog *p, __u64 cgroup_id);
/* slot 0 = the CPU has no exclusive owner. */
int usageprog_owner_set(struct usageprog *p, unsigned int cpu, __u32 slot);

/* Per-CPU values summed over all possible CPUs. */
int usageprog_read_slot(struct usageprog *p, __u32 slot, struct usage_slot_stats *ret);
int usageprog_read_intrusion(struct usageprog *p, unsigned int cpu, __u64 *ret_ns);
int usageprog_read_counters(struct usageprog *p, __u64 ret[USAGE_CNT_NR]);
int usageprog_read_exit(struct usageprog *p, struct usage_exit_info *ret);
/* true once a progress tick had to start unpinned (kernel < 6.7, or opts.no_tick_pin). */
bool usageprog_tick_unpinned(const struct usageprog *p);
int usageprog_read_stats(struct usageprog *p, struct usageprog_stats *ret);
/*
 * BPF_STATS_RUN_TIME on/off for this object (idempotent). The switch is
 * host-wide and reference-counted by the kernel: while anyone holds it on,
 * every BPF program pays two clock reads per run, so hold it only while
 * measuring. Off cannot turn off another holder's reference.
 */
int usageprog_stats_enable(struct usageprog *p, bool on);
/* Calls fn for every (from, to) preemption pair seen so far. */
int usageprog_pairs_foreach(struct usageprog *p, usageprog_pair_fn fn, void *userdata);
/* Delivers queued OOM events without blocking; returns how many. */
int usageprog_oom_poll(struct usageprog *p, usageprog_oom_fn fn, void *userdata);

/*
 * Which sched_switch program a configuration loads: the default one (run-queue
 * waits from schedstat, preemptions tracked, nothing blinded) gets a program
 * per cgroup mode with its configuration compiled in; any other gets the
 * generic one, which reads it from rodata.
 */
enum usageprog_switch {
	USAGEPROG_SWITCH_ANY = 0, /* tg_sched_switch */
	USAGEPROG_SWITCH_V2,	  /* tg_switch_v2 */
	USAGEPROG_SWITCH_V1,	  /* tg_switch_v1 */
};
enum usageprog_switch usageprog_switch_for(const struct usageprog_opts *o);
enum usageprog_switch usageprog_switch_loaded(const struct usageprog *p);
/* The program's name (as bpftool shows it); NULL for an unknown value. */
const char *usageprog_switch_name(enum usageprog_switch which);

int usageprog_nr_cpus(const struct usageprog *p);
/* fd of a program by index 0..3 (switch, wakeup, wakeup_new, mark_victim), for
 * tests and benches; -ENOENT if that program is not loaded in this configuration. */
int usageprog_prog_fd(const struct usageprog *p, unsigned int idx);

#endif
