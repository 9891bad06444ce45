/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the stub*.c files. Not a
 * public API: only the stub's own files include it.
 *
 * Ownership: struct nri_reply owns copies of every string it was given;
 * stub_reply_free() is NULL-safe. stub_reply_pack() returns a malloc'd buffer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/nri/stub.h"
#include "plugin/nri/trunk.h"

#define NRI_PLUGIN_SERVICE  "nri.pkg.api.v1alpha1.Plugin"
#define NRI_RUNTIME_SERVICE "nri.pkg.api.v1alpha1.Runtime"
#define NRI_STUB_VERSION    "v0.12.2"

#define STUB_DEFAULT_REGISTRATION_MS 5000u
#define STUB_DEFAULT_REQUEST_MS	     2000u
#define STUB_MASK_PRE_0_10	     0x7FFu
#define STUB_MASK_ALL		     0x3FFFu

/* Which response a reply becomes; decides what the nri_reply_* setters accept. */
enum stub_reply_kind {
	STUB_REPLY_CREATE,
	STUB_REPLY_UPDATE,
	STUB_REPLY_STOP,
	STUB_REPLY_SYNC,
	STUB_REPLY_UPDATES, /* UpdateContainersRequest */
};

struct stub_update;
struct stub_evict;
struct stub_kv;
struct stub_chunk;

struct nri_reply {
	enum stub_reply_kind kind;
	char *self_id; /* CreateContainer: the container being created */
	bool has_adjust;
	struct stub_update *adjust; /* resources of the adjustment (container_id unused) */
	struct stub_kv *annotations;
	size_t n_annotations;
	struct stub_update **updates;
	size_t n_updates, cap_updates;
	/* where the updates live: a create that shrinks the shared pool answers with one
	 * per shared container, and a malloc each was a tenth of its time */
	struct stub_chunk *chunks;
	struct stub_evict *evicts;
	size_t n_evicts;
	char *error;
	int rejected; /* count of refused nri_reply_update() calls */
};

struct stub_fd {
	int fd;
	short events;
	bool removed;
	nri_stub_fd_fn cb;
	void *ud;
};

struct stub_timer {
	unsigned int interval_ms;
	uint64_t due_ns;
	nri_stub_timer_fn cb;
	void *ud;
};

struct stub_pending {
	struct nri_reply *updates;
	void (*done)(struct nri_stub *s, int code, void *ud);
	void *ud;
	struct nri_stub *stub;
};

struct nri_stub {
	struct nri_stub_handlers h;
	struct nri_stub_options o;
	void *ud;
	char *name, *idx, *socket_path;
	int fd_option; /* pre-connected fd, -1 when dialling */
	bool prelaunched;
	uint32_t detected; /* mask from the handlers present */
	int wake_fd;	   /* eventfd for nri_stub_stop() */
	volatile int stop_requested;

	struct nri_trunk *trunk;
	bool registered, register_failed, configured, configure_failed, synchronized;
	uint64_t connect_deadline_ns; /* registration deadline of the current attempt */
	uint64_t redial_at_ns;	      /* 0: not waiting to redial */
	int watch_fd;		      /* inotify on the socket's directory while waiting, or -1 */
	unsigned int backoff_ms;
	uint64_t reconnects;
	bool ever_configured, session_counted;
	bool running;	   /* inside nri_stub_wait(): a loss schedules a redial */
	int session_error; /* why the last connection attempt or session ended */

	char *runtime_name, *runtime_version, *nri_version;
	uint32_t events;
	unsigned int registration_timeout_ms, request_timeout_ms;

	/* Synchronize chunks received so far (`more` = true), freed after the final one. */
	void **sync_chunks;
	size_t n_sync_chunks;

	struct stub_fd *fds;
	size_t n_fds;
	struct stub_timer *timers;
	size_t n_timers;
	struct stub_pending *queue;
	size_t n_queue;
	size_t n_inflight; /* UpdateContainers calls sent, not yet completed */
};

/* stub_reply.c */
int stub_reply_new(enum stub_reply_kind kind, const char *self_id, struct nri_reply **ret);
void stub_reply_free(struct nri_reply *r);
/* Pack the reply as the protobuf response of its kind (more: SynchronizeResponse.more). */
int stub_reply_pack(const struct nri_reply *r, bool more, uint8_t **ret_buf, size_t *ret_len);
/* The container id of the i-th update (i < r->n_updates). */
const char *stub_reply_update_id(const struct nri_reply *r, size_t i);

/* stub_serve.c */
int stub_serve(struct nri_trunk *t, const struct nri_request *req, void *userdata);
void stub_sync_reset(struct nri_stub *s);

/* stub_watch.c: dial as soon as the runtime's socket reappears */
bool stub_watch_arm(struct nri_stub *s);
void stub_watch_disarm(struct nri_stub *s);
bool stub_watch_seen(struct nri_stub *s);

/* stub_version.c */
/* The runtime's NRI version: reported if usable, else inferred (doc §10.1); malloc'd. */
int stub_version_resolve(const char *reported, const char *runtime_name,
			 const char *runtime_version, char **ret);
/* The event bits the runtime of NRI version `v` accepts (doc §6.2). */
uint32_t stub_version_mask(const char *v);
/* strcmp-like comparison of two "vX.Y.Z" strings; unparsable sorts first. */
int stub_version_cmp(const char *a, const char *b);

/* stub_ident.c */
int stub_identity_resolve(const struct nri_stub_options *o, char **ret_name, char **ret_idx);
uint32_t stub_detect_events(const struct nri_stub_handlers *h);
/* *ret_fd: -1 to dial, else the pre-connected socket; -EINVAL for a bad $NRI_PLUGIN_SOCKET. */
int stub_connection_fd(const struct nri_stub_options *o, int *ret_fd);

/* stub.c */
uint64_t stub_now_ns(void);
void stub_session_configured(struct nri_stub *s);
