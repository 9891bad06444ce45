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

struct alloc_scratch;

/*
 * Placement tiers, coarse to fine (docs/policy.md "Exclusive allocation"). The tree
 * (alloc_tree.c) has one level per tier: a tier's subtree is its domain intersected
 * with the parent subtree, so the levels always nest, even where the hardware's do
 * not (an SNC L3 spans two nodes; an old 16-socket node spans four packages).
 */
enum alloc_tier {
	ALLOC_TIER_MACHINE = 0,
	ALLOC_TIER_KIND,      /* P or E cores (hybrid parts) */
	ALLOC_TIER_PKG_GROUP, /* the nodes that share a package (SNC) */
	ALLOC_TIER_DIE_GROUP, /* the nodes that share a die */
	ALLOC_TIER_NODE,
	ALLOC_TIER_PACKAGE,
	ALLOC_TIER_DIE,
	ALLOC_TIER_L3,
	ALLOC_TIER_CLUSTER,
	ALLOC_TIER_L2,
	ALLOC_TIER_CORE,
	ALLOC_TIER_COUNT,
};

/*
 * One subtree. A chain of levels with the same CPUs (a node that is one package, an L2
 * that is one core) is one subtree standing for the tree's levels [top, bottom] (tiers
 * tree.tier[top] .. tree.tier[bottom]). Children are contiguous: tn[child .. child +
 * n_child).
 */
struct alloc_tnode {
	int parent;		   /* -1 for the root */
	int child, n_child;	   /* n_child == 0 for cores */
	int cpu_lo, cpu_hi;	   /* its online CPUs are tree.cpus[cpu_lo .. cpu_hi) */
	unsigned char top, bottom; /* the levels (depths) it stands for */
	unsigned char size;	   /* cores: online threads */
};

/* Free CPUs and wholly free cores per subtree, for one avail set (a cache slot). */
struct alloc_counts {
	struct cpuset avail;
	uint16_t *free, *whole;
	bool valid;
	unsigned long used; /* LRU stamp */
};

#define ALLOC_COUNT_SLOTS 2

struct alloc_tree {
	struct alloc_tnode *tn; /* breadth first: tn[0] is the root */
	int n;
	/* The levels from the root down: tiers in the order they nest on this machine (an
	 * SNC node below its L3, an EPYC node above its L3s), so that a subtree of a level
	 * is one domain of its tier wherever the machine allows. */
	unsigned char tier[ALLOC_TIER_COUNT];  /* level -> enum alloc_tier */
	unsigned char level[ALLOC_TIER_COUNT]; /* enum alloc_tier -> level */
	int *dom;   /* n x ALLOC_TIER_COUNT: domain index per tier it stands for, else -1 */
	int *cores; /* the tnodes of cores, in tree order */
	int n_cores;
	int *cpus;    /* online CPUs in tree order */
	int *leaf_of; /* per CPU id [0..max_cpu]: its core's tnode, -1 if offline */
	int max_cpu;
	struct alloc_counts slot[ALLOC_COUNT_SLOTS];
	unsigned long clock;
};

/* Why a step of a placement went where it did (alloc_explain). */
enum alloc_step_why {
	ALLOC_STEP_HOLDS = 0, /* an ancestor of the chosen subtree */
	ALLOC_STEP_ONLY,      /* the only subtree of the tightest level with room */
	ALLOC_STEP_BEST_FIT,  /* fewest free of those that fit */
	ALLOC_STEP_INNER,     /* fits with the fewest subtrees below */
	ALLOC_STEP_UNSHARED,  /* a core not shared with another pool */
	ALLOC_STEP_EXACT,     /* the request fills it exactly */
	ALLOC_STEP_NEAR,      /* a grow: the tightest subtree holding its CPUs with room */
	ALLOC_STEP_FLAT,      /* prefer_same_numa off: the machine */
};

enum alloc_kind_why {
	ALLOC_KIND_WHY_NONE = 0, /* not a hybrid machine */
	ALLOC_KIND_WHY_PREFERRED,
	ALLOC_KIND_WHY_OTHER, /* the preferred kind had no room */
	ALLOC_KIND_WHY_MIXED, /* neither kind alone had room */
};

#define ALLOC_PATH_MAX ALLOC_TIER_COUNT

struct alloc_path_step {
	unsigned char tier, why;
	unsigned short n_fit; /* subtrees of that tier that fit (chosen step only) */
	int dom;
	unsigned int free;
};

