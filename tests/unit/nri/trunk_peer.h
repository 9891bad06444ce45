/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for tests/unit/nri/test_trunk.c (header-only so the test stays one binary):
 * a recording server callback, a recording completion, a pump for two trunks, and a
 * "raw" peer that writes hand-made frames and decodes what the trunk sends back.
 * Everything allocated here is released by raw_done() / the tests themselves.
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/nri/mux.h"
#include "plugin/nri/trunk.h"
#include "plugin/nri/ttrpc.h"

#define TP_UNUSED __attribute__((unused))

#define SVC_PLUGIN  "nri.pkg.api.v1alpha1.Plugin"
#define SVC_RUNTIME "nri.pkg.api.v1alpha1.Runtime"
#define PUMP_LIMIT  20000 /* iterations of 1 ms: a safety net against hangs, not a timing */

/* ---- a serving side that records what it got ---------------------------------------- */

struct server {
	unsigned calls;
	uint32_t last_sid;
	char method[64];
	int mode; /* what the handler does, see enum */
	int sync_result;
	int reply_result;
	bool saw_in_handler;
	size_t payload_len;
};

enum { SRV_ECHO, SRV_DEFER, SRV_FAIL, SRV_SYNC_CALL, SRV_HUGE };

TP_UNUSED static int serve_cb(struct nri_trunk *t, const struct nri_request *req, void *userdata)
{
	struct server *s = userdata;

	s->calls++;
	s->last_sid = req->stream_id;
	s->payload_len = req->payload_len;
	s->saw_in_handler = nri_trunk_in_handler(t);
	snprintf(s->method, sizeof(s->method), "%s", req->method);
	switch (s->mode) {
	case SRV_DEFER:
		return 0;
	case SRV_FAIL:
		return -EIO;
	case SRV_HUGE: {
		uint8_t *big = calloc(1, TTRPC_MAX_MESSAGE);

		assert_non_null(big);
		s->reply_result = nri_trunk_reply(t, req->stream_id, big, TTRPC_MAX_MESSAGE);
		free(big);
		return 0;
	}
	case SRV_SYNC_CALL:
		s->sync_result = nri_trunk_call_sync(t, SVC_RUNTIME, "UpdateContainers", NULL, 0, 0,
						     NULL, NULL, NULL);
		break;
	default:
		break;
	}
	return nri_trunk_reply(t, req->stream_id, req->payload, req->payload_len);
}

/* ---- a client completion that records the result ------------------------------------ */

struct result {
	unsigned done;
	int code;
	char msg[128];
	uint8_t *payload;
	size_t len;
};

TP_UNUSED static void done_cb(struct nri_trunk *t, int code, const char *msg,
			      const uint8_t *payload, size_t len, void *userdata)
{
	struct result *r = userdata;

	(void)t;
	r->done++;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	free(r->payload);
	r->payload = len ? malloc(len) : NULL;
	if (len) {
		assert_non_null(r->payload);
		memcpy(r->payload, payload, len);
	}
	r->len = len;
}

TP_UNUSED static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

TP_UNUSED static struct nri_trunk *trunk(int fd, uint32_t serve, uint32_t call, struct server *s)
{
	struct nri_trunk *t = NULL;

	assert_int_equal(nri_trunk_new(fd, serve, call, serve_cb, s, &t), 0);
	return t;
}

/* Drive both trunks until *flag reaches want. */
TP_UNUSED static void pump2(struct nri_trunk *a, struct nri_trunk *b, const unsigned *flag,
			    unsigned want)
{
	for (int i = 0; i < PUMP_LIMIT && *flag < want; i++) {
		struct pollfd p[2] = {
			{.fd = nri_trunk_fd(a), .events = nri_trunk_events(a)},
			{.fd = nri_trunk_fd(b), .events = nri_trunk_events(b)},
		};

		assert_true(poll(p, 2, 1) >= 0);
		assert_int_equal(nri_trunk_process(a, p[0].revents), 0);
		assert_int_equal(nri_trunk_process(b, p[1].revents), 0);
	}
	assert_int_equal(*flag, want);
}

/* ---- a raw peer: hand-made frames out, decoded messages in --------------------------- */

struct raw {
	int fd;
	struct mux_decoder *mux;
	struct ttrpc_stream *rx[3];
	unsigned n;
	uint32_t conn[16];
	struct ttrpc_header hdr[16];
	Ttrpc__Response *resp[16];
};

TP_UNUSED static int raw_msg(const struct ttrpc_message *m, void *userdata, uint32_t conn)
{
	struct raw *r = userdata;

	assert_true(r->n < 16);
	assert_false(m->oversized);
	r->conn[r->n] = conn;
	r->hdr[r->n] = m->hdr;
	r->resp[r->n] = NULL;
	if (m->hdr.type == TTRPC_TYPE_RESPONSE)
		assert_int_equal(ttrpc_response_unpack(m->data, m->len, &r->resp[r->n]), 0);
	r->n++;
	return 0;
}

TP_UNUSED static int raw_msg1(const struct ttrpc_message *m, void *userdata)
{
	return raw_msg(m, userdata, 1);
}

