/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Choosing exclusive CPUs (docs/policy.md "Exclusive allocation").
 *
 * On the placement tree (alloc_tree.c), a fresh allocation of m CPUs:
 *   1. stays on one core kind while one kind has room, the preferred kind first (a
 *      second tree without the kind level serves the allocations that must mix);
 *   2. goes to the DEEPEST level where one subtree has m free: every coarser level is
 *      then spanned once, the least possible;
 *   3. among the subtrees of that level that fit, takes the one where the rest costs
 *      least (the exact search's cost; for cores: not split, not shared with another
 *      pool, fewest threads left), then the one with the fewest free CPUs (best fit:
 *      big free subtrees stay whole for big requests), then the one in the fullest
 *      parent, grandparent..., then the lowest CPU ids;
 *   4. inside it, spreads over the fewest subtrees at every tier below, by an exact
 *      search (alloc_pick_dp.c) for requests up to ALLOC_DP_MAX, greedily above.
 * A grow (resize) starts from the tightest subtree holding the container's CPUs that
 * has room; domains it already spans cost nothing. A shrink is a pick among the
 * container's own CPUs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_pick_priv.h"

static unsigned int units(const struct pick *p, int v)
{
	return p->units[v];
}

static const struct alloc_tnode *tn(const struct pick *p, int v)
{
	return &p->tr->tn[v];
}

/* ---- taking CPUs -------------------------------------------------------------------- */

static inline bool bit(const struct cpuset *set, int cpu)
{
	return (set->bits[(unsigned int)cpu / 64] >> ((unsigned int)cpu % 64)) & 1;
}

static bool in_avail(const struct pick *p, int cpu)
{
	return bit(p->r->avail, cpu);
}

void pick_take_core(struct pick *p, int v, unsigned int a)
{
	const struct alloc_tnode *core = tn(p, v);
	struct alloc_pick_out *o = p->out;

	for (int i = core->cpu_lo; i < core->cpu_hi && a > 0; i++) {
		int cpu = p->tr->cpus[i];

		if (!in_avail(p, cpu) || cpuset_test(&o->owned, (unsigned int)cpu))
			continue;
		cpuset_set(&o->visible, (unsigned int)cpu);
		cpuset_set(&o->owned, (unsigned int)cpu);
		a--;
		if (!p->r->hide_ht)
			continue;
		/* one visible thread; the siblings are owned and kept idle */
		for (int j = core->cpu_lo; j < core->cpu_hi; j++)
			cpuset_set(&o->owned, (unsigned int)p->tr->cpus[j]);
		return;
	}
}

/* Every free unit of subtree v. */
static void take_all(struct pick *p, int v)
{
	const struct alloc_tnode *n = tn(p, v);

	for (int i = n->cpu_lo; i < n->cpu_hi; i++) {
		int leaf = p->tr->leaf_of[p->tr->cpus[i]];

		if (i == tn(p, leaf)->cpu_lo && units(p, leaf) > 0)
			pick_take_core(p, leaf, units(p, leaf));
	}
}

/* Threads of core v owned by the container being grown. */
unsigned int pick_near_in(const struct pick *p, int v)
{
	unsigned int n = 0;

	if (!p->r->near)
		return 0;
	for (int i = tn(p, v)->cpu_lo; i < tn(p, v)->cpu_hi; i++)
		n += bit(p->r->near, p->tr->cpus[i]);
	return n;
}

/* Core v has a thread in another pool (reserved, isolated, a shield, ...). */
bool pick_core_foreign(const struct pick *p, int v)
{
	if (p->free[v] == tn(p, v)->size)
		return false; /* wholly free */
	for (int i = tn(p, v)->cpu_lo; i < tn(p, v)->cpu_hi; i++)
		if (!bit(&p->other, p->tr->cpus[i]))
			return true;
	return false;
}

/* ---- ranking the subtrees that fit -------------------------------------------------- */

/* Fewest children of v that hold m units together (largest first). */
static unsigned int fewest_children(struct pick *p, int v, unsigned int m)
{
	const struct alloc_tnode *n = tn(p, v);
	unsigned int *u = p->x->sort, k = 0, sum = 0;
	int nc = 0;

	for (int i = 0; i < n->n_child; i++)
		if (units(p, n->child + i) > 0)
			u[nc++] = units(p, n->child + i);
	/* selection, not a sort: k is small */
	while (sum < m && (int)k < nc) {
		unsigned int hi = k, t;

		for (int i = (int)k + 1; i < nc; i++)
			if (u[i] > u[hi])
				hi = (unsigned int)i;
		t = u[k];
		u[k] = u[hi];
		u[hi] = t;
		sum += u[k++];
	}
	return k;
}

