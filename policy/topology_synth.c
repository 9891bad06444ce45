/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic machines for tests and benchmarks.
 *
 * They go through the same builder as sysfs does, so a synthetic machine exercises
 * the grouping code rather than bypassing it. Numbering follows Linux on x86: CPUs
 * 0..C-1 are the first thread of each core, the other threads follow in blocks of
 * the multi-threaded cores (hybrid: only P cores have more than one thread).
 */
#include <errno.h>
#include <stdlib.h>

#include "policy/topology.h"

#define SYNTH_BASE_KHZ	  2000000u
#define SYNTH_MAX_KHZ	  3500000u
#define SYNTH_P_MAX_KHZ	  4800000u
#define SYNTH_E_BASE_KHZ  1500000u
#define SYNTH_L2_SIZE	  (1ull << 20)
#define SYNTH_L3_SIZE	  (32ull << 20)
#define SYNTH_NODE_MEM	  (64ull << 30)
#define SYNTH_MEMNODE_MEM (16ull << 30)

struct synth {
	const struct topo_synth_spec *s;
	int n_cores; /* C */
	int n_multi; /* cores with threads_per_core threads (the first n_multi) */
	int n_cpu_nodes;
	int n_cpus;
};

static int synth_check(const struct topo_synth_spec *s, struct synth *m)
{
	long long cores, nodes, cpus;

	if (s->packages < 1 || s->dies_per_package < 1 || s->nodes_per_die < 1 ||
	    s->l3_per_node < 1 || s->cores_per_l3 < 1 || s->threads_per_core < 1 ||
	    s->threads_per_core > 8 || s->memory_only_nodes < 0)
		return -EINVAL;
	nodes = (long long)s->packages * s->dies_per_package * s->nodes_per_die;
	cores = nodes * s->l3_per_node * s->cores_per_l3;
	if (cores > CPUSET_MAX || nodes + s->memory_only_nodes > CPUSET_MAX)
		return -ERANGE;
	m->s = s;
	m->n_cores = (int)cores;
	m->n_multi = s->hybrid ? m->n_cores / 2 : m->n_cores;
	m->n_cpu_nodes = (int)nodes;
	cpus = cores + (long long)m->n_multi * (s->threads_per_core - 1);
	if (cpus > CPUSET_MAX)
		return -ERANGE;
	m->n_cpus = (int)cpus;
	return 0;
}

static int synth_threads(const struct synth *m, int core)
{
	return core < m->n_multi ? m->s->threads_per_core : 1;
}

static int synth_cpu_id(const struct synth *m, int core, int thread)
{
	return thread == 0 ? core : m->n_cores + (thread - 1) * m->n_multi + core;
}

static void synth_core_cpus(const struct synth *m, int core, struct cpuset *set)
{
	for (int t = 0; t < synth_threads(m, core); t++)
		cpuset_set(set, (unsigned int)synth_cpu_id(m, core, t));
}

/* Cores [first, last] whose CPUs share this core's L2: E cores share in fours (Gracemont). */
static void synth_l2_range(const struct synth *m, int core, int *first, int *last)
{
	int l3_base = core - core % m->s->cores_per_l3;
	int l3_end = l3_base + m->s->cores_per_l3 - 1;
	int fe;

	*first = *last = core;
	if (!m->s->hybrid || core < m->n_multi)
		return;
	fe = l3_base > m->n_multi ? l3_base : m->n_multi;
	*first = fe + (core - fe) / 4 * 4;
	*last = *first + 3 < l3_end ? *first + 3 : l3_end;
}