TP_UNUSED static int raw_msg2(const struct ttrpc_message *m, void *userdata)
{
	return raw_msg(m, userdata, 2);
}

TP_UNUSED static int raw_data(uint32_t conn, const uint8_t *data, size_t len, void *userdata)
{
	struct raw *r = userdata;

	return ttrpc_stream_feed(r->rx[conn], data, len);
}

TP_UNUSED static void raw_init(struct raw *r, int fd)
{
	*r = (struct raw){.fd = fd};
	assert_int_equal(mux_decoder_new(raw_data, r, &r->mux), 0);
	assert_int_equal(mux_decoder_open(r->mux, 1), 0);
	assert_int_equal(mux_decoder_open(r->mux, 2), 0);
	assert_int_equal(ttrpc_stream_new(raw_msg1, r, &r->rx[1]), 0);
	assert_int_equal(ttrpc_stream_new(raw_msg2, r, &r->rx[2]), 0);
}

/* A plugin-side trunk whose peer is a raw socket end. */
TP_UNUSED static struct nri_trunk *plugin_with_raw(struct raw *r, struct server *s)
{
	int sv[2];

	pair(sv);
	raw_init(r, sv[1]);
	return trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, s);
}

TP_UNUSED static void raw_done(struct raw *r)
{
	for (unsigned i = 0; i < r->n; i++)
		ttrpc__response__free_unpacked(r->resp[i], NULL);
	mux_decoder_free(r->mux);
	ttrpc_stream_free(r->rx[1]);
	ttrpc_stream_free(r->rx[2]);
	if (r->fd >= 0)
		close(r->fd);
}

/* Write everything, driving t meanwhile so neither side blocks on a full socket. */
TP_UNUSED static void raw_write(struct raw *r, struct nri_trunk *t, const uint8_t *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = send(r->fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			assert_true(errno == EAGAIN);
			assert_int_equal(nri_trunk_run_once(t, 1), 0);
			continue;
		}
		off += (size_t)n;
	}
}

/* One hand-made frame, any size: the rules a well-behaved sender keeps do not apply. */
TP_UNUSED static void raw_frame(struct raw *r, struct nri_trunk *t, uint32_t conn, const uint8_t *p,
				size_t len)
{
	uint8_t hdr[8];

	mux_put_be32(hdr, conn);
	mux_put_be32(hdr + 4, (uint32_t)len);
	raw_write(r, t, hdr, 8);
	raw_write(r, t, p, len);
}

TP_UNUSED static void raw_frame_msg(struct raw *r, struct nri_trunk *t, uint32_t conn, uint8_t *msg,
				    size_t len)
{
	size_t n = mux_encode_size(len);
	uint8_t *out = malloc(n);

	assert_non_null(out);
	assert_int_equal(mux_encode(conn, msg, len, out, n), (long)n);
	raw_write(r, t, out, n);
	free(out);
	free(msg);
}

TP_UNUSED static void raw_request(struct raw *r, struct nri_trunk *t, uint32_t sid,
				  const char *method)
{
	uint8_t *msg = NULL;
	size_t len = 0;

	assert_int_equal(ttrpc_request_pack(sid, SVC_PLUGIN, method, (const uint8_t *)"\x10\x01", 2,
					    0, &msg, &len),
			 0);
	raw_frame_msg(r, t, 1, msg, len);
}

TP_UNUSED static void raw_response(struct raw *r, struct nri_trunk *t, uint32_t sid)
{
	uint8_t *msg = NULL;
	size_t len = 0;

	assert_int_equal(ttrpc_response_pack(sid, 0, NULL, NULL, 0, &msg, &len), 0);
	raw_frame_msg(r, t, 2, msg, len);
}

/* Drive t and read from the raw side until it has received `want` messages. */
TP_UNUSED static void raw_wait(struct raw *r, struct nri_trunk *t, unsigned want)
{
	uint8_t buf[4096];

	for (int i = 0; i < PUMP_LIMIT && r->n < want; i++) {
		ssize_t n;

		assert_int_equal(nri_trunk_run_once(t, 1), 0);
		n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			assert_int_equal(mux_decoder_feed(r->mux, buf, (size_t)n), 0);
	}
	assert_int_equal(r->n, want);
}

TP_UNUSED static int raw_code(const struct raw *r, unsigned i)
{
	return ttrpc_response_code(r->resp[i], NULL);
}

/* A hand-made ttRPC message of any size and type, framed as Go would frame it. */
TP_UNUSED static void raw_message(struct raw *r, struct nri_trunk *t, uint32_t conn, uint32_t sid,
				  uint8_t type, const uint8_t *body, size_t blen)
{
	struct ttrpc_header h = {.length = (uint32_t)blen, .stream_id = sid, .type = type};
	uint8_t *msg = calloc(1, TTRPC_HEADER_SIZE + blen);

	assert_non_null(msg);
	ttrpc_header_pack(&h, msg);
	if (blen)
		memcpy(msg + TTRPC_HEADER_SIZE, body, blen);
	raw_frame_msg(r, t, conn, msg, TTRPC_HEADER_SIZE + blen); /* frees msg */
}
