/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy/topology*.c: the builder and synthetic machines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/topology.h"

/* packages, dies/package, nodes/die, L3/node, cores/L3, threads/core, memory-only nodes */
#define SPEC(p, d, n, l, c, th, m)                                                 \
	(struct topo_synth_spec)                                                   \
	{                                                                          \
		.packages = (p), .dies_per_package = (d), .nodes_per_die = (n),    \
		.l3_per_node = (l), .cores_per_l3 = (c), .threads_per_core = (th), \
		.memory_only_nodes = (m)                                           \
	}

static struct cpuset set_of(const char *list)
{
	struct cpuset s;

	assert_int_equal(cpuset_parse(list, strlen(list), &s), 0);
	return s;
}

static void assert_set(const struct cpuset *s, const char *want)
{
	char buf[1024];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
}

static struct topology *synth(const struct topo_synth_spec *spec)
{
	struct topology *t = NULL;
	int r = topology_synthetic(spec, &t);

	if (r < 0)
		fail_msg("topology_synthetic: %s", strerror(-r));
	return t;
}

/* Every level partitions the online CPUs and each CPU points at the domain holding it. */
static void assert_partition(const struct topology *t, const struct topo_domain *d, int n,
			     size_t field)
{
	struct cpuset all;
	int c;

	cpuset_zero(&all);
	for (int i = 0; i < n; i++) {
		assert_false(cpuset_intersects(&all, &d[i].cpus));
		cpuset_or(&all, &all, &d[i].cpus);
		cpuset_foreach (c, &d[i].cpus) {
			const struct topo_cpu *cpu = topology_cpu(t, c);

			assert_non_null(cpu);
			assert_int_equal(*(const int *)((const char *)cpu + field), i);
		}
	}
	assert_true(cpuset_equal(&all, &t->online));
}

static void assert_consistent(const struct topology *t)
{
	assert_partition(t, t->packages, t->n_packages, offsetof(struct topo_cpu, package));
	assert_partition(t, t->dies, t->n_dies, offsetof(struct topo_cpu, die));
	assert_partition(t, t->cores, t->n_cores, offsetof(struct topo_cpu, core));
	assert_partition(t, t->l2s, t->n_l2s, offsetof(struct topo_cpu, l2));
	assert_partition(t, t->l3s, t->n_l3s, offsetof(struct topo_cpu, l3));
	for (int i = 1; i < t->n_nodes; i++)
		assert_true(t->nodes[i - 1].id < t->nodes[i].id);
}

