/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The placement tree: one level per tier (enum alloc_tier), built once per topology.
 *
 * Each online CPU has a path of domain indexes, one per tier; sorting the CPUs by
 * their paths makes every subtree a contiguous run of CPUs, and every level a list of
 * runs. The levels are the tiers in the order they nest on this machine: a node holds
 * four packages on an old 16-socket x86, an SNC L3 holds two nodes, an EPYC node two
 * L3s. Where two tiers do not nest either way, a subtree is its tier's domain
 * intersected with its parent, so the levels still nest in the tree.
 *
 * Counts (free CPUs, wholly free cores) per subtree are kept for the last few avail
 * sets the picker was asked about and updated by the difference: consecutive picks
 * differ by the CPUs the last allocation took, so an update costs a few path walks.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_priv.h"

/* Above this many changed CPUs a slot is rebuilt rather than patched. */
#define COUNTS_PATCH_MAX 64

struct path_cpu {
	int cpu;
	int key[ALLOC_TIER_COUNT];
};

const char *alloc_tier_name(int tier)
{
	static const char *const names[ALLOC_TIER_COUNT] = {
		"machine", "core kind", "package group", "die group", "node", "package",
		"die",	   "L3",	"cluster",	 "L2",	      "core",
	};

	if (tier < 0 || tier >= ALLOC_TIER_COUNT)
		return "none";
	return names[tier];
}

static int uf_find(int *up, int i)
{
	while (up[i] != i) {
		up[i] = up[up[i]];
		i = up[i];
	}
	return i;
}

static void uf_join(int *up, int a, int b)
{
	a = uf_find(up, a);
	b = uf_find(up, b);
	if (a != b)
		up[a > b ? a : b] = a < b ? a : b; /* the lowest node index names the group */
}

/*
 * Nodes that share a package (die) form one group: an SNC package holds two nodes, and
 * a request too big for one node should stay in the package before it crosses one.
 */
static int node_groups(const struct topology *t, bool by_die, int *ret)
{
	int n_dom = by_die ? t->n_dies : t->n_packages;
	int *first = malloc(((size_t)n_dom + 1) * sizeof(*first));
	int c;

	if (!first)
		return -ENOMEM;
	for (int i = 0; i < n_dom; i++)
		first[i] = -1;
	for (int i = 0; i < t->n_nodes; i++)
		ret[i] = i;
	cpuset_foreach (c, &t->online) {
		const struct topo_cpu *cpu = &t->cpu_by_id[c];
		int d = by_die ? cpu->die : cpu->package;

		if (first[d] < 0)
			first[d] = cpu->node;
		uf_join(ret, first[d], cpu->node);
	}
	for (int i = 0; i < t->n_nodes; i++)
		ret[i] = uf_find(ret, i);
	free(first);
	return 0;
}

static int kind_key(const struct topology *t, enum topo_cpu_kind k, bool kinds)
{
	if (!t->hybrid || !kinds)
		return 0;
	return k == TOPO_CPU_KIND_PERFORMANCE ? 0 : k == TOPO_CPU_KIND_EFFICIENT ? 1 : 2;
}

#define STAND_IN (INT_MIN + 1)

/*
 * A cache or cluster that does not hold the CPU's whole core (opteron: an L2 per
 * thread of a module), or none at all, is the core itself at that tier: cores are never
 * split across subtrees. Negative keys name such stand-ins (never a domain index).
 */
static int around_core(const struct topology *t, const struct topo_domain *d, int i,
		       const struct topo_cpu *cpu)
{
	if (i < 0 || !cpuset_is_subset(&t->cores[cpu->core].cpus, &d[i].cpus))
		return STAND_IN + cpu->core; /* sorts like the cores */
	return i;
}

