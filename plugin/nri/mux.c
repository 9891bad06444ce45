/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NRI multiplexer framing (doc §2).
 *
 * Decoder design: a two-state machine (collecting the 8-byte header, then passing
 * `remaining` payload bytes through). Payload bytes are handed to the callback straight
 * from the caller's buffer, so even a 4 MiB frame costs no copy here; the ttRPC layer
 * above treats each connection as a byte stream and reassembles messages itself
 * (messages span frames, frames never need to be kept whole).
 *
 * Why the length limit: the Go peer never sends a frame larger than 4 MiB + 10, and a
 * corrupt length would otherwise make us wait forever for data that never comes; we
 * treat it as a protocol error (the trunk then closes the connection, as Go would on
 * any read error).
 *
 * Encoder: doc §2.6 pattern 1, the split the Go writer produces. A Go reader fails when
 * a frame larger than 4096 bytes arrives while it wants a ttRPC header, so the first
 * frame of a message is never larger than 4096 bytes.
 */
#include "plugin/nri/mux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct mux_decoder {
	mux_data_fn cb;
	void *userdata;
	uint32_t conns[MUX_MAX_OPEN_CONNS];
	unsigned n_conns;
	uint8_t hdr[MUX_HEADER_SIZE];
	size_t hdr_len;	  /* bytes of hdr collected; MUX_HEADER_SIZE = in payload */
	uint32_t conn;	  /* current frame's conn */
	size_t remaining; /* payload bytes of the current frame still to come */
	int accept;	  /* current frame's conn is open */
	int err;	  /* sticky error */
	struct mux_decoder_stats stats;
};

int mux_decoder_new(mux_data_fn cb, void *userdata, struct mux_decoder **ret)
{
	struct mux_decoder *d;

	if (!cb || !ret)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->cb = cb;
	d->userdata = userdata;
	*ret = d;
	return 0;
}

void mux_decoder_free(struct mux_decoder *d)
{
	free(d);
}

static int mux_decoder_is_open(const struct mux_decoder *d, uint32_t conn)
{
	for (unsigned i = 0; i < d->n_conns; i++)
		if (d->conns[i] == conn)
			return 1;
	return 0;
}

int mux_decoder_open(struct mux_decoder *d, uint32_t conn)
{
	if (!d || conn == 0)
		return -EINVAL;
	if (mux_decoder_is_open(d, conn))
		return 0;
	if (d->n_conns >= MUX_MAX_OPEN_CONNS)
		return -ENOSPC;
	d->conns[d->n_conns++] = conn;
	return 0;
}

static void mux_decoder_end_frame(struct mux_decoder *d)
{
	d->stats.frames++;
	d->hdr_len = 0;
}

/* The header is complete: validate it and enter the payload state. */
static int mux_decoder_start_frame(struct mux_decoder *d)
{
	uint32_t len = mux_get_be32(d->hdr + 4);

	if (len > MUX_MAX_FRAME)
		return -EPROTO;
	d->conn = mux_get_be32(d->hdr);
	d->remaining = len;
	d->accept = mux_decoder_is_open(d, d->conn);
	if (!d->accept)
		d->stats.dropped_frames++;
	if (len == 0) {
		d->stats.empty_frames++;
		mux_decoder_end_frame(d);
	}
	return 0;
}

/* Consume header bytes from buf; returns how many were used. */
static size_t mux_decoder_take_header(struct mux_decoder *d, const uint8_t *buf, size_t len)
{
	size_t n = MUX_HEADER_SIZE - d->hdr_len;

	if (n > len)
		n = len;
	memcpy(d->hdr + d->hdr_len, buf, n);
	d->hdr_len += n;
	return n;
}

/* Pass payload bytes through; returns how many were used or -errno. */
static long mux_decoder_take_payload(struct mux_decoder *d, const uint8_t *buf, size_t len)
{
	size_t n = d->remaining < len ? d->remaining : len;
	int r;

	if (d->accept && n > 0) {
		r = d->cb(d->conn, buf, n, d->userdata);
		if (r < 0)
			return r;
	}
	d->remaining -= n;
	if (d->remaining == 0)
		mux_decoder_end_frame(d);
	return (long)n;
}

int mux_decoder_feed(struct mux_decoder *d, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	long n;
	int r;

	if (!d || (!buf && len))
		return -EINVAL;
	if (d->err)
		return d->err;
	d->stats.bytes += len;
	while (off < len) {
		if (d->hdr_len < MUX_HEADER_SIZE) {
			off += mux_decoder_take_header(d, buf + off, len - off);
			if (d->hdr_len < MUX_HEADER_SIZE)
				break;
			r = mux_decoder_start_frame(d);
			if (r < 0)
				return d->err = r;
			continue;
		}
		n = mux_decoder_take_payload(d, buf + off, len - off);
		if (n < 0)
			return d->err = (int)n;
		off += (size_t)n;
	}
	return 0;
}

bool mux_decoder_idle(const struct mux_decoder *d)
{
	return d && d->hdr_len == 0;
}

void mux_decoder_get_stats(const struct mux_decoder *d, struct mux_decoder_stats *ret)
{
	if (d && ret)
		*ret = d->stats;
}

unsigned mux_encode_frames(size_t len)
{
	if (len == 0)
		return 0;
	return len <= MUX_SPLIT_SIZE ? 1 : 2;
}

size_t mux_encode_size(size_t len)
{
	return len + mux_encode_frames(len) * MUX_HEADER_SIZE;
}

static size_t mux_put_frame(uint8_t *out, uint32_t conn, const uint8_t *data, size_t len)
{
	mux_put_be32(out, conn);
	mux_put_be32(out + 4, (uint32_t)len);
	memcpy(out + MUX_HEADER_SIZE, data, len);
	return MUX_HEADER_SIZE + len;
}

long mux_encode(uint32_t conn, const uint8_t *msg, size_t len, uint8_t *out, size_t out_size)
{
	size_t first, off;

	if (conn == 0 || len == 0 || !msg || !out)
		return -EINVAL;
	if (len > MUX_SPLIT_SIZE && len - MUX_SPLIT_SIZE > MUX_MAX_FRAME)
		return -EMSGSIZE;
	if (out_size < mux_encode_size(len))
		return -ENOBUFS;
	first = len <= MUX_SPLIT_SIZE ? len : MUX_SPLIT_SIZE;
	off = mux_put_frame(out, conn, msg, first);
	if (len > first)
		off += mux_put_frame(out + off, conn, msg + first, len - first);
	return (long)off;
}
