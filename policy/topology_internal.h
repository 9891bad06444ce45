/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by policy/topology*.c; not part of the contract in topology.h.
 *
 * The topo_build_* steps fill fields of a half-built struct topology in place and
 * return 0 or -errno; on failure the caller frees the topology with topology_free()
 * (everything they allocate hangs off it). info[] is indexed by CPU id, NULL where
 * nothing was added.
 */
#pragma once

#include "policy/topology.h"

struct topo_node_in {
	int id;
	struct cpuset cpus;
	uint64_t mem_total;
	bool has_memory;
};

struct topo_dist_in {
	int from, to, d;
};

/* Packages, dies, clusters, cores, L2, L3 and their parent links. */
int topo_build_domains(struct topology *t, const struct topo_cpu_info *const *info);
/* Nodes (sorted by id) and each online CPU's node. */
int topo_build_nodes(struct topology *t, const struct topo_cpu_info *const *info,
		     const struct topo_node_in *nodes, int n_nodes);
/* The n_nodes x n_nodes matrix; 10/20 where the input has no entry. */
int topo_build_distances(struct topology *t, const struct topo_dist_in *d, int n);
/*
 * CPU kinds: with given = true the per-CPU kinds stand (TOPO_KIND_SIG_FILES); else they
 * are inferred from agreeing signals (topology_kinds.c). Sets t->hybrid, t->kind_signals
 * and the TOPO_FB_CPU_KIND_INFERRED / TOPO_FB_NO_CPU_KIND fallbacks.
 */
int topo_build_kinds(struct topology *t, bool given);