static void path_of(const struct topology *t, int c, const int *pkg_grp, const int *die_grp,
		    bool kinds, struct path_cpu *p)
{
	const struct topo_cpu *cpu = &t->cpu_by_id[c];

	p->cpu = c;
	p->key[ALLOC_TIER_MACHINE] = 0;
	p->key[ALLOC_TIER_KIND] = kind_key(t, cpu->kind, kinds);
	p->key[ALLOC_TIER_PKG_GROUP] = pkg_grp[cpu->node];
	p->key[ALLOC_TIER_DIE_GROUP] = die_grp[cpu->node];
	p->key[ALLOC_TIER_NODE] = cpu->node;
	p->key[ALLOC_TIER_PACKAGE] = cpu->package;
	p->key[ALLOC_TIER_DIE] = cpu->die;
	p->key[ALLOC_TIER_L3] = around_core(t, t->l3s, cpu->l3, cpu);
	p->key[ALLOC_TIER_CLUSTER] = around_core(t, t->clusters, cpu->cluster, cpu);
	p->key[ALLOC_TIER_L2] = around_core(t, t->l2s, cpu->l2, cpu);
	p->key[ALLOC_TIER_CORE] = cpu->core;
}

/* Key -> slot in a table of range slots: domain indexes, then the stand-ins. */
static int key_slot(int key, int pos)
{
	return key >= 0 ? key : pos + (key - STAND_IN);
}

/* Every domain of tier inner lies in one domain of tier outer. seen: range slots. */
static bool nests(const struct path_cpu *p, int n, int inner, int outer, int *seen, int range,
		  int pos)
{
	for (int i = 0; i < range; i++)
		seen[i] = INT_MIN;
	for (int i = 0; i < n; i++) {
		int *v = &seen[key_slot(p[i].key[inner], pos)];

		if (*v == INT_MIN)
			*v = p[i].key[outer];
		else if (*v != p[i].key[outer])
			return false;
	}
	return true;
}

/*
 * The levels: the machine and the core kind first, then the first tier (in enum order)
 * that holds every tier still to place, or the first tier left where none does.
 */
