/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Choosing exclusive CPUs.
 *
 * A fresh allocation goes to the tightest subtree that fits: an L3 (restricted to one
 * NUMA node, so SNC parts never straddle nodes), then a node, a die, a package, the
 * machine. Among the fitting subtrees of a level the one with the FEWEST free CPUs
 * wins (best fit: it keeps the big free subtrees whole for big requests); ties go to
 * the lowest CPU ids. Inside the subtree fully free cores are taken first, then the
 * free threads of half-used cores (they are fragments already), and only then is a
 * free core split. A grow (resize) only considers subtrees that contain the
 * container's CPUs and prefers, in order, their free siblings, then CPUs in the same
 * L3, node and package.
 *
 * Everything here runs on each CreateContainer: work is bounded by the number of
 * subtrees times the words of a set, plus one walk over the chosen subtree's cores.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_priv.h"

#define KEY_COUNT 5 /* 0 sibling of a near CPU, 1 same L3, 2 same node, 3 same package, 4 other */

enum take_mode {
	TAKE_WHOLE,   /* fully free cores that fit in what is left */
	TAKE_HIDE,    /* fully free cores, one visible thread each */
	TAKE_PARTIAL, /* free threads of cores that are not fully free */
	TAKE_ANY,     /* any free thread, a core at a time */
};

struct pick_walk {
	struct alloc_state *s;
	const struct cpuset *cand;
	size_t n_list;
	unsigned int left;
	struct alloc_pick_out *out;
	struct cpuset near_set[KEY_COUNT - 1]; /* cores, L3s, nodes, packages of near CPUs */
	unsigned char *keys;
};

const char *alloc_level_name(int level)
{
	static const char *const names[] = {"L3", "NUMA node", "die", "package", "machine"};

	if (level < 0 || level >= ALLOC_LVL_COUNT)
		return "none";
	return names[level];
}

static int core_of(const struct alloc_state *s, int cpu)
{
	const struct topo_cpu *c = topology_cpu(s->topo, cpu);

	return c ? c->core : -1;
}

static int core_size(const struct alloc_state *s, int core)
{
	return s->core_first[core + 1] - s->core_first[core];
}

static bool core_in(const struct alloc_state *s, int core, const struct cpuset *set)
{
	for (int i = s->core_first[core]; i < s->core_first[core + 1]; i++)
		if (!cpuset_test(set, (unsigned int)s->core_threads[i]))
			return false;
	return true;
}

unsigned int alloc_free_cores(struct alloc_state *s, const struct cpuset *cand)
{
	unsigned int n = 0;
	int cpu, core;

	cpuset_foreach (cpu, cand) {
		core = core_of(s, cpu);
		if (core < 0 || s->core_threads[s->core_first[core]] != cpu)
			continue;
		if (core_in(s, core, cand))
			n++;
	}
	return n;
}

bool alloc_cores_of(const struct alloc_state *s, const struct cpuset *visible, struct cpuset *ret)
{
	int cpu, core;

	cpuset_zero(ret);
	cpuset_foreach (cpu, visible) {
		core = core_of(s, cpu);
		if (core < 0)
			return false;
		if (cpuset_intersects(ret, &s->topo->cores[core].cpus))
			return false;
		cpuset_or(ret, ret, &s->topo->cores[core].cpus);
	}
	return true;
}

/* Cores with a free CPU in cand, ordered by their lowest free CPU. */
static size_t list_cores(struct alloc_state *s, const struct cpuset *cand)
{
	size_t n = 0;
	int cpu, core;

	if (++s->mark_gen == 0) {
		memset(s->core_mark, 0, sizeof(*s->core_mark) * (size_t)s->topo->n_cores);
		s->mark_gen = 1;
	}
	cpuset_foreach (cpu, cand) {
		core = core_of(s, cpu);
		if (core < 0 || s->core_mark[core] == s->mark_gen)
			continue;
		s->core_mark[core] = s->mark_gen;
		s->core_list[n++] = core;
	}
	return n;
}

