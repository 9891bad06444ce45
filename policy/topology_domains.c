/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Grouping online CPUs into packages, dies, clusters, cores and caches.
 *
 * Each level is a partition of the online CPUs built in ascending CPU order: the
 * first CPU of a group claims every unclaimed online CPU its shared list names.
 * When a CPU has no list, its sysfs id (scoped to its package, because core and
 * cluster ids repeat across packages) is the key instead. Sets win over ids
 * because ids lie: opteron repeats (package, core_id) inside one package.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy/topology_internal.h"

enum level { LV_PACKAGE, LV_DIE, LV_CLUSTER, LV_CORE, LV_L2, LV_L3 };

/* One level under construction: the array lives in struct topology. */
struct level_ctx {
	struct topo_domain **arr;
	int *n;
	enum level lv;
};

static int *cpu_slot(struct topo_cpu *c, enum level lv)
{
	switch (lv) {
	case LV_PACKAGE:
		return &c->package;
	case LV_DIE:
		return &c->die;
	case LV_CLUSTER:
		return &c->cluster;
	case LV_CORE:
		return &c->core;
	case LV_L2:
		return &c->l2;
	case LV_L3:
		break;
	}
	return &c->l3;
}

/* What a CPU says about its group at this level: a CPU list, an id, a size. */
static void cpu_key(const struct topo_cpu_info *ci, enum level lv, const struct cpuset **set,
		    long long *id, uint64_t *size)
{
	*set = NULL;
	*size = 0;
	switch (lv) {
	case LV_PACKAGE:
		*id = ci->package_id;
		return;
	case LV_DIE:
		*id = ci->die_id;
		return;
	case LV_CLUSTER:
		*id = ci->cluster_id;
		return;
	case LV_CORE:
		*set = &ci->siblings;
		*id = ci->core_id;
		return;
	case LV_L2:
		*set = &ci->l2_cpus;
		*id = ci->l2_id;
		*size = ci->l2_size;
		return;
	case LV_L3:
		break;
	}
	*set = &ci->l3_cpus;
	*id = ci->l3_id;
	*size = ci->l3_size;
}

static int level_add(struct level_ctx *lc, long long sysfs_id, uint64_t size)
{
	struct topo_domain *d = &(*lc->arr)[*lc->n];

	cpuset_zero(&d->cpus);
	d->sysfs_id = sysfs_id;
	d->parent = -1;
	d->size = size;
	return (*lc->n)++;
}

static void level_assign(struct topology *t, struct level_ctx *lc, int dom, int cpu)
{
	cpuset_set(&(*lc->arr)[dom].cpus, (unsigned int)cpu);
	*cpu_slot(&t->cpu_by_id[cpu], lc->lv) = dom;
}

/*
 * Existing domain with this sysfs id inside the same package (and, for dies, which
 * is keyed by id alone, -1 included), or -1.
 */
static int level_find_id(struct topology *t, struct level_ctx *lc, long long id, int package)
{
	for (int i = 0; i < *lc->n; i++) {
		const struct topo_domain *d = &(*lc->arr)[i];
		int first = cpuset_next(&d->cpus, 0);

		if (d->sysfs_id != id || first < 0)
			continue;
		if (lc->lv == LV_PACKAGE || t->cpu_by_id[first].package == package)
			return i;
	}
	return -1;
}

/* Claim c's listed CPUs (online, unclaimed) for a new domain. */
static void level_claim_set(struct topology *t, struct level_ctx *lc, int c,
			    const struct cpuset *set, struct cpuset *claimed, long long id,
			    uint64_t size)
{
	struct cpuset k;
	int dom = level_add(lc, id, size), cpu;

	cpuset_and(&k, set, &t->online);
	cpuset_andnot(&k, &k, claimed);
	cpuset_set(&k, (unsigned int)c);
	cpuset_foreach (cpu, &k) {
		level_assign(t, lc, dom, cpu);
	}
	cpuset_or(claimed, claimed, &k);
}

/* Returns how many online CPUs had anything to say at this level. */
static int level_group(struct topology *t, const struct topo_cpu_info *const *info,
		       struct level_ctx *lc)
{
	struct cpuset claimed;
	int c, known = 0;

	cpuset_zero(&claimed);
	cpuset_foreach (c, &t->online) {
		const struct cpuset *set;
		long long id;
		uint64_t size;
		int dom;

		cpu_key(info[c], lc->lv, &set, &id, &size);
		if ((set && !cpuset_is_empty(set)) || id >= 0 || lc->lv == LV_DIE)
			known++;
		if (cpuset_test(&claimed, (unsigned int)c))
			continue;
		if (set && !cpuset_is_empty(set)) {
			level_claim_set(t, lc, c, set, &claimed, id, size);
			continue;
		}
		if (id < 0 && lc->lv != LV_DIE)
			continue;
		dom = level_find_id(t, lc, id, t->cpu_by_id[c].package);
		if (dom < 0)
			dom = level_add(lc, id, size);
		level_assign(t, lc, dom, c);
		cpuset_set(&claimed, (unsigned int)c);
	}
	return known;
}

/*
 * physical_package_id -1 means "unknown" (POWER LPARs say so on every CPU). A CPU whose
 * core is known but whose package is not joins the package of its NUMA node: the node
 * is the widest grouping certain to be close. Returns how many CPUs took it.
 */
static int level_packages_by_node(struct topology *t, const struct topo_cpu_info *const *info,
				  struct level_ctx *lc)
{
	int c, n = 0;