/*
 * What taking m from v costs below v, as one number (smaller is better): for a core,
 * split, then shared with another pool, then threads left free; else the fewest
 * children that hold m.
 */
static unsigned int inner_cost(struct pick *p, int v, unsigned int m)
{
	const struct alloc_tnode *n = tn(p, v);
	unsigned int near, free = p->free[v];

	if (n->n_child > 0)
		return fewest_children(p, v, m);
	if (p->r->hide_ht)
		return 0;
	near = p->r->near ? pick_near_in(p, v) : 0;
	return (m + near < n->size ? 1u << 20 : 0) +
	       (free + near < n->size && pick_core_foreign(p, v) ? 1u << 19 : 0) + (free - m);
}

/*
 * Narrow list[0..n) (tree order) to the candidates in the fullest ancestors: compare
 * the parents' free units, then the grandparents', until one subtree holds all that
 * are left. anc[] is scratch. Returns the first of the survivors.
 */
static int fullest_ancestry(struct pick *p, int *list, int n)
{
	int *anc = p->x->next;

	for (int i = 0; i < n; i++)
		anc[i] = list[i];
	while (n > 1) {
		unsigned int lo = UINT32_MAX;
		int level = -1, k = 0;

		/* the next level up: the deepest of the candidates' parents */
		for (int i = 0; i < n; i++) {
			int par = tn(p, anc[i])->parent;

			if (par >= 0 && tn(p, par)->bottom > level)
				level = tn(p, par)->bottom;
		}
		if (level < 0)
			break;
		/* up to the subtree standing for that tier; candidates under the same one
		 * tie from here on, and the list is in tree order: keep the first of each */
		for (int i = 0; i < n; i++) {
			int a = anc[i];

			while (tn(p, a)->top > level)
				a = tn(p, a)->parent;
			if (k > 0 && anc[k - 1] == a)
				continue;
			list[k] = list[i];
			anc[k++] = a;
			lo = units(p, a) < lo ? units(p, a) : lo;
		}
		n = k;
		k = 0;
		for (int i = 0; i < n; i++) {
			if (units(p, anc[i]) != lo)
				continue;
			list[k] = list[i];
			anc[k++] = anc[i];
		}
		n = k;
	}
	return list[0];
}

/* The candidates of the deepest fit, narrowed to the best (inner cost, free units). */
struct fit {
	int n;			/* subtrees of the deepest level that fit */
	int k;			/* of them, in frontier[0..k): the best class */
	int level;		/* that level, -1 before any */
	unsigned int inner;	/* the best class: cores */
	struct alloc_cost cost; /* the best class: other subtrees */
	unsigned int units;
	unsigned int min_units; /* fewest free units of any that fits */
};

/* Makes the deepest fit start over at v's tier if v is deeper; false if v is shallower. */
static inline bool fit_level(struct fit *f, int level)
{
	if (level > f->level) {
		*f = (struct fit){.level = level,
				  .inner = UINT32_MAX,
				  .cost = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}},
				  .units = UINT32_MAX,
				  .min_units = UINT32_MAX};
		return true;
	}
	return level == f->level;
}

static inline void fit_class(struct pick *p, struct fit *f, int v, unsigned int in, unsigned int u)
{
	f->n++;
	f->min_units = u < f->min_units ? u : f->min_units;
	if (in > f->inner || (in == f->inner && u > f->units))
		return;
	if (in < f->inner || u < f->units)
		f->k = 0;
	f->inner = in;
	f->units = u;
	p->x->frontier[f->k++] = v;
}

/*
 * What placing m in the subtree v costs below it: the exact search's cost (so that of
 * two nodes that each need two L3s, the one whose L3s need fewer cores wins), or for
 * requests above ALLOC_DP_MAX the fewest children that hold m.
 */
static void subtree_cost(struct pick *p, int v, unsigned int m, struct alloc_cost *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (m <= ALLOC_DP_MAX && pick_dp_cost(p, v, m, ret) >= 0)
		return;
	memset(ret, 0, sizeof(*ret));
	pick_cost_put(ret, p->tr->tier[tn(p, tn(p, v)->child)->top], fewest_children(p, v, m));
}

