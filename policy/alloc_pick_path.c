/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How a pick went, for alloc_explain(): one step per subtree from the start of the
 * search down to the chosen one, each named by the tier that names it best, the last
 * one with what decided it, and how many subtrees of the next level the CPUs spread
 * over.
 */
#include "policy/alloc_pick_priv.h"

static const struct alloc_tnode *tn(const struct pick *p, int v)
{
	return &p->tr->tn[v];
}

static unsigned int units(const struct pick *p, int v)
{
	return p->units[v];
}

/* Which tier names a subtree best (a node before its one package). */
static int label_rank(int tier)
{
	static const int rank[ALLOC_TIER_COUNT] = {
		[ALLOC_TIER_NODE] = 0, [ALLOC_TIER_PACKAGE] = 1,   [ALLOC_TIER_CORE] = 2,
		[ALLOC_TIER_L3] = 3,   [ALLOC_TIER_DIE] = 4,	   [ALLOC_TIER_CLUSTER] = 5,
		[ALLOC_TIER_L2] = 6,   [ALLOC_TIER_PKG_GROUP] = 7, [ALLOC_TIER_DIE_GROUP] = 8,
		[ALLOC_TIER_KIND] = 9, [ALLOC_TIER_MACHINE] = 10,
	};

	return rank[tier];
}

static int label_tier(const struct pick *p, int v)
{
	int best = p->tr->tier[tn(p, v)->bottom];

	for (int d = tn(p, v)->top; d <= tn(p, v)->bottom; d++)
		if (label_rank(p->tr->tier[d]) < label_rank(best))
			best = p->tr->tier[d];
	return best;
}

void pick_path_push(struct pick *p, int v, unsigned char why, unsigned short n_fit)
{
	struct alloc_path *path = &p->out->path;
	struct alloc_path_step *st;
	int tier = label_tier(p, v);

	if (path->n >= ALLOC_PATH_MAX)
		return;
	st = &path->step[path->n++];
	st->tier = (unsigned char)tier;
	st->why = why;
	st->n_fit = n_fit;
	st->dom = pick_dom(p, v, tier);
	st->free = units(p, v);
}

/* The path from start down to v, one step per subtree; v's step says why. */
void pick_path_record(struct pick *p, int start, int v, unsigned char why, unsigned short n_fit)
{
	int chain[ALLOC_TIER_COUNT], n = 0;

	for (int a = v; a >= 0 && n < ALLOC_TIER_COUNT; a = tn(p, a)->parent) {
		if (label_tier(p, a) > ALLOC_TIER_KIND)
			chain[n++] = a;
		if (a == start)
			break;
	}
	while (n-- > 0)
		pick_path_push(p, chain[n], n == 0 ? why : ALLOC_STEP_HOLDS, n == 0 ? n_fit : 0);
}

/* The best name for the level of the used children: a tier where they all differ. */
static int spread_label(const struct pick *p, const int *used, unsigned int n)
{
	const struct alloc_tnode *c = tn(p, used[0]);
	int best = p->tr->tier[c->top];

	for (int d = c->top + 1; d <= c->bottom; d++) {
		int t = p->tr->tier[d];
		bool distinct = true;

		if (label_rank(t) >= label_rank(best))
			continue;
		for (unsigned int i = 0; i < n && distinct; i++)
			for (unsigned int j = i + 1; j < n && distinct; j++)
				distinct = pick_dom(p, used[i], t) != pick_dom(p, used[j], t);
		if (distinct)
			best = t;
	}
	return best;
}

/* How many children of v the taken CPUs fall in, and what they are. */
void pick_path_spread(struct pick *p, int v)
{
	const struct alloc_tnode *n = tn(p, v);
	unsigned int used = 0;
	int cpu, *list = p->x->next;

	if (n->n_child == 0)
		return;
	pick_next_gen(&p->x->tgen, p->x->taken, p->tr->n);
	cpuset_foreach (cpu, &p->out->visible) {
		int c = p->tr->leaf_of[cpu];

		while (c >= 0 && tn(p, c)->parent != v)
			c = tn(p, c)->parent;
		if (c < 0 || p->x->taken[c] == p->x->tgen)
			continue;
		p->x->taken[c] = p->x->tgen;
		list[used++] = c;
	}
	if (used > 1) {
		p->out->path.spread_tier = (unsigned char)spread_label(p, list, used);
		p->out->path.spread_n = (unsigned short)used;
	}
}
