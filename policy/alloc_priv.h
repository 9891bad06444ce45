/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by policy/alloc*.c. Not an API: nothing outside policy/alloc*.c
 * includes it. Entries and the state are owned by the state (alloc_state_free()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/alloc.h"

/* Candidate subtree levels, tightest first (docs/policy.md "Exclusive allocation"). */
enum alloc_level {
	ALLOC_LVL_L3 = 0, /* one L3 cache, restricted to one NUMA node */
	ALLOC_LVL_NODE,
	ALLOC_LVL_DIE,
	ALLOC_LVL_PACKAGE,
	ALLOC_LVL_MACHINE,
	ALLOC_LVL_COUNT,
	ALLOC_LVL_NONE = -1,
};

/* Why an entry sits where it does (for alloc_explain). */
enum alloc_why {
	ALLOC_WHY_SHARED_QOS = 0,  /* not Guaranteed */
	ALLOC_WHY_SHARED_SMALL,	   /* Guaranteed below 1000m */
	ALLOC_WHY_SHARED_DISABLED, /* exclusive_enabled = false */
	ALLOC_WHY_SHARED_PREF,	   /* prefs.shared_only */
	ALLOC_WHY_SHARED_FALLBACK, /* restore could not give it exclusive CPUs */
	ALLOC_WHY_RESERVED_NS,	   /* reserved namespace */
	ALLOC_WHY_EXCLUSIVE,
	ALLOC_WHY_ISOLATED,
};

struct alloc_group {
	struct cpuset cpus;
	int level;
	int index; /* dense domain index within the level (node: node index) */
};

struct alloc_entry {
	char *id;
	char *ns;
	size_t idx;		   /* position in state->entries */
	struct alloc_entry *hnext; /* hash chain */
	struct alloc_request req;  /* id / pod_namespace point at the copies above */
	enum alloc_pool pool;
	bool mixed;    /* exclusive + shared pool */
	bool wide;     /* shared + reserved */
	bool hide_ht;  /* owned has idle siblings */
	bool shielded; /* shared, on the shield in excl == owned (alloc_shield) */
	enum alloc_why why;
	bool restored;		 /* kept its cpuset through a restore */
	bool reallocated;	 /* restore had to move it (conflict / invalid) */
	int level;		 /* chosen subtree level, ALLOC_LVL_NONE if not exclusive */
	int group;		 /* index in state->groups */
	unsigned int group_free; /* free CPUs in that group when chosen */
	struct cpuset excl;	 /* visible exclusive CPUs */
	struct cpuset owned;	 /* excl + hidden siblings */
};

struct alloc_state {
	const struct topology *topo;
	struct alloc_config cfg;
	char **ns; /* owned copies; cfg.reserved_namespaces points here */
	struct cpuset reserved;
	struct cpuset isolated;	   /* isolated online CPUs not reserved */
	struct cpuset excl_pool;   /* online - reserved - isolated */
	struct cpuset excl_used;   /* owned by exclusive entries */
	struct cpuset iso_used;	   /* owned by isolated entries */
	struct cpuset shield_used; /* lent to shielded shared entries */
	struct cpuset shared;	   /* excl_pool - excl_used - shield_used */
	struct alloc_entry **entries;
	size_t n, cap;
	struct alloc_entry **buckets;
	size_t n_buckets;   /* power of two */
	size_t shared_deps; /* entries whose cpus include the shared pool */
	/* Topology digests, built once. */
	struct alloc_group *groups;
	size_t n_groups;
	int *core_first;	 /* per core: offset into core_threads */
	int *core_threads;	 /* thread ids of each core, ascending */
	unsigned int *core_mark; /* scratch, per core: == mark_gen when listed */
	unsigned int mark_gen;
	int *core_list;		 /* scratch, per core */
	unsigned char *core_key; /* scratch, per core */
	unsigned int *l3_count;	 /* scratch, per L3 (+1 for "none") */
	unsigned int nw;	 /* words of a cpuset that can hold an online CPU */
	unsigned int nw_nodes;	 /* words of a node set that can hold a node id */
	struct cpuset *memonly;	 /* per dense node: memory-only node ids to add (NEAREST) */
	struct cpuset memonly_all;
};

/* What the picker is asked for. */
struct alloc_pick_req {
	const struct cpuset *avail; /* free and eligible */
	unsigned int n;		    /* visible CPUs wanted */
	bool hide_ht;
	const struct cpuset *near; /* grow next to these (NULL for a fresh allocation) */
};

struct alloc_pick_out {
	struct cpuset visible;
	struct cpuset owned;
	int level;
	int group;
	unsigned int group_free;
};

/* alloc_pick.c */
int alloc_topo_digest(struct alloc_state *s);
void alloc_topo_digest_free(struct alloc_state *s);
/* -ENOSPC if avail cannot give n CPUs (n whole cores when hide_ht). */
int alloc_pick(struct alloc_state *s, const struct alloc_pick_req *r, struct alloc_pick_out *out);
/* Drop CPUs from (visible, owned) until visible has n, keeping the tightest part. */
void alloc_shrink(struct alloc_state *s, struct cpuset *visible, struct cpuset *owned,
		  unsigned int n, bool hide_ht);
/* Cores of every CPU in visible, as a set; false if two visible CPUs share a core. */
bool alloc_cores_of(const struct alloc_state *s, const struct cpuset *visible, struct cpuset *ret);
unsigned int alloc_free_cores(struct alloc_state *s, const struct cpuset *cand);
int alloc_reserve_count(const struct topology *t, unsigned int count, struct cpuset *ret);
const char *alloc_level_name(int level);

/* alloc.c */
struct alloc_entry *alloc_find(const struct alloc_state *s, const char *id);
int alloc_insert(struct alloc_state *s, struct alloc_entry *e);
void alloc_entry_free(struct alloc_entry *e);
int alloc_entry_new(const struct alloc_request *req, struct alloc_entry **ret);
void alloc_result_of(const struct alloc_state *s, const struct alloc_entry *e,
		     struct alloc_result *ret);
bool alloc_is_shared_dep(const struct alloc_entry *e);
void alloc_commit(struct alloc_state *s, struct alloc_entry *e);
void alloc_uncommit(struct alloc_state *s, struct alloc_entry *e);
int alloc_changes_shared(const struct alloc_state *s, const struct alloc_entry *except,
			 struct alloc_changes *c);
int alloc_check_request(const struct alloc_request *req, char *reason, size_t reason_size);
void alloc_reason(char *reason, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The plan for one request: pool and size, before any CPU is chosen. */
struct alloc_plan {
	enum alloc_pool pool;
	unsigned int n; /* exclusive / isolated CPUs */
	bool mixed, wide, hide_ht;
	enum alloc_why why;
};
void alloc_plan_of(const struct alloc_state *s, const struct alloc_request *req,
		   struct alloc_plan *ret);
/* Place e per plan p (fresh pick, or grow/shrink of its current CPUs when resize). */
/* deps_other: shared-dependent containers other than e once e is placed. */
int alloc_place(struct alloc_state *s, struct alloc_entry *e, const struct alloc_plan *p,
		bool resize, size_t deps_other, char *reason, size_t reason_size);
int alloc_changes_reserve(struct alloc_changes *c, size_t extra);
int alloc_check_shared_min(const struct alloc_state *s, unsigned int take, size_t deps,
			   bool adds_dep, char *reason, size_t reason_size);
void alloc_remove(struct alloc_state *s, struct alloc_entry *e);

/*
 * Population count without a libgcc call: the build targets baseline x86-64 (no
 * -mpopcnt), where __builtin_popcountll becomes a function call that dominated
 * profiles of the allocator.
 */
static inline unsigned int aw_popcount(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned int)((x * 0x0101010101010101ULL) >> 56);
}

/* Word-limited set operations: only the first nw words can hold online CPUs. */
static inline unsigned int aw_count(const struct cpuset *a, unsigned int nw)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nw; i++)
		n += aw_popcount(a->bits[i]);
	return n;
}

static inline unsigned int aw_and_count(const struct cpuset *a, const struct cpuset *b,
					unsigned int nw)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nw; i++)
		n += aw_popcount(a->bits[i] & b->bits[i]);
	return n;
}

static inline bool aw_intersects(const struct cpuset *a, const struct cpuset *b, unsigned int nw)
{
	for (unsigned int i = 0; i < nw; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

static inline void aw_or(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b,
			 unsigned int nw)
{
	for (unsigned int i = 0; i < nw; i++)
		dst->bits[i] = a->bits[i] | b->bits[i];
}

static inline bool aw_is_empty(const struct cpuset *a, unsigned int nw)
{
	uint64_t acc = 0;

	for (unsigned int i = 0; i < nw; i++)
		acc |= a->bits[i];
	return acc == 0;
}
