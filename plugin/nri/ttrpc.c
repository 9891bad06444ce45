/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC message layer (doc §3).
 *
 * Reassembly is a three-state machine per connection: collect the 10-byte header,
 * collect L data bytes, or discard L bytes of an oversized message. When a whole
 * message body is already contiguous in the fed slice it is passed through without a
 * copy; otherwise it is gathered into a buffer sized to L (bounded by TTRPC_MAX_DATA,
 * so a hostile length cannot make us allocate more than 4 MiB). Large buffers are
 * released after use so an idle plugin does not hold 4 MiB.
 *
 * Oversized messages are not fatal: Go discards them and keeps the connection, so we
 * do the same and report them upward with the header (the stream id is needed to
 * answer RESOURCE_EXHAUSTED).
 *
 * Envelopes use protobuf-c; unknown fields are kept by protobuf-c and ignored.
 */
#include "plugin/nri/ttrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/nri/mux.h"

#define TTRPC_KEEP_BUFFER (64u * 1024) /* keep reassembly buffers up to this size */

enum ttrpc_state {
	TTRPC_ST_HEADER,
	TTRPC_ST_DATA,
	TTRPC_ST_DISCARD,
};

struct ttrpc_stream {
	ttrpc_message_fn cb;
	void *userdata;
	enum ttrpc_state state;
	uint8_t hdr_buf[TTRPC_HEADER_SIZE];
	size_t hdr_len;
	struct ttrpc_header hdr;
	uint8_t *buf; /* data of the current message */
	size_t buf_cap;
	size_t have;	  /* data bytes collected (ST_DATA) */
	size_t remaining; /* bytes still to discard (ST_DISCARD) */
	int err;
};

void ttrpc_header_pack(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE])
{
	mux_put_be32(out, h->length);
	mux_put_be32(out + 4, h->stream_id);
	out[8] = h->type;
	out[9] = h->flags;
}

void ttrpc_header_unpack(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *ret)
{
	ret->length = mux_get_be32(in);
	ret->stream_id = mux_get_be32(in + 4);
	ret->type = in[8];
	ret->flags = in[9];
}

