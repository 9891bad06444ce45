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
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plugin/config/config.h"
#include "plugin/daemon/model.h"
#include "plugin/nri/stub.h"
#include "policy/alloc.h"
#include "policy/topology.h"

#define DAEMON_DEFAULT_IDX	    "90"
#define DAEMON_DEFAULT_NAME	    "topoguard"
#define DAEMON_EXCLUSIVE_ANNOTATION "topoguard.io/exclusive-cpus"

struct daemon_options {
	const char *config_path;     /* NULL: defaults, or the NRI Configure payload */
	const char *socket_path;     /* NULL: NRI_DEFAULT_SOCKET */
	const char *name;	     /* NULL: $NRI_PLUGIN_NAME or DAEMON_DEFAULT_NAME */
	const char *idx;	     /* NULL: $NRI_PLUGIN_IDX or DAEMON_DEFAULT_IDX */
	const char *sysfs_root;	     /* NULL: /sys */
	const char *status_socket;   /* NULL: from the config; "" disables */
	const char *metrics_address; /* NULL: from the config; "" or "none" disables */
	const char *cgroup_root;     /* NULL: /sys/fs/cgroup (live usage) */
	bool reconnect;		     /* external mode: redial after the runtime goes away */
};

struct daemon;

int daemon_new(const struct daemon_options *o, struct daemon **ret);
void daemon_free(struct daemon *d);
/* Run until daemon_stop() (or, without reconnect, until the runtime disconnects). */
int daemon_run(struct daemon *d);
void daemon_stop(struct daemon *d); /* async-signal-safe */

/* ---- internal, shared by plugin/daemon*.c and plugin/daemon/handlers.c ---- */

struct metrics;
struct httpd;
struct status_server;
struct watch;
struct daemon_live;
struct json_object;

struct daemon {
	struct daemon_options opt;
	char *config_path;
	struct config cfg;
	struct topology *topo;
	struct alloc_state *alloc;
	struct model *model;
	struct metrics *metrics;
	struct httpd *httpd;
	struct status_server *status;
	struct watch *watch;
	struct nri_stub *stub;
	struct daemon_live *live;	/* NULL when live usage is off */
	struct daemon_control *control; /* the closed loop; NULL when live usage is off */
	struct alloc_changes changes;	/* scratch, reset per operation */
	/* cpulist buffers, DAEMON_CPULIST_MAX each: replies use cpus/mems, metrics info */
	char *scratch_cpus, *scratch_mems, *scratch_info;
	bool synchronized;
	bool info_dirty; /* some topoguard_container_info series are stale */
};

#define DAEMON_CPULIST_MAX (CPUSET_MAX * 6)

/* Handlers (plugin/daemon/handlers.c). */
extern const struct nri_stub_handlers daemon_handlers;

/* Build the policy state for the current config and topology (empty). */
int daemon_new_alloc(struct daemon *d, struct alloc_state **ret);
/* Refresh topoguard_container_info of one container (after its cpuset moved). */
void daemon_publish_container(struct daemon *d, const char *id);
/* Publish pool gauges after any change. */
void daemon_update_pool_metrics(struct daemon *d);
/* Append an update (cpuset.cpus/mems) per container of d->changes; returns how many. */
int daemon_add_change_updates(struct daemon *d, struct nri_reply *reply);
/* Send cpusets of d->changes as one unsolicited UpdateContainers. */
int daemon_send_changes(struct daemon *d, const char *why);
/* Fill res (cpus/mems strings point into the daemon's scratch buffers) from r. */
void daemon_result_to_resources(struct daemon *d, const struct alloc_result *r, bool full,
				struct nri_resources *res);
/* Apply a newly read config (hot reload). 0 applied or unchanged, <0 refused. */
int daemon_apply_config(struct daemon *d, const struct config *c, const char *origin);
/* Status socket answers (plugin/daemon/render.c). */
int daemon_render_status(const char *request, char **ret_json, void *ud);
/* Live usage (plugin/daemon/live.c); every function is a no-op while it is off. */
int daemon_live_start(struct daemon *d);
int daemon_live_attach(struct daemon *d); /* the sampling timer, once the stub exists */
void daemon_live_free(struct daemon *d);
void daemon_live_track(struct daemon *d, const struct model_container *c);
void daemon_live_untrack(struct daemon *d, const char *id);
void daemon_live_exclusive_changed(struct daemon *d, const char *id);
/* Follow the containers of d->model; stop following those of old that are gone. */
void daemon_live_resync(struct daemon *d, struct model *old);
/* The container's last sample as a new JSON object, NULL if none. */
struct json_object *daemon_live_json(struct daemon *d, const char *id);
const char *daemon_live_backend(const struct daemon *d);
struct usage *daemon_live_usage(struct daemon *d); /* NULL while off */
/* The closed loop (plugin/daemon/control.c), driven by the live usage timer. */
struct daemon_control;
int daemon_control_start(struct daemon *d);
void daemon_control_free(struct daemon *d); /* NULL-safe in d->control */
void daemon_control_tick(struct daemon *d, uint64_t now_ns);
struct json_object *daemon_control_json(struct daemon *d); /* NULL while off */
/* The QoS of a modelled container, recomputed from its resources. */
enum qos_class daemon_container_qos(const struct daemon *d, const struct model_pod *pod,
				    const struct model_container *c);
