/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Topology builder: turns per-CPU facts (as sysfs states them, or as a test invents
 * them) into dense domain arrays.
 *
 * Grouping is by shared CPU sets, never by sysfs ids, because ids are sparse and not
 * unique (opteron: two sibling groups with the same (package, core_id)). Every level
 * partitions the online CPUs: the first CPU of a group claims every still unclaimed
 * online CPU its list names, so inconsistent input still yields a partition instead
 * of overlapping domains. Pure: no I/O, no logging, no globals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/topology.h"
#include "policy/topology_internal.h"

struct topo_builder {
	struct topo_cpu_info *cpus;
	int n_cpus, cap_cpus;
	struct cpuset added;
	struct topo_node_in *nodes;
	int n_nodes, cap_nodes;
	struct topo_dist_in *dists;
	int n_dists, cap_dists;
	struct cpuset possible, present, isolated, nohz_full;
	bool has_possible, has_present, kinds_known;
	unsigned int fallbacks;
};

/* Grow *arr (elements of size sz) so that one more fits. */
static int grow(void **arr, int *cap, int n, size_t sz)
{
	void *p;
	int ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void topo_cpu_info_init(struct topo_cpu_info *ci, int id)
{
	memset(ci, 0, sizeof(*ci));
	ci->id = id;
	ci->online = true;
	ci->package_id = ci->die_id = ci->cluster_id = ci->core_id = -1;
	ci->l2_id = ci->l3_id = -1;
	ci->node_id = -1;
	ci->kind = TOPO_CPU_KIND_UNKNOWN;
}

int topo_builder_new(struct topo_builder **ret)
{
	struct topo_builder *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	*ret = b;
	return 0;
}

void topo_builder_free(struct topo_builder *b)
{
	if (!b)
		return;
	free(b->cpus);
	free(b->nodes);
	free(b->dists);
	free(b);
}

int topo_builder_add_cpu(struct topo_builder *b, const struct topo_cpu_info *ci)
{
	int r;

	if (!b || !ci)
		return -EINVAL;
	if (ci->id < 0 || ci->id >= CPUSET_MAX)
		return -ERANGE;
	if (cpuset_test(&b->added, (unsigned int)ci->id))
		return -EEXIST;
	r = grow((void **)&b->cpus, &b->cap_cpus, b->n_cpus, sizeof(*b->cpus));
	if (r < 0)
		return r;
	b->cpus[b->n_cpus++] = *ci;
	cpuset_set(&b->added, (unsigned int)ci->id);
	return 0;
}

int topo_builder_add_node(struct topo_builder *b, int node_id, const struct cpuset *cpus,
			  uint64_t mem_total, bool has_memory)
{
	struct topo_node_in *n;
	int r;

	if (!b || node_id < 0)
		return -EINVAL;
	for (int i = 0; i < b->n_nodes; i++)
		if (b->nodes[i].id == node_id)
			return -EEXIST;
	r = grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes, sizeof(*b->nodes));
	if (r < 0)
		return r;
	n = &b->nodes[b->n_nodes++];
	n->id = node_id;
	if (cpus)
		n->cpus = *cpus;
	else
		cpuset_zero(&n->cpus);
	n->mem_total = mem_total;
	n->has_memory = has_memory;
	return 0;
}

int topo_builder_set_distance(struct topo_builder *b, int from_node_id, int to_node_id, int d)
{
	int r;

	if (!b || from_node_id < 0 || to_node_id < 0 || d <= 0)
		return -EINVAL;
	/* No duplicate search: build applies entries in order, so the last one wins. */
	r = grow((void **)&b->dists, &b->cap_dists, b->n_dists, sizeof(*b->dists));
	if (r < 0)
		return r;
	b->dists[b->n_dists++] = (struct topo_dist_in){from_node_id, to_node_id, d};
	return 0;
}

void topo_builder_set_possible(struct topo_builder *b, const struct cpuset *s)
{
	if (!b || !s)
		return;
	b->possible = *s;
	b->has_possible = true;
}