/* How a pick went, kept per entry for alloc_explain. */
struct alloc_path {
	struct alloc_path_step step[ALLOC_PATH_MAX];
	unsigned char n;
	unsigned char kind_why;	   /* enum alloc_kind_why */
	unsigned char kind;	   /* enum topo_cpu_kind chosen (when kind_why != NONE) */
	unsigned char spread_tier; /* tier the request was spread over, 0 = none */
	unsigned short spread_n;   /* how many subtrees of spread_tier */
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
	bool restored;		/* kept its cpuset through a restore */
	bool reallocated;	/* restore had to move it (conflict / invalid) */
	bool iso_fallback;	/* asked for isolated CPUs, the machine has none */
	bool has_path;		/* path below is set (a fresh pick) */
	unsigned char dev_fit;	/* enum alloc_device_fit of excl (a fresh pick) */
	struct alloc_path path; /* how the CPUs were chosen (alloc_explain) */
	struct cpuset excl;	/* visible exclusive CPUs */
	struct cpuset owned;	/* excl + hidden siblings */
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
	uint64_t owned_gen;	   /* bumped when CPUs change owners (alloc_owned_gen) */
	struct alloc_entry **entries;
	size_t n, cap;
	struct alloc_entry **buckets;
	size_t n_buckets;   /* power of two */
	size_t shared_deps; /* entries whose cpus include the shared pool */
	/* Topology digests, built once. */
	struct alloc_tree tree;
	struct alloc_tree tree_mixed;  /* hybrid parts: the same without the kind tier (n = 0
				       * elsewhere), where an allocation must mix kinds */
	struct alloc_scratch *scratch; /* the picker's working memory (alloc_pick*.c) */
	unsigned int nw;	       /* words of a cpuset that can hold an online CPU */
	unsigned int nw_nodes;	       /* words of a node set that can hold a node id */
	struct cpuset *memonly;	       /* per dense node: memory-only node ids to add (NEAREST) */
	struct cpuset memonly_all;
};

/* What the picker is asked for. */
struct alloc_pick_req {
	const struct cpuset *avail; /* free and eligible */
	unsigned int n;		    /* visible CPUs wanted */
	bool hide_ht;
	const struct cpuset *near; /* grow next to these (NULL for a fresh allocation) */
	/* CPUs already held elsewhere (exclusive/isolated owners): a core whose other
	 * threads are neither in avail, near nor here is shared with another pool. NULL:
	 * every thread outside avail counts as another pool. */
	const struct cpuset *owned_elsewhere;
};

struct alloc_pick_out {
	struct cpuset visible;
	struct cpuset owned;
	struct alloc_path path;
};

/* alloc_tree.c: the placement tree and its per-avail counts. */
/* kinds: split the machine by core kind first (a hybrid part's tree); false: one tree
 * over both kinds, for the allocations that must mix them. */
int alloc_tree_build(struct alloc_tree *tr, const struct topology *t, bool kinds);
void alloc_tree_done(struct alloc_tree *tr);
/* Counts of tr for avail (a cached slot, updated by difference). NULL on -ENOMEM. */
const struct alloc_counts *alloc_tree_counts(struct alloc_tree *tr, const struct cpuset *avail,
					     unsigned int nw);
const char *alloc_tier_name(int tier);

/* alloc_pick.c */
int alloc_topo_digest(struct alloc_state *s);
void alloc_topo_digest_free(struct alloc_state *s);
/* -ENOSPC if avail cannot give n CPUs (n whole cores when hide_ht), -ENOMEM. */
int alloc_pick(struct alloc_state *s, const struct alloc_pick_req *r, struct alloc_pick_out *out);
/* Keep n of visible (and the owned siblings), the tightest part: a pick among its own. */
void alloc_shrink(struct alloc_state *s, struct cpuset *visible, struct cpuset *owned,
		  unsigned int n, bool hide_ht);
/* Cores of every CPU in visible, as a set; false if two visible CPUs share a core. */
bool alloc_cores_of(const struct alloc_state *s, const struct cpuset *visible, struct cpuset *ret);
unsigned int alloc_free_cores(struct alloc_state *s, const struct cpuset *cand);
int alloc_reserve_count(const struct topology *t, const struct alloc_config *cfg,
			unsigned int count, struct cpuset *ret);

/* alloc_devices.c: placement next to the container's devices (docs/policy.md "Devices"). */
/* Does q's placement follow its devices? */
bool alloc_device_wanted(const struct alloc_request *q);
/* alloc_pick() of pr->n CPUs for q near its devices, widening tier by tier; *ret_fit says
 * where. Falls back to all of pr->avail (ELSEWHERE) unless strict: -ENOSPC with a
 * reason. pr is restored before returning. */
int alloc_device_pick(struct alloc_state *s, const struct alloc_request *q,
		      struct alloc_pick_req *pr, struct alloc_pick_out *out,
		      enum alloc_device_fit *ret_fit, char *reason, size_t reason_size);
/* Narrow pool (a shared part of e's cpuset) to its devices' nodes when that leaves e
 * the CPUs its request or limit needs; returns the fit. */
enum alloc_device_fit alloc_device_narrow(const struct alloc_state *s, const struct alloc_entry *e,
					  struct cpuset *pool);

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
	bool iso_fallback; /* isolated asked for, none on the machine: planned as if not */
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
