/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The yardsticks of bench/placement_quality.c, in a header of its own (static
 * functions, one includer) to keep each file short: the levels an allocation is judged
 * at, the least it could span at one level alone, and the exact search for the least at
 * each level once every coarser level is at its least. None of it shares code with
 * the policy it judges.
 */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/topology.h"

#define BIG 1000000000

enum level { L_KIND, L_PKGSET, L_NODE, L_PACKAGE, L_L3, L_L2C, L_CORE, L_COUNT };
#define L_SPLIT L_COUNT /* the column after the levels */
#define N_COLS	(L_COUNT + 1)

static const char *const col_names[N_COLS] = {"kind", "pkgset", "node",	 "package",
					      "L3",   "L2/cl",	"cores", "split"};

/*
 * The package set of each node: packages joined by the nodes they share. An SNC or
 * EPYC package and its nodes are one set (a request too big for a node stays in the
 * socket before it crosses one); a node holding four sockets is one set.
 */
static const struct topology *g_sets_of;
static int g_set[CPUSET_MAX];

static int set_find(int i)
{
	while (g_set[i] != i)
		i = g_set[i] = g_set[g_set[i]];
	return i;
}

static void pkgsets(const struct topology *t)
{
	int first_node[CPUSET_MAX], cpu;

	if (g_sets_of == t)
		return;
	g_sets_of = t;
	for (int i = 0; i < t->n_nodes; i++)
		g_set[i] = i;
	for (int i = 0; i < t->n_packages; i++)
		first_node[i] = -1;
	cpuset_foreach (cpu, &t->online) {
		const struct topo_cpu *c = topology_cpu(t, cpu);
		int a, b;

		if (first_node[c->package] < 0)
			first_node[c->package] = c->node;
		a = set_find(first_node[c->package]);
		b = set_find(c->node);
		if (a != b)
			g_set[a > b ? a : b] = a < b ? a : b;
	}
}

/* A level's domain of each online CPU, as a small integer. */
static int key_of(const struct topology *t, enum level lv, int cpu)
{
	const struct topo_cpu *c = topology_cpu(t, cpu);

	switch (lv) {
	case L_KIND:
		return c->kind;
	case L_PKGSET:
		pkgsets(t);
		return set_find(c->node);
	case L_NODE:
		return c->node;
	case L_PACKAGE:
		return c->package;
	case L_L3:
		return c->l3;
	case L_L2C:
		/* the cluster where it holds the L2 (Kunpeng, E-core clusters), else the L2;
		 * neither when smaller than the core (opteron: an L2 per thread) */
		if (c->cluster >= 0 &&
		    cpuset_is_subset(&t->l2s[c->l2].cpus, &t->clusters[c->cluster].cpus) &&
		    cpuset_is_subset(&t->cores[c->core].cpus, &t->clusters[c->cluster].cpus))
			return t->n_l2s + c->cluster;
		if (cpuset_is_subset(&t->cores[c->core].cpus, &t->l2s[c->l2].cpus))
			return c->l2;
		return t->n_l2s + t->n_clusters + c->core;
	default:
		return c->core;
	}
}

static int n_keys(const struct topology *t, enum level lv)
{
	switch (lv) {
	case L_KIND:
		return 3;
	case L_PKGSET:
	case L_NODE:
		return t->n_nodes;
	case L_PACKAGE:
		return t->n_packages;
	case L_L3:
		return t->n_l3s;
	case L_L2C:
		return t->n_l2s + t->n_clusters + t->n_cores;
	default:
		return t->n_cores;
	}
}

/* ---- one allocation's question -------------------------------------------------------- */

/* What was asked: n units (CPUs, or whole cores when hiding) out of avail, keeping kept. */
struct ask {
	const struct topology *t;
	struct cpuset avail; /* where the new units may come from */
	struct cpuset kept;  /* CPUs it keeps (grow), empty for a create or shrink */
	unsigned int n;	     /* units wanted in total, kept included */
	bool hide;
	bool create;
};

static bool core_whole_in(const struct topology *t, int core, const struct cpuset *set)
{
	return cpuset_is_subset(&t->cores[core].cpus, set);
}

