/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by policy/control.c and policy/control_pick.c. Not an API. */
#pragma once

#include "policy/control.h"

#define CTL_NS_PER_S	  UINT64_C(1000000000)
#define CTL_MIN_QUOTA	  1000	 /* µs: the kernel refuses a smaller cfs_quota_us */
#define CTL_DEF_PERIOD	  100000 /* µs */
#define CTL_BACKOFF_MAX	  6	 /* cool-down x 64 at most */
#define CTL_QUIET_PERIODS 5

struct ctl_entry {
	char id[CONTROL_ID_MAX];
	const struct control_sample *s; /* during control_step() only */
	/* latency-sensitive containers */
	bool breached;
	enum control_reason breach_reason;
	uint64_t breach_since;
	uint64_t breach_seen; /* the step that saw it begin */
	/* throttled containers */
	bool throttled;
	int64_t quota;	    /* imposed now */
	int64_t start;	    /* the level the first step started from */
	int64_t orig_quota; /* the runtime's, -1 unlimited */
	uint64_t orig_period;
	uint64_t period;	      /* while throttled */
	char prot_id[CONTROL_ID_MAX]; /* the LS container its last throttle step protected */
	uint64_t last_step;
	bool relaxed;		    /* relaxed since its last throttle step */
	uint64_t quiet_since;	    /* not pressing against its quota since, 0 = it is */
	unsigned int relax_backoff; /* cool-down doubles each time a relax brought a breach back */
	double peak;		    /* the most CPU it wanted in an interval, over the last 2 s */
	uint64_t peak_at;
	bool busy; /* wanted CPU in its last interval */
	/* shields (LS containers on the shared pool) */
	bool shield_asked; /* CONTROL_SHIELD out, not yet seen in a sample */
	uint64_t shield_asked_at;
	uint64_t shielded_at; /* first sample that showed it shielded, 0 = not shielded */
	uint64_t shield_refused_until;
	unsigned int shield_backoff; /* unshield cool-down doubles when a shield comes back */
	bool unshielded;	     /* given back since its last shield */
	bool shield_recommended;     /* dry run: said once per breach */
	/* blame and verification (control_verify.c) */
	enum control_blame blame;
	double ev_ctr, ev_host; /* waits beside containers / host tasks, halved per step */
	double pre_sum;		/* the victim's p99 over its breached intervals before a lever */
	unsigned int pre_n;
	bool testing;	 /* a lever for it is being verified */
	double post_sum; /* its p99 over the intervals since post_from */
	unsigned int post_n;
	uint64_t post_from;	       /* the lever's last step */
	uint64_t ineffective_until[2]; /* [0] throttle, [1] shield */
	bool has_for, has_against;
	struct control_outcome for_it, against_it;
	/* eviction */
	bool evicted;
	bool has_mem_base;
	uint64_t mem_base; /* memory when the pressure began */
};

struct ctl_rate {
	bool used;
	uint64_t start;
	unsigned int count;
};

struct control {
	struct control_config cfg;
	struct ctl_entry *e;
	size_t n, cap;
	size_t *order; /* scratch for victim ordering, cap entries */
	bool calm;
	uint64_t calm_since;
	bool pressured;
	uint64_t pressure_since; /* first seen, for the reaction time */
	uint64_t pressure_armed; /* persistence is measured from here */
	uint64_t last_evict;
	bool saturated; /* the shared pool */
	uint64_t saturated_since;
	double pool_use;	/* CPUs wanted on the shared pool over the last interval */
	double pool_ctr;	/* of which by the containers on it */
	double pool_wait;	/* CPUs its containers waited for (run-queue wait / interval) */
	unsigned int pool_cpus; /* its size, 0 = unknown */
	uint64_t interval_ns;	/* the longest sampling interval of the last step */
	uint64_t load_since;	/* a container on the pool last began to want CPU */
	bool room;		/* its containers want less than unshield_percent */
	uint64_t room_since;
	struct ctl_rate rate[CONTROL_KIND_COUNT];
	double steal_cpus, host_cpus; /* the node's, last step; < 0 unknown */
};

struct ctl_out {
	struct control_action *out;
	size_t n, max;
};

/* Uses CPU (>= 0.05 of one) or is held back by CFS: below that a container is idle,
 * and lowering its quota gains nothing. */
static inline bool ctl_uses_cpu(const struct control_sample *s)
{
	return s->cpu_cores >= 0.05 || s->throttled_ns;
}

bool ctl_rate_allow(struct control *c, enum control_kind k, uint64_t now);
void ctl_rate_take(struct control *c, enum control_kind k);
/* A zeroed action for e in o, NULL when o is full. */
struct control_action *ctl_emit(struct ctl_out *o, enum control_kind k, enum control_reason why,
				const struct ctl_entry *e, const struct ctl_entry *prot,
				uint64_t since);

void ctl_throttle(struct control *c, struct ctl_entry *prot, uint64_t now, struct ctl_out *o);
void ctl_relax(struct control *c, bool no_ls, uint64_t now, struct ctl_out *o);
void ctl_restore_quiet(struct control *c, uint64_t now, struct ctl_out *o);
/* Restore every container throttled to protect prot (it got a shield). */
void ctl_restore_for(struct control *c, const struct ctl_entry *prot, enum control_reason why,
		     uint64_t now, struct ctl_out *o);
bool ctl_throttled_for(const struct control *c, const struct ctl_entry *prot);
/* control_pool.c */
void ctl_pool_eval(struct control *c, const struct control_node *node, uint64_t now);
/* Ask for shields; the breached LS container throttling should act for (the one
 * breached first among those a shield does not cover), or NULL. */
struct ctl_entry *ctl_shield(struct control *c, uint64_t now, struct ctl_out *o);
void ctl_unshield(struct control *c, uint64_t now, struct ctl_out *o);
/* Give e's shield back now (rate limit permitting). */
void ctl_unshield_one(struct control *c, struct ctl_entry *e, enum control_reason why, uint64_t now,
		      struct ctl_out *o);

/* control_verify.c: blame before acting, verify after. */
/* e's breach state is fresh: update its evidence and who its breach is blamed on. */
void ctl_blame_update(struct control *c, struct ctl_entry *e, const struct control_node *node,
		      uint64_t now);
/* A breach that may act against neighbours: evidence says they cause it. */
static inline bool ctl_acts_for(const struct ctl_entry *e)
{
	return e->breached &&
	       (e->blame == CONTROL_BLAME_NEIGHBOURS || e->blame == CONTROL_BLAME_UNCHECKED);
}
static inline bool ctl_ineffective(const struct ctl_entry *e, enum control_kind k, uint64_t now)
{
	return now < e->ineffective_until[k == CONTROL_SHIELD];
}
/* Judge the levers under test, undo those that did not help (before new actions). */
void ctl_verify(struct control *c, uint64_t now, struct ctl_out *o);
/* Start verifying the levers o->out[from..] used (after the step's actions). */
void ctl_verify_start(struct control *c, size_t from, uint64_t now, const struct ctl_out *o);

void ctl_memory(struct control *c, const struct control_node *node, uint64_t now,
		struct ctl_out *o);