static void synth_fill(const struct synth *m, int core, struct topo_cpu_info *ci)
{
	const struct topo_synth_spec *s = m->s;
	int per_node = s->l3_per_node * s->cores_per_l3;
	int per_pkg = per_node * s->nodes_per_die * s->dies_per_package;
	int node = core / per_node, l3 = core / s->cores_per_l3;
	int l3_first = l3 * s->cores_per_l3, l2_first, l2_last;
	bool p_core = core < m->n_multi;

	ci->package_id = core / per_pkg;
	ci->die_id = (core / (per_node * s->nodes_per_die)) % s->dies_per_package;
	ci->core_id = core % per_pkg;
	ci->node_id = node;
	synth_core_cpus(m, core, &ci->siblings);
	synth_l2_range(m, core, &l2_first, &l2_last);
	ci->l2_id = l2_first;
	for (int k = l2_first; k <= l2_last; k++)
		synth_core_cpus(m, k, &ci->l2_cpus);
	ci->l2_size = SYNTH_L2_SIZE * (uint64_t)(l2_last - l2_first + 1);
	ci->l3_id = l3;
	for (int k = l3_first; k < l3_first + s->cores_per_l3; k++)
		synth_core_cpus(m, k, &ci->l3_cpus);
	ci->l3_size = SYNTH_L3_SIZE;
	ci->kind = !s->hybrid ? TOPO_CPU_KIND_UNKNOWN
		   : p_core   ? TOPO_CPU_KIND_PERFORMANCE
			      : TOPO_CPU_KIND_EFFICIENT;
	ci->base_khz = s->hybrid && !p_core ? SYNTH_E_BASE_KHZ : SYNTH_BASE_KHZ;
	ci->max_khz = !s->hybrid ? SYNTH_MAX_KHZ : p_core ? SYNTH_P_MAX_KHZ : SYNTH_MAX_KHZ;
}

static int synth_add_cpus(const struct synth *m, struct topo_builder *b)
{
	struct topo_cpu_info *ci = malloc(sizeof(*ci));
	int r = 0;

	if (!ci)
		return -ENOMEM;
	for (int core = 0; core < m->n_cores && r >= 0; core++) {
		for (int t = 0; t < synth_threads(m, core) && r >= 0; t++) {
			topo_cpu_info_init(ci, synth_cpu_id(m, core, t));
			synth_fill(m, core, ci);
			ci->online = !cpuset_test(&m->s->offline, (unsigned int)ci->id);
			r = topo_builder_add_cpu(b, ci);
		}
	}
	free(ci);
	return r;
}

/* 10 local, 11 same die (SNC), 12 same package, 21 remote, 40 to or from memory-only. */
static int synth_distance(const struct synth *m, int a, int b)
{
	int per_die = m->s->nodes_per_die, per_pkg = per_die * m->s->dies_per_package;

	if (a == b)
		return 10;
	if (a >= m->n_cpu_nodes || b >= m->n_cpu_nodes)
		return 40;
	if (a / per_die == b / per_die)
		return 11;
	return a / per_pkg == b / per_pkg ? 12 : 21;
}

static int synth_add_nodes(const struct synth *m, struct topo_builder *b)
{
	int per_node = m->s->l3_per_node * m->s->cores_per_l3;
	int total = m->n_cpu_nodes + m->s->memory_only_nodes;
	struct cpuset cpus;
	int r;

	for (int n = 0; n < total; n++) {
		bool mem_only = n >= m->n_cpu_nodes;

		cpuset_zero(&cpus);
		for (int k = n * per_node; !mem_only && k < (n + 1) * per_node; k++)
			synth_core_cpus(m, k, &cpus);
		r = topo_builder_add_node(b, n, &cpus,
					  mem_only ? SYNTH_MEMNODE_MEM : SYNTH_NODE_MEM, true);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < total; i++) {
		for (int j = 0; j < total; j++) {
			r = topo_builder_set_distance(b, i, j, synth_distance(m, i, j));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int synth_build(const struct synth *m, struct topo_builder *b, struct topology **ret)
{
	struct cpuset all;
	int r;

	cpuset_zero(&all);
	for (int i = 0; i < m->n_cpus; i++)
		cpuset_set(&all, (unsigned int)i);
	topo_builder_set_possible(b, &all);
	topo_builder_set_present(b, &all);
	topo_builder_set_isolated(b, &m->s->isolated);
	r = synth_add_cpus(m, b);
	if (r >= 0)
		r = synth_add_nodes(m, b);
	if (r >= 0)
		r = topology_build(b, ret);
	return r;
}

int topology_synthetic(const struct topo_synth_spec *spec, struct topology **ret)
{
	struct topo_builder *b = NULL;
	struct synth m;
	int r;

	if (!spec || !ret)
		return -EINVAL;
	r = synth_check(spec, &m);
	if (r < 0)
		return r;
	r = topo_builder_new(&b);
	if (r < 0)
		return r;
	r = synth_build(&m, b, ret);
	topo_builder_free(b);
	return r;
}