/* Units of CPU set s per key of level lv into u[] (whole cores only when hiding). */
static void units_per_key(const struct ask *a, enum level lv, const struct cpuset *s,
			  unsigned int *u)
{
	int cpu;

	memset(u, 0, sizeof(*u) * (size_t)n_keys(a->t, lv));
	cpuset_foreach (cpu, s) {
		const struct topo_cpu *c = topology_cpu(a->t, cpu);

		if (!a->hide)
			u[key_of(a->t, lv, cpu)]++;
		else if (cpu == cpuset_next(&a->t->cores[c->core].cpus, 0) &&
			 core_whole_in(a->t, c->core, s))
			u[key_of(a->t, lv, cpu)]++;
	}
}

static int cmp_desc(const void *x, const void *y)
{
	unsigned int a = *(const unsigned int *)x, b = *(const unsigned int *)y;

	return (a < b) - (a > b);
}

/* The least number of domains of lv an allocation answering a spans (one level alone). */
static unsigned int least(const struct ask *a, enum level lv)
{
	int nk = n_keys(a->t, lv), k = 0;
	unsigned int *u = calloc((size_t)nk + 1, sizeof(*u)),
		     *rest = calloc((size_t)nk + 1, sizeof(*rest));
	unsigned int have = 0, spans = 0, kept_units;
	bool *touched = calloc((size_t)nk + 1, sizeof(*touched));
	int cpu;

	cpuset_foreach (cpu, &a->kept) {
		touched[key_of(a->t, lv, cpu)] = true;
	}
	kept_units = a->hide ? 0 : cpuset_count(&a->kept);
	if (a->hide) /* kept whole cores */
		for (int c = 0; c < a->t->n_cores; c++)
			kept_units += core_whole_in(a->t, c, &a->kept);
	units_per_key(a, lv, &a->avail, u);
	have = kept_units;
	for (int i = 0; i < nk; i++) {
		if (touched[i]) {
			spans++;
			have += u[i];
		} else if (u[i]) {
			rest[k++] = u[i];
		}
	}
	qsort(rest, (size_t)k, sizeof(*rest), cmp_desc);
	for (int i = 0; i < k && have < a->n; i++) {
		have += rest[i];
		spans++;
	}
	free(u);
	free(rest);
	free(touched);
	return spans;
}

/* Fewest split cores of a create: 0 if whole free cores add up to n exactly. */
static unsigned int least_split(const struct ask *a)
{
	unsigned int whole = 0, *frag = calloc((size_t)a->t->n_cores + 1, sizeof(*frag));
	unsigned char reach[CPUSET_MAX + 1] = {1};
	int nf = 0;
	unsigned int k = 0;

	for (int c = 0; c < a->t->n_cores; c++) {
		struct cpuset x;
		unsigned int f, size = cpuset_count(&a->t->cores[c].cpus);

		cpuset_and(&x, &a->t->cores[c].cpus, &a->avail);
		f = cpuset_count(&x);
		if (f == size) {
			whole += f;
			for (int v = CPUSET_MAX; v >= (int)size; v--)
				reach[v] |= reach[v - (int)size];
		} else if (f) {
			frag[nf++] = f;
		}
	}
	if (a->n <= CPUSET_MAX && reach[a->n]) {
		free(frag);
		return 0;
	}
	if (whole >= a->n) {
		free(frag);
		return 1;
	}
	qsort(frag, (size_t)nf, sizeof(*frag), cmp_desc);
	for (unsigned int have = whole; have < a->n && (int)k < nf; k++)
		have += frag[k];
	free(frag);
	return k;
}

/* ---- the ordered least: an exact search over a trie of the levels --------------------- */

#define V_N N_COLS

struct vec {
	int v[V_N];
};

/* The level compared first (forced_by), -1 for the plain order. */
static int g_first = -1;

static bool vec_less(const struct vec *a, const struct vec *b)
{
	if (a->v[0] >= BIG || b->v[0] >= BIG) /* nothing (v[0] = BIG) is the most */
		return b->v[0] >= BIG && a->v[0] < BIG;
	if (g_first >= 0 && a->v[g_first] != b->v[g_first])
		return a->v[g_first] < b->v[g_first];
	for (int i = 0; i < V_N; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i];
	return false;
}

/* The CPUs of a trie node: those whose keys match down to its level. */
struct tnode {
	int lo, hi; /* in the sorted CPU array */
	int depth;  /* in search.order; L_COUNT - 1 = a core */
};

struct search {
	const struct ask *a;
	int order[L_COUNT]; /* the levels from the root down, nested where they nest */
	int *cpus;	    /* the CPUs of interest sorted by their keys */
	int n_cpus;
	int keys[CPUSET_MAX][L_COUNT]; /* by depth */
};

