/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NUMA nodes and the distance matrix.
 *
 * A node's CPU list is the primary source (it survives where cpuN/nodeM links are
 * missing, as on icx and opteron); a CPU's own node id only places CPUs that no
 * list names. Every online CPU ends up in exactly one node, so the policy can
 * always index nodes[cpu->node].
 */
#include <errno.h>
#include <stdlib.h>

#include "policy/topology_internal.h"

#define DIST_LOCAL  10
#define DIST_REMOTE 20

static int cmp_node(const void *a, const void *b)
{
	const struct topo_node *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static bool has_node_id(const struct topo_node *nodes, int n, int id)
{
	for (int i = 0; i < n; i++)
		if (nodes[i].id == id)
			return true;
	return false;
}

/* Copies the input nodes and adds nodes that only CPUs name (their dir was missing). */
static int collect_nodes(struct topology *t, const struct topo_cpu_info *const *info,
			 const struct topo_node_in *in, int n_in)
{
	unsigned int n_online = cpuset_count(&t->online);
	struct topo_node *shrunk;
	struct cpuset listed;
	int c;

	t->nodes = calloc((size_t)n_in + n_online + 1, sizeof(*t->nodes));
	if (!t->nodes)
		return -ENOMEM;
	cpuset_zero(&listed);
	for (int i = 0; i < n_in; i++) {
		struct topo_node *n = &t->nodes[t->n_nodes++];

		n->id = in[i].id;
		cpuset_and(&n->cpus, &in[i].cpus, &t->online);
		n->mem_total = in[i].mem_total;
		n->has_memory = in[i].has_memory;
		cpuset_or(&listed, &listed, &n->cpus);
	}
	cpuset_foreach (c, &t->online) {
		int id = info[c]->node_id;

		if (cpuset_test(&listed, (unsigned int)c) || id < 0 ||
		    has_node_id(t->nodes, t->n_nodes, id))
			continue;
		t->nodes[t->n_nodes].id = id;
		t->nodes[t->n_nodes++].has_memory = false; /* unknown: nothing said it has any */
	}
	if (t->n_nodes == 0) {
		t->nodes[0] = (struct topo_node){.id = 0, .cpus = t->online, .has_memory = true};
		t->n_nodes = 1;
		t->fallbacks |= TOPO_FB_NO_NUMA;
	}
	shrunk = realloc(t->nodes, (size_t)t->n_nodes * sizeof(*t->nodes));
	if (shrunk) /* failure to give memory back is harmless */
		t->nodes = shrunk;
	qsort(t->nodes, (size_t)t->n_nodes, sizeof(*t->nodes), cmp_node);
	return 0;
}

/* Where a CPU no node list names goes: its own node id, else the first node with CPUs. */
static int orphan_node(const struct topology *t, const struct topo_cpu_info *ci)
{
	int i = topology_node_index(t, ci->node_id);

	if (i >= 0)
		return i;
	for (i = 0; i < t->n_nodes; i++)
		if (!cpuset_is_empty(&t->nodes[i].cpus))
			return i;
	return 0;
}

int topo_build_nodes(struct topology *t, const struct topo_cpu_info *const *info,
		     const struct topo_node_in *nodes, int n_nodes)
{
	struct cpuset claimed;
	int r, c;

	r = collect_nodes(t, info, nodes, n_nodes);
	if (r < 0)
		return r;
	/* Overlapping lists (bad input) must still give a partition: lowest id wins. */
	cpuset_zero(&claimed);
	for (int i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];

		cpuset_andnot(&n->cpus, &n->cpus, &claimed);
		cpuset_or(&claimed, &claimed, &n->cpus);
		cpuset_foreach (c, &n->cpus) {
			t->cpu_by_id[c].node = i;
		}
	}
	cpuset_foreach (c, &t->online) {
		int i;

		if (cpuset_test(&claimed, (unsigned int)c))
			continue;
		i = orphan_node(t, info[c]);
		cpuset_set(&t->nodes[i].cpus, (unsigned int)c);
		t->cpu_by_id[c].node = i;
	}
	return 0;
}

int topo_build_distances(struct topology *t, const struct topo_dist_in *d, int n)
{
	int nn = t->n_nodes;
	bool filled = false;

	t->distance = calloc((size_t)nn * (size_t)nn, sizeof(*t->distance));
	if (!t->distance)
		return -ENOMEM;
	for (int k = 0; k < n; k++) {
		int i = topology_node_index(t, d[k].from), j = topology_node_index(t, d[k].to);

		if (i >= 0 && j >= 0)
			t->distance[i * nn + j] = d[k].d;
	}
	for (int i = 0; i < nn; i++) {
		for (int j = 0; j < nn; j++) {
			if (t->distance[i * nn + j])
				continue;
			t->distance[i * nn + j] = i == j ? DIST_LOCAL : DIST_REMOTE;
			filled = true;
		}
	}
	/* A made-up single node has nothing to measure; that is NO_NUMA, not a gap. */
	if (filled && !(t->fallbacks & TOPO_FB_NO_NUMA))
		t->fallbacks |= TOPO_FB_NO_DISTANCE;
	return 0;
}
