/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NRI plugin stub: the C counterpart of containerd/nri pkg/stub.
 *
 * A plugin fills a handler table; the stub connects (external socket or the
 * pre-connected fd 3 of pre-launched mode), registers, answers Configure with the
 * event mask derived from the handlers present (masked by the runtime's NRI
 * version, doc §6.2), accumulates Synchronize `more` chunks, dispatches both the
 * dedicated event RPCs (NRI >= 0.12) and StateChange (all versions), and answers
 * anything else with UNIMPLEMENTED (code 12).
 *
 * Threading: one thread. The stub owns a poll loop (nri_stub_wait / nri_stub_run);
 * a daemon adds its own fds and timers to that loop with nri_stub_add_fd() /
 * nri_stub_add_timer(). Handlers run on the loop and must not block.
 *
 * Ownership: request objects passed to handlers are valid only during the call.
 * Handlers describe their answer through the struct nri_reply they are given; the
 * reply copies everything it is given. nri_stub_free() is NULL-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/nri.pb-c.h"

/* Short names for the generated protobuf-c types handlers see. */
typedef Nri__Pkg__Api__V1alpha1__PodSandbox NriPodSandbox;
typedef Nri__Pkg__Api__V1alpha1__Container NriContainer;
typedef Nri__Pkg__Api__V1alpha1__LinuxResources NriLinuxResources;

#define NRI_DEFAULT_SOCKET "/var/run/nri/nri.sock"

/* Event numbers and mask bits (doc §5.3): bit for event e is 1 << (e - 1). */
enum nri_event {
	NRI_EV_RUN_POD_SANDBOX = 1,
	NRI_EV_STOP_POD_SANDBOX = 2,
	NRI_EV_REMOVE_POD_SANDBOX = 3,
	NRI_EV_CREATE_CONTAINER = 4,
	NRI_EV_POST_CREATE_CONTAINER = 5,
	NRI_EV_START_CONTAINER = 6,
	NRI_EV_POST_START_CONTAINER = 7,
	NRI_EV_UPDATE_CONTAINER = 8,
	NRI_EV_POST_UPDATE_CONTAINER = 9,
	NRI_EV_STOP_CONTAINER = 10,
	NRI_EV_REMOVE_CONTAINER = 11,
	NRI_EV_UPDATE_POD_SANDBOX = 12,
	NRI_EV_POST_UPDATE_POD_SANDBOX = 13,
	NRI_EV_VALIDATE_CONTAINER_ADJUSTMENT = 14,
};
#define NRI_EV_BIT(e) (1u << ((e)-1))

/*
 * Plain-C view of the Linux resources a reply sets. A NULL string or a false
 * has_* flag means "leave unset". Used for adjustments and container updates.
 */
struct nri_resources {
	const char *cpus; /* cpuset.cpus, e.g. "2-3" */
	const char *mems; /* cpuset.mems, e.g. "0" */
	bool has_shares;
	uint64_t shares;
	bool has_quota;
	int64_t quota; /* -1 = unlimited */
	bool has_period;
	uint64_t period;
	bool has_mem_limit;
	int64_t mem_limit;
};

struct nri_stub;
struct nri_reply; /* owned by the stub; accumulates what a handler returns */

/* CreateContainer: the adjustment of the container being created. Call at most once.
 * All nri_reply_* setters: -EOPNOTSUPP when the response being built cannot carry the
 * change (e.g. an adjustment in an UpdateContainer reply), -EALREADY for a second adjust. */
int nri_reply_adjust(struct nri_reply *r, const struct nri_resources *res);
/* CreateContainer only: an annotation set on the container being created. */
int nri_reply_adjust_annotation(struct nri_reply *r, const char *key, const char *value);
/* An update of another (or, for UpdateContainer, this) container. In a CreateContainer
 * reply an update naming the container being created is refused with -EINVAL (the
 * runtime would fail the creation, doc §6.4): use nri_reply_adjust() for it. */
int nri_reply_update(struct nri_reply *r, const char *container_id, const struct nri_resources *res,
		     bool ignore_failure);
/* An eviction (runtimes ignore it unless they act on evictions, doc §7). */
int nri_reply_evict(struct nri_reply *r, const char *container_id, const char *reason);

