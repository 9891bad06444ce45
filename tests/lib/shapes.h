/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Machine shapes built in code (issue 16): the shapes topoguard got wrong on machines its
 * authors had not seen, described CPU by CPU and written out as sysfs trees, so tests
 * and benchmarks go through the real reader (plugin/host/sysfs.c) without copying dumps
 * of machines we do not have. docs/topology.md lists what each shape stands for.
 *
 * struct shape is large (a few hundred CPUs): allocate it. Functions return 0 or -errno;
 * on failure *ret is untouched. shape_load() writes the tree to a temp dir, loads it and
 * removes it again.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/topology.h"

#define SHAPE_MAX_CPUS 256
#define SHAPE_NO_FILE  LLONG_MIN /* an id field whose sysfs file is absent */

struct shape_cpu {
	int id;
	long long package_id, die_id, cluster_id, core_id; /* as written; SHAPE_NO_FILE */
	int core;   /* CPUs with the same core are siblings */
	int l2, l3; /* CPUs with the same number share it */
	uint32_t l2_kib, l3_kib;
	int node;
	uint32_t max_khz, base_khz, capacity; /* 0: no file */
	char kind;			      /* 'P', 'E': listed in devices/cpu_core|cpu_atom */
};

struct shape {
	const char *name;
	const char *desc;
	int n_cpus, n_nodes;
	int remote; /* node distance to other nodes (10 to itself) */
	bool kind_files;
	bool bench; /* one of the shapes, for bench/placement_quality.c */
	struct shape_cpu cpu[SHAPE_MAX_CPUS];
};

size_t shape_count(void);
/* The i-th shape (-ENOENT past the end), or the one called name. */
int shape_get(size_t i, struct shape *ret);
int shape_by_name(const char *name, struct shape *ret);
/* Write s as a sysfs tree under dir (which must exist). */
int shape_write_sysfs(const struct shape *s, const char *dir);
/* Write s to a temp dir, load it with sysfs_topology_load_diag(), remove the dir. */
int shape_load(const struct shape *s, struct topology **ret);
