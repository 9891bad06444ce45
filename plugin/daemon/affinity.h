/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's devices -> its placement preference (docs/annotations.md "Devices"):
 * each device the model holds is resolved through sysfs (plugin/host/devices.h) to a
 * NUMA node; the known nodes and local CPUs become alloc_prefs.device_nodes /
 * device_cpus. Devices of unknown node (-1, or not in sysfs) add nothing.
 *
 * Borrowed pointers only; nothing is retained beyond what is written into c's devices
 * (their node and id) and into prefs.
 */
#pragma once

#include <stddef.h>

#include "plugin/daemon/model.h"
#include "policy/alloc.h"

struct daemon;

/* Resolve c's devices under d's sysfs root and fill prefs' device sets (not its mode).
 * Without a sysfs root, or with mode OFF, nothing is looked up. */
void affinity_resolve(struct daemon *d, struct model_container *c, struct alloc_prefs *prefs);
/* Resolve c's devices again and append "; device PATH (PCI) on node N" for each device
 * of known node to buf (NUL-terminated, truncated at size). */
void affinity_explain(struct daemon *d, struct model_container *c, char *buf, size_t size);
/* Count a placement of a container with devices (metrics), on creation. */
void affinity_count(struct daemon *d, const struct alloc_result *r);