/*
 * Handlers. Every member is optional; a present one subscribes to its event. A
 * handler returns 0 or -errno; a negative return becomes an error reply (code 2,
 * message from nri_reply_set_error() or strerror), which fails the runtime's
 * operation (doc §6.6), so return 0 for "not interested".
 */
struct nri_stub_handlers {
	/* config: the NRI Configure payload ("" for external plugins). *ret_events = 0 keeps
	 * the detected mask; other bits must be a subset of it. */
	int (*configure)(struct nri_stub *s, const char *config, const char *runtime_name,
			 const char *runtime_version, void *ud, uint32_t *ret_events);
	/* Called once with every pod and container of all `more` chunks. */
	int (*synchronize)(struct nri_stub *s, NriPodSandbox *const *pods, size_t n_pods,
			   NriContainer *const *ctrs, size_t n_ctrs, struct nri_reply *reply,
			   void *ud);
	int (*shutdown)(struct nri_stub *s, void *ud);

	int (*run_pod_sandbox)(struct nri_stub *s, const NriPodSandbox *pod, void *ud);
	int (*update_pod_sandbox)(struct nri_stub *s, const NriPodSandbox *pod,
				  const NriLinuxResources *overhead, const NriLinuxResources *res,
				  void *ud);
	int (*post_update_pod_sandbox)(struct nri_stub *s, const NriPodSandbox *pod, void *ud);
	int (*stop_pod_sandbox)(struct nri_stub *s, const NriPodSandbox *pod, void *ud);
	int (*remove_pod_sandbox)(struct nri_stub *s, const NriPodSandbox *pod, void *ud);

	int (*create_container)(struct nri_stub *s, const NriPodSandbox *pod,
				const NriContainer *ctr, struct nri_reply *reply, void *ud);
	int (*post_create_container)(struct nri_stub *s, const NriPodSandbox *pod,
				     const NriContainer *ctr, void *ud);
	int (*start_container)(struct nri_stub *s, const NriPodSandbox *pod,
			       const NriContainer *ctr, void *ud);
	int (*post_start_container)(struct nri_stub *s, const NriPodSandbox *pod,
				    const NriContainer *ctr, void *ud);
	int (*update_container)(struct nri_stub *s, const NriPodSandbox *pod,
				const NriContainer *ctr, const NriLinuxResources *res,
				struct nri_reply *reply, void *ud);
	int (*post_update_container)(struct nri_stub *s, const NriPodSandbox *pod,
				     const NriContainer *ctr, void *ud);
	int (*stop_container)(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			      struct nri_reply *reply, void *ud);
	int (*remove_container)(struct nri_stub *s, const NriPodSandbox *pod,
				const NriContainer *ctr, void *ud);

	/*
	 * Optional: called after the answer to each request of the Plugin service went
	 * out (or failed to), for work the runtime need not wait for (log lines, metrics).
	 */
	void (*after_reply)(struct nri_stub *s, void *ud);
};

