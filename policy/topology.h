/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's hardware topology as the allocation policy sees it.
 *
 * Pure data plus a builder: plugin/host/sysfs.c reads sysfs (I/O) and feeds the builder
 * (no I/O), tests build synthetic machines in code the same way.
 *
 * Domains (packages, dies, clusters, L2 and L3 caches, cores, NUMA nodes) are stored
 * in dense arrays; a CPU refers to its domains by dense index, never by sysfs id,
 * because sysfs ids are sparse and not unique across packages (see the fixtures'
 * README). Cores are thread-sibling groups (thread_siblings_list / core_cpus_list).
 *
 * Ownership: struct topology is owned by whoever topology_build() returned it to, and
 * freed with topology_free() (NULL-safe). Everything reachable from it is read-only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/cpuset.h"

enum topo_cpu_kind {
	TOPO_CPU_KIND_UNKNOWN = 0, /* not a hybrid part, or no way to tell */
	TOPO_CPU_KIND_PERFORMANCE, /* P-core (devices/cpu_core, or inferred) */
	TOPO_CPU_KIND_EFFICIENT,   /* E-core (devices/cpu_atom, or inferred) */
};

/* What told P from E cores apart (topology.kind_signals; docs/topology.md "Core kinds"). */
enum topo_kind_signal {
	TOPO_KIND_SIG_FILES = 1u << 0,	   /* devices/cpu_core and devices/cpu_atom */
	TOPO_KIND_SIG_CAPACITY = 1u << 1,  /* cpuN/cpu_capacity (arm64, riscv) */
	TOPO_KIND_SIG_MAX_FREQ = 1u << 2,  /* cpufreq/cpuinfo_max_freq */
	TOPO_KIND_SIG_BASE_FREQ = 1u << 3, /* cpufreq/base_frequency */
	TOPO_KIND_SIG_SMT = 1u << 4,	   /* threads per core */
	TOPO_KIND_SIG_L2_SHARE = 1u << 5,  /* cores sharing one L2 */
	TOPO_KIND_SIG_L2_SIZE = 1u << 6,   /* L2 size */
};

/* One online logical CPU. Fields are dense indexes into struct topology's arrays, -1 = none. */
/* topology_build() guarantees package, die, core, l2, l3 and node >= 0; only cluster may be -1. */
struct topo_cpu {
	int id; /* logical CPU number */
	int package;
	int die;
	int cluster;
	int core;
	int l2;
	int l3;
	int node; /* index into topology.nodes */
	enum topo_cpu_kind kind;
	uint32_t base_khz; /* 0 = unknown */
	uint32_t max_khz;  /* 0 = unknown */
	uint32_t capacity; /* cpu_capacity (1024 = the biggest core), 0 = unknown */
};

/* A set of CPUs sharing something: a package, die, cluster, cache or core. */
struct topo_domain {
	long long sysfs_id; /* id as sysfs reported it (may be sparse, -1 if none) */
	int parent; /* dense index in the next level up (core->l2->l3->die->package), -1 if none */
	struct cpuset cpus; /* online CPUs only */
	uint64_t size;	    /* caches: bytes, 0 if unknown */
};

struct topo_node {
	int id;		    /* NUMA node id as in sysfs (sparse, e.g. 250-255 on POWER9) */
	struct cpuset cpus; /* online CPUs only; empty for memory-only nodes */
	uint64_t mem_total; /* bytes, 0 if unknown */
	bool has_memory;
};

/* Which fallbacks discovery had to take (documented in docs/topology.md). */
enum topo_fallback {
	TOPO_FB_NO_ONLINE_FILE = 1u << 0, /* cpu/online missing: listed cpuN dirs */
	TOPO_FB_NO_TOPOLOGY = 1u << 1,	  /* a CPU lacked topology/: one core/package per CPU */
	TOPO_FB_NO_CACHE = 1u << 2,	  /* no cache info: L2/L3 = package */
	TOPO_FB_NO_NUMA = 1u << 3,	  /* no node dirs: one node 0 with every CPU */
	TOPO_FB_NO_DISTANCE = 1u << 4,	  /* no distance files: 10 local / 20 remote */
	TOPO_FB_NODE_CPUMAP = 1u << 5,	  /* node cpulist missing: used cpumap */
	/* no thread_siblings(_list): grouped by (package, core_id) */
	TOPO_FB_NO_SIBLINGS_LIST = 1u << 6,
	/* cpuinfo_max_freq differs, no cpu_core/cpu_atom, nothing else agrees: kinds unknown */
	TOPO_FB_NO_CPU_KIND = 1u << 7,
	/* physical_package_id is -1 (POWER LPARs): one package per NUMA node */
	TOPO_FB_NO_PACKAGE_ID = 1u << 8,
	/* no cpu_core/cpu_atom: P/E inferred from two agreeing signals (kind_signals) */
	TOPO_FB_CPU_KIND_INFERRED = 1u << 9,
};

