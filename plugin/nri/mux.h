/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NRI connection multiplexer framing (doc §2): 8-byte big-endian header
 * (conn id, payload length) followed by the payload, which is a slice of that logical
 * connection's byte stream.
 *
 * The decoder is incremental: feed it arbitrary chunks (split headers, coalesced
 * frames); it calls back with (conn, bytes) slices of each accepted connection's
 * stream as soon as they arrive, without buffering whole frames. Frames for conn ids
 * that were not opened with mux_decoder_open() are skipped and counted.
 *
 * Ownership: mux_decoder_new() allocates, mux_decoder_free() is NULL-safe. Data
 * pointers passed to the callback are valid only during the callback.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUX_HEADER_SIZE	   8u
#define MUX_MAX_FRAME	   (4u * 1024 * 1024 + 10u) /* == MUX_MAX_PAYLOAD of trunk.h */
#define MUX_SPLIT_SIZE	   4096u /* doc §2.6: Go reads through a 4096-byte buffer */
#define MUX_MAX_OPEN_CONNS 4u

/* A slice of conn's byte stream. Return 0, or -errno to stop decoding (sticky). */
typedef int (*mux_data_fn)(uint32_t conn, const uint8_t *data, size_t len, void *userdata);

struct mux_decoder;

struct mux_decoder_stats {
	uint64_t frames;	 /* complete frames, any conn, zero-length included */
	uint64_t bytes;		 /* bytes fed */
	uint64_t dropped_frames; /* frames for conn ids not opened */
	uint64_t empty_frames;	 /* zero-length frames (tolerated, never sent by us) */
};

int mux_decoder_new(mux_data_fn cb, void *userdata, struct mux_decoder **ret);
void mux_decoder_free(struct mux_decoder *d);
/* Accept frames for conn (at most MUX_MAX_OPEN_CONNS). -EINVAL for conn 0, -ENOSPC. */
int mux_decoder_open(struct mux_decoder *d, uint32_t conn);
/*
 * Decode len bytes. Returns 0, -EPROTO for a frame longer than MUX_MAX_FRAME, or the
 * callback's error. After an error the decoder refuses all input with that error.
 */
int mux_decoder_feed(struct mux_decoder *d, const uint8_t *buf, size_t len);
/* True when the decoder is between frames (no partial header or payload pending). */
bool mux_decoder_idle(const struct mux_decoder *d);
void mux_decoder_get_stats(const struct mux_decoder *d, struct mux_decoder_stats *ret);

/* Number of frames mux_encode() uses for a message of len bytes (doc §2.6 pattern 1). */
unsigned mux_encode_frames(size_t len);
/* Bytes mux_encode() writes for a message of len bytes. */
size_t mux_encode_size(size_t len);
/*
 * Frame one whole ttRPC message (len bytes at msg) for conn: one frame if
 * len <= MUX_SPLIT_SIZE, else exactly two (MUX_SPLIT_SIZE + rest), as Go does.
 * Writes mux_encode_size(len) bytes to out. Returns that size, -EINVAL for len 0 or
 * conn 0 (never send zero-length frames), -EMSGSIZE if the second frame would exceed
 * MUX_MAX_FRAME, -ENOBUFS if out_size is too small.
 */
long mux_encode(uint32_t conn, const uint8_t *msg, size_t len, uint8_t *out, size_t out_size);

/* Big-endian helpers shared with the ttRPC codec. */
static inline void mux_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t mux_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
