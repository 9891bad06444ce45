/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC message layer (doc §3): the 10-byte header codec, per-connection reassembly
 * of the byte stream into whole messages, and the Request/Response envelopes
 * (protobuf-c, proto/ttrpc.proto).
 *
 * Ownership: ttrpc_stream_new() allocates, ttrpc_stream_free() is NULL-safe. Message
 * data passed to the stream callback is valid only during the callback. The *_pack()
 * functions return a malloc'd buffer in *ret (untouched on failure) the caller frees;
 * the *_unpack() functions return protobuf-c objects freed with
 * ttrpc__request__free_unpacked() / ttrpc__response__free_unpacked(NULL allocator).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/ttrpc.pb-c.h"

#define TTRPC_HEADER_SIZE 10u
#define TTRPC_MAX_DATA	  (4u * 1024 * 1024) /* max data length L (== TTRPC_MAX_MESSAGE) */

enum ttrpc_type {
	TTRPC_TYPE_REQUEST = 1,
	TTRPC_TYPE_RESPONSE = 2,
	TTRPC_TYPE_DATA = 3,
};

struct ttrpc_header {
	uint32_t length; /* L, data bytes after the header */
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc_header_pack(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE]);
void ttrpc_header_unpack(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *ret);

/*
 * One reassembled message. oversized: L > TTRPC_MAX_DATA; data is NULL and the L data
 * bytes are being discarded so the stream stays in sync (the receiver answers the
 * stream RESOURCE_EXHAUSTED / fails the call, as Go does).
 */
struct ttrpc_message {
	struct ttrpc_header hdr;
	const uint8_t *data;
	size_t len;
	bool oversized;
};

/* Return 0, or -errno to stop reassembly (sticky). */
typedef int (*ttrpc_message_fn)(const struct ttrpc_message *m, void *userdata);

struct ttrpc_stream;

int ttrpc_stream_new(ttrpc_message_fn cb, void *userdata, struct ttrpc_stream **ret);
void ttrpc_stream_free(struct ttrpc_stream *s);
/* Feed a slice of the connection's byte stream. 0, -ENOMEM or the callback's error. */
int ttrpc_stream_feed(struct ttrpc_stream *s, const uint8_t *buf, size_t len);
/* True when no partial message is buffered. */
bool ttrpc_stream_idle(const struct ttrpc_stream *s);

/*
 * Build a whole ttRPC Request message (header + envelope) for stream_id. timeout_nano
 * 0 and an empty payload are omitted from the envelope, as Go does. -EMSGSIZE if the
 * envelope exceeds TTRPC_MAX_DATA (never sent, doc §3.4).
 */
int ttrpc_request_pack(uint32_t stream_id, const char *service, const char *method,
		       const uint8_t *payload, size_t len, int64_t timeout_nano, uint8_t **ret,
		       size_t *ret_len);
/*
 * Build a whole ttRPC Response message. code 0: success, no status field, payload if
 * non-empty (an empty success is L = 0). code != 0: status {code, msg}, no payload.
 */
int ttrpc_response_pack(uint32_t stream_id, int code, const char *msg, const uint8_t *payload,
			size_t len, uint8_t **ret, size_t *ret_len);

/* Decode envelopes. -EBADMSG on malformed protobuf. */
int ttrpc_request_unpack(const uint8_t *data, size_t len, Ttrpc__Request **ret);
int ttrpc_response_unpack(const uint8_t *data, size_t len, Ttrpc__Response **ret);
/*
 * Status of a decoded Response: 0 for success (absent status or code 0), else the
 * code (> 0; a negative code from a broken peer is reported as UNKNOWN = 2). *ret_msg
 * (optional) points into r.
 */
int ttrpc_response_code(const Ttrpc__Response *r, const char **ret_msg);
