/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop in the daemon (control.c, pool.c): after every live usage
 * sample, daemon.c calls daemon_control_tick(), which builds the controller's
 * samples, runs policy/control.h and carries the actions out. Uses live.h and
 * state.h of the room, never handlers.c or daemon.c. d->control is NULL while off.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "plugin/daemon/state.h"

struct json_object;

int daemon_control_start(struct daemon *d);
void daemon_control_free(struct daemon *d); /* NULL-safe in d->control */
void daemon_control_tick(struct daemon *d, uint64_t now_ns);
struct json_object *daemon_control_json(struct daemon *d); /* NULL while off */
/* "; closed loop: ..." for `explain`: who id's breach is blamed on, the last action
 * for it and against it with their evidence and whether they helped; "" if unknown. */
void daemon_control_explain(struct daemon *d, const char *id, uint64_t now, char *buf, size_t len);
/*
 * Whether container c is latency-sensitive: by the pod's annotation, or, with
 * live.protect_exclusive, as a Guaranteed container with exclusive CPUs. Works with
 * the closed loop off too (live usage asks it which containers need BPF data).
 */
bool daemon_control_latency_sensitive(struct daemon *d, const struct model_container *c,
				      bool exclusive);
