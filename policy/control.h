/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control: the closed loop's decisions (docs/closed-loop.md). Live per-container
 * samples and node memory pressure in, actions out: throttle a noisy container's
 * CFS quota step by step while a latency-sensitive container's run-queue p99 (or
 * the intrusion time on its exclusive CPUs) exceeds its target, relax it step by
 * step once calm again (hysteresis + cool-down), move the noisy neighbours off a
 * latency-sensitive container on a saturated shared pool (a shield, carried out
 * by policy/alloc.h alloc_shield()) and give the CPUs back once the pool has room,
 * evict under persistent memory pressure or a latency breach that throttling did
 * not cure.
 *
 * Pure: no I/O, no logging, no globals. The state (per-container hysteresis,
 * throttle level, rate limits) lives in a struct control the caller owns:
 * control_new() leaves *ret untouched on failure, control_free() is NULL-safe.
 * Samples are borrowed for the call; actions are written into caller storage and
 * copy what they name. Not thread-safe: one caller thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/qos.h"

#define CONTROL_ID_MAX 128 /* container ids are 64 hex digits in Kubernetes */

struct control_config {
	uint64_t target_us;		/* default run-queue p99 target of LS containers */
	unsigned int intrusion_percent; /* intrusion time / interval that is a breach; 0 = off */
	unsigned int hysteresis_percent;
	unsigned int step_percent;	/* of the CPU limit, or of one CPU without a limit */
	unsigned int min_quota_percent; /* floor: of the request, or of one CPU without one;
					 * never below the kernel's 1 ms */
	uint64_t throttle_period_us;	/* period while throttled, if longer than the container's */
	uint64_t cooldown_ns;		/* calm this long before the first relax step */
	uint64_t relax_interval_ns;	/* between two relax steps of one container */
	uint64_t step_interval_ns;	/* between two throttle steps of one container */
	unsigned int actions_per_second; /* throttle+relax steps, all containers; 0 = no limit */
	bool dry_run;			 /* throttle/relax/shield actions are recommendations */

	/* Shields: move the noisy neighbours off an LS container on the shared pool. */
	bool shield_enabled;
	unsigned int pool_saturation_percent; /* pool CPU use / pool CPUs that is saturation */
	uint64_t pool_persist_ns;	      /* saturated this long before a shield */
	unsigned int unshield_percent;	      /* pool use under this, and calm: give back */

	/* Blame (docs/closed-loop.md "Blame before acting"): act against neighbours only
	 * when at least blame_min_waits of the victim's recent waits were beside a task
	 * of another container and those are at least blame_percent of its waits beside
	 * anyone; 0 = no blame check (act on every breach). */
	unsigned int blame_percent;
	uint64_t blame_min_waits;
	/* Verify: verify_intervals intervals after a lever first acted for a victim, its
	 * mean p99 must be verify_margin_percent under the mean of its breached intervals
	 * before (or the breach over); else the lever is undone and not used for that
	 * victim for ineffective_ns. verify_intervals 0 = no verification. */
	unsigned int verify_intervals;
	unsigned int verify_margin_percent;
	uint64_t ineffective_ns;

	bool evict_enabled;
	bool evict_dry_run;
	bool evict_guaranteed;		       /* Guaranteed pods may be victims */
	unsigned int memory_watermark_percent; /* of node memory; 0 = off */
	uint64_t memory_watermark_bytes;       /* sum of the containers' memory; 0 = off */
	unsigned int psi_threshold_percent;    /* node memory PSI some avg10; 0 = off */
	uint64_t pressure_persist_ns;	       /* pressure this long before evicting */
	uint64_t evict_settle_ns;	 /* after an eviction, while its container still exists */
	uint64_t latency_evict_after_ns; /* breach this long at the throttle floor; 0 = never */
	unsigned int evictions_per_minute;
};

