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
	/* throttled containers */
	bool throttled;
	int64_t quota;	    /* imposed now */
	int64_t start;	    /* the level the first step started from */
	int64_t orig_quota; /* the runtime's, -1 unlimited */
	uint64_t orig_period;
	uint64_t period; /* while throttled */
	uint64_t last_step;
	bool relaxed;		    /* relaxed since its last throttle step */
	uint64_t quiet_since;	    /* not pressing against its quota since, 0 = it is */
	unsigned int relax_backoff; /* cool-down doubles each time a relax brought a breach back */
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
	struct ctl_rate rate[CONTROL_KIND_COUNT];
};

struct ctl_out {
	struct control_action *out;
	size_t n, max;
};

bool ctl_rate_allow(struct control *c, enum control_kind k, uint64_t now);
void ctl_rate_take(struct control *c, enum control_kind k);
/* A zeroed action for e in o, NULL when o is full. */
struct control_action *ctl_emit(struct ctl_out *o, enum control_kind k, enum control_reason why,
				const struct ctl_entry *e, const struct ctl_entry *prot,
				uint64_t since);

void ctl_throttle(struct control *c, struct ctl_entry *prot, uint64_t now, struct ctl_out *o);
void ctl_relax(struct control *c, bool no_ls, uint64_t now, struct ctl_out *o);
void ctl_restore_quiet(struct control *c, uint64_t now, struct ctl_out *o);
void ctl_memory(struct control *c, const struct control_node *node, uint64_t now,
		struct ctl_out *o);
