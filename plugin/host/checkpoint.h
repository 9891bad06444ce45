/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checkpoint: what topoguard last assigned to each running container, kept in
 * a file on the node so that a restart without a Synchronize from the runtime (NRI
 * before v0.7 never sends one to a pre-launched plugin) can rebuild its state
 * instead of handing out exclusive CPUs that running containers hold.
 *
 * Format: JSON {"version": 1, "entries": [...], "checksum": "fnv1a64:<16 hex>"}, the
 * checksum taken over the entries as written (like the kubelet's CPU manager
 * checkpoint). Written atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory, so a reader sees the old file or the new one, never half.
 *
 * Ownership: checkpoint_read() fills *ret with malloc'd strings owned by the caller
 * (checkpoint_done() frees them); on failure *ret is left empty. Strings are never
 * NULL in a read entry ("" when absent).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_VERSION   1
#define CHECKPOINT_MAX_BYTES (16u << 20) /* a bigger file is refused as corrupt */

struct checkpoint_entry {
	char *id, *pod_uid, *pod_namespace, *pod_name, *name;
	char *qos; /* "Guaranteed", "Burstable", "BestEffort" */
	int64_t cpu_request_mcpu, cpu_limit_mcpu, mem_limit;
	int hide_hyperthreads; /* -1 default, 0, 1 */
	int isolated, shared_only, reserved;
	char *cpus, *exclusive; /* cpulists; exclusive "" = ran shared */
};

struct checkpoint {
	struct checkpoint_entry *e;
	size_t n;
};

/*
 * Atomically replace path with c, making its directory (0700) if missing. 0 or -errno
 * (the old file stays on failure). durable: the file and the rename are fsync'd, so the
 * new state survives a power loss too; without, it survives the writer's death (the
 * rename is atomic), which is what a restarted plugin needs, at a fraction of the cost.
 */
int checkpoint_write(const char *path, const struct checkpoint *c, bool durable);
/*
 * Read path: 0, -ENOENT (none), -EBADMSG (unparsable, wrong version, checksum
 * mismatch, a field of the wrong type), -EFBIG (over CHECKPOINT_MAX_BYTES), or -errno.
 */
int checkpoint_read(const char *path, struct checkpoint *ret);
void checkpoint_done(struct checkpoint *c);
/* The checksum of a serialised entries array ("fnv1a64:" + 16 hex digits). */
void checkpoint_checksum(const char *text, char out[32]);