static void fit_add(struct pick *p, struct fit *f, int v, unsigned int m)
{
	struct alloc_cost c;
	unsigned int u = units(p, v);

	if (!fit_level(f, tn(p, v)->bottom))
		return;
	if (tn(p, v)->n_child == 0) {
		fit_class(p, f, v, inner_cost(p, v, m), u);
		return;
	}
	subtree_cost(p, v, m, &c);
	f->n++;
	f->min_units = u < f->min_units ? u : f->min_units;
	if (pick_cost_less(&f->cost, &c) || (!pick_cost_less(&c, &f->cost) && u > f->units))
		return;
	if (pick_cost_less(&c, &f->cost) || u < f->units)
		f->k = 0;
	f->cost = c;
	f->units = u;
	p->x->frontier[f->k++] = v;
}

/*
 * The cores among v's children that hold m: the bulk of the search when m is small.
 * Of one parent's cores only the first of the best class can win (the ranking goes on
 * to the parent, where they tie), so only that one is listed.
 */
static bool fit_cores(struct pick *p, struct fit *f, int v, unsigned int m)
{
	const struct alloc_tnode *nv = tn(p, v);
	unsigned int best_in = UINT32_MAX, best_u = UINT32_MAX, lo = UINT32_MAX, n = 0;
	bool plain = !p->r->near && !p->r->hide_ht;
	int best = -1;

	for (int c = nv->child; c < nv->child + nv->n_child; c++) {
		const struct alloc_tnode *core = tn(p, c);
		unsigned int u = units(p, c), in;

		if (core->n_child || u < m)
			continue;
		n++;
		lo = u < lo ? u : lo;
		/* a wholly free core: never shared; split when m is less than its size */
		if (plain && p->free[c] == core->size)
			in = (m < core->size ? 1u << 20 : 0) + (u - m);
		else
			in = inner_cost(p, c, m);
		if (in < best_in || (in == best_in && u < best_u)) {
			best = c;
			best_in = in;
			best_u = u;
		}
	}
	if (best < 0)
		return false;
	if (!fit_level(f, tn(p, best)->bottom))
		return true;
	fit_class(p, f, best, best_in, best_u);
	f->n += n - 1;
	f->min_units = lo < f->min_units ? lo : f->min_units;
	return true;
}

/* What decided among the candidates: for explain. */
static unsigned char fit_why(const struct pick *p, const struct fit *f)
{
	if (f->n == 1)
		return ALLOC_STEP_ONLY;
	if (f->units == f->min_units)
		return ALLOC_STEP_BEST_FIT;
	return tn(p, p->x->frontier[0])->n_child ? ALLOC_STEP_INNER : ALLOC_STEP_UNSHARED;
}

/* ---- greedy placement (requests above ALLOC_DP_MAX) ------------------------------------ */

static void greedy(struct pick *p, int v, unsigned int a);

/* The child of v to take a from whole, or -1: the best that fits (touched first). */
static int greedy_fit(struct pick *p, int v, unsigned int a)
{
	const struct alloc_tnode *n = tn(p, v);
	unsigned int best_key = UINT32_MAX, best_units = 0;
	int best = -1;

	for (int i = 0; i < n->n_child; i++) {
		int c = n->child + i;
		unsigned int key;

		if (p->x->taken[c] == p->x->tgen || units(p, c) < a)
			continue;
		key = (pick_touched(p, c) ? 0 : 1u << 30) + inner_cost(p, c, a);
		if (best >= 0 && (key > best_key || (key == best_key && units(p, c) >= best_units)))
			continue;
		best = c;
		best_key = key;
		best_units = units(p, c);
	}
	return best;
}

/* The child of v to take whole: touched first, then the largest. */
static int greedy_largest(struct pick *p, int v)
{
	const struct alloc_tnode *n = tn(p, v);
	int best = -1;

	for (int i = 0; i < n->n_child; i++) {
		int c = n->child + i;

		if (p->x->taken[c] == p->x->tgen || units(p, c) == 0)
			continue;
		if (best < 0 || pick_touched(p, c) > pick_touched(p, best) ||
		    (pick_touched(p, c) == pick_touched(p, best) && units(p, c) > units(p, best)))
			best = c;
	}
	return best;
}