/* One container's last sampling interval. Strings are borrowed for the call. */
struct control_sample {
	const char *id;
	enum qos_class qos;
	bool latency_sensitive;
	uint64_t target_us; /* 0: control_config.target_us */
	bool exclusive;	    /* has exclusive CPUs (intrusion applies) */
	uint64_t interval_ns;
	bool has_rq;
	uint64_t rq_samples;
	double rq_p99_us;
	bool has_intrusion;
	uint64_t intrusion_ns;
	uint64_t preempt_inflicted; /* harm done to others over the interval */
	double cpu_cores;
	uint64_t throttled_ns; /* time its CFS quota held it back over the interval */
	bool has_memory;
	uint64_t memory_bytes;
	/* CPU resources as the runtime set them (before any of our throttling). */
	int64_t quota; /* <= 0: unlimited */
	uint64_t period;
	int64_t request_mcpu; /* 0: none */
	int64_t limit_mcpu;   /* 0: none */
	bool shared;	      /* its cpuset is (or includes) the shared pool */
	bool shielded;	      /* on a shield now (the allocator's word, not the controller's) */
	uint64_t rq_wait_ns;  /* its tasks' run-queue wait over the interval, summed */
	/* Blame evidence over the interval: the context switches on its CPUs between
	 * one of its tasks still runnable and a task of another container (either way
	 * round), and between one of its tasks and a task outside every container.
	 * has_blame false: no evidence (no BPF), its breaches are not checked. */
	bool has_blame;
	uint64_t waits_containers;
	uint64_t waits_host;
};

struct control_node {
	uint64_t mem_total_bytes; /* 0: unknown */
	uint64_t mem_used_bytes;
	bool has_psi;
	double psi_mem_some_avg10; /* percent */
	unsigned int shared_cpus;  /* CPUs in the shared pool now, shields excluded; 0: unknown */
	/* Busy time of those CPUs over the interval, in CPUs, whoever ran (containers,
	 * system daemons, the kernel, a hypervisor's steal); < 0: unknown. */
	double shared_busy_cpus;
	/* Over the interval, in CPUs, node-wide: time the vCPUs did not run (the
	 * hypervisor's steal) and busy time outside every container (system daemons,
	 * kubelet, the runtime, the kernel). Shown, and never blamed on containers. */
	double steal_cpus;
	double host_cpus;
};

/* Who a breach is blamed on (control_blame_rule()). */
enum control_blame {
	CONTROL_BLAME_NONE = 0,	  /* not breached */
	CONTROL_BLAME_UNCHECKED,  /* no evidence to check (no BPF, or blame off): acts */
	CONTROL_BLAME_NEIGHBOURS, /* other containers: the only case that acts */
	CONTROL_BLAME_HOST,	  /* processes outside containers */
	CONTROL_BLAME_STEAL,	  /* the hypervisor did not run the vCPUs */
	CONTROL_BLAME_UNKNOWN,	  /* no contention seen: nobody to act against */
	CONTROL_BLAME_COUNT,
};

/* How a lever used for a victim turned out. */
enum control_verdict {
	CONTROL_V_PENDING = 0, /* still measuring */
	CONTROL_V_HELPED,
	CONTROL_V_UNDONE,    /* did not help: undone, and ineffective for a while */
	CONTROL_V_WITHDRAWN, /* taken back (calm, refused, quiet) before it could be judged */
	CONTROL_V_UNJUDGED,  /* not verified (verify_intervals 0, or no breach before it) */
	CONTROL_V_COUNT,
};

enum control_kind {
	CONTROL_THROTTLE = 0, /* lower the quota one step */
	CONTROL_RELAX,	      /* raise it one step */
	CONTROL_RESTORE,      /* back to the runtime's own quota (quota <= 0: unlimited) */
	CONTROL_EVICT,
	CONTROL_SHIELD,	  /* lend the LS container CPUs of its own, its neighbours move off */
	CONTROL_UNSHIELD, /* give them back to the shared pool */
	CONTROL_KIND_COUNT,
};

enum control_reason {
	CONTROL_R_LATENCY = 0,	    /* an LS container's run-queue p99 over target */
	CONTROL_R_INTRUSION,	    /* others ran on an LS container's exclusive CPUs */
	CONTROL_R_CALM,		    /* relax / restore */
	CONTROL_R_GONE,		    /* the protected container went away: restore */
	CONTROL_R_QUIET,	    /* the throttled container went quiet: restore */
	CONTROL_R_MEMORY_WATERMARK, /* node or pods' memory over the watermark */
	CONTROL_R_MEMORY_PSI,	    /* node memory PSI over the threshold */
	CONTROL_R_LATENCY_PERSISTS, /* breach persisted with the victims at their floor */
	CONTROL_R_POOL_SATURATED,   /* an LS container breached on a saturated shared pool */
	CONTROL_R_SHIELDED,	    /* restore: the container it was throttled for got a shield */
	CONTROL_R_INEFFECTIVE,	    /* undo: the victim's latency did not improve */
	CONTROL_REASON_COUNT,
};