/* Every domain of level inner lies in one domain of level outer. */
static bool nests(const struct topology *t, enum level inner, enum level outer)
{
	int nk = n_keys(t, inner), *seen = malloc(((size_t)nk + 1) * sizeof(int)), cpu;
	bool ok = true;

	for (int i = 0; i < nk; i++)
		seen[i] = -1;
	cpuset_foreach (cpu, &t->online) {
		int ik = key_of(t, inner, cpu), ok_key = key_of(t, outer, cpu);

		if (seen[ik] < 0)
			seen[ik] = ok_key;
		else if (seen[ik] != ok_key)
			ok = false;
	}
	free(seen);
	return ok;
}

/*
 * The search's tree must nest for its counts to be counts of domains: an SNC L3 holds
 * two nodes (node below L3), an EPYC node holds two L3s (L3 below node), an old
 * 16-socket node holds four packages. The kind comes first (an allocation of one kind
 * is searched on that kind's CPUs; a mixed one without the kind, see ordered_least).
 * The order of the costs stays the columns' order: the sums add up the same.
 */
static void level_order(const struct topology *t, int *order)
{
	bool used[L_COUNT] = {[L_KIND] = true};

	order[0] = L_KIND;
	for (int d = 1; d < L_COUNT; d++) {
		int best = -1;

		for (int x = 0; x < L_COUNT && best < 0; x++) {
			bool holds = !used[x];

			for (int y = 0; y < L_COUNT && holds; y++)
				holds = used[y] || y == x || nests(t, (enum level)y, (enum level)x);
			if (holds)
				best = x;
		}
		for (int x = 0; best < 0 && x < L_COUNT; x++) /* not laminar: coarsest first */
			if (!used[x] && (best < 0 || n_keys(t, (enum level)x) < n_keys(t, best)))
				best = x;
		used[best] = true;
		order[d] = best;
	}
}

static struct search *g_sort;

