/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Knowing what runs without the runtime's word (restore.c).
 *
 * The checkpoint: every allocation, with the request it was made for, is written to
 * state.checkpoint (plugin/host/checkpoint.h) at most every DAEMON_CHECKPOINT_MS
 * after a change, and when the daemon stops.
 *
 * The node restore, for a runtime that sends no Synchronize (NRI before v0.7 to a
 * pre-launched plugin): the checkpoint's entries whose container cgroup still
 * exists, with the cpuset the kernel holds, plus the running containers the
 * checkpoint does not know, read from the kubelet's cgroups (plugin/host/kubepods.h):
 * a Guaranteed one whose cpuset is exactly its whole CPUs keeps them as exclusive, a
 * Burstable or Guaranteed one otherwise joins the shared pool. What topoguard cannot
 * place stays as it is. Until the state is known (a Synchronize or a node restore),
 * no exclusive CPU is handed out (docs/architecture.md "Where the state comes from").
 *
 * Uses state.h and the host room; handlers.c and daemon.c call it.
 */
#pragma once

#include "plugin/daemon/state.h"

#define DAEMON_CHECKPOINT_MS 250

/* Write the checkpoint now (if state.checkpoint is set), fsync'd if durable. 0 or
 * -errno (logged). */
int daemon_checkpoint_save(struct daemon *d, bool durable);
/*
 * Before a reply, on a runtime that will not synchronize the next plugin (pre-launched,
 * NRI before v0.7): when CPUs changed owners since the last checkpoint, write it now
 * (not fsync'd; the next tick makes it durable). The runtime's restart kills the plugin
 * at any moment, and nothing but the checkpoint (and the kubelet's cgroups) tells the
 * next one who owns what: it must already say so when the runtime acts on the answer.
 * Elsewhere the tick is enough: the Synchronize after a restart says it all.
 */
void daemon_checkpoint_owners(struct daemon *d);
/*
 * Rebuild the allocation (and a minimal model) from the checkpoint and the node's
 * cgroups; why goes to the log. 0 (the state is then known), or -errno with the old
 * state kept and still unknown.
 */
int daemon_restore_from_node(struct daemon *d, const char *why);