	for (int node = 0; node < t->n_nodes; node++) {
		int dom = -1;

		cpuset_foreach (c, &t->nodes[node].cpus) {
			const struct topo_cpu_info *ci = info[c];

			if (t->cpu_by_id[c].package >= 0 ||
			    (cpuset_is_empty(&ci->siblings) && ci->core_id < 0))
				continue;
			if (dom < 0)
				dom = level_add(lc, -1, 0);
			level_assign(t, lc, dom, c);
			n++;
		}
	}
	return n;
}

/* CPUs nothing is known about get a domain of their own (one package/core each). */
static int level_singletons(struct topology *t, struct level_ctx *lc)
{
	int c, n = 0;

	cpuset_foreach (c, &t->online) {
		if (*cpu_slot(&t->cpu_by_id[c], lc->lv) >= 0)
			continue;
		level_assign(t, lc, level_add(lc, -1, 0), c);
		n++;
	}
	return n;
}

/* No CPU had any cache data at this level: the cache is taken to be the package. */
static void level_copy_packages(struct topology *t, struct level_ctx *lc)
{
	int c;

	for (int p = 0; p < t->n_packages; p++)
		level_add(lc, -1, 0);
	cpuset_foreach (c, &t->online) {
		level_assign(t, lc, t->cpu_by_id[c].package, c);
	}
}

/* Fallback flag for CPUs whose cores were grouped by (package, core_id). */
static bool cores_used_ids(const struct topology *t, const struct topo_cpu_info *const *info)
{
	int c;

	cpuset_foreach (c, &t->online) {
		if (cpuset_is_empty(&info[c]->siblings) && info[c]->core_id >= 0)
			return true;
	}
	return false;
}

static int level_alloc(struct level_ctx *lc, struct topo_domain **arr, int *n, enum level lv,
		       unsigned int n_online)
{
	*arr = calloc(n_online, sizeof(**arr));
	if (!*arr)
		return -ENOMEM;
	*n = 0;
	lc->arr = arr;
	lc->n = n;
	lc->lv = lv;
	return 0;
}

/*
 * Arrays start with one slot per online CPU (the most a level can need); give the
 * rest back, it is ~13 MiB per topology at 4096 CPUs. Failure to shrink is harmless.
 */
static void level_shrink(struct topo_domain **arr, int n)
{
	struct topo_domain *p = realloc(*arr, (size_t)(n ? n : 1) * sizeof(**arr));

	if (p)
		*arr = p;
}

/* Link every domain of child to the parent domain holding its first CPU, if nested. */
static void link_parents(struct topology *t, struct topo_domain *child, int n_child,
			 const struct topo_domain *parent, enum level parent_lv)
{
	for (int i = 0; i < n_child; i++) {
		int first = cpuset_next(&child[i].cpus, 0);
		int p = first < 0 ? -1 : *cpu_slot(&t->cpu_by_id[first], parent_lv);

		child[i].parent = -1;
		if (p >= 0 && cpuset_is_subset(&child[i].cpus, &parent[p].cpus))
			child[i].parent = p;
	}
}

static int build_level(struct topology *t, const struct topo_cpu_info *const *info, enum level lv,
		       struct topo_domain **arr, int *n)
{
	struct level_ctx lc;
	unsigned int n_online = cpuset_count(&t->online);
	int r, known;

	r = level_alloc(&lc, arr, n, lv, n_online);
	if (r < 0)
		return r;
	known = level_group(t, info, &lc);
	if ((lv == LV_L2 || lv == LV_L3) && known == 0) {
		level_copy_packages(t, &lc);
		t->fallbacks |= TOPO_FB_NO_CACHE;
	}
	/*
	 * Every CPU gets a package, core, L2 and L3 so the policy never meets -1 there.
	 * A CPU nothing is known about shares with no one: claiming sharing that does
	 * not exist would pack competing work together.
	 */
	if (lv == LV_PACKAGE && level_packages_by_node(t, info, &lc) > 0)
		t->fallbacks |= TOPO_FB_NO_PACKAGE_ID;
	if ((lv == LV_PACKAGE || lv == LV_CORE) && level_singletons(t, &lc) > 0)
		t->fallbacks |= TOPO_FB_NO_TOPOLOGY;
	if ((lv == LV_L2 || lv == LV_L3) && level_singletons(t, &lc) > 0)
		t->fallbacks |= TOPO_FB_NO_CACHE;
	level_shrink(arr, *n);
	return 0;
}

int topo_build_domains(struct topology *t, const struct topo_cpu_info *const *info)
{
	int r;

	r = build_level(t, info, LV_PACKAGE, &t->packages, &t->n_packages);
	if (r >= 0)
		r = build_level(t, info, LV_DIE, &t->dies, &t->n_dies);
	if (r >= 0)
		r = build_level(t, info, LV_CLUSTER, &t->clusters, &t->n_clusters);
	if (r >= 0)
		r = build_level(t, info, LV_CORE, &t->cores, &t->n_cores);
	if (r >= 0)
		r = build_level(t, info, LV_L2, &t->l2s, &t->n_l2s);
	if (r >= 0)
		r = build_level(t, info, LV_L3, &t->l3s, &t->n_l3s);
	if (r < 0)
		return r;
	if (cores_used_ids(t, info))
		t->fallbacks |= TOPO_FB_NO_SIBLINGS_LIST;
	link_parents(t, t->dies, t->n_dies, t->packages, LV_PACKAGE);
	link_parents(t, t->l3s, t->n_l3s, t->dies, LV_DIE);
	link_parents(t, t->l2s, t->n_l2s, t->l3s, LV_L3);
	link_parents(t, t->cores, t->n_cores, t->l2s, LV_L2);
	/* Clusters sit beside the chain; their natural parent is the L3 (kunpeng). */
	link_parents(t, t->clusters, t->n_clusters, t->l3s, LV_L3);
	return 0;
}