static void take_cpu(struct pick_walk *w, int cpu, bool visible)
{
	if (visible) {
		cpuset_set(&w->out->visible, (unsigned int)cpu);
		w->left--;
	}
	cpuset_set(&w->out->owned, (unsigned int)cpu);
}

/* Take from one core per mode; returns false when the core does not qualify. */
static void take_core(struct pick_walk *w, int core, enum take_mode mode)
{
	struct alloc_state *s = w->s;
	bool whole = core_in(s, core, w->cand);
	int size = core_size(s, core);

	if ((mode == TAKE_WHOLE || mode == TAKE_HIDE) && !whole)
		return;
	if (mode == TAKE_WHOLE && (unsigned int)size > w->left)
		return;
	if (mode == TAKE_PARTIAL && whole)
		return;
	for (int i = s->core_first[core]; i < s->core_first[core + 1] && w->left > 0; i++) {
		int cpu = s->core_threads[i];

		if (!cpuset_test(w->cand, (unsigned int)cpu) ||
		    cpuset_test(&w->out->owned, (unsigned int)cpu))
			continue;
		if (mode == TAKE_HIDE) {
			take_cpu(w, cpu, true);
			for (i++; i < s->core_first[core + 1]; i++)
				take_cpu(w, s->core_threads[i], false);
			return;
		}
		take_cpu(w, cpu, true);
	}
}

static void take_pass(struct pick_walk *w, int key, enum take_mode mode)
{
	for (size_t i = 0; i < w->n_list && w->left > 0; i++)
		if (w->keys[i] == key)
			take_core(w, w->s->core_list[i], mode);
}

static unsigned char near_key(const struct pick_walk *w, int core)
{
	int cpu = w->s->core_threads[w->s->core_first[core]];

	for (int k = 0; k < KEY_COUNT - 1; k++)
		if (cpuset_test(&w->near_set[k], (unsigned int)cpu))
			return (unsigned char)k;
	return KEY_COUNT - 1;
}

static void near_sets(struct pick_walk *w, const struct cpuset *near)
{
	const struct topology *t = w->s->topo;
	int cpu;

	for (int k = 0; k < KEY_COUNT - 1; k++)
		cpuset_zero(&w->near_set[k]);
	cpuset_foreach (cpu, near) {
		const struct topo_cpu *c = topology_cpu(t, cpu);

		if (!c)
			continue;
		if (c->core >= 0)
			cpuset_or(&w->near_set[0], &w->near_set[0], &t->cores[c->core].cpus);
		if (c->l3 >= 0)
			cpuset_or(&w->near_set[1], &w->near_set[1], &t->l3s[c->l3].cpus);
		if (c->node >= 0)
			cpuset_or(&w->near_set[2], &w->near_set[2], &t->nodes[c->node].cpus);
		if (c->package >= 0)
			cpuset_or(&w->near_set[3], &w->near_set[3], &t->packages[c->package].cpus);
	}
}

static void pick_lowest(const struct cpuset *cand, unsigned int n, struct alloc_pick_out *out)
{
	int cpu;

	cpuset_foreach (cpu, cand) {
		if (n == 0)
			break;
		cpuset_set(&out->visible, (unsigned int)cpu);
		cpuset_set(&out->owned, (unsigned int)cpu);
		n--;
	}
}

static void pick_in(struct alloc_state *s, const struct alloc_pick_req *r,
		    const struct cpuset *cand, struct alloc_pick_out *out)
{
	struct pick_walk w = {.s = s, .cand = cand, .left = r->n, .out = out, .keys = s->core_key};
	int k0 = r->near ? 0 : KEY_COUNT - 1;

	if (!r->hide_ht && !s->cfg.prefer_whole_cores && !r->near) {
		pick_lowest(cand, r->n, out);
		return;
	}
	w.n_list = list_cores(s, cand);
	if (r->near)
		near_sets(&w, r->near);
	for (size_t i = 0; i < w.n_list; i++)
		w.keys[i] = r->near ? near_key(&w, s->core_list[i]) : KEY_COUNT - 1;
	for (int k = k0; k < KEY_COUNT && w.left > 0; k++) {
		if (r->hide_ht) {
			take_pass(&w, k, TAKE_HIDE);
		} else if (s->cfg.prefer_whole_cores) {
			take_pass(&w, k, TAKE_WHOLE);
			take_pass(&w, k, TAKE_PARTIAL);
			take_pass(&w, k, TAKE_ANY);
		} else {
			take_pass(&w, k, TAKE_ANY);
		}
	}
}