static int tree_levels(struct alloc_tree *tr, const struct path_cpu *p, int n)
{
	bool used[ALLOC_TIER_COUNT] = {[ALLOC_TIER_MACHINE] = true, [ALLOC_TIER_KIND] = true};
	int pos = 0, range, *seen;

	for (int i = 0; i < n; i++)
		for (int t = 0; t < ALLOC_TIER_COUNT; t++)
			pos = p[i].key[t] + 1 > pos ? p[i].key[t] + 1 : pos;
	range = pos + n + 1; /* stand-ins are STAND_IN + core, cores < n */
	seen = malloc((size_t)range * sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	tr->tier[0] = ALLOC_TIER_MACHINE;
	tr->tier[1] = ALLOC_TIER_KIND;
	for (int d = 2; d < ALLOC_TIER_COUNT; d++) {
		int pick = -1;

		for (int x = 0; x < ALLOC_TIER_COUNT && pick < 0; x++) {
			bool holds = !used[x];

			for (int y = 0; y < ALLOC_TIER_COUNT && holds; y++)
				holds = used[y] || y == x || nests(p, n, y, x, seen, range, pos);
			if (holds)
				pick = x;
		}
		for (int x = 0; pick < 0 && x < ALLOC_TIER_COUNT; x++)
			if (!used[x])
				pick = x;
		used[pick] = true;
		tr->tier[d] = (unsigned char)pick;
	}
	for (int d = 0; d < ALLOC_TIER_COUNT; d++)
		tr->level[tr->tier[d]] = (unsigned char)d;
	free(seen);
	return 0;
}

/* Keys by level instead of by tier: what the sort and the runs go by. */
static void keys_by_level(const struct alloc_tree *tr, struct path_cpu *p, int n)
{
	for (int i = 0; i < n; i++) {
		int k[ALLOC_TIER_COUNT];

		for (int d = 0; d < ALLOC_TIER_COUNT; d++)
			k[d] = p[i].key[tr->tier[d]];
		memcpy(p[i].key, k, sizeof(k));
	}
}

static int cmp_path(const void *a, const void *b)
{
	const struct path_cpu *x = a, *y = b;

	for (int i = 0; i < ALLOC_TIER_COUNT; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return (x->cpu > y->cpu) - (x->cpu < y->cpu);
}

static bool same_prefix(const struct path_cpu *a, const struct path_cpu *b, int tier)
{
	for (int i = 0; i <= tier; i++)
		if (a->key[i] != b->key[i])
			return false;
	return true;
}

/* The full tree, one node per level, before chains are merged. */
struct unode {
	int parent, child, n_child, lo, hi, dom;
	unsigned char depth;
};

/* Runs of equal prefixes, tier by tier: the full tree in breadth-first order. */
static int build_full(struct unode *u, const struct path_cpu *p, int n_cpus)
{
	int n = 0, prev_first = 0;

	for (int depth = 0; depth < ALLOC_TIER_COUNT; depth++) {
		int parent = prev_first, first = n;

		for (int i = 0; i < n_cpus; i++) {
			if (i > 0 && same_prefix(&p[i - 1], &p[i], depth)) {
				u[n - 1].hi = i + 1;
				continue;
			}
			u[n] = (struct unode){.parent = -1,
					      .child = -1,
					      .lo = i,
					      .hi = i + 1,
					      .dom = p[i].key[depth],
					      .depth = (unsigned char)depth};
			if (depth > 0) {
				while (u[parent].hi <= i)
					parent++;
				u[n].parent = parent;
				if (u[parent].child < 0)
					u[parent].child = n;
				u[parent].n_child++;
			}
			n++;
		}
		prev_first = first;
	}
	return n;
}

/* The last node of the chain of single children starting at v. */
static int chain_bottom(const struct unode *u, int v)
{
	while (u[v].n_child == 1)
		v = u[v].child;
	return v;
}

/*
 * Merge chains into one node each, numbered breadth first so that children stay
 * contiguous: the root chain first, then each node's children when it is dequeued.
 */
static void compress(struct alloc_tree *tr, const struct unode *u, int *queue)
{
	int head = 0, tail = 0;

	queue[tail++] = 0;
	tr->tn[0] = (struct alloc_tnode){.parent = -1};
	tr->n = 1;
	while (head < tail) {
		int v = queue[head], top = head++, bot = chain_bottom(u, v);
		struct alloc_tnode *n = &tr->tn[top];

		n->cpu_lo = u[v].lo;
		n->cpu_hi = u[v].hi;
		n->top = u[v].depth;
		n->bottom = u[bot].depth;
		for (int w = v;; w = u[w].child) {
			tr->dom[(size_t)top * ALLOC_TIER_COUNT + tr->tier[u[w].depth]] =
				u[w].dom < 0 ? -1 : u[w].dom;
			if (w == bot)
				break;
		}
		n->child = u[bot].n_child ? tr->n : -1;
		n->n_child = u[bot].n_child;
		for (int c = 0; c < u[bot].n_child; c++) {
			tr->tn[tr->n] = (struct alloc_tnode){.parent = top};
			queue[tail++] = u[bot].child + c;
			tr->n++;
		}
	}
}

static int tree_alloc(struct alloc_tree *tr, const struct topology *t, int n_cpus)
{
	size_t max_nodes = (size_t)n_cpus * ALLOC_TIER_COUNT + 1;

	tr->tn = calloc(max_nodes, sizeof(*tr->tn));
	tr->dom = malloc(max_nodes * ALLOC_TIER_COUNT * sizeof(*tr->dom));
	tr->cpus = calloc((size_t)n_cpus + 1, sizeof(*tr->cpus));
	tr->cores = calloc((size_t)n_cpus + 1, sizeof(*tr->cores));
	tr->leaf_of = calloc((size_t)t->max_cpu + 1, sizeof(*tr->leaf_of));
	if (!tr->tn || !tr->dom || !tr->cpus || !tr->cores || !tr->leaf_of)
		return -ENOMEM;
	memset(tr->dom, 0xff, max_nodes * ALLOC_TIER_COUNT * sizeof(*tr->dom)); /* -1 */
	return 0;
}

static int counts_alloc(struct alloc_tree *tr)
{
	for (int i = 0; i < ALLOC_COUNT_SLOTS; i++) {
		tr->slot[i].free = calloc((size_t)tr->n, sizeof(uint16_t));
		tr->slot[i].whole = calloc((size_t)tr->n, sizeof(uint16_t));
		if (!tr->slot[i].free || !tr->slot[i].whole)
			return -ENOMEM;
		tr->slot[i].valid = false;
	}
	return 0;
}

static void cores_index(struct alloc_tree *tr)
{
	tr->n_cores = 0;
	for (int i = 0; i < tr->n; i++) {
		struct alloc_tnode *v = &tr->tn[i];

		if (v->n_child)
			continue;
		v->size = (unsigned char)(v->cpu_hi - v->cpu_lo);
		for (int k = v->cpu_lo; k < v->cpu_hi; k++)
			tr->leaf_of[tr->cpus[k]] = i;
	}
	/* in tree order: by first CPU position */
	for (int k = 0; k < tr->tn[0].cpu_hi; k++) {
		int leaf = tr->leaf_of[tr->cpus[k]];

		if (tr->tn[leaf].cpu_lo == k)
			tr->cores[tr->n_cores++] = leaf;
	}
}

/* The arrays were sized for the full tree; give the rest back (optional). */
static void shrink(struct alloc_tree *tr)
{
	struct alloc_tnode *tn = realloc(tr->tn, (size_t)tr->n * sizeof(*tn));
	int *dom;

	if (tn)
		tr->tn = tn;
	dom = realloc(tr->dom, (size_t)tr->n * ALLOC_TIER_COUNT * sizeof(*dom));
	if (dom)
		tr->dom = dom;
}

static int tree_fill(struct alloc_tree *tr, const struct topology *t, struct path_cpu *p,
		     int n_cpus)
{
	struct unode *u = calloc((size_t)n_cpus * ALLOC_TIER_COUNT + 1, sizeof(*u));
	int *queue = calloc((size_t)n_cpus * ALLOC_TIER_COUNT + 1, sizeof(*queue));

	if (!u || !queue) {
		free(u);
		free(queue);
		return -ENOMEM;
	}
	if (tree_levels(tr, p, n_cpus) < 0) {
		free(u);
		free(queue);
		return -ENOMEM;
	}
	keys_by_level(tr, p, n_cpus);
	qsort(p, (size_t)n_cpus, sizeof(*p), cmp_path);
	build_full(u, p, n_cpus);
	compress(tr, u, queue);
	free(u);
	free(queue);
	shrink(tr);
	tr->max_cpu = t->max_cpu;
	for (int i = 0; i <= t->max_cpu; i++)
		tr->leaf_of[i] = -1;
	for (int i = 0; i < n_cpus; i++)
		tr->cpus[i] = p[i].cpu;
	cores_index(tr);
	return counts_alloc(tr);
}

int alloc_tree_build(struct alloc_tree *tr, const struct topology *t, bool kinds)
{
	int n_cpus = (int)cpuset_count(&t->online), i = 0, c, r;
	struct path_cpu *p = calloc((size_t)n_cpus + 1, sizeof(*p));
	int *pkg_grp = calloc((size_t)t->n_nodes + 1, sizeof(int));
	int *die_grp = calloc((size_t)t->n_nodes + 1, sizeof(int));

	memset(tr, 0, sizeof(*tr));
	r = !p || !pkg_grp || !die_grp ? -ENOMEM : tree_alloc(tr, t, n_cpus);
	if (r >= 0)
		r = node_groups(t, false, pkg_grp);
	if (r >= 0)
		r = node_groups(t, true, die_grp);
	if (r >= 0) {
		cpuset_foreach (c, &t->online) {
			path_of(t, c, pkg_grp, die_grp, kinds, &p[i++]);
		}
		r = tree_fill(tr, t, p, n_cpus);
	}
	free(p);
	free(pkg_grp);
	free(die_grp);
	if (r < 0)
		alloc_tree_done(tr);
	return r;
}

void alloc_tree_done(struct alloc_tree *tr)
{
	free(tr->tn);
	free(tr->dom);
	free(tr->cores);
	free(tr->cpus);
	free(tr->leaf_of);
	for (int i = 0; i < ALLOC_COUNT_SLOTS; i++) {
		free(tr->slot[i].free);
		free(tr->slot[i].whole);
	}
	memset(tr, 0, sizeof(*tr));
}

/* ---- counts ------------------------------------------------------------------------ */

static void path_add(const struct alloc_tree *tr, uint16_t *cnt, int v, int delta)
{
	for (; v >= 0; v = tr->tn[v].parent)
		cnt[v] = (uint16_t)(cnt[v] + delta);
}

/* One CPU comes (delta 1) or goes (-1): free counts, and whole counts when its core
 * becomes, or stops being, wholly free. */
static void counts_cpu(const struct alloc_tree *tr, struct alloc_counts *k, int cpu, int delta)
{
	int leaf = tr->leaf_of[cpu];
	bool was_whole = k->free[leaf] == tr->tn[leaf].size;

	path_add(tr, k->free, leaf, delta);
	if (was_whole != (k->free[leaf] == tr->tn[leaf].size))
		path_add(tr, k->whole, leaf, delta);
}

static bool cpu_known(const struct alloc_tree *tr, int cpu)
{
	return cpu <= tr->max_cpu && tr->leaf_of[cpu] >= 0;
}

static void counts_rebuild(const struct alloc_tree *tr, struct alloc_counts *k,
			   const struct cpuset *avail, unsigned int nw)
{
	int cpu;

	memset(k->free, 0, (size_t)tr->n * sizeof(uint16_t));
	memset(k->whole, 0, (size_t)tr->n * sizeof(uint16_t));
	for (unsigned int w = 0; w < nw; w++) {
		for (uint64_t bits = avail->bits[w]; bits; bits &= bits - 1) {
			cpu = (int)(w * 64 + (unsigned int)__builtin_ctzll(bits));
			if (cpu_known(tr, cpu))
				path_add(tr, k->free, tr->leaf_of[cpu], 1);
		}
	}
	for (int i = 0; i < tr->n_cores; i++)
		if (k->free[tr->cores[i]] == tr->tn[tr->cores[i]].size)
			path_add(tr, k->whole, tr->cores[i], 1);
	k->avail = *avail;
	k->valid = true;
}

static unsigned int diff_count(const struct cpuset *a, const struct cpuset *b, unsigned int nw)
{
	unsigned int n = 0;

	for (unsigned int w = 0; w < nw; w++)
		n += aw_popcount(a->bits[w] ^ b->bits[w]);
	return n;
}

static void counts_patch(const struct alloc_tree *tr, struct alloc_counts *k,
			 const struct cpuset *avail, unsigned int nw)
{
	for (unsigned int w = 0; w < nw; w++) {
		uint64_t diff = avail->bits[w] ^ k->avail.bits[w];

		for (; diff; diff &= diff - 1) {
			int bit = __builtin_ctzll(diff), cpu = (int)(w * 64) + bit;

			if (cpu_known(tr, cpu))
				counts_cpu(tr, k, cpu, (avail->bits[w] >> bit) & 1 ? 1 : -1);
		}
		k->avail.bits[w] = avail->bits[w];
	}
}

const struct alloc_counts *alloc_tree_counts(struct alloc_tree *tr, const struct cpuset *avail,
					     unsigned int nw)
{
	struct alloc_counts *best = NULL, *lru = &tr->slot[0];
	unsigned int best_diff = COUNTS_PATCH_MAX + 1;

	if (!tr->slot[0].free)
		return NULL;
	for (int i = 0; i < ALLOC_COUNT_SLOTS; i++) {
		struct alloc_counts *k = &tr->slot[i];
		unsigned int d;

		if (k->used < lru->used)
			lru = k;
		if (!k->valid)
			continue;
		d = diff_count(&k->avail, avail, nw);
		if (d < best_diff) {
			best = k;
			best_diff = d;
		}
	}
	if (best && best_diff)
		counts_patch(tr, best, avail, nw);
	if (!best) {
		best = lru;
		counts_rebuild(tr, best, avail, nw);
	}
	best->used = ++tr->clock;
	return best;
}