static void test_topology_synthetic_one_cpu(void **state)
{
	struct topo_synth_spec spec = SPEC(1, 1, 1, 1, 1, 1, 0);
	struct topology *t;

	(void)state;
	t = synth(&spec);
	assert_int_equal(t->max_cpu, 0);
	assert_int_equal(t->n_packages, 1);
	assert_int_equal(t->n_cores, 1);
	assert_int_equal(t->n_nodes, 1);
	assert_int_equal(t->distance[0], 10);
	assert_int_equal(t->fallbacks, 0);
	assert_false(t->hybrid);
	assert_non_null(topology_cpu(t, 0));
	assert_null(topology_cpu(t, 1));
	assert_null(topology_cpu(t, -1));
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_snc_two_sockets(void **state)
{
	/* skx-2s-snc2-like: 2 sockets, 2 SNC nodes each, one L3 per node, 5 cores, SMT2 */
	struct topo_synth_spec spec = SPEC(2, 1, 2, 1, 5, 2, 0);
	struct topology *t;
	const struct topo_cpu *c;

	(void)state;
	t = synth(&spec);
	assert_int_equal(cpuset_count(&t->online), 40);
	assert_int_equal(t->n_packages, 2);
	assert_int_equal(t->n_dies, 2);
	assert_int_equal(t->n_nodes, 4);
	assert_int_equal(t->n_l3s, 4);
	assert_int_equal(t->n_cores, 20);
	/* thread siblings are N and N + 20 */
	c = topology_cpu(t, 3);
	assert_set(&t->cores[c->core].cpus, "3,23");
	assert_int_equal(topology_cpu(t, 23)->core, c->core);
	/* parents: core -> l2 -> l3 -> die -> package */
	assert_int_equal(t->cores[c->core].parent, c->l2);
	assert_int_equal(t->l2s[c->l2].parent, c->l3);
	assert_int_equal(t->l3s[c->l3].parent, c->die);
	assert_int_equal(t->dies[c->die].parent, c->package);
	assert_int_equal(t->packages[0].parent, -1);
	assert_int_equal(t->distance[0 * 4 + 1], 11);
	assert_int_equal(t->distance[0 * 4 + 2], 21);
	assert_int_equal(t->distance[3 * 4 + 3], 10);
	assert_set(&t->nodes[1].cpus, "5-9,25-29");
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_1024_cpus(void **state)
{
	struct topo_synth_spec spec = SPEC(4, 2, 2, 2, 16, 2, 0);
	struct topology *t;

	(void)state;
	t = synth(&spec);
	assert_int_equal(cpuset_count(&t->online), 1024);
	assert_int_equal(t->max_cpu, 1023);
	assert_int_equal(t->n_packages, 4);
	assert_int_equal(t->n_dies, 8);
	assert_int_equal(t->n_nodes, 16);
	assert_int_equal(t->n_l3s, 32);
	assert_int_equal(t->n_cores, 512);
	assert_set(&t->cores[topology_cpu(t, 511)->core].cpus, "511,1023");
	assert_int_equal(t->distance[0 * 16 + 2], 12); /* other die, same package */
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_offline_holes(void **state)
{
	struct topo_synth_spec spec = SPEC(1, 1, 1, 1, 4, 2, 0);
	struct topology *t;

	(void)state;
	spec.offline = set_of("0,5,7");
	t = synth(&spec);
	assert_set(&t->online, "1-4,6");
	assert_set(&t->offline, "0,5,7");
	assert_set(&t->possible, "0-7");
	assert_int_equal(t->max_cpu, 6);
	assert_null(topology_cpu(t, 0));
	assert_null(topology_cpu(t, 5));
	assert_int_equal(t->cpu_by_id[5].id, -1);
	/* core 0 = {0,4} keeps only CPU 4; core 3 = {3,7} keeps 3 */
	assert_set(&t->cores[topology_cpu(t, 4)->core].cpus, "4");
	assert_int_equal(t->n_cores, 4);
	assert_set(&t->nodes[0].cpus, "1-4,6");
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_isolated(void **state)
{
	struct topo_synth_spec spec = SPEC(1, 1, 1, 1, 4, 1, 0);
	struct topology *t;

	(void)state;
	spec.isolated = set_of("2-3,100");
	spec.offline = set_of("3");
	t = synth(&spec);
	assert_set(&t->isolated, "2"); /* online only */
	topology_free(t);
}

static void test_topology_synthetic_memory_only_nodes(void **state)
{
	struct topo_synth_spec spec = SPEC(2, 1, 1, 1, 2, 4, 2);
	struct topology *t;

	(void)state;
	t = synth(&spec);
	assert_int_equal(t->n_nodes, 4);
	assert_true(cpuset_is_empty(&t->nodes[2].cpus));
	assert_true(cpuset_is_empty(&t->nodes[3].cpus));
	assert_true(t->nodes[3].has_memory);
	assert_true(t->nodes[3].mem_total > 0);
	/* farther than the remote CPU node */
	assert_true(t->distance[0 * 4 + 2] > t->distance[0 * 4 + 1]);
	assert_int_equal(topology_node_index(t, 3), 3);
	assert_int_equal(topology_node_index(t, 4), -1);
	assert_set(&t->cores[0].cpus, "0,4,8,12");
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_hybrid(void **state)
{
	/* 8 cores in one L3: first half P (SMT2), second half E (1 thread) */
	struct topo_synth_spec spec = SPEC(1, 1, 1, 1, 8, 2, 0);
	struct topology *t;
	int e_l2;

	(void)state;
	spec.hybrid = true;
	t = synth(&spec);
	assert_true(t->hybrid);
	assert_int_equal(cpuset_count(&t->online), 12);
	assert_int_equal(t->n_cores, 8);
	assert_int_equal(topology_cpu(t, 0)->kind, TOPO_CPU_KIND_PERFORMANCE);
	assert_int_equal(topology_cpu(t, 11)->kind, TOPO_CPU_KIND_PERFORMANCE);
	assert_int_equal(topology_cpu(t, 4)->kind, TOPO_CPU_KIND_EFFICIENT);
	assert_set(&t->cores[topology_cpu(t, 1)->core].cpus, "1,9");
	assert_set(&t->cores[topology_cpu(t, 5)->core].cpus, "5");
	e_l2 = topology_cpu(t, 6)->l2;
	assert_set(&t->l2s[e_l2].cpus, "4-7"); /* E cores share L2 in fours */
	assert_set(&t->l2s[topology_cpu(t, 2)->l2].cpus, "2,10");
	assert_true(topology_cpu(t, 0)->max_khz > topology_cpu(t, 6)->max_khz);
	assert_consistent(t);
	topology_free(t);
}

static void test_topology_synthetic_rejects_bad_spec(void **state)
{
	struct topo_synth_spec spec = SPEC(0, 1, 1, 1, 1, 1, 0);
	struct topology *t = (struct topology *)&spec; /* must stay untouched */

	(void)state;
	assert_int_equal(topology_synthetic(&spec, &t), -EINVAL);
	spec = SPEC(64, 1, 1, 1, 64, 2, 0);
	assert_int_equal(topology_synthetic(&spec, &t), -ERANGE);
	spec = SPEC(1, 1, 1, 1, 1, 1, -1);
	assert_int_equal(topology_synthetic(&spec, &t), -EINVAL);
	assert_int_equal(topology_synthetic(NULL, &t), -EINVAL);
	assert_ptr_equal(t, &spec);
}

/* ---- builder cases the synthetic machines cannot produce ---- */

static struct topo_builder *builder(void)
{
	struct topo_builder *b = NULL;

	assert_int_equal(topo_builder_new(&b), 0);
	return b;
}

static struct topology *build(struct topo_builder *b)
{
	struct topology *t = NULL;
	int r = topology_build(b, &t);

	if (r < 0)
		fail_msg("topology_build: %s", strerror(-r));
	return t;
}

/* opteron-4s-8n: siblings {0,1} and {8,9} share (package 0, core_id 0). */
static void test_topology_build_groups_by_siblings_not_core_id(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;

	(void)state;
	for (int id = 0; id < 4; id++) {
		topo_cpu_info_init(&ci, id < 2 ? id : id + 6); /* 0, 1, 8, 9 */
		ci.package_id = 0;
		ci.core_id = 0;
		ci.siblings = set_of(ci.id < 8 ? "0-1" : "8-9");
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	t = build(b);
	assert_int_equal(t->n_cores, 2);
	assert_set(&t->cores[topology_cpu(t, 9)->core].cpus, "8-9");
	assert_int_equal(t->fallbacks & TOPO_FB_NO_SIBLINGS_LIST, 0);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

static void test_topology_build_no_siblings_uses_core_id(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;

	(void)state;
	for (int id = 0; id < 4; id++) {
		topo_cpu_info_init(&ci, id);
		ci.package_id = id < 2 ? 0 : 7; /* same core_id in two packages */
		ci.core_id = 0;
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	t = build(b);
	assert_int_equal(t->n_cores, 2);
	assert_int_equal(t->n_packages, 2);
	assert_int_equal(t->packages[1].sysfs_id, 7);
	assert_true(t->fallbacks & TOPO_FB_NO_SIBLINGS_LIST);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

static void test_topology_build_nothing_known_falls_back(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;

	(void)state;
	for (int id = 0; id < 3; id++) {
		topo_cpu_info_init(&ci, id);
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	t = build(b);
	assert_int_equal(t->n_packages, 3);
	assert_int_equal(t->n_cores, 3);
	assert_int_equal(t->n_l3s, 3); /* L3 = package */
	assert_int_equal(t->n_nodes, 1);
	assert_set(&t->nodes[0].cpus, "0-2");
	assert_int_equal(t->fallbacks, TOPO_FB_NO_TOPOLOGY | TOPO_FB_NO_CACHE | TOPO_FB_NO_NUMA);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

/* POWER LPAR: package id -1 with known cores: one package per node, cores whole. A CPU
 * nothing is known about still gets a package (and core) of its own. */
static void test_topology_build_unknown_package_by_node(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;
	char sib[32];

	(void)state;
	for (int id = 0; id < 16; id++) {
		topo_cpu_info_init(&ci, id);
		ci.package_id = -1;
		ci.die_id = -1;
		ci.core_id = id / 4;
		snprintf(sib, sizeof(sib), "%d-%d", id / 4 * 4, id / 4 * 4 + 3);
		ci.siblings = set_of(sib);
		ci.node_id = id / 8;
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	topo_cpu_info_init(&ci, 16); /* no topology/ at all */
	ci.node_id = 1;
	assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	assert_int_equal(topo_builder_add_node(b, 0, &(struct cpuset){.bits = {0xff}}, 0, true), 0);
	assert_int_equal(topo_builder_add_node(b, 1, &(struct cpuset){.bits = {0x1ff00}}, 0, true),
			 0);
	t = build(b);
	assert_int_equal(t->n_packages, 3);
	assert_set(&t->packages[topology_cpu(t, 0)->package].cpus, "0-7");
	assert_set(&t->packages[topology_cpu(t, 8)->package].cpus, "8-15");
	assert_set(&t->packages[topology_cpu(t, 16)->package].cpus, "16");
	assert_int_equal(t->n_dies, 3);
	assert_int_equal(t->n_cores, 5);
	assert_true(t->fallbacks & TOPO_FB_NO_PACKAGE_ID);
	assert_true(t->fallbacks & TOPO_FB_NO_TOPOLOGY); /* for cpu16 only */
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

/* epyc: L3 (CCX) smaller than the node; skx SNC: L3 bigger than a node. Both nest in the die. */
static void test_topology_build_l3_vs_node(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;
	struct cpuset n0 = set_of("0-3"), n1 = set_of("4-7");

	(void)state;
	for (int id = 0; id < 8; id++) {
		topo_cpu_info_init(&ci, id);
		ci.package_id = 0;
		cpuset_zero(&ci.siblings);
		cpuset_set(&ci.siblings, (unsigned int)id);
		ci.l2_cpus = ci.siblings;
		ci.l3_cpus = set_of(id < 2 ? "0-1" : id < 4 ? "2-3" : "4-7");
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	assert_int_equal(topo_builder_add_node(b, 0, &n0, 1 << 20, true), 0);
	assert_int_equal(topo_builder_add_node(b, 1, &n1, 1 << 20, true), 0);
	assert_int_equal(topo_builder_add_node(b, 1, &n1, 1 << 20, true), -EEXIST);
	t = build(b);
	assert_int_equal(t->n_l3s, 3);
	for (int i = 0; i < t->n_l3s; i++)
		assert_int_equal(t->l3s[i].parent, 0);
	assert_int_equal(t->n_dies, 1);
	assert_int_equal(t->dies[0].sysfs_id, -1);
	assert_true(t->fallbacks & TOPO_FB_NO_DISTANCE);
	assert_int_equal(t->distance[1], 20);
	assert_false(t->fallbacks & TOPO_FB_NO_CACHE);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

/* hsw-2s-offline: node list names offline CPUs, cache lists name offline CPUs. */
static void test_topology_build_drops_offline_from_lists(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;
	struct cpuset n1 = set_of("4-21,23"), present = set_of("0-23"), poss = set_of("0-191");

	(void)state;
	for (int id = 0; id < 24; id++) {
		topo_cpu_info_init(&ci, id);
		ci.online = id >= 4 && id <= 20;
		ci.package_id = ci.online ? 1 : -1;
		ci.l3_cpus = present;
		cpuset_set(&ci.siblings, (unsigned int)id);
		ci.l2_id = id; /* id only, no list: grouped by id */
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	assert_int_equal(topo_builder_add_cpu(b, &ci), -EEXIST);
	ci.id = CPUSET_MAX;
	assert_int_equal(topo_builder_add_cpu(b, &ci), -ERANGE);
	topo_builder_set_present(b, &present);
	topo_builder_set_possible(b, &poss);
	assert_int_equal(topo_builder_add_node(b, 1, &n1, 0, true), 0);
	assert_int_equal(topo_builder_set_distance(b, 1, 1, 10), 0);
	assert_int_equal(topo_builder_set_distance(b, 1, 0, 21), 0); /* node0 is gone */
	assert_int_equal(topo_builder_set_distance(b, 1, 1, 0), -EINVAL);
	t = build(b);
	assert_set(&t->online, "4-20");
	assert_set(&t->offline, "0-3,21-23");
	assert_set(&t->nodes[0].cpus, "4-20");
	assert_set(&t->l3s[0].cpus, "4-20");
	assert_int_equal(t->n_l2s, 17);
	assert_int_equal(t->n_nodes, 1);
	assert_int_equal(t->fallbacks, 0);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

static void test_topology_build_orphan_cpu_gets_node(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t;
	struct cpuset n0 = set_of("0");

	(void)state;
	for (int id = 0; id < 3; id++) {
		topo_cpu_info_init(&ci, id);
		ci.node_id = id == 1 ? 5 : -1; /* cpu1 names a node with no dir */
		assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	}
	assert_int_equal(topo_builder_add_node(b, 0, &n0, 0, true), 0);
	t = build(b);
	assert_int_equal(t->n_nodes, 2);
	assert_int_equal(t->nodes[topology_cpu(t, 1)->node].id, 5);
	assert_int_equal(topology_cpu(t, 2)->node, 0);
	assert_consistent(t);
	topology_free(t);
	topo_builder_free(b);
}

static void test_topology_build_no_online_cpu(void **state)
{
	struct topo_builder *b = builder();
	struct topo_cpu_info ci;
	struct topology *t = (struct topology *)b;

	(void)state;
	assert_int_equal(topology_build(b, &t), -ENODEV);
	topo_cpu_info_init(&ci, 0);
	ci.online = false;
	assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
	assert_int_equal(topology_build(b, &t), -ENODEV);
	assert_ptr_equal(t, b);
	topo_builder_free(b);
	topo_builder_free(NULL);
	topology_free(NULL);
	assert_int_equal(topology_node_index(NULL, 0), -1);
	assert_null(topology_cpu(NULL, 0));
}

/* Deterministic LCG so a failure reproduces. */
static uint32_t rnd(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return (*st >> 16) & 0x7fff;
}

static struct cpuset rnd_set(uint32_t *st, int n)
{
	struct cpuset s;

	cpuset_zero(&s);
	for (int i = 0; i < n; i++)
		if (rnd(st) % 4 == 0)
			cpuset_set(&s, (unsigned int)i);
	return s;
}

static void rnd_cpu(uint32_t *st, int id, int n, struct topo_cpu_info *ci)
{
	topo_cpu_info_init(ci, id);
	ci->online = rnd(st) % 5 != 0;
	ci->package_id = (long long)(rnd(st) % 4) - 1;
	ci->die_id = (long long)(rnd(st) % 3) - 1;
	ci->cluster_id = (long long)(rnd(st) % 5) - 1;
	ci->core_id = (long long)(rnd(st) % 8) - 1;
	ci->l2_id = (long long)(rnd(st) % 6) - 1;
	ci->l3_id = (long long)(rnd(st) % 3) - 1;
	if (rnd(st) % 2)
		ci->siblings = rnd_set(st, n);
	if (rnd(st) % 2)
		ci->l2_cpus = rnd_set(st, n);
	if (rnd(st) % 2)
		ci->l3_cpus = rnd_set(st, n);
	ci->node_id = (int)(rnd(st) % 4) - 1;
}

static void assert_parents_nest(const struct topo_domain *child, int n,
				const struct topo_domain *parent, int n_parent)
{
	for (int i = 0; i < n; i++) {
		if (child[i].parent < 0)
			continue;
		assert_true(child[i].parent < n_parent);
		assert_true(cpuset_is_subset(&child[i].cpus, &parent[child[i].parent].cpus));
	}
}

/* Random, inconsistent input must still give partitions, nested parents and valid nodes. */
static void test_topology_build_random_input_invariants(void **state)
{
	uint32_t st = 42;

	(void)state;
	for (int iter = 0; iter < 300; iter++) {
		struct topo_builder *b = builder();
		struct topology *t = NULL;
		struct topo_cpu_info ci;
		int n = 1 + (int)(rnd(&st) % 40), c, r;

		for (int id = 0; id < n; id++) {
			rnd_cpu(&st, id, n, &ci);
			assert_int_equal(topo_builder_add_cpu(b, &ci), 0);
		}
		for (int node = 0; node < (int)(rnd(&st) % 4); node++) {
			struct cpuset cpus = rnd_set(&st, n);

			assert_int_equal(topo_builder_add_node(b, node * 3, &cpus, 0, rnd(&st) % 2),
					 0);
			assert_int_equal(topo_builder_set_distance(b, node * 3, 0, 10 + node), 0);
		}
		r = topology_build(b, &t);
		topo_builder_free(b);
		if (r == -ENODEV)
			continue; /* every CPU came out offline */
		assert_int_equal(r, 0);
		assert_consistent(t);
		assert_parents_nest(t->cores, t->n_cores, t->l2s, t->n_l2s);
		assert_parents_nest(t->l2s, t->n_l2s, t->l3s, t->n_l3s);
		assert_parents_nest(t->l3s, t->n_l3s, t->dies, t->n_dies);
		assert_parents_nest(t->dies, t->n_dies, t->packages, t->n_packages);
		assert_parents_nest(t->clusters, t->n_clusters, t->l3s, t->n_l3s);
		cpuset_foreach (c, &t->online) {
			int node = topology_cpu(t, c)->node;

			assert_true(node >= 0 && node < t->n_nodes);
			assert_true(cpuset_test(&t->nodes[node].cpus, (unsigned int)c));
		}
		for (int i = 0; i < t->n_nodes * t->n_nodes; i++)
			assert_true(t->distance[i] > 0);
		topology_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology_synthetic_one_cpu),
		cmocka_unit_test(test_topology_synthetic_snc_two_sockets),
		cmocka_unit_test(test_topology_synthetic_1024_cpus),
		cmocka_unit_test(test_topology_synthetic_offline_holes),
		cmocka_unit_test(test_topology_synthetic_isolated),
		cmocka_unit_test(test_topology_synthetic_memory_only_nodes),
		cmocka_unit_test(test_topology_synthetic_hybrid),
		cmocka_unit_test(test_topology_synthetic_rejects_bad_spec),
		cmocka_unit_test(test_topology_build_groups_by_siblings_not_core_id),
		cmocka_unit_test(test_topology_build_no_siblings_uses_core_id),
		cmocka_unit_test(test_topology_build_nothing_known_falls_back),
		cmocka_unit_test(test_topology_build_unknown_package_by_node),
		cmocka_unit_test(test_topology_build_l3_vs_node),
		cmocka_unit_test(test_topology_build_drops_offline_from_lists),
		cmocka_unit_test(test_topology_build_orphan_cpu_gets_node),
		cmocka_unit_test(test_topology_build_no_online_cpu),
		cmocka_unit_test(test_topology_build_random_input_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