/* Name ("no-topology") and one-line description of one TOPO_FB_* bit; NULL if unknown. */
const char *topology_fallback_name(unsigned int bit);
const char *topology_fallback_desc(unsigned int bit);
/* Comma-separated names of the kind_signals bits into buf; returns buf. */
const char *topology_kind_signals_format(unsigned int signals, char *buf, size_t size);

struct topology {
	struct cpuset possible;
	struct cpuset present;
	struct cpuset online;
	struct cpuset offline;
	struct cpuset isolated; /* isolcpus= (cpu/isolated), online only */
	struct cpuset nohz_full;

	int max_cpu;		    /* highest online CPU id, -1 if none */
	struct topo_cpu *cpu_by_id; /* indexed by CPU id, [0..max_cpu]; offline slots have id -1 */

	struct topo_domain *packages, *dies, *clusters, *l2s, *l3s, *cores;
	int n_packages, n_dies, n_clusters, n_l2s, n_l3s, n_cores;

	struct topo_node *nodes;
	int n_nodes;
	int *distance; /* n_nodes * n_nodes, distance[i * n_nodes + j], by dense index */

	bool hybrid;		   /* both P and E cores present */
	unsigned int kind_signals; /* enum topo_kind_signal bits that decided the kinds */
	unsigned int fallbacks;	   /* enum topo_fallback bits */
};

void topology_free(struct topology *t);

/* Dense node index for a sysfs node id, or -1. */
int topology_node_index(const struct topology *t, int node_id);
/* The online CPU record for id, or NULL if id is not an online CPU. */
const struct topo_cpu *topology_cpu(const struct topology *t, int id);

/*
 * Builder. Feed it what was discovered (sysfs reader) or invented (tests), then
 * topology_build() groups CPUs into dense domains, links parents, fills distances
 * (10 local / 20 remote where none were given, flagging TOPO_FB_NO_DISTANCE) and
 * applies the documented fallbacks for anything missing.
 */
struct topo_builder;

/* What is known of one CPU. Unknown ids are -1; unknown sets are empty. */
struct topo_cpu_info {
	int id;
	bool online;
	long long package_id, die_id, cluster_id, core_id;
	struct cpuset siblings;		/* thread siblings including itself (core_cpus_list) */
	long long l2_id, l3_id;		/* cache indexM/id, -1 if absent */
	struct cpuset l2_cpus, l3_cpus; /* shared_cpu_list (or _map) */
	uint64_t l2_size, l3_size;
	int node_id;
	enum topo_cpu_kind kind;
	uint32_t base_khz, max_khz;
	uint32_t capacity; /* cpu_capacity, 0 if absent */
};
void topo_cpu_info_init(struct topo_cpu_info *ci, int id); /* everything unknown, online */

int topo_builder_new(struct topo_builder **ret);
void topo_builder_free(struct topo_builder *b);
int topo_builder_add_cpu(struct topo_builder *b, const struct topo_cpu_info *ci);
int topo_builder_add_node(struct topo_builder *b, int node_id, const struct cpuset *cpus,
			  uint64_t mem_total, bool has_memory);
int topo_builder_set_distance(struct topo_builder *b, int from_node_id, int to_node_id, int d);
void topo_builder_set_possible(struct topo_builder *b, const struct cpuset *s);
void topo_builder_set_present(struct topo_builder *b, const struct cpuset *s);
void topo_builder_set_isolated(struct topo_builder *b, const struct cpuset *s);
void topo_builder_set_nohz_full(struct topo_builder *b, const struct cpuset *s);
void topo_builder_add_fallback(struct topo_builder *b, unsigned int fallbacks);
/*
 * The CPU kinds given are authoritative (devices/cpu_core or cpu_atom exist), even if
 * every CPU has the same kind. Without this, kinds are authoritative only when some CPU
 * has one; otherwise topology_build() infers them (docs/topology.md "Core kinds").
 */
void topo_builder_set_kinds_known(struct topo_builder *b);
/* Consumes nothing: the builder stays valid and must still be freed. */
int topology_build(const struct topo_builder *b, struct topology **ret);

/*
 * Synthetic machines for tests and benchmarks: packages x dies x nodes x L3 x cores
 * x threads, numbered the Linux way (thread siblings are N and N + n_cores_total).
 */
struct topo_synth_spec {
	int packages;
	int dies_per_package; /* >= 1 */
	int nodes_per_die;    /* >= 1 (SNC when > 1) */
	int l3_per_node;      /* >= 1 (CCX when > 1) */
	int cores_per_l3;
	int threads_per_core;	/* 1 or 2 (or 4) */
	int memory_only_nodes;	/* extra nodes without CPUs, after the CPU nodes */
	struct cpuset offline;	/* CPUs to mark offline */
	struct cpuset isolated; /* CPUs to mark isolated */
	bool hybrid;		/* first half of cores P, second half E (E: 1 thread) */
};
int topology_synthetic(const struct topo_synth_spec *spec, struct topology **ret);