static void greedy(struct pick *p, int v, unsigned int a)
{
	if (a == 0)
		return;
	if (units(p, v) <= a) {
		take_all(p, v);
		return;
	}
	if (tn(p, v)->n_child == 0) {
		pick_take_core(p, v, a);
		return;
	}
	if (a <= ALLOC_DP_MAX && pick_dp(p, v, a) >= 0)
		return; /* what is left is small enough for the exact search */
	while (a > 0) {
		int c = greedy_fit(p, v, a);

		if (c >= 0) {
			p->x->taken[c] = p->x->tgen;
			greedy(p, c, a);
			return;
		}
		c = greedy_largest(p, v);
		if (c < 0)
			return;
		p->x->taken[c] = p->x->tgen;
		a -= units(p, c);
		take_all(p, c);
	}
}

/* ---- placing inside the chosen subtree ------------------------------------------------- */

/* prefer_whole_cores off: the lowest free CPU ids of v. */
static void take_lowest(struct pick *p, int v, unsigned int a)
{
	struct cpuset in;
	int cpu;

	cpuset_zero(&in);
	for (int i = tn(p, v)->cpu_lo; i < tn(p, v)->cpu_hi; i++)
		if (in_avail(p, p->tr->cpus[i]))
			cpuset_set(&in, (unsigned int)p->tr->cpus[i]);
	cpuset_foreach (cpu, &in) {
		if (a == 0)
			break;
		cpuset_set(&p->out->visible, (unsigned int)cpu);
		cpuset_set(&p->out->owned, (unsigned int)cpu);
		a--;
	}
}

enum flat_pass { FLAT_WHOLE, FLAT_PARTIAL, FLAT_ANY };

/* prefer_same_numa off: cores in order, whole ones first, then fragments, then any. */
static void take_flat(struct pick *p, int v, unsigned int a)
{
	const struct alloc_tnode *n = tn(p, v);

	for (int pass = FLAT_WHOLE; pass <= FLAT_ANY && a > 0; pass++) {
		for (int i = n->cpu_lo; i < n->cpu_hi && a > 0; i++) {
			int leaf = p->tr->leaf_of[p->tr->cpus[i]];
			unsigned int u = units(p, leaf), before;
			bool whole = p->free[leaf] == tn(p, leaf)->size;

			if (i != tn(p, leaf)->cpu_lo || u == 0)
				continue;
			if (pass == FLAT_WHOLE && (!whole || (!p->r->hide_ht && u > a)))
				continue;
			if (pass == FLAT_PARTIAL && whole)
				continue;
			before = cpuset_count(&p->out->visible);
			pick_take_core(p, leaf, u < a ? u : a);
			a -= cpuset_count(&p->out->visible) - before;
		}
	}
}

static int place_in(struct pick *p, int v, unsigned int a)
{
	const struct alloc_pick_req *r = p->r;

	if (units(p, v) == a) {
		take_all(p, v);
	} else if (tn(p, v)->n_child == 0) {
		pick_take_core(p, v, a);
	} else if (!p->s->cfg.prefer_whole_cores && !r->hide_ht && !r->near) {
		take_lowest(p, v, a);
	} else if (a <= ALLOC_DP_MAX) {
		return pick_dp(p, v, a);
	} else {
		pick_next_gen(&p->x->tgen, p->x->taken, p->tr->n);
		greedy(p, v, a);
	}
	return 0;
}

/* ---- where to place -------------------------------------------------------------------- */

static unsigned char kind_of(const struct pick *p, int v)
{
	int k = pick_dom(p, v, ALLOC_TIER_KIND);

	return (unsigned char)(k == 0	? TOPO_CPU_KIND_PERFORMANCE
			       : k == 1 ? TOPO_CPU_KIND_EFFICIENT
					: TOPO_CPU_KIND_UNKNOWN);
}

/* Root's child of the preferred kind with room, or the root (mixing) if none has. */
static int kind_start(struct pick *p, unsigned int m)
{
	const struct alloc_tnode *root = tn(p, 0);
	static const int order[][3] = {
		[ALLOC_CORE_KIND_PERFORMANCE] = {0, 1, 2},
		[ALLOC_CORE_KIND_EFFICIENT] = {1, 0, 2},
	};
	enum alloc_core_kind pref = p->s->cfg.prefer_core_kind;
	struct alloc_path *path = &p->out->path;

	if (root->n_child <= 1 || p->tr->tier[tn(p, root->child)->top] != ALLOC_TIER_KIND)
		return 0;
	path->kind_why = ALLOC_KIND_WHY_MIXED;
	if (pref != ALLOC_CORE_KIND_PERFORMANCE && pref != ALLOC_CORE_KIND_EFFICIENT)
		return 0; /* ANY: the kind tier is one more tier of the search */
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < root->n_child; i++) {
			int c = root->child + i;

			if (pick_dom(p, c, ALLOC_TIER_KIND) != order[pref][k] || units(p, c) < m)
				continue;
			path->kind_why = k == 0 ? ALLOC_KIND_WHY_PREFERRED : ALLOC_KIND_WHY_OTHER;
			path->kind = kind_of(p, c);
			return c;
		}
	}
	return 0;
}

