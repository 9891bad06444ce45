/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's state (struct daemon) and the operations every part of the daemon
 * shares: building the policy state, classifying a modelled container, turning an
 * allocation into NRI resources, sending moved cpusets, publishing pool and
 * container metrics.
 *
 * This is the bottom of the daemon room: state.c calls nothing else of the room,
 * and handlers.c, live.c, control.c, pool.c, render.c and daemon.c build on it.
 * Everything here runs on the loop thread. Pointers returned into the daemon's
 * scratch buffers are valid until the next call that formats into them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plugin/config/config.h"
#include "plugin/daemon/daemon.h"
#include "plugin/daemon/model.h"
#include "plugin/nri/stub.h"
#include "policy/alloc.h"
#include "policy/podres.h"
#include "policy/qos.h"
#include "policy/topology.h"

#define DAEMON_EXCLUSIVE_ANNOTATION "topoguard.io/exclusive-cpus"
#define DAEMON_DRIFT_FIELDS	    5 /* cpus, mems, quota, period, shares (reconcile.c) */

struct metrics;
struct httpd;
struct status_server;
struct watch;
struct daemon_live;
struct daemon_control;
struct kubepods_root;

/*
 * What topoguard told the runtime lands a moment later (a reply is applied once the
 * handler returned, an unsolicited update once the runtime's lock is free): a container
 * told this recently is not compared with its cgroup yet. A pass runs a little later
 * than that after each Synchronize, whose reply tells every container.
 */
#define DAEMON_RECONCILE_SETTLE_NS     1000000000ull
#define DAEMON_RECONCILE_AFTER_SYNC_NS 1500000000ull

/* Reconciliation with the node (reconcile.c), for status and explain. */
struct daemon_reconcile {
	uint64_t ghosts;	/* reservations released because nothing runs */
	uint64_t last_ghost_ns; /* when the last was released, 0: never */
	char last_ghost[192];	/* "<id> (<reason>)" */
	uint64_t passes;	/* comparisons of every placed container with its cgroup */
	uint64_t last_pass_ns;	/* when the last pass ran, 0: never */
	uint64_t last_pass_cost_ns;
	uint64_t due_ns;		     /* a pass wanted then (after a Synchronize), 0: none */
	uint64_t drift[DAEMON_DRIFT_FIELDS]; /* drift repaired, per field (reconcile.c's order) */
	uint64_t last_drift_ns;		     /* 0: never */
	struct kubepods_root *kroot;	     /* the cgroup hierarchies, found at first use */
	char last_drift[256];		     /* "<id>: cpus 0-3 (want 4-7)" */
};

struct daemon {
	struct daemon_options opt;
	char *config_path;
	struct config cfg;
	struct topology *topo;
	int sysfs_fd; /* the sysfs root, for the containers' devices (affinity.c); -1: none */
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
	/* cpulist buffers, DAEMON_CPULIST_MAX each: replies use cpus/mems, metrics info, a
	 * batch of updates the shared pool's sets (daemon_batch_resources()) */
	char *scratch_cpus, *scratch_mems, *scratch_info, *scratch_pool_cpus, *scratch_pool_mems;
	bool synchronized;
	bool servers_started; /* metrics endpoint and status socket (daemon.c) */
	/* Where the allocation came from: no exclusive CPU is handed out until it is known
	 * (a Synchronize, or a restore from the node; restore.h). */
	bool state_known;
	bool node_restore_tried;
	const char *state_source; /* "synchronize", "checkpoint+cgroups", ... (static) */
	bool checkpoint_dirty;	  /* the allocation changed since the last durable checkpoint */
	/* The allocation and its alloc_owned_gen() the last checkpoint was written from. */
	const struct alloc_state *ck_alloc;
	uint64_t ck_owned_gen;
	bool info_dirty; /* some topoguard_container_info series are stale */
	bool pool_dirty; /* the pool gauges wait for daemon_after_reply() */
	/* The model a Synchronize replaced: live usage follows the new one, after the reply. */
	struct model *resync_old;
	/* A create answered; its info series and log line wait for daemon_after_reply(). */
	struct {
		bool pending;
		enum qos_class cls;
		size_t others;
		char id[256];
	} created;
	struct daemon_reconcile rc;
	/* Safe actuation (actuate.c): containers owed to the runtime (an upper bound:
	 * removed ones are not subtracted), direct cgroup writes, owed updates settled. */
	size_t n_owed;
	uint64_t direct_writes, direct_failures, owed_settled;
	uint64_t clock_ns; /* tests: daemon_track_now()'s answer; 0: the real clock */
};

#define DAEMON_CPULIST_MAX (CPUSET_MAX * 6)

/* The checkpoint file: --checkpoint, else state.checkpoint; "" = none. */
const char *daemon_checkpoint_path(const struct daemon *d);
/* CLOCK_MONOTONIC in nanoseconds: the one clock of the loop's timers and samples. */
uint64_t daemon_now_ns(void);
/* The clock of reconciliation's bookkeeping (reconcile.h): daemon_now_ns(), or the
 * time a test set in d->clock_ns. */
uint64_t daemon_track_now(const struct daemon *d);
/* Build the policy state for the current config and topology (empty). */
int daemon_new_alloc(struct daemon *d, struct alloc_state **ret);
/* The QoS classifier's input from a modelled container's resources. */
void daemon_qos_input(const struct model_resources *r, struct qos_input *in);
/*
 * Classify and size c from base (its resources), the kubelet's cgroup parent of its pod
 * (or its own path), and its pod's pod-level resources shared with its live siblings
 * (policy/podres.h; pod may be NULL), with what the pod's noderesource.dev/resources
 * annotation says of the containers not created yet (plugin/daemon/resannot.h). A
 * container topoguard sized from its pod's budget (track.pod_budget) counts as having
 * none of its own.
 */