void topo_builder_set_present(struct topo_builder *b, const struct cpuset *s)
{
	if (!b || !s)
		return;
	b->present = *s;
	b->has_present = true;
}

void topo_builder_set_isolated(struct topo_builder *b, const struct cpuset *s)
{
	if (b && s)
		b->isolated = *s;
}

void topo_builder_set_nohz_full(struct topo_builder *b, const struct cpuset *s)
{
	if (b && s)
		b->nohz_full = *s;
}

void topo_builder_add_fallback(struct topo_builder *b, unsigned int fallbacks)
{
	if (b)
		b->fallbacks |= fallbacks;
}

void topo_builder_set_kinds_known(struct topo_builder *b)
{
	if (b)
		b->kinds_known = true;
}

static const struct {
	unsigned int bit;
	const char *name, *desc;
} fallback_names[] = {
	{TOPO_FB_NO_ONLINE_FILE, "no-online-file", "cpu/online missing: listed cpuN dirs"},
	{TOPO_FB_NO_TOPOLOGY, "no-topology",
	 "a CPU had no topology/ (or nothing in it): own core and package"},
	{TOPO_FB_NO_CACHE, "no-cache", "no cache info at some level: cache = package"},
	{TOPO_FB_NO_NUMA, "no-numa", "no node dirs: one node 0 with every CPU"},
	{TOPO_FB_NO_DISTANCE, "no-distance", "distance missing: 10 local / 20 remote"},
	{TOPO_FB_NODE_CPUMAP, "node-cpumap", "node cpulist missing: used cpumap"},
	{TOPO_FB_NO_SIBLINGS_LIST, "no-siblings-list", "no sibling lists: by (package, core_id)"},
	{TOPO_FB_NO_CPU_KIND, "no-cpu-kind",
	 "max freq differs, no cpu_core/cpu_atom and no second signal: kind unknown"},
	{TOPO_FB_NO_PACKAGE_ID, "package-id-unknown",
	 "physical_package_id is -1 (unknown): one package per NUMA node"},
	{TOPO_FB_CPU_KIND_INFERRED, "cpu-kind-inferred",
	 "no cpu_core/cpu_atom: P/E cores inferred from agreeing signals"},
};

const char *topology_fallback_name(unsigned int bit)
{
	for (size_t i = 0; i < sizeof(fallback_names) / sizeof(fallback_names[0]); i++)
		if (fallback_names[i].bit == bit)
			return fallback_names[i].name;
	return NULL;
}

const char *topology_fallback_desc(unsigned int bit)
{
	for (size_t i = 0; i < sizeof(fallback_names) / sizeof(fallback_names[0]); i++)
		if (fallback_names[i].bit == bit)
			return fallback_names[i].desc;
	return NULL;
}

