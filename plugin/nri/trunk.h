/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One NRI trunk: a connected AF_UNIX stream socket carrying the NRI multiplexer
 * (doc §2), with one ttRPC server on `serve_conn` and one ttRPC client on
 * `call_conn` (doc §3). The plugin side uses serve 1 / call 2; the runtime
 * simulator is the mirror, serve 2 / call 1. Same code on both sides.
 *
 * Single-threaded and non-blocking. The socket is set O_NONBLOCK; outgoing bytes
 * are queued and flushed as the peer reads, so neither side can deadlock the
 * other by writing. The owner either drives it from its own poll loop
 * (nri_trunk_fd / nri_trunk_events / nri_trunk_process / nri_trunk_timeout_ms)
 * or calls nri_trunk_run_once(). Requests on serve_conn are dispatched while a
 * call on call_conn is pending: conn 1 is never blocked by conn 2.
 *
 * Sending follows doc §2.6 pattern 1: a ttRPC message of T <= 4096 bytes goes as one
 * mux frame, a larger one as exactly two frames (4096 + rest); never two messages in
 * one frame, never a zero-length frame, never a frame > 4 194 314 bytes.
 *
 * Ownership: the trunk owns the fd from nri_trunk_new() on (also on failure: it is
 * closed). Payload pointers passed to callbacks are valid only during the callback.
 * nri_trunk_free() is NULL-safe; it closes the socket and completes every pending
 * call with -ECONNRESET.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NRI_CONN_PLUGIN	 1u /* Plugin service: the runtime calls, the plugin serves */
#define NRI_CONN_RUNTIME 2u /* Runtime service: the plugin calls, the runtime serves */

#define TTRPC_MAX_MESSAGE (4u * 1024 * 1024) /* max ttRPC data length L */
#define MUX_MAX_PAYLOAD	  (TTRPC_MAX_MESSAGE + 10u)

/* gRPC status codes used on the wire (doc §3.5). */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_CANCELLED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
};

struct nri_trunk;

/* A request received on serve_conn. */
struct nri_request {
	uint32_t stream_id;
	const char *service; /* NUL-terminated */
	const char *method;  /* NUL-terminated */
	const uint8_t *payload;
	size_t payload_len;
	int64_t timeout_nano; /* 0 = no deadline */
	uint64_t received_ns; /* CLOCK_MONOTONIC when the last byte arrived */
};

/*
 * Server callback for every well-formed request on serve_conn. It must answer the
 * stream exactly once, with nri_trunk_reply() or nri_trunk_reply_error(), either
 * before returning or later (deferred). Return value: 0, or -errno, in which case
 * the trunk answers TTRPC_INTERNAL itself if the stream is still unanswered.
 * Requests with an even or non-increasing stream id are answered
 * TTRPC_INVALID_ARGUMENT by the trunk and never reach the callback; oversized ones
 * TTRPC_RESOURCE_EXHAUSTED.
 */
typedef int (*nri_serve_fn)(struct nri_trunk *t, const struct nri_request *req, void *userdata);

/*
 * Client completion. code: 0 success; > 0 the peer's ttRPC status code (msg is its
 * message); < 0 a local -errno: -ETIMEDOUT (timeout_ns elapsed), -ECONNRESET
 * (trunk closed), -EMSGSIZE (request too large, never sent).
 */
typedef void (*nri_call_done_fn)(struct nri_trunk *t, int code, const char *msg,
				 const uint8_t *payload, size_t len, void *userdata);

int nri_trunk_new(int fd, uint32_t serve_conn, uint32_t call_conn, nri_serve_fn serve,
		  void *userdata, struct nri_trunk **ret);
void nri_trunk_free(struct nri_trunk *t);

/* Answer stream_id with a success payload (may be empty: len 0). */
int nri_trunk_reply(struct nri_trunk *t, uint32_t stream_id, const uint8_t *payload, size_t len);
/* Answer stream_id with a status (code != 0) and message. */
int nri_trunk_reply_error(struct nri_trunk *t, uint32_t stream_id, int code, const char *msg);

/*
 * Start a unary call on call_conn: next odd stream id, timeout_nano = timeout_ns
 * (0 = none; the call then never times out locally). done runs exactly once, from
 * nri_trunk_process()/nri_trunk_run_once() or nri_trunk_free(), never from inside
 * nri_trunk_call() itself. Returns the stream id (> 0) or -errno.
 */
int nri_trunk_call(struct nri_trunk *t, const char *service, const char *method,
		   const uint8_t *payload, size_t len, int64_t timeout_ns, nri_call_done_fn done,
		   void *userdata);

/*
 * Blocking convenience: nri_trunk_call() and drive the trunk (serving requests on
 * serve_conn meanwhile) until it completes. Returns the code as for done; on success
 * *ret_payload is a malloc'd copy (NULL if empty) the caller frees. Refused with
 * -EDEADLK when called from inside the serve callback (doc §7: a plugin calling the
 * runtime from inside a handler deadlocks the runtime).
 */
int nri_trunk_call_sync(struct nri_trunk *t, const char *service, const char *method,
			const uint8_t *payload, size_t len, int64_t timeout_ns,
			uint8_t **ret_payload, size_t *ret_len, char **ret_msg);

/* For an owner's poll loop. */
int nri_trunk_fd(const struct nri_trunk *t);
short nri_trunk_events(const struct nri_trunk *t); /* POLLIN, plus POLLOUT while output is queued */
/* ms until the next pending call times out, -1 if none. */
int nri_trunk_timeout_ms(const struct nri_trunk *t);
/*
 * Read what is available, dispatch complete messages, flush queued output, expire
 * timed-out calls. Returns 0 while the trunk is healthy, -ECONNRESET once the peer
 * closed (EOF), another -errno on a protocol or I/O error; after a negative return
 * the trunk is dead (pending calls completed with -ECONNRESET) and must be freed.
 */
int nri_trunk_process(struct nri_trunk *t, short revents);
/* poll() the trunk for at most timeout_ms (-1 = until something happens) and process. */
int nri_trunk_run_once(struct nri_trunk *t, int timeout_ms);
/* Flush queued output, waiting at most timeout_ms. 0 when everything was written. */
int nri_trunk_flush(struct nri_trunk *t, int timeout_ms);

/* True while inside the serve callback (for the -EDEADLK rule). */
bool nri_trunk_in_handler(const struct nri_trunk *t);

/* Counters for tests and metrics. */
struct nri_trunk_stats {
	uint64_t frames_in, frames_out;
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out;
	uint64_t dropped_frames; /* for conn ids other than serve/call */
	uint64_t protocol_errors;
};
void nri_trunk_get_stats(const struct nri_trunk *t, struct nri_trunk_stats *ret);