int daemon_classify(const struct daemon *d, const struct model_pod *pod,
		    const struct model_container *c, const struct qos_input *base,
		    struct podres_decision *ret);
/*
 * After pod's resources or containers changed: resize (alloc_update) each placed live
 * container of pod but except (NULL: none) whose share of the pod's pod-level
 * resources changed; d->changes gets them and the containers their moves touched.
 * Returns how many were resized. One that does not fit keeps its CPUs (logged).
 */
int daemon_pod_resize(struct daemon *d, const struct model_pod *pod, const char *except);
/*
 * Log (and count as refused) a noderesource.dev/resources annotation of pod that
 * daemon_classify() ignores for c: malformed, or contradicting what the runtime shows
 * of c (base: its resources).
 */
void daemon_check_resources_annotation(struct daemon *d, const struct model_pod *pod,
				       const struct model_container *c,
				       const struct qos_input *base);
/* The QoS of a modelled container, recomputed from its resources. */
enum qos_class daemon_container_qos(const struct daemon *d, const struct model_pod *pod,
				    const struct model_container *c);
/*
 * Fill res from r: cpus, mems (strings in the daemon's scratch buffers), shares,
 * quota and period, all of them; a quota the closed loop imposes on container id
 * (NULL: none) replaces the policy's.
 */
void daemon_result_to_resources(struct daemon *d, const char *id, const struct alloc_result *r,
				struct nri_resources *res);
/* Set topoguard_container_info of c, whose QoS class is cls. */
void daemon_publish_info(struct daemon *d, const struct model_pod *pod,
			 const struct model_container *c, enum qos_class cls);
/* Refresh topoguard_container_info of one container (after its cpuset moved). */
void daemon_publish_container(struct daemon *d, const char *id);
/* After any change of the allocation: publish the pool gauges; the checkpoint is due. */
void daemon_update_pool_metrics(struct daemon *d);
/* The same from a request's handler: the gauges wait until the answer went out. */
void daemon_pool_metrics_later(struct daemon *d);
/*
 * The stub's after_reply hook (d as ud): what a handler left for after its answer
 * (pool gauges, a create's info series and log line, live usage following the
 * containers a Synchronize brought). Cheap when nothing waits.
 */
void daemon_after_reply(struct nri_stub *s, void *ud);
/* Topoguard just told the runtime id's resources: reconciliation leaves it alone a while. */
void daemon_note_told(struct daemon *d, const char *id);
/*
 * The resources to re-send container id (c: its model entry, or NULL) in a batch that
 * moves many: the shared pool's cpus and mems are formatted once per batch (b, zeroed
 * by the caller, lives for one batch; its strings are valid until the next batch) and
 * every plain shared container gets those (alloc_get_cpu_side()). res's strings are
 * borrowed until the next call. 0 or -ENOENT (not placed).
 */
struct daemon_batch {
	bool have_pool;
	const char *cpus, *mems;
};
int daemon_batch_resources(struct daemon *d, struct daemon_batch *b, const char *id,
			   const struct model_container *c, struct nri_resources *res);
/* Append an update (the whole CPU side) per container of d->changes; returns how many. */
int daemon_add_change_updates(struct daemon *d, struct nri_reply *reply);
/* Append one update of id (its whole CPU side) to reply: 0, -ENOENT (not placed), or
 * the reply's error. */
int daemon_add_update(struct daemon *d, struct nri_reply *reply, const char *id);
/*
 * Tell the runtime d->changes outside a request: in nri actuation one unsolicited
 * UpdateContainers; in direct actuation each is written into its cgroup and owed to
 * the runtime's next reply (actuate.c).
 */
int daemon_send_changes(struct daemon *d, const char *why);

/* ---- safe actuation (actuate.c) ---------------------------------------------------- */
enum daemon_actuation {
	DAEMON_ACTUATION_NRI = 0, /* unsolicited UpdateContainers */
	DAEMON_ACTUATION_DIRECT,  /* never unsolicited: cgroup files, then the next reply */
};
/* Pure: the mode for the config's choice and the runtime's NRI version (NULL/"unknown":
 * older than any): auto is nri from v0.12.1 (containerd#13733 fixed), else direct. */
enum daemon_actuation daemon_actuation_decide(enum config_actuation cfg, const char *nri_version);
const char *daemon_actuation_name(enum daemon_actuation a); /* "nri", "direct" */
/* The mode of d's connection now (nri without a stub: the offline seam sends nothing). */
enum daemon_actuation daemon_actuation(const struct daemon *d);
/* Log the mode and why, once per Configure. */
void daemon_actuation_log(const struct daemon *d);
/* id's cpuset (if res has one) and quota (if set) into its cgroup now; 0 or -errno. */
int daemon_direct_write(struct daemon *d, const char *id, const struct nri_resources *res);
/* Every container of d->changes written directly and owed; 0 or the first -errno. */
int daemon_direct_changes(struct daemon *d);
/* The runtime's view of id is stale: the next reply that can carry updates tells it. */
void daemon_owe(struct daemon *d, const char *id);
/* An update per owed container not in d->changes into reply (called by
 * daemon_add_change_updates()); returns how many. */
int daemon_add_owed_updates(struct daemon *d, struct nri_reply *reply);
