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