int ttrpc_stream_new(ttrpc_message_fn cb, void *userdata, struct ttrpc_stream **ret)
{
	struct ttrpc_stream *s;

	if (!cb || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cb = cb;
	s->userdata = userdata;
	*ret = s;
	return 0;
}

void ttrpc_stream_free(struct ttrpc_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

bool ttrpc_stream_idle(const struct ttrpc_stream *s)
{
	return s && s->state == TTRPC_ST_HEADER && s->hdr_len == 0;
}

static int ttrpc_stream_deliver(struct ttrpc_stream *s, const uint8_t *data, size_t len,
				bool oversized)
{
	struct ttrpc_message m = {
		.hdr = s->hdr,
		.data = data,
		.len = len,
		.oversized = oversized,
	};

	return s->cb(&m, s->userdata);
}

static void ttrpc_stream_reset(struct ttrpc_stream *s)
{
	s->state = TTRPC_ST_HEADER;
	s->hdr_len = 0;
	s->have = 0;
	s->remaining = 0;
	if (s->buf_cap > TTRPC_KEEP_BUFFER) {
		free(s->buf);
		s->buf = NULL;
		s->buf_cap = 0;
	}
}

static int ttrpc_stream_reserve(struct ttrpc_stream *s, size_t len)
{
	uint8_t *p;

	if (len <= s->buf_cap)
		return 0;
	p = realloc(s->buf, len);
	if (!p)
		return -ENOMEM;
	s->buf = p;
	s->buf_cap = len;
	return 0;
}

/* Header complete: decide what follows. */
static int ttrpc_stream_header_done(struct ttrpc_stream *s)
{
	int r;

	ttrpc_header_unpack(s->hdr_buf, &s->hdr);
	if (s->hdr.length > TTRPC_MAX_DATA) {
		r = ttrpc_stream_deliver(s, NULL, 0, true);
		s->state = TTRPC_ST_DISCARD;
		s->remaining = s->hdr.length;
		return r;
	}
	if (s->hdr.length == 0) {
		r = ttrpc_stream_deliver(s, NULL, 0, false);
		ttrpc_stream_reset(s);
		return r;
	}
	s->state = TTRPC_ST_DATA;
	s->have = 0;
	return 0;
}

static long ttrpc_stream_take_header(struct ttrpc_stream *s, const uint8_t *buf, size_t len)
{
	size_t n = TTRPC_HEADER_SIZE - s->hdr_len;
	int r;

	if (n > len)
		n = len;
	memcpy(s->hdr_buf + s->hdr_len, buf, n);
	s->hdr_len += n;
	if (s->hdr_len < TTRPC_HEADER_SIZE)
		return (long)n;
	r = ttrpc_stream_header_done(s);
	return r < 0 ? r : (long)n;
}

static long ttrpc_stream_take_data(struct ttrpc_stream *s, const uint8_t *buf, size_t len)
{
	size_t want = s->hdr.length - s->have;
	size_t n = want < len ? want : len;
	int r;

	if (s->have == 0 && n == want) {
		/* Whole body contiguous in the input: no copy. */
		r = ttrpc_stream_deliver(s, buf, n, false);
		ttrpc_stream_reset(s);
		return r < 0 ? r : (long)n;
	}
	r = ttrpc_stream_reserve(s, s->hdr.length);
	if (r < 0)
		return r;
	memcpy(s->buf + s->have, buf, n);
	s->have += n;
	if (s->have < s->hdr.length)
		return (long)n;
	r = ttrpc_stream_deliver(s, s->buf, s->have, false);
	ttrpc_stream_reset(s);
	return r < 0 ? r : (long)n;
}

static long ttrpc_stream_take_discard(struct ttrpc_stream *s, size_t len)
{
	size_t n = s->remaining < len ? s->remaining : len;

	s->remaining -= n;
	if (s->remaining == 0)
		ttrpc_stream_reset(s);
	return (long)n;
}

int ttrpc_stream_feed(struct ttrpc_stream *s, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	long n;

	if (!s || (!buf && len))
		return -EINVAL;
	if (s->err)
		return s->err;
	while (off < len) {
		switch (s->state) {
		case TTRPC_ST_HEADER:
			n = ttrpc_stream_take_header(s, buf + off, len - off);
			break;
		case TTRPC_ST_DATA:
			n = ttrpc_stream_take_data(s, buf + off, len - off);
			break;
		default:
			n = ttrpc_stream_take_discard(s, len - off);
			break;
		}
		if (n < 0)
			return s->err = (int)n;
		off += (size_t)n;
	}
	return 0;
}

/* Allocate header + packed envelope; the envelope is packed after the header. */
static int ttrpc_pack_message(const ProtobufCMessage *env, uint32_t stream_id, uint8_t type,
			      uint8_t **ret, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(env);
	struct ttrpc_header h = {.stream_id = stream_id, .type = type};
	uint8_t *buf;

	if (len > TTRPC_MAX_DATA)
		return -EMSGSIZE;
	buf = malloc(TTRPC_HEADER_SIZE + len);
	if (!buf)
		return -ENOMEM;
	h.length = (uint32_t)protobuf_c_message_pack(env, buf + TTRPC_HEADER_SIZE);
	ttrpc_header_pack(&h, buf);
	*ret = buf;
	*ret_len = TTRPC_HEADER_SIZE + h.length;
	return 0;
}

int ttrpc_request_pack(uint32_t stream_id, const char *service, const char *method,
		       const uint8_t *payload, size_t len, int64_t timeout_nano, uint8_t **ret,
		       size_t *ret_len)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;

	if (!service || !method || (!payload && len) || !ret || !ret_len)
		return -EINVAL;
	/* The envelope alone adds > 0 bytes, so this also catches size_t overflow. */
	if (len > TTRPC_MAX_DATA)
		return -EMSGSIZE;
	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = len;
	req.timeout_nano = timeout_nano;
	return ttrpc_pack_message(&req.base, stream_id, TTRPC_TYPE_REQUEST, ret, ret_len);
}

int ttrpc_response_pack(uint32_t stream_id, int code, const char *msg, const uint8_t *payload,
			size_t len, uint8_t **ret, size_t *ret_len)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Ttrpc__Status st = TTRPC__STATUS__INIT;

	if ((!payload && len) || !ret || !ret_len)
		return -EINVAL;
	if (len > TTRPC_MAX_DATA)
		return -EMSGSIZE;
	if (code != 0) {
		st.code = code;
		st.message = (char *)(msg ? msg : "");
		resp.status = &st;
	} else if (len > 0) {
		resp.payload.data = (uint8_t *)payload;
		resp.payload.len = len;
	}
	return ttrpc_pack_message(&resp.base, stream_id, TTRPC_TYPE_RESPONSE, ret, ret_len);
}

int ttrpc_request_unpack(const uint8_t *data, size_t len, Ttrpc__Request **ret)
{
	Ttrpc__Request *r;

	if ((!data && len) || !ret)
		return -EINVAL;
	r = ttrpc__request__unpack(NULL, len, data);
	if (!r)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int ttrpc_response_unpack(const uint8_t *data, size_t len, Ttrpc__Response **ret)
{
	Ttrpc__Response *r;

	if ((!data && len) || !ret)
		return -EINVAL;
	r = ttrpc__response__unpack(NULL, len, data);
	if (!r)
		return -EBADMSG;
	*ret = r;
	return 0;
}

int ttrpc_response_code(const Ttrpc__Response *r, const char **ret_msg)
{
	const Ttrpc__Status *st = r ? r->status : NULL;

	if (ret_msg)
		*ret_msg = st && st->message ? st->message : "";
	if (!st || st->code == 0)
		return 0;
	return st->code > 0 ? st->code : 2;
}
