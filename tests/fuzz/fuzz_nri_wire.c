/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the NRI wire stack, receive direction: bytes from a peer go
 * through the mux decoder, per-conn ttRPC reassembly, envelope decoding and the
 * protobuf-c unpack of the NRI payload as the type its method names.
 *
 * Input layout: byte 0 picks the chunk size the rest is fed in (so split headers and
 * split messages are explored), bytes 1.. are the socket byte stream. Requests whose
 * service/method is unknown are still unpacked, as the Plugin-service request type
 * chosen by the stream id, so every message type gets exercised. Decoded messages are
 * re-packed to cover the encoder on whatever the decoder accepted.
 *
 * The same bytes are then written, as a peer would, into a socketpair whose other end
 * is an nri_trunk with two calls pending (stream ids 1 and 3 on conn 2) and a server
 * that answers, defers or fails requests depending on the stream id: this covers the
 * trunk's stream-id rules, answer-once bookkeeping, response matching and EOF handling.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugin/nri/mux.h"
#include "plugin/nri/trunk.h"
#include "plugin/nri/ttrpc.h"
#include "proto/nri.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const response_types[] = {
	&nri__pkg__api__v1alpha1__configure_response__descriptor,
	&nri__pkg__api__v1alpha1__synchronize_response__descriptor,
	&nri__pkg__api__v1alpha1__create_container_response__descriptor,
	&nri__pkg__api__v1alpha1__update_container_response__descriptor,
	&nri__pkg__api__v1alpha1__stop_container_response__descriptor,
	&nri__pkg__api__v1alpha1__update_containers_response__descriptor,
	&nri__pkg__api__v1alpha1__validate_container_adjustment_response__descriptor,
};

/* Unpack as d, re-pack what was accepted, and check the size bookkeeping agrees. */
static void fuzz_payload(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, p);
	size_t n;
	uint8_t *buf;

	if (!m)
		return;
	n = protobuf_c_message_get_packed_size(m);
	buf = malloc(n ? n : 1);
	if (buf && protobuf_c_message_pack(m, buf) != n)
		abort(); /* a real bug: packer and sizer disagree */
	free(buf);
	protobuf_c_message_free_unpacked(m, NULL);
}

static const ProtobufCMessageDescriptor *fuzz_request_type(const char *service, const char *method,
							   uint32_t sid)
{
	const ProtobufCServiceDescriptor *plugin = &nri__pkg__api__v1alpha1__plugin__descriptor;
	const ProtobufCServiceDescriptor *runtime = &nri__pkg__api__v1alpha1__runtime__descriptor;
	const ProtobufCServiceDescriptor *s = NULL;
	const ProtobufCMethodDescriptor *m = NULL;

	if (!strcmp(service, plugin->name))
		s = plugin;
	else if (!strcmp(service, runtime->name))
		s = runtime;
	if (s)
		m = protobuf_c_service_descriptor_get_method_by_name(s, method);
	if (m)
		return m->input;
	return plugin->methods[sid % plugin->n_methods].input;
}

static void fuzz_request(const struct ttrpc_message *msg)
{
	Ttrpc__Request *rq = NULL;

	if (ttrpc_request_unpack(msg->data, msg->len, &rq) < 0)
		return;
	fuzz_payload(fuzz_request_type(rq->service, rq->method, msg->hdr.stream_id),
		     rq->payload.data, rq->payload.len);
	ttrpc__request__free_unpacked(rq, NULL);
}

static void fuzz_response(const struct ttrpc_message *msg)
{
	Ttrpc__Response *rs = NULL;
	const char *text = NULL;
	size_t n = sizeof(response_types) / sizeof(response_types[0]);

	if (ttrpc_response_unpack(msg->data, msg->len, &rs) < 0)
		return;
	if (ttrpc_response_code(rs, &text) < 0 || !text)
		abort(); /* contract: never a negative code, never a NULL message */
	fuzz_payload(response_types[msg->hdr.stream_id % n], rs->payload.data, rs->payload.len);
	ttrpc__response__free_unpacked(rs, NULL);
}

static int fuzz_on_message(const struct ttrpc_message *m, void *userdata)
{
	(void)userdata;
	if (m->oversized)
		return 0;
	if (m->hdr.type == TTRPC_TYPE_REQUEST)
		fuzz_request(m);
	else if (m->hdr.type == TTRPC_TYPE_RESPONSE)
		fuzz_response(m);
	return 0;
}

struct fuzz_ctx {
	struct ttrpc_stream *rx[3];
};

static int fuzz_on_data(uint32_t conn, const uint8_t *data, size_t len, void *userdata)
{
	struct fuzz_ctx *c = userdata;

	return ttrpc_stream_feed(c->rx[conn], data, len);
}

/* ---- through a live trunk ---------------------------------------------------------- */

static int fuzz_serve(struct nri_trunk *t, const struct nri_request *req, void *userdata)
{
	(void)userdata;
	switch (req->stream_id % 8) {
	case 1:
		return nri_trunk_reply(t, req->stream_id, req->payload, req->payload_len);
	case 3:
		return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, req->method);
	case 5:
		return -EINVAL; /* the trunk must answer INTERNAL */
	default:
		return 0; /* deferred, never answered: freed with the trunk */
	}
}

static void fuzz_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
		      size_t len, void *userdata)
{
	(void)t;
	(void)payload;
	(void)userdata;
	if (!msg || (code == 0 && len && !payload))
		abort(); /* contract of nri_call_done_fn */
}

static void fuzz_trunk(const uint8_t *data, size_t size)
{
	struct nri_trunk *t = NULL;
	int sv[2], r = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	if (nri_trunk_new(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, fuzz_serve, NULL, &t) < 0) {
		close(sv[1]);
		return;
	}
	nri_trunk_call(t, "nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin", NULL, 0, 0, fuzz_done,
		       NULL);
	nri_trunk_call(t, "nri.pkg.api.v1alpha1.Runtime", "UpdateContainers", NULL, 0, 0, fuzz_done,
		       NULL);
	/* the socket buffer holds far more than libFuzzer's inputs; a short write is fine */
	if (send(sv[1], data, size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing: the trunk then simply sees EOF */
	}
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 1000 && r == 0; i++)
		r = nri_trunk_process(t, POLLIN);
	nri_trunk_free(t);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = {0};
	struct mux_decoder *d = NULL;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] * 37 + 1;
	if (mux_decoder_new(fuzz_on_data, &c, &d) < 0 || mux_decoder_open(d, 1) < 0 ||
	    mux_decoder_open(d, 2) < 0 || ttrpc_stream_new(fuzz_on_message, NULL, &c.rx[1]) < 0 ||
	    ttrpc_stream_new(fuzz_on_message, NULL, &c.rx[2]) < 0)
		goto out;
	for (size_t off = 1; off < size; off += chunk) {
		size_t k = size - off < chunk ? size - off : chunk;

		if (mux_decoder_feed(d, data + off, k) < 0)
			break;
	}
out:
	mux_decoder_free(d);
	ttrpc_stream_free(c.rx[1]);
	ttrpc_stream_free(c.rx[2]);
	fuzz_trunk(data + 1, size - 1);
	return 0;
}