/* Capacity of cand for this request: free CPUs, or fully free cores when hiding. */
static unsigned int fit_of(struct alloc_state *s, const struct alloc_pick_req *r,
			   const struct cpuset *cand)
{
	return r->hide_ht ? alloc_free_cores(s, cand) : aw_count(cand, s->nw);
}

/* Best group of one level, or -1: the fitting one with the fewest free CPUs. */
static int best_group(struct alloc_state *s, const struct alloc_pick_req *r, int level,
		      unsigned int *ret_free)
{
	unsigned int best_free = 0;
	int best = -1;

	for (size_t g = 0; g < s->n_groups; g++) {
		const struct alloc_group *grp = &s->groups[g];
		struct cpuset cand;
		unsigned int free;

		if (grp->level != level)
			continue;
		if (r->near && !aw_intersects(&grp->cpus, r->near, s->nw))
			continue;
		free = aw_and_count(&grp->cpus, r->avail, s->nw);
		if (free < r->n || (best >= 0 && free >= best_free))
			continue;
		if (r->hide_ht) {
			cpuset_and(&cand, &grp->cpus, r->avail);
			if (fit_of(s, r, &cand) < r->n)
				continue;
		}
		best = (int)g;
		best_free = free;
	}
	*ret_free = best_free;
	return best;
}

int alloc_pick(struct alloc_state *s, const struct alloc_pick_req *r, struct alloc_pick_out *out)
{
	int first = s->cfg.prefer_same_numa ? ALLOC_LVL_L3 : ALLOC_LVL_MACHINE;
	unsigned int free = 0;
	struct cpuset cand;
	int g = -1, level;

	memset(out, 0, sizeof(*out));
	out->level = ALLOC_LVL_NONE;
	out->group = -1;
	if (r->n == 0)
		return 0;
	for (level = first; level < ALLOC_LVL_COUNT && g < 0; level++)
		g = best_group(s, r, level, &free);
	if (g < 0)
		return -ENOSPC;
	cpuset_and(&cand, &s->groups[g].cpus, r->avail);
	pick_in(s, r, &cand, out);
	if (aw_count(&out->visible, s->nw) != r->n)
		return -ENOSPC; /* cannot happen: the group was checked to fit */
	out->level = s->groups[g].level;
	out->group = g;
	out->group_free = free;
	return 0;
}

static int l3_of(const struct alloc_state *s, int cpu)
{
	const struct topo_cpu *c = topology_cpu(s->topo, cpu);

	return c && c->l3 >= 0 && c->l3 < s->topo->n_l3s ? c->l3 : -1;
}

/*
 * The CPU to give up next: fragments (threads of cores not wholly owned) first,
 * then CPUs in the L3 where the container holds the fewest (so what stays is
 * compact), then the highest id.
 */
static int shrink_victim(struct alloc_state *s, const struct cpuset *visible,
			 const struct cpuset *owned, bool hide_ht)
{
	int cpu, best = -1, best_frag = -1;
	unsigned int best_cnt = 0;

	memset(s->l3_count, 0, sizeof(*s->l3_count) * ((size_t)s->topo->n_l3s + 1));
	cpuset_foreach (cpu, visible) {
		int l3 = l3_of(s, cpu);

		s->l3_count[l3 < 0 ? s->topo->n_l3s : l3]++;
	}
	cpuset_foreach (cpu, visible) {
		int l3 = l3_of(s, cpu), core = core_of(s, cpu);
		int frag = !hide_ht && core >= 0 && !core_in(s, core, owned);
		unsigned int cnt = s->l3_count[l3 < 0 ? s->topo->n_l3s : l3];

		if (frag > best_frag || (frag == best_frag && cnt <= best_cnt)) {
			best = cpu;
			best_frag = frag;
			best_cnt = cnt;
		}
	}
	return best;
}