/*
 * The subtrees of the deepest level under start where one holds m, in tree order, into
 * x->frontier; returns how many. With prefer_whole_cores off a core is no placement
 * level: CPUs are then taken by id in the smallest subtree of several cores.
 */
static void deepest_fit(struct pick *p, int start, unsigned int m, struct fit *f)
{
	bool cores = p->s->cfg.prefer_whole_cores || p->r->hide_ht;
	int *stack = p->x->next, top = 0;

	*f = (struct fit){.level = -1};
	stack[top++] = start;
	while (top > 0) {
		int v = stack[--top];
		const struct alloc_tnode *nv = tn(p, v);
		int pushed = top, end = nv->child + nv->n_child;
		bool any = false;

		/* Cores straight into the list (most of the tree, when m is small): a
		 * subtree's CPUs are still listed together, leaves first. */
		if (cores)
			any = fit_cores(p, f, v, m);
		/* other children in reverse so that they come off the stack in order */
		for (int c = end - 1; c >= nv->child; c--)
			if (tn(p, c)->n_child && units(p, c) >= m)
				stack[top++] = c;
		/* a subtree with a child that fits is not of the deepest level */
		if (top == pushed && !any)
			fit_add(p, f, v, m);
	}
}

static void note_kind(struct pick *p, int v)
{
	struct alloc_path *path = &p->out->path;

	if (path->kind_why != ALLOC_KIND_WHY_MIXED)
		return;
	while (v >= 0 && tn(p, v)->top > p->tr->level[ALLOC_TIER_KIND])
		v = tn(p, v)->parent;
	if (v <= 0 || tn(p, v)->top != p->tr->level[ALLOC_TIER_KIND])
		return;
	/* ANY found one kind with room after all */
	path->kind_why = ALLOC_KIND_WHY_PREFERRED;
	path->kind = kind_of(p, v);
}

/* No kind alone has room: the tree over both kinds, so that an L3 is one L3. */
static int to_mixed_tree(struct pick *p, unsigned int m)
{
	const struct alloc_tnode *root = tn(p, 0);
	const struct alloc_counts *k;

	if (!p->s->tree_mixed.n || root->n_child <= 1 ||
	    p->tr->tier[tn(p, root->child)->top] != ALLOC_TIER_KIND)
		return 0;
	for (int c = root->child; c < root->child + root->n_child; c++)
		if (units(p, c) >= m)
			return 0;
	k = alloc_tree_counts(&p->s->tree_mixed, p->r->avail, p->s->nw);
	if (!k)
		return -ENOMEM;
	p->tr = &p->s->tree_mixed;
	p->free = k->free;
	p->units = p->r->hide_ht ? k->whole : k->free;
	p->out->path.kind_why = ALLOC_KIND_WHY_MIXED;
	return 0;
}

static int pick_fresh(struct pick *p, unsigned int m)
{
	int start = kind_start(p, m), v, r;
	struct fit f;

	if (start == 0) {
		r = to_mixed_tree(p, m);
		if (r < 0)
			return r;
	}

	if (!p->s->cfg.prefer_same_numa) {
		pick_path_push(p, 0, ALLOC_STEP_FLAT, 1);
		if (!p->s->cfg.prefer_whole_cores && !p->r->hide_ht)
			take_lowest(p, start, m);
		else
			take_flat(p, start, m);
		return 0;
	}
	deepest_fit(p, start, m, &f);
	v = fullest_ancestry(p, p->x->frontier, f.k);
	note_kind(p, v);
	pick_path_record(p, start, v, units(p, v) == m ? ALLOC_STEP_EXACT : fit_why(p, &f),
			 (unsigned short)(f.n > 0xffff ? 0xffff : f.n));
	r = place_in(p, v, m);
	pick_path_spread(p, v);
	return r;
}

