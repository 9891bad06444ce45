/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The topoguard daemon: the NRI stub's handlers on top of the allocation policy,
 * the pod/container model, the configuration (file, hot reload, or the NRI
 * Configure payload), metrics and the status socket.
 *
 * One thread runs everything through the stub's poll loop (the metrics HTTP server
 * has its own thread and only reads the locked registry). Handlers never block and
 * never fail a pod because of us: on an internal error the container is returned
 * unchanged and the error is logged (docs/architecture.md).
 *
 * Ownership: daemon_new() copies the option strings it keeps; daemon_free() is
 * NULL-safe and releases everything, including the status socket file.
 *
 * This is the daemon room's public face (used by plugin/cli/ and the tests). Inside
 * the room, one direction (docs/architecture.md): daemon.c wires handlers.c,
 * live.c and control.c (+ pool.c) together; handlers use live and state; the
 * closed loop uses live and state; state.h is the bottom everyone shares.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define DAEMON_DEFAULT_IDX  "90"
#define DAEMON_DEFAULT_NAME "topoguard"

struct daemon_options {
	const char *config_path;     /* NULL: defaults, or the NRI Configure payload */
	const char *socket_path;     /* NULL: NRI_DEFAULT_SOCKET */
	const char *name;	     /* NULL: $NRI_PLUGIN_NAME or DAEMON_DEFAULT_NAME */
	const char *idx;	     /* NULL: $NRI_PLUGIN_IDX or DAEMON_DEFAULT_IDX */
	const char *sysfs_root;	     /* NULL: /sys */
	const char *status_socket;   /* NULL: from the config; "" disables */
	const char *metrics_address; /* NULL: from the config; "" or "none" disables */
	const char *cgroup_root;     /* NULL: /sys/fs/cgroup (live usage, node restore) */
	const char *checkpoint_path; /* NULL: from the config; "" disables */
	bool reconnect;		     /* external mode: redial after the runtime goes away */
};

struct daemon;
struct config;
struct topology;

int daemon_new(const struct daemon_options *o, struct daemon **ret);
/*
 * The handlers' test seam: a daemon with config cfg (copied), the topology topo (the
 * daemon owns it on success; on failure it stays the caller's) and a metrics registry,
 * but no stub, no services and no live usage. Drive it through daemon_handlers
 * (handlers.h); free it with daemon_free().
 */
int daemon_new_offline(const struct config *cfg, struct topology *topo, struct daemon **ret);
void daemon_free(struct daemon *d);
/* Run until daemon_stop() (or, without reconnect, until the runtime disconnects). */
int daemon_run(struct daemon *d);
void daemon_stop(struct daemon *d); /* async-signal-safe */