static void drop_core(const struct alloc_state *s, struct cpuset *visible, struct cpuset *owned,
		      int core)
{
	cpuset_andnot(visible, visible, &s->topo->cores[core].cpus);
	cpuset_andnot(owned, owned, &s->topo->cores[core].cpus);
}

void alloc_shrink(struct alloc_state *s, struct cpuset *visible, struct cpuset *owned,
		  unsigned int n, bool hide_ht)
{
	unsigned int have = aw_count(visible, s->nw);

	while (have > n) {
		int cpu = shrink_victim(s, visible, owned, hide_ht);
		int core = core_of(s, cpu);

		if (core >= 0 && (hide_ht || (unsigned int)core_size(s, core) <= have - n) &&
		    core_in(s, core, owned)) {
			drop_core(s, visible, owned, core);
		} else {
			cpuset_clear(visible, (unsigned int)cpu);
			cpuset_clear(owned, (unsigned int)cpu);
		}
		have = aw_count(visible, s->nw);
	}
}

static int add_group(struct alloc_state *s, const struct cpuset *cpus, int level, int index)
{
	struct alloc_group *g;

	if (cpuset_is_empty(cpus))
		return 0;
	/* A subtree equal to a tighter one adds nothing but work; the machine always
	 * stays: prefer_same_numa = false looks at nothing else. */
	for (size_t i = 0; i < s->n_groups && level != ALLOC_LVL_MACHINE; i++)
		if (cpuset_equal(&s->groups[i].cpus, cpus))
			return 0;
	g = realloc(s->groups, sizeof(*g) * (s->n_groups + 1));
	if (!g)
		return -ENOMEM;
	s->groups = g;
	g = &s->groups[s->n_groups++];
	g->cpus = *cpus;
	g->level = level;
	g->index = index;
	return 0;
}

static int add_domains(struct alloc_state *s, const struct topo_domain *d, int n, int level)
{
	for (int i = 0; i < n; i++) {
		int r = add_group(s, &d[i].cpus, level, i);

		if (r < 0)
			return r;
	}
	return 0;
}

static int digest_groups(struct alloc_state *s)
{
	const struct topology *t = s->topo;
	struct cpuset x;
	int r = 0;

	for (int i = 0; i < t->n_l3s && r >= 0; i++) {
		for (int j = 0; j < t->n_nodes && r >= 0; j++) {
			cpuset_and(&x, &t->l3s[i].cpus, &t->nodes[j].cpus);
			r = add_group(s, &x, ALLOC_LVL_L3, i);
		}
	}
	for (int j = 0; j < t->n_nodes && r >= 0; j++)
		r = add_group(s, &t->nodes[j].cpus, ALLOC_LVL_NODE, j);
	if (r >= 0)
		r = add_domains(s, t->dies, t->n_dies, ALLOC_LVL_DIE);
	if (r >= 0)
		r = add_domains(s, t->packages, t->n_packages, ALLOC_LVL_PACKAGE);
	if (r >= 0)
		r = add_group(s, &t->online, ALLOC_LVL_MACHINE, 0);
	return r;
}

static int digest_cores(struct alloc_state *s)
{
	const struct topology *t = s->topo;
	size_t n = (size_t)t->n_cores;
	int cpu, k = 0, online = (int)cpuset_count(&t->online);

	s->core_first = calloc(n + 1, sizeof(int));
	s->core_threads = calloc((size_t)online + 1, sizeof(int));
	s->core_mark = calloc(n + 1, sizeof(*s->core_mark));
	s->core_list = calloc(n + 1, sizeof(int));
	s->core_key = calloc(n + 1, 1);
	s->l3_count = calloc((size_t)t->n_l3s + 1, sizeof(*s->l3_count));
	if (!s->core_first || !s->core_threads || !s->core_mark || !s->core_list || !s->core_key ||
	    !s->l3_count)
		return -ENOMEM;
	for (size_t c = 0; c < n; c++) {
		s->core_first[c] = k;
		cpuset_foreach (cpu, &t->cores[c].cpus) {
			if (cpuset_test(&t->online, (unsigned int)cpu) && k < online)
				s->core_threads[k++] = cpu;
		}
	}
	s->core_first[n] = k;
	return 0;
}

