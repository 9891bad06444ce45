/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the state derives from the topology once: the placement tree, the picker's
 * scratch memory, the memory-only nodes next to each CPU node; and the reserved CPUs a
 * reserved_count resolves to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_pick_priv.h"

static int scratch_new(struct alloc_state *s)
{
	size_t n = (size_t)(s->tree.n > s->tree_mixed.n ? s->tree.n : s->tree_mixed.n) + 1;
	struct alloc_scratch *x = calloc(1, sizeof(*x));

	s->scratch = x;
	if (!x)
		return -ENOMEM;
	x->frontier = calloc(n, sizeof(int));
	x->next = calloc(n, sizeof(int));
	x->mark = calloc(n, sizeof(unsigned int));
	x->taken = calloc(n, sizeof(unsigned int));
	x->sort = calloc(n, sizeof(unsigned int));
	x->choice_off = calloc(n, sizeof(int));
	x->cost = calloc((ALLOC_TIER_COUNT + 2) * (ALLOC_DP_MAX + 1), sizeof(*x->cost));
	if (!x->frontier || !x->next || !x->mark || !x->taken || !x->sort || !x->choice_off ||
	    !x->cost)
		return -ENOMEM;
	return 0;
}

static void scratch_free(struct alloc_scratch *x)
{
	if (!x)
		return;
	free(x->frontier);
	free(x->next);
	free(x->mark);
	free(x->taken);
	free(x->sort);
	free(x->choice_off);
	free(x->cost);
	free(x->choice);
	free(x);
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
	r = alloc_tree_build(&s->tree, s->topo, true);
	if (r >= 0 && s->topo->hybrid)
		r = alloc_tree_build(&s->tree_mixed, s->topo, false);
	if (r >= 0)
		r = scratch_new(s);
	if (r >= 0)
		r = digest_memonly(s);
	return r;
}

void alloc_topo_digest_free(struct alloc_state *s)
{
	alloc_tree_done(&s->tree);
	alloc_tree_done(&s->tree_mixed);
	scratch_free(s->scratch);
	free(s->memonly);
	s->scratch = NULL;
	s->memonly = NULL;
}

/*
 * reserved_count: CPU 0's core (the lowest usable CPU's: where the kernel's
 * housekeeping already runs), then grown like an exclusive allocation, so the CPUs are
 * whole cores in the tightest subtree around it: on two sockets with interleaved
 * numbering CPUs 0 and 1 are on different packages, and a count of 2 must not take
 * both. Isolated CPUs are never picked.
 */
static int reserve_grow(struct alloc_state *s, const struct cpuset *usable, unsigned int count,
			struct cpuset *ret)
{
	struct alloc_pick_req r = {.n = count};
	struct alloc_pick_out out;
	struct cpuset avail, seed;
	const struct topo_cpu *c = topology_cpu(s->topo, cpuset_next(usable, 0));
	int cpu, rc;

	cpuset_zero(&seed);
	cpuset_and(&avail, &s->topo->cores[c->core].cpus, usable);
	cpuset_foreach (cpu, &avail) {
		if (r.n == 0)
			break;
		cpuset_set(&seed, (unsigned int)cpu);
		r.n--;
	}
	cpuset_andnot(&avail, usable, &seed);
	r.avail = &avail;
	r.near = &seed;
	rc = alloc_pick(s, &r, &out);
	if (rc < 0)
		return rc;
	cpuset_or(ret, &seed, &out.visible);
	return 0;
}

int alloc_reserve_count(const struct topology *t, const struct alloc_config *cfg,
			unsigned int count, struct cpuset *ret)
{
	struct alloc_state s = {.topo = t};
	struct cpuset usable;
	int r;

	cpuset_andnot(&usable, &t->online, &t->isolated);
	if (cpuset_count(&usable) < count)
		return -EINVAL;
	cpuset_zero(ret);
	if (count == 0)
		return 0;
	alloc_config_init(&s.cfg);
	s.cfg.prefer_core_kind = cfg ? cfg->prefer_core_kind : ALLOC_CORE_KIND_PERFORMANCE;
	r = alloc_topo_digest(&s);
	if (r >= 0)
		r = reserve_grow(&s, &usable, count, ret);
	alloc_topo_digest_free(&s);
	return r;
}
