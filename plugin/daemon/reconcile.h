/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconciliation with the node (reconcile.c): trust the kernel, not the runtime's
 * report (issue 19).
 *
 * Ghosts. A container topoguard placed that never comes to exist holds CPUs nobody
 * uses: CRI-O 1.26 sends no StopContainer or RemoveContainer after a creation that
 * failed past the NRI call. A container that has not started (no StartContainer or
 * PostCreateContainer, not reported running, no process in its cgroup where that can
 * be checked) reconcile.ghost_after after its CreateContainer, one whose cgroup
 * vanished after it was seen, and one the runtime rejects updates for as unknown,
 * loses its reservation: a log line, topoguard_ghosts_released_total{reason}, the
 * model forgets it, and the freed CPUs go out to the shared containers.
 *
 * Drift. Every reconcile.interval, and shortly after each Synchronize, each placed
 * container's cgroup is read (cpuset.cpus, CFS quota and period, shares or weight) and
 * compared with what topoguard intends; a difference is repaired with an unsolicited
 * update of the container's whole CPU side, counted per field
 * (topoguard_drift_repaired_total{field}) and kept as the container's last drift for
 * status and explain. A container topoguard told something within
 * DAEMON_RECONCILE_SETTLE_NS is left for a pass that settle time later: its update may
 * not have landed. So drift lives at most one interval plus one tick.
 *
 * Everything runs on the loop thread; daemon.c calls the tick from a timer and
 * passes the stub's reports of failed updates. Uses live.h and state.h of the room
 * and the host room's cgroup readers; render.c reads the JSON.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "plugin/daemon/state.h"

struct json_object;

/* How often daemon.c calls daemon_reconcile_tick(): the ghost bound's granularity. */
#define DAEMON_RECONCILE_TICK_MS 250

/* The timer: release the ghosts that are due. now: daemon_now_ns(). */
void daemon_reconcile_tick(struct daemon *d, uint64_t now);
/*
 * The runtime did not apply an unsolicited update (the stub's on_updates_failed): ids
 * it answered as failed (code 0), or all of a request it refused (code > 0). A named
 * container that never started is released at once for a failed list; for a refused
 * request (which does not say whom it refused), only where the node confirms it.
 */
void daemon_reconcile_updates_failed(struct daemon *d, const char *const *ids, size_t n, int code,
				     uint64_t now);
/* status's "reconcile" object (new reference). */
struct json_object *daemon_reconcile_json(struct daemon *d, uint64_t now);
/* explain's words on c: its last drift, or that it is not seen running yet ("" if
 * neither); buf of len bytes, truncated. */
void daemon_reconcile_explain(const struct daemon *d, const struct model_container *c, uint64_t now,
			      char *buf, size_t len);