/* Mark every subtree holding a near CPU; returns their lowest common ancestor. */
static int mark_near(struct pick *p)
{
	int lca = -1, cpu;

	pick_next_gen(&p->x->gen, p->x->mark, p->tr->n);
	for (int t = 0; t < ALLOC_TIER_COUNT; t++)
		cpuset_zero(&p->x->near_dom[t]);
	cpuset_foreach (cpu, p->r->near) {
		int v = cpu <= p->tr->max_cpu ? p->tr->leaf_of[cpu] : -1, a, b;

		for (a = v; a >= 0 && p->x->mark[a] != p->x->gen; a = tn(p, a)->parent) {
			p->x->mark[a] = p->x->gen;
			for (int d = tn(p, a)->top; d <= tn(p, a)->bottom; d++) {
				int t = p->tr->tier[d];

				if (pick_dom(p, a, t) >= 0)
					cpuset_set(&p->x->near_dom[t],
						   (unsigned int)pick_dom(p, a, t));
			}
		}
		if (v < 0)
			continue;
		if (lca < 0) {
			lca = v;
			continue;
		}
		for (a = lca, b = v; a != b;) {
			if (tn(p, a)->bottom >= tn(p, b)->bottom)
				a = tn(p, a)->parent;
			else
				b = tn(p, b)->parent;
		}
		lca = a;
	}
	return lca < 0 ? 0 : lca;
}

static int pick_grow(struct pick *p, unsigned int m)
{
	int v = mark_near(p);

	while (tn(p, v)->parent >= 0 && units(p, v) < m)
		v = tn(p, v)->parent;
	pick_path_record(p, 0, v, ALLOC_STEP_NEAR, 1);
	return place_in(p, v, m);
}

static void pick_other(struct pick *p)
{
	const struct alloc_pick_req *r = p->r;

	p->other = *r->avail;
	if (r->near)
		aw_or(&p->other, &p->other, r->near, p->s->nw);
	if (r->owned_elsewhere)
		aw_or(&p->other, &p->other, r->owned_elsewhere, p->s->nw);
}

int alloc_pick(struct alloc_state *s, const struct alloc_pick_req *r, struct alloc_pick_out *out)
{
	struct pick p = {.s = s, .tr = &s->tree, .x = s->scratch, .r = r, .out = out};
	const struct alloc_counts *k;
	int rc;

	memset(out, 0, sizeof(*out));
	if (r->n == 0)
		return 0;
	k = alloc_tree_counts(&s->tree, r->avail, s->nw);
	if (!k)
		return -ENOMEM;
	p.free = k->free;
	p.units = r->hide_ht ? k->whole : k->free;
	if (units(&p, 0) < r->n)
		return -ENOSPC;
	pick_other(&p);
	rc = r->near && !aw_is_empty(r->near, s->nw) ? pick_grow(&p, r->n) : pick_fresh(&p, r->n);
	if (rc < 0)
		return rc;
	if (aw_count(&out->visible, s->nw) != r->n)
		return -ENOSPC; /* cannot happen: the subtree was checked to hold r->n */
	return 0;
}

/* ---- shrink, counts, reserve ---------------------------------------------------------- */

void alloc_shrink(struct alloc_state *s, struct cpuset *visible, struct cpuset *owned,
		  unsigned int n, bool hide_ht)
{
	struct alloc_pick_req r = {.avail = hide_ht ? owned : visible, .n = n, .hide_ht = hide_ht};
	struct alloc_pick_out out;
	struct cpuset pool = *r.avail;

	r.avail = &pool;
	r.owned_elsewhere = &s->excl_used;
	if (aw_count(visible, s->nw) <= n || alloc_pick(s, &r, &out) < 0)
		return;
	*visible = out.visible;
	*owned = out.owned;
}

unsigned int alloc_free_cores(struct alloc_state *s, const struct cpuset *cand)
{
	const struct alloc_tree *tr = &s->tree;
	unsigned int n = 0;

	for (int k = 0; k < tr->n_cores; k++) {
		int v = tr->cores[k];
		bool whole = true;

		for (int i = tr->tn[v].cpu_lo; i < tr->tn[v].cpu_hi && whole; i++)
			whole = cpuset_test(cand, (unsigned int)tr->cpus[i]);
		n += whole;
	}
	return n;
}

bool alloc_cores_of(const struct alloc_state *s, const struct cpuset *visible, struct cpuset *ret)
{
	int cpu;

	cpuset_zero(ret);
	cpuset_foreach (cpu, visible) {
		const struct topo_cpu *c = topology_cpu(s->topo, cpu);

		if (!c || c->core < 0)
			return false;
		if (cpuset_intersects(ret, &s->topo->cores[c->core].cpus))
			return false;
		cpuset_or(ret, ret, &s->topo->cores[c->core].cpus);
	}
	return true;
}