const char *topology_kind_signals_format(unsigned int signals, char *buf, size_t size)
{
	static const char *const names[] = {
		"cpu_core/cpu_atom", "cpu_capacity", "max frequency", "base frequency", "SMT",
		"L2 sharing",	     "L2 size"};
	size_t len = 0;

	if (!buf || size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n;

		if (!(signals & (1u << i)))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", names[i]);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return buf;
}

void topology_free(struct topology *t)
{
	if (!t)
		return;
	free(t->cpu_by_id);
	free(t->packages);
	free(t->dies);
	free(t->clusters);
	free(t->l2s);
	free(t->l3s);
	free(t->cores);
	free(t->nodes);
	free(t->distance);
	free(t);
}

int topology_node_index(const struct topology *t, int node_id)
{
	int lo = 0, hi;

	if (!t)
		return -1;
	/* nodes are sorted by id */
	hi = t->n_nodes - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (t->nodes[mid].id == node_id)
			return mid;
		if (t->nodes[mid].id < node_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

const struct topo_cpu *topology_cpu(const struct topology *t, int id)
{
	if (!t || id < 0 || id > t->max_cpu || t->cpu_by_id[id].id < 0)
		return NULL;
	return &t->cpu_by_id[id];
}

/* ---- build ------------------------------------------------------------------------- */

/* Whole-CPU-set sets: what is online and what the kernel could still bring up. */
static void build_sets(const struct topo_builder *b, struct topology *t)
{
	struct cpuset all_added = b->added;

	cpuset_zero(&t->online);
	for (int i = 0; i < b->n_cpus; i++)
		if (b->cpus[i].online)
			cpuset_set(&t->online, (unsigned int)b->cpus[i].id);
	t->present = b->has_present ? b->present : all_added;
	cpuset_or(&t->present, &t->present, &t->online);
	t->possible = b->has_possible ? b->possible : t->present;
	cpuset_or(&t->possible, &t->possible, &t->present);
	/* Offline = present but not online: possible-but-absent slots (hsw: 24-191) are noise. */
	cpuset_andnot(&t->offline, &t->present, &t->online);
	cpuset_and(&t->isolated, &b->isolated, &t->online);
	cpuset_and(&t->nohz_full, &b->nohz_full, &t->online);
	t->max_cpu = -1;
	for (int id = cpuset_next(&t->online, 0); id >= 0; id = cpuset_next(&t->online, id + 1))
		t->max_cpu = id;
}

static int build_cpu_table(const struct topo_builder *b, struct topology *t)
{
	t->cpu_by_id = calloc((size_t)t->max_cpu + 1, sizeof(*t->cpu_by_id));
	if (!t->cpu_by_id)
		return -ENOMEM;
	for (int i = 0; i <= t->max_cpu; i++)
		t->cpu_by_id[i] = (struct topo_cpu){.id = -1,
						    .package = -1,
						    .die = -1,
						    .cluster = -1,
						    .core = -1,
						    .l2 = -1,
						    .l3 = -1,
						    .node = -1};
	for (int i = 0; i < b->n_cpus; i++) {
		const struct topo_cpu_info *ci = &b->cpus[i];
		struct topo_cpu *c;

		if (!ci->online)
			continue;
		c = &t->cpu_by_id[ci->id];
		c->id = ci->id;
		c->kind = ci->kind;
		c->base_khz = ci->base_khz;
		c->max_khz = ci->max_khz;
		c->capacity = ci->capacity;
	}
	return 0;
}

/* Kinds are authoritative when the caller said so or some CPU has one. */
static bool kinds_given(const struct topo_builder *b)
{
	if (b->kinds_known)
		return true;
	for (int i = 0; i < b->n_cpus; i++)
		if (b->cpus[i].online && b->cpus[i].kind != TOPO_CPU_KIND_UNKNOWN)
			return true;
	return false;
}

int topology_build(const struct topo_builder *b, struct topology **ret)
{
	struct topology *t;
	const struct topo_cpu_info **info;
	int r;

	if (!b || !ret)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	info = calloc(CPUSET_MAX, sizeof(*info));
	if (!t || !info) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < b->n_cpus; i++)
		info[b->cpus[i].id] = &b->cpus[i];
	t->fallbacks = b->fallbacks;
	build_sets(b, t);
	if (t->max_cpu < 0) {
		r = -ENODEV; /* nothing to place work on */
		goto fail;
	}
	r = build_cpu_table(b, t);
	/* Nodes first: a CPU whose package is unknown gets the package of its node. */
	if (r >= 0)
		r = topo_build_nodes(t, info, b->nodes, b->n_nodes);
	if (r >= 0)
		r = topo_build_domains(t, info);
	if (r >= 0)
		r = topo_build_distances(t, b->dists, b->n_dists);
	if (r >= 0)
		r = topo_build_kinds(t, kinds_given(b));
	if (r < 0)
		goto fail;
	free(info);
	*ret = t;
	return 0;
fail:
	free(info);
	topology_free(t);
	return r;
}
