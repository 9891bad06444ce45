/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Live usage in the daemon (live.c): the BPF collector follows the running
 * containers' cgroups; daemon.c samples it on the loop's timer. Every function is
 * a no-op while live usage is off (d->live == NULL). Uses state.h of the room, and
 * control.h to tell latency-sensitive containers.
 */
#pragma once

#include "plugin/daemon/state.h"

struct json_object;
struct usage;

int daemon_live_start(struct daemon *d);
void daemon_live_free(struct daemon *d);
/* Collect a sample of every followed container and publish its metrics. */
int daemon_live_sample(struct daemon *d);
void daemon_live_track(struct daemon *d, const struct model_container *c);
void daemon_live_untrack(struct daemon *d, const char *id);
void daemon_live_exclusive_changed(struct daemon *d, const char *id);
/*
 * The decision behind attaching the BPF programs: true if container c (with or
 * without exclusive CPUs) needs their data. The programs are attached while at least
 * one followed container does, detached otherwise (bpf/usage.h, usage_set_live()).
 */
bool daemon_live_wants_bpf(struct daemon *d, const struct model_container *c, bool exclusive);
/* Follow the containers of d->model; stop following those of old that are gone. */
void daemon_live_resync(struct daemon *d, struct model *old);
/* The container's last sample as a new JSON object, NULL if none. */
struct json_object *daemon_live_json(struct daemon *d, const char *id);
const char *daemon_live_backend(const struct daemon *d);
struct usage *daemon_live_usage(struct daemon *d); /* NULL while off */