/* Memory-only nodes: attach each to its nearest CPU node(s) by the distance table. */
static int digest_memonly(struct alloc_state *s)
{
	const struct topology *t = s->topo;

	s->memonly = calloc((size_t)t->n_nodes + 1, sizeof(*s->memonly));
	if (!s->memonly)
		return -ENOMEM;
	for (int m = 0; m < t->n_nodes; m++) {
		int best = -1;

		if (!cpuset_is_empty(&t->nodes[m].cpus) || !t->nodes[m].has_memory)
			continue;
		cpuset_set(&s->memonly_all, (unsigned int)t->nodes[m].id);
		for (int c = 0; c < t->n_nodes && t->distance; c++) {
			int d = t->distance[c * t->n_nodes + m];

			if (cpuset_is_empty(&t->nodes[c].cpus))
				continue;
			if (best < 0 || d < best)
				best = d;
		}
		for (int c = 0; c < t->n_nodes && best >= 0; c++)
			if (!cpuset_is_empty(&t->nodes[c].cpus) &&
			    t->distance[c * t->n_nodes + m] == best)
				cpuset_set(&s->memonly[c], (unsigned int)t->nodes[m].id);
	}
	return 0;
}

int alloc_topo_digest(struct alloc_state *s)
{
	int r;

	s->nw = s->topo->max_cpu < 0 ? 1 : (unsigned int)s->topo->max_cpu / 64 + 1;
	s->nw_nodes = 1;
	for (int i = 0; i < s->topo->n_nodes; i++)
		if (s->topo->nodes[i].id >= 0 &&
		    (unsigned int)s->topo->nodes[i].id / 64 + 1 > s->nw_nodes)
			s->nw_nodes = (unsigned int)s->topo->nodes[i].id / 64 + 1;
	r = digest_cores(s);
	if (r >= 0)
		r = digest_groups(s);
	if (r >= 0)
		r = digest_memonly(s);
	return r;
}

void alloc_topo_digest_free(struct alloc_state *s)
{
	free(s->groups);
	free(s->core_first);
	free(s->core_threads);
	free(s->core_mark);
	free(s->core_list);
	free(s->core_key);
	free(s->l3_count);
	free(s->memonly);
	s->groups = NULL;
	s->core_first = s->core_threads = s->core_list = NULL;
	s->core_mark = NULL;
	s->core_key = NULL;
	s->l3_count = NULL;
	s->memonly = NULL;
	s->n_groups = 0;
}

/*
 * reserved_count: whole cores, lowest CPU ids first (so the reserved CPUs sit where
 * the kernel's housekeeping already runs, CPU 0's core and its neighbours), then the
 * remainder as single threads of the next cores. Isolated CPUs are never picked.
 */
int alloc_reserve_count(const struct topology *t, unsigned int count, struct cpuset *ret)
{
	struct cpuset usable, out;
	unsigned int left = count;
	int cpu;

	cpuset_andnot(&usable, &t->online, &t->isolated);
	if (cpuset_count(&usable) < count)
		return -EINVAL;
	cpuset_zero(&out);
	cpuset_foreach (cpu, &usable) {
		const struct topo_cpu *c = topology_cpu(t, cpu);
		struct cpuset core;

		if (left == 0)
			break;
		if (!c || c->core < 0 || cpuset_test(&out, (unsigned int)cpu))
			continue;
		cpuset_and(&core, &t->cores[c->core].cpus, &usable);
		if (cpuset_count(&core) <= left && !cpuset_intersects(&core, &out)) {
			cpuset_or(&out, &out, &core);
			left -= cpuset_count(&core);
		}
	}
	cpuset_foreach (cpu, &usable) {
		if (left == 0)
			break;
		if (!cpuset_test(&out, (unsigned int)cpu)) {
			cpuset_set(&out, (unsigned int)cpu);
			left--;
		}
	}
	*ret = out;
	return 0;
}
