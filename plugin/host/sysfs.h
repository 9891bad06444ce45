/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Topology discovery from sysfs.
 *
 * Everything is read relative to a directory fd on an injectable root ("/sys" on a
 * live node, a fixture tree in tests). Missing files take the documented fallbacks
 * (TOPO_FB_* in policy/topology.h, docs/topology.md); a file that exists but does
 * not parse is an error (-EINVAL), because guessing would place containers on the
 * wrong CPUs.
 *
 * Ownership: on success *ret owns a new topology (free with topology_free());
 * on failure *ret is untouched. root may be NULL for "/sys". bad_path may be NULL.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/topology.h"

#define SYSFS_DEFAULT_ROOT "/sys"

int sysfs_topology_load(const char *root, struct topology **ret);
/*
 * As sysfs_topology_load(); on failure also writes the root-relative path of the
 * file that caused it to bad_path (NUL-terminated, truncated to size; "" if no
 * single file is to blame).
 */
int sysfs_topology_load_diag(const char *root, struct topology **ret, char *bad_path, size_t size);

/*
 * Buffer parsers for sysfs values; buf need not be NUL-terminated. Whitespace,
 * '\n' and NUL padding around the value are ignored. -EINVAL on anything else.
 */
int sysfs_parse_ll(const char *buf, size_t len, long long *ret);
/* Cache sizes: "32K", "1280K", "8M", "512" (bytes). */
int sysfs_parse_size(const char *buf, size_t len, uint64_t *ret);
/* The "Node N MemTotal: X kB" line of a node's meminfo, in bytes. */
int sysfs_parse_meminfo_total(const char *buf, size_t len, uint64_t *ret);
/* Space-separated distances; at most max values are stored, the count read is returned. */
int sysfs_parse_distances(const char *buf, size_t len, int *out, int max);
