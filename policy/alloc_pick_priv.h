/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the picker (policy/alloc_pick*.c): the working state of one pick and
 * the scratch memory the state keeps for it. Not an API; owned by struct alloc_state
 * (alloc_topo_digest allocates, alloc_topo_digest_free frees).
 */
#pragma once

#include <string.h>

#include "policy/alloc_priv.h"

/* Requests up to this size are placed by the exact search inside the chosen subtree;
 * larger ones greedily (docs/policy.md "Exclusive allocation"). */
#define ALLOC_DP_MAX 128

/*
 * A cost, compared lexicographically: subtrees used per tier (coarse first), then
 * split cores, cores shared with another pool, free units left in the used children
 * of the chosen subtree (best fit), free threads left in the used cores (fragments
 * first). 16 bits per component, four per word, most significant first.
 */
enum {
	ALLOC_COST_SPLIT = ALLOC_TIER_COUNT,
	ALLOC_COST_FOREIGN,
	ALLOC_COST_WASTE,
	ALLOC_COST_LEFTOVER,
	ALLOC_COST_N,
};

struct alloc_cost {
	uint64_t w[4];
};

struct alloc_scratch {
	int *frontier, *next; /* tnode lists of the deepest-fit search */
	unsigned int *mark;   /* per tnode: == gen when it holds a grown CPU */
	unsigned int gen;
	/* per tier: the domains the grown CPUs are in (a subtree of another core kind in
	 * the same L3 is the same L3) */
	struct cpuset near_dom[ALLOC_TIER_COUNT];
	unsigned int *taken; /* per tnode: == tgen when the greedy walk used it */
	unsigned int tgen;
	unsigned int *sort;	 /* per tnode scratch for sorting child units */
	struct alloc_cost *cost; /* DP stack: (ALLOC_TIER_COUNT + 1) * (ALLOC_DP_MAX + 1) */
	size_t cost_top;
	uint16_t *choice; /* DP choices, grown on demand */
	size_t choice_cap, choice_top;
	int *choice_off; /* per tnode: offset of its rows in choice */
};

/* One pick in progress. */
struct pick {
	struct alloc_state *s;
	struct alloc_tree *tr;
	struct alloc_scratch *x;
	const struct alloc_pick_req *r;
	const uint16_t *units; /* per tnode: free CPUs, or wholly free cores (hide) */
	const uint16_t *free;  /* per tnode: free CPUs */
	struct cpuset other;   /* threads that are not another pool's: avail, near, owned */
	int top;	       /* the subtree the DP runs in (its children's waste counts) */
	struct alloc_pick_out *out;
};

/* The domain of subtree v at tier (-1 if none: a stand-in level). */
static inline int pick_dom(const struct pick *p, int v, int tier)
{
	return p->tr->dom[(size_t)v * ALLOC_TIER_COUNT + (size_t)tier];
}

/* A fresh generation for per-tnode marks; all marks are stale after it. */
static inline unsigned int pick_next_gen(unsigned int *gen, unsigned int *marks, int n)
{
	if (++*gen == 0) {
		memset(marks, 0, (size_t)n * sizeof(*marks));
		*gen = 1;
	}
	return *gen;
}

/* alloc_pick.c */
void pick_take_core(struct pick *p, int v, unsigned int a);
bool pick_core_foreign(const struct pick *p, int v);
unsigned int pick_near_in(const struct pick *p, int v);

/* A grow: subtree v's domain at tier t already holds one of the container's CPUs. */
static inline bool pick_tier_touched(const struct pick *p, int v, int tier)
{
	int dom = p->tr->dom[(size_t)v * ALLOC_TIER_COUNT + (size_t)tier];

	if (!p->r->near)
		return false;
	if (dom < 0) /* no such domain here (an L2 smaller than the core): the subtree's own */
		return p->x->mark[v] == p->x->gen;
	return cpuset_test(&p->x->near_dom[tier], (unsigned int)dom);
}

/* A grow: spreading into subtree v costs nothing at its own level. */
static inline bool pick_touched(const struct pick *p, int v)
{
	return pick_tier_touched(p, v, p->tr->tier[p->tr->tn[v].top]);
}

/* alloc_pick_path.c: the path kept for alloc_explain (out->path). */
void pick_path_push(struct pick *p, int v, unsigned char why, unsigned short n_fit);
/* Steps from start down to v, v's saying why. */
void pick_path_record(struct pick *p, int start, int v, unsigned char why, unsigned short n_fit);
/* Over how many children of v (and what they are) the taken CPUs spread. */
void pick_path_spread(struct pick *p, int v);

/* alloc_pick_dp.c: exact placement of a units in subtree v (a <= ALLOC_DP_MAX). */
int pick_dp(struct pick *p, int v, unsigned int a);
/* What that placement costs, without taking anything. */
int pick_dp_cost(struct pick *p, int v, unsigned int a, struct alloc_cost *ret);
bool pick_cost_less(const struct alloc_cost *a, const struct alloc_cost *b);
void pick_cost_put(struct alloc_cost *c, int comp, unsigned int x);