static int cmp_keys(const void *x, const void *y)
{
	const int *a = g_sort->keys[*(const int *)x], *b = g_sort->keys[*(const int *)y];

	for (int i = 0; i < L_COUNT; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return (*(const int *)x > *(const int *)y) - (*(const int *)x < *(const int *)y);
}

static unsigned int node_units(const struct search *s, const struct tnode *n)
{
	unsigned int u = 0;

	for (int i = n->lo; i < n->hi; i++) {
		int cpu = s->cpus[i], core = topology_cpu(s->a->t, cpu)->core;

		if (!cpuset_test(&s->a->avail, (unsigned int)cpu))
			continue;
		if (!s->a->hide)
			u++;
		else if (cpu == cpuset_next(&s->a->t->cores[core].cpus, 0) &&
			 core_whole_in(s->a->t, core, &s->a->avail))
			u++;
	}
	return u;
}

/* The domain of n at its level already holds a kept CPU (of any kind). */
static bool node_touched(const struct search *s, const struct tnode *n)
{
	int key = s->keys[s->cpus[n->lo]][n->depth], cpu;

	cpuset_foreach (cpu, &s->a->kept) {
		if (s->keys[cpu][n->depth] == key)
			return true;
	}
	return false;
}

/* Children of n: runs of equal keys one level down. Returns how many. */
static int children(const struct search *s, const struct tnode *n, struct tnode *out)
{
	int k = 0, d = n->depth + 1;

	for (int i = n->lo; i < n->hi; i++) {
		if (i == n->lo || s->keys[s->cpus[i]][d] != s->keys[s->cpus[i - 1]][d])
			out[k++] = (struct tnode){.lo = i, .hi = i + 1, .depth = d};
		else
			out[k - 1].hi = i + 1;
	}
	return k;
}

/* A core (level L_CORE): taking a units costs a split if the core is not then whole. */
static void solve_core(const struct search *s, const struct tnode *n, int m, struct vec *g)
{
	int size = n->hi - n->lo, kept = 0;

	for (int i = n->lo; i < n->hi; i++)
		kept += cpuset_test(&s->a->kept, (unsigned int)s->cpus[i]);
	for (int a = 1; a <= m; a++) {
		memset(&g[a], 0, sizeof(g[a]));
		if (!s->a->hide && s->a->create && a + kept < size)
			g[a].v[L_SPLIT] = 1;
	}
}

/* g[0..m]: the least cost (per level, then split) of taking each amount from n. */
static void solve(const struct search *s, const struct tnode *n, int m, struct vec *g)
{
	struct tnode *ch;
	int nc;

	memset(&g[0], 0, sizeof(g[0]));
	if (n->depth == L_COUNT - 1) {
		solve_core(s, n, m, g);
		return;
	}
	for (int a = 1; a <= m; a++)
		g[a].v[0] = BIG;
	ch = calloc((size_t)(n->hi - n->lo) + 1, sizeof(*ch));
	nc = children(s, n, ch);
	for (int c = 0; c < nc; c++) {
		int u = (int)node_units(s, &ch[c]), mc = u < m ? u : m;
		struct vec *gc = calloc((size_t)mc + 1, sizeof(*gc));

		if (mc == 0) {
			free(gc);
			continue;
		}
		solve(s, &ch[c], mc, gc);
		if (!node_touched(s, &ch[c]))
			for (int b = 1; b <= mc; b++)
				gc[b].v[s->order[ch[c].depth]]++;
		for (int a = m; a >= 1; a--) {
			for (int b = 1; b <= mc && b <= a; b++) {
				struct vec x;

				if (g[a - b].v[0] >= BIG)
					continue;
				for (int i = 0; i < V_N; i++)
					x.v[i] = g[a - b].v[i] + gc[b].v[i];
				if (vec_less(&x, &g[a]))
					g[a] = x;
			}
		}
		free(gc);
	}
	free(ch);
}

/*
 * The ordered least per level (and split) for a; false if nothing fits. mixed: the
 * allocation spans both core kinds; the search then leaves the kind out (both kinds are
 * needed, and a tree split by kind first would count an L3 once per kind).
 */
static bool ordered_least(const struct ask *a, bool mixed, struct vec *ret)
{
	struct search *s = calloc(1, sizeof(*s));
	struct cpuset all;
	struct vec *g;
	unsigned int kept_units = 0;
	int need, cpu;

	if (!s)
		return false;
	s->a = a;
	s->cpus = calloc(CPUSET_MAX, sizeof(int));
	/* every CPU of the cores in play, so that a core's size is known */
	cpuset_or(&all, &a->avail, &a->kept);
	cpuset_foreach (cpu, &all) {
		cpuset_or(&all, &all, &a->t->cores[topology_cpu(a->t, cpu)->core].cpus);
	}
	level_order(a->t, s->order);
	cpuset_foreach (cpu, &all) {
		for (int d = 0; d < L_COUNT; d++)
			s->keys[cpu][d] = key_of(a->t, (enum level)s->order[d], cpu);
		if (mixed)
			s->keys[cpu][0] = 0; /* the kind */
		s->cpus[s->n_cpus++] = cpu;
	}
	g_sort = s;
	qsort(s->cpus, (size_t)s->n_cpus, sizeof(int), cmp_keys);
	if (a->hide)
		for (int c = 0; c < a->t->n_cores; c++)
			kept_units += core_whole_in(a->t, c, &a->kept);
	else
		kept_units = cpuset_count(&a->kept);
	need = (int)a->n - (int)kept_units;
	g = calloc((size_t)need + 2, sizeof(*g));
	/* a virtual root above the kinds: level -1 */
	solve(s, &(struct tnode){.lo = 0, .hi = s->n_cpus, .depth = -1}, need, g);
	*ret = g[need];
	/* the kept CPUs' domains count too */
	for (int lv = 0; lv < L_COUNT; lv++) {
		int nk = n_keys(a->t, (enum level)lv);
		bool *seen = calloc((size_t)nk + 1, sizeof(bool));

		cpuset_foreach (cpu, &a->kept) {
			int k = key_of(a->t, (enum level)lv, cpu);

			ret->v[lv] += !seen[k];
			seen[k] = true;
		}
		free(seen);
	}
	free(g);
	free(s->cpus);
	free(s);
	return ret->v[0] < BIG;
}

/*
 * Why an allocation spans more than the least at level lv although nothing could do
 * better in the order: the first coarser level that the least at lv would cost more of
 * (searched with lv first). -1 if none shows.
 */
static int forced_by(const struct ask *a, bool mixed, int lv, const struct vec *ord)
{
	struct vec first;
	bool ok;

	g_first = lv;
	ok = ordered_least(a, mixed, &first);
	g_first = -1;
	for (int c = 0; ok && c < lv; c++)
		if (first.v[c] > ord->v[c])
			return c;
	return -1;
}