/* Set the error message a failing handler's reply carries. */
void nri_reply_set_error(struct nri_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct nri_stub_options {
	const char *name;	 /* NULL: $NRI_PLUGIN_NAME, else the executable's name part */
	const char *idx;	 /* NULL: $NRI_PLUGIN_IDX, else from an "NN-name" executable */
	const char *socket_path; /* NULL: NRI_DEFAULT_SOCKET */
	int fd;			 /* >= 0: pre-connected socket; -1: $NRI_PLUGIN_SOCKET, else dial.
				  * Owned by the stub once nri_stub_new() succeeded. */
	bool reconnect;		 /* external mode: redial with backoff after the trunk closes */
	unsigned int backoff_min_ms; /* 0: 100 */
	unsigned int backoff_max_ms; /* 0: 5000 */
	/* How long a connection may wait for Configure after RegisterPlugin, and the
	 * default when Configure does not say; 0: 5000. */
	unsigned int registration_timeout_ms;
	/* Called after the connection is lost and all state torn down. */
	void (*on_close)(struct nri_stub *s, void *ud);
	/* Called after a successful (re)connection's Synchronize. Optional. */
	void (*on_synchronized)(struct nri_stub *s, void *ud);
	/*
	 * An unsolicited UpdateContainers the runtime did not fully apply. Optional. ids
	 * (valid during the call) are the containers the answer lists as failed (CRI-O:
	 * e.g. one it no longer knows), or, for an error status, which carries no list
	 * (containerd), every container the request named; code is 0 or that status.
	 */
	void (*on_updates_failed)(struct nri_stub *s, const char *const *ids, size_t n, int code,
				  void *ud);
};

/* Fills defaults: fd = -1, everything else 0/NULL. */
void nri_stub_options_init(struct nri_stub_options *o);

/* -EINVAL when no handler subscribes to an event, or the name/index are invalid. */
int nri_stub_new(const struct nri_stub_handlers *h, const struct nri_stub_options *o, void *ud,
		 struct nri_stub **ret);
void nri_stub_free(struct nri_stub *s);

/* Connect, register, and wait (bounded by the registration timeout) for Configure. */
int nri_stub_start(struct nri_stub *s);
/* Run the loop until nri_stub_stop() or, without reconnect, until the trunk closes.
 * Returns 0 after nri_stub_stop(), -ECONNRESET when the runtime closed the connection,
 * -ENOTCONN when there was no connection to wait on. */
int nri_stub_wait(struct nri_stub *s);
/* nri_stub_start() + nri_stub_wait(); with reconnect, keeps redialling. */
int nri_stub_run(struct nri_stub *s);
/* Ask the loop to return. Async-signal-safe. */
void nri_stub_stop(struct nri_stub *s);

/*
 * Unsolicited updates (Runtime.UpdateContainers). The request is queued and sent
 * from the loop after the current handler returned (doc §7), never inside one.
 * done (optional) gets 0, a ttRPC status > 0 or -errno. -ENOTCONN when not connected.
 * nri_stub_update_containers() takes ownership of `updates` in every case.
 */
struct nri_reply *nri_stub_new_updates(struct nri_stub *s);
int nri_stub_update_containers(struct nri_stub *s, struct nri_reply *updates,
			       void (*done)(struct nri_stub *s, int code, void *ud), void *ud);

/* Extra fds and timers in the stub's loop (for the daemon's own sources). */
typedef void (*nri_stub_fd_fn)(struct nri_stub *s, int fd, short revents, void *ud);
typedef void (*nri_stub_timer_fn)(struct nri_stub *s, void *ud);
int nri_stub_add_fd(struct nri_stub *s, int fd, short events, nri_stub_fd_fn cb, void *ud);
int nri_stub_remove_fd(struct nri_stub *s, int fd);
int nri_stub_add_timer(struct nri_stub *s, unsigned int interval_ms, nri_stub_timer_fn cb,
		       void *ud);

/* State, valid once configured. */
bool nri_stub_is_connected(const struct nri_stub *s);
const char *nri_stub_name(const struct nri_stub *s);
const char *nri_stub_idx(const struct nri_stub *s);
const char *nri_stub_runtime_name(const struct nri_stub *s);
const char *nri_stub_runtime_version(const struct nri_stub *s);
const char *nri_stub_nri_version(const struct nri_stub *s); /* reported or inferred (doc §10) */
/*
 * Whether the runtime will send Synchronize after Configure: always to an external
 * plugin; to a pre-launched one only from NRI v0.7.0 (doc §10.1). An unknown version
 * counts as older. Valid once Configure arrived.
 */
bool nri_stub_expects_synchronize(const struct nri_stub *s);
/* The rule above for a pre-launched plugin, on an NRI version string ("v0.6.1"). */
bool nri_version_syncs_prelaunched(const char *nri_version);
/*
 * Whether a runtime of this NRI version takes unsolicited UpdateContainers safely: from
 * v0.12.1 (containerd/nri#301). Before, one that meets the runtime's own UpdateContainer
 * deadlocks containerd (containerd#13733). "unknown" or NULL counts as older.
 */
bool nri_version_updates_safe(const char *nri_version);
uint32_t nri_stub_events(const struct nri_stub *s); /* the mask sent in Configure */
unsigned int nri_stub_request_timeout_ms(const struct nri_stub *s);
unsigned int nri_stub_registration_timeout_ms(const struct nri_stub *s);
uint64_t nri_stub_reconnects(const struct nri_stub *s);
/* Unsolicited UpdateContainers queued or sent and not answered yet. */
size_t nri_stub_updates_pending(const struct nri_stub *s);