struct control_action {
	enum control_kind kind;
	enum control_reason reason;
	bool dry_run; /* a recommendation only */
	char id[CONTROL_ID_MAX];
	char protected_id[CONTROL_ID_MAX]; /* the LS container suffering, "" if none */
	int64_t quota;			   /* THROTTLE/RELAX/RESTORE: new quota, -1 unlimited */
	uint64_t period;
	uint64_t since_ns; /* when the trigger was first seen (reaction time = sent - since) */
};

struct control;

int control_new(const struct control_config *cfg, struct control **ret);
void control_free(struct control *c);
/* New knobs; per-container state is kept. */
void control_set_config(struct control *c, const struct control_config *cfg);

/*
 * One tick: n samples (every live container; one not listed is forgotten, and if
 * it was throttled nothing is restored since it is gone), node pressure (NULL:
 * none), now (monotonic ns, non-decreasing). Up to max actions go to out. Returns
 * the number written, or -EINVAL (NULL with n > 0, id NULL/empty/too long, a
 * duplicate id), -ENOMEM; on error the state is unchanged.
 */
int control_step(struct control *c, const struct control_sample *s, size_t n,
		 const struct control_node *node, uint64_t now, struct control_action *out,
		 size_t max);

/*
 * The caller could not carry out a CONTROL_SHIELD for id (no room in the pool, the
 * container moved): it is not asked again for cooldown_ns, and throttling goes on
 * as if shields were off.
 */
void control_shield_refused(struct control *c, const char *id, uint64_t now);

/* The shared pool as the last step saw it: 1 if saturated, else 0; the CPUs it was
 * wanted for, by everyone and by its containers (docs/closed-loop.md), and its
 * size (0: unknown). Out-params may be NULL. */
int control_pool_of(const struct control *c, double *ret_wanted, double *ret_containers,
		    unsigned int *ret_cpus);

/* The quota and period currently imposed on id by the controller: 1 (and the
 * optional out-params set) if throttled, 0 if not (or unknown). */
int control_throttle_of(const struct control *c, const char *id, int64_t *ret_quota,
			uint64_t *ret_period);

/* The last lever used for a latency-sensitive container, with the evidence it
 * acted on and whether it helped; or the last action against a container. */
struct control_outcome {
	enum control_kind kind;	       /* THROTTLE or SHIELD (for), or THROTTLE (against) */
	uint64_t at;		       /* when it first acted */
	char other_id[CONTROL_ID_MAX]; /* for: "" ; against: the victim it acted for */
	enum control_verdict verdict;
	double before_us, after_us; /* the victim's mean p99 before / after (after: 0 pending) */
	enum control_blame blame;   /* the evidence when it acted */
	double waits_containers, waits_host, steal_cpus, host_cpus;
};

struct control_explain {
	enum control_blame blame;	     /* now */
	double waits_containers, waits_host; /* recent, decayed by half per interval */
	double steal_cpus, host_cpus;	     /* the node's, last interval; < 0 unknown */
	bool has_for, has_against;
	struct control_outcome for_it, against_it;
	uint64_t throttle_ineffective_until, shield_ineffective_until; /* 0: not */
};

/*
 * The blame rule, pure: waits beside containers and beside host tasks (recent),
 * the node's steal and outside-container load in CPUs. Never NEIGHBOURS without
 * container evidence: steal and host load are never blamed on containers.
 */
enum control_blame control_blame_rule(const struct control_config *cfg, double waits_containers,
				      double waits_host, double steal_cpus, double host_cpus);

/* What the controller knows about id: 1 and *ret filled, 0 if unknown. */
int control_explain_of(const struct control *c, const char *id, struct control_explain *ret);

const char *control_blame_name(enum control_blame b);
const char *control_verdict_name(enum control_verdict v);
const char *control_kind_name(enum control_kind k);
const char *control_reason_name(enum control_reason r);
