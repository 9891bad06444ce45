/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The exact search inside the chosen subtree: for each subtree and each amount a, the
 * cheapest way to take a units from it (struct alloc_cost: subtrees per tier first,
 * then split and shared cores, then best fit), by a knapsack over the children,
 * bottom-up. The chosen subtree is already the tightest that fits, so the search runs
 * on a small part of the machine, for small amounts (ALLOC_DP_MAX): a few thousand
 * cost additions in the common case.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_pick_priv.h"

static const struct alloc_cost cost_inf = {{UINT64_MAX, 0, 0, 0}};

static bool cost_is_inf(const struct alloc_cost *c)
{
	return c->w[0] == UINT64_MAX;
}

static void cost_put(struct alloc_cost *c, int comp, unsigned int x)
{
	if (x > 0xffff)
		x = 0xffff;
	c->w[comp / 4] += (uint64_t)x << (16 * (3 - comp % 4));
}

static bool cost_less(const struct alloc_cost *a, const struct alloc_cost *b)
{
	for (int i = 0; i < 4; i++)
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i];
	return false;
}

/* a + b; components stay below 2^16 (counts of CPUs), so words add without carries. */
static void cost_sum(struct alloc_cost *dst, const struct alloc_cost *a, const struct alloc_cost *b)
{
	for (int i = 0; i < 4; i++)
		dst->w[i] = a->w[i] + b->w[i];
}

static unsigned int units_of(const struct pick *p, int v)
{
	return p->units[v];
}

static struct alloc_cost *cost_push(struct pick *p, size_t n)
{
	struct alloc_cost *c = &p->x->cost[p->x->cost_top];

	p->x->cost_top += n;
	return c;
}

static int choice_rows(struct pick *p, int v, unsigned int m)
{
	struct alloc_scratch *x = p->x;
	size_t need = (size_t)p->tr->tn[v].n_child * (m + 1);

	if (x->choice_top + need > x->choice_cap) {
		size_t cap = (x->choice_top + need) * 2;
		uint16_t *c = realloc(x->choice, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		x->choice = c;
		x->choice_cap = cap;
	}
	x->choice_off[v] = (int)x->choice_top;
	x->choice_top += need;
	return 0;
}

/* Taking a units of core v: split, shared with another pool, threads left free. */
static void core_costs(const struct pick *p, int v, unsigned int m, struct alloc_cost *g)
{
	const struct alloc_tnode *core = &p->tr->tn[v];
	unsigned int near = pick_near_in(p, v);
	bool foreign = !p->r->hide_ht && pick_core_foreign(p, v);

	for (unsigned int a = 1; a <= m; a++) {
		memset(&g[a], 0, sizeof(g[a]));
		if (p->r->hide_ht)
			continue;
		if (a + near < core->size)
			cost_put(&g[a], ALLOC_COST_SPLIT, 1);
		if (foreign)
			cost_put(&g[a], ALLOC_COST_FOREIGN, 1);
		cost_put(&g[a], ALLOC_COST_LEFTOVER, p->free[v] - a);
	}
}

static int solve(struct pick *p, int v, unsigned int m, struct alloc_cost *g);

/* Fold child c into h (amounts 0..m of the children so far): a 0/1 knapsack step. */
static int fold_child(struct pick *p, int v, int row, unsigned int m, struct alloc_cost *h)
{
	int c = p->tr->tn[v].child + row;
	unsigned int mc = units_of(p, c) < m ? units_of(p, c) : m;
	size_t mark = p->x->cost_top;
	struct alloc_cost *gc = cost_push(p, mc + 1), unit;
	uint16_t *choice;
	int r;

	r = solve(p, c, mc, gc);
	if (r < 0)
		return r;
	choice = &p->x->choice[p->x->choice_off[v] + row * (int)(m + 1)];
	memset(&unit, 0, sizeof(unit));
	for (int d = p->tr->tn[c].top; d <= p->tr->tn[c].bottom; d++)
		if (!pick_tier_touched(p, c, p->tr->tier[d]))
			cost_put(&unit, p->tr->tier[d], 1);
	for (unsigned int a = m; a >= 1; a--) {
		unsigned int bc = 0;

		for (unsigned int b = 1; b <= mc && b <= a; b++) {
			struct alloc_cost cand;

			if (cost_is_inf(&h[a - b]))
				continue;
			cost_sum(&cand, &h[a - b], &gc[b]);
			cost_sum(&cand, &cand, &unit);
			if (v == p->top)
				cost_put(&cand, ALLOC_COST_WASTE, units_of(p, c) - b);
			if (cost_less(&cand, &h[a])) {
				h[a] = cand;
				bc = b;
			}
		}
		choice[a] = (uint16_t)bc;
	}
	p->x->cost_top = mark;
	return 0;
}

/* g[0..m]: the cheapest way to take each amount from subtree v (m <= its units). */
static int solve(struct pick *p, int v, unsigned int m, struct alloc_cost *g)
{
	const struct alloc_tnode *n = &p->tr->tn[v];
	int r;

	memset(&g[0], 0, sizeof(g[0]));
	if (n->n_child == 0) {
		core_costs(p, v, m, g);
		return 0;
	}
	for (unsigned int a = 1; a <= m; a++)
		g[a] = cost_inf;
	r = choice_rows(p, v, m);
	for (int row = 0; r >= 0 && row < n->n_child; row++)
		if (units_of(p, n->child + row) > 0)
			r = fold_child(p, v, row, m, g);
	p->x->choice_off[v] = r < 0 ? -1 : p->x->choice_off[v];
	return r;
}

/* Walk the choices back: the last child's share first. m is the row width of v. */
static void take(struct pick *p, int v, unsigned int a, unsigned int m)
{
	const struct alloc_tnode *n = &p->tr->tn[v];

	if (a == 0)
		return;
	if (n->n_child == 0) {
		pick_take_core(p, v, a);
		return;
	}
	for (int row = n->n_child - 1; row >= 0 && a > 0; row--) {
		int c = n->child + row;
		unsigned int b, mc;

		if (units_of(p, c) == 0)
			continue;
		b = p->x->choice[p->x->choice_off[v] + row * (int)(m + 1) + (int)a];
		mc = units_of(p, c) < m ? units_of(p, c) : m;
		take(p, c, b, mc);
		a -= b;
	}
}

int pick_dp_cost(struct pick *p, int v, unsigned int a, struct alloc_cost *ret)
{
	struct alloc_cost *g;
	int r;

	p->x->cost_top = 0;
	p->x->choice_top = 0;
	p->top = v;
	g = cost_push(p, a + 1);
	r = solve(p, v, a, g);
	if (r < 0)
		return r;
	*ret = g[a];
	return cost_is_inf(&g[a]) ? -ENOSPC : 0;
}

bool pick_cost_less(const struct alloc_cost *a, const struct alloc_cost *b)
{
	return cost_less(a, b);
}

void pick_cost_put(struct alloc_cost *c, int comp, unsigned int x)
{
	cost_put(c, comp, x);
}

int pick_dp(struct pick *p, int v, unsigned int a)
{
	struct alloc_cost *g;
	int r;

	p->x->cost_top = 0;
	p->x->choice_top = 0;
	p->top = v;
	g = cost_push(p, a + 1);
	r = solve(p, v, a, g);
	if (r < 0)
		return r;
	if (cost_is_inf(&g[a]))
		return -ENOSPC; /* cannot happen: a <= the subtree's units */
	take(p, v, a, a);
	return 0;
}
