/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays the recorded containerd/nri v0.9.0 sessions (tests/fixtures/nri-vectors, see
 * ORIGIN.md) through our wire stack and checks every record:
 * - each direction's byte stream, cut into pseudo-random chunks, goes through the mux
 *   decoder and ttRPC reassembly and yields exactly the recorded messages (conn, header);
 * - every envelope decodes to the recorded service/method/timeout/status/payload, and our
 *   envelope encoder reproduces Go's bytes;
 * - our mux encoder frames every message exactly as Go did (doc §2.6);
 * - every NRI payload unpacks as its message type with no unknown fields, and survives
 *   re-encode + re-decode (maps compared as sets: Go orders map entries randomly).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json.h>

#include "plugin/nri/mux.h"
#include "plugin/nri/ttrpc.h"
#include "proto/nri.pb-c.h"

static const char *const vector_files[] = {
	"v0.9.0-testplugin-session.json",
	"v0.9.0-template-session.json",
	"v0.9.0-testplugin-fail-create-session.json",
	"v0.9.0-testplugin-hang-create-session.json",
};

/* ---- small helpers ------------------------------------------------------------------ */

static json_object *load_vectors(const char *name)
{
	const char *src = getenv("TOPOGUARD_SRC");
	char path[4096];
	json_object *root;

	snprintf(path, sizeof(path), "%s/tests/fixtures/nri-vectors/%s", src ? src : ".", name);
	root = json_object_from_file(path);
	if (!root)
		fail_msg("cannot load %s (set TOPOGUARD_SRC to the repository root): %s", path,
			 json_util_get_last_err());
	return root;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("missing key %s", key);
	return v;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	fail_msg("bad hex digit %c", c);
	return -1;
}

/* Appends the decoded hex to *buf (grown as needed). */
static void hex_append(const char *hex, uint8_t **buf, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *p = realloc(*buf, *len + n + 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[*len + i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	*buf = p;
	*len += n;
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- generic protobuf-c comparison (maps as sets) ----------------------------------- */

static bool msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b);

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

static bool elem_equal(const ProtobufCFieldDescriptor *f, const void *a, const void *b)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *x = *(char *const *)a, *y = *(char *const *)b;

		return strcmp(x ? x : "", y ? y : "") == 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *x = a, *y = b;

		return x->len == y->len && (x->len == 0 || !memcmp(x->data, y->data, x->len));
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_equal(*(ProtobufCMessage *const *)a, *(ProtobufCMessage *const *)b);
	default:
		return memcmp(a, b, elem_size(f->type)) == 0;
	}
}

static bool is_map_entry(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;

	return f->type == PROTOBUF_C_TYPE_MESSAGE && d->n_fields == 2 &&
	       !strcmp(d->fields[0].name, "key") && !strcmp(d->fields[1].name, "value");
}

/* Every element of a has an equal one in b (counts are checked by the caller). */
static bool repeated_subset(const ProtobufCFieldDescriptor *f, const uint8_t *a, size_t na,
			    const uint8_t *b, size_t nb)
{
	size_t sz = elem_size(f->type);

	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = elem_equal(f, a + i * sz, b + j * sz);
		if (!found)
			return false;
	}
	return true;
}

static bool repeated_equal(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *a,
			   const ProtobufCMessage *b)
{
	size_t na = *(const size_t *)((const uint8_t *)a + f->quantifier_offset);
	size_t nb = *(const size_t *)((const uint8_t *)b + f->quantifier_offset);
	const uint8_t *ea = *(uint8_t *const *)((const uint8_t *)a + f->offset);
	const uint8_t *eb = *(uint8_t *const *)((const uint8_t *)b + f->offset);
	size_t sz = elem_size(f->type);

	if (na != nb)
		return false;
	if (is_map_entry(f))
		return repeated_subset(f, ea, na, eb, nb) && repeated_subset(f, eb, nb, ea, na);
	for (size_t i = 0; i < na; i++)
		if (!elem_equal(f, ea + i * sz, eb + i * sz))
			return false;
	return true;
}

static bool msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	if (!a || !b)
		return a == b;
	if (a->descriptor != b->descriptor)
		return false;
	for (unsigned i = 0; i < a->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &a->descriptor->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!repeated_equal(f, a, b))
				return false;
		} else if (!elem_equal(f, (const uint8_t *)a + f->offset,
				       (const uint8_t *)b + f->offset)) {
			return false;
		}
	}
	return true;
}

/* Total unknown fields in the tree: a non-zero count means our schema misses a field. */
static size_t count_unknown(const ProtobufCMessage *m)
{
	ProtobufCMessage *const *arr;
	size_t n, nrep;

	if (!m)
		return 0;
	n = m->n_unknown_fields;
	for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
		const uint8_t *p = (const uint8_t *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			n += count_unknown(*(ProtobufCMessage *const *)p);
			continue;
		}
		nrep = *(const size_t *)((const uint8_t *)m + f->quantifier_offset);
		arr = *(ProtobufCMessage *const *const *)p;
		for (size_t j = 0; j < nrep; j++)
			n += count_unknown(arr[j]);
	}
	return n;
}

/* ---- NRI payload checks ------------------------------------------------------------- */

static const ProtobufCMessageDescriptor *find_type(const char *name)
{
	const ProtobufCServiceDescriptor *svcs[] = {
		&nri__pkg__api__v1alpha1__runtime__descriptor,
		&nri__pkg__api__v1alpha1__plugin__descriptor,
	};

	for (size_t s = 0; s < 2; s++) {
		for (unsigned i = 0; i < svcs[s]->n_methods; i++) {
			const ProtobufCMethodDescriptor *m = &svcs[s]->methods[i];

			if (!strcmp(m->input->name, name))
				return m->input;
			if (!strcmp(m->output->name, name))
				return m->output;
		}
	}
	fail_msg("message type %s not in our services", name);
	return NULL;
}

static void check_event(json_object *rec, const ProtobufCMessage *m)
{
	const Nri__Pkg__Api__V1alpha1__StateChangeEvent *ev = (const void *)m;
	const ProtobufCEnumValue *v;
	json_object *name;

	if (m->descriptor != &nri__pkg__api__v1alpha1__state_change_event__descriptor)
		return;
	name = get(rec, "event");
	v = protobuf_c_enum_descriptor_get_value(&nri__pkg__api__v1alpha1__event__descriptor,
						 (int)ev->event);
	assert_non_null(v);
	assert_string_equal(v->name, json_object_get_string(name));
}

static void check_payload(json_object *rec, const uint8_t *data, size_t len)
{
	const ProtobufCMessageDescriptor *d =
		find_type(json_object_get_string(get(rec, "message_type")));
	ProtobufCMessage *m, *m2;
	uint8_t *re;
	size_t n;

	m = protobuf_c_message_unpack(d, NULL, len, data);
	if (!m)
		fail_msg("record %d: %s does not decode", json_object_get_int(get(rec, "index")),
			 d->name);
	assert_int_equal(count_unknown(m), 0);
	check_event(rec, m);
	n = protobuf_c_message_get_packed_size(m);
	assert_int_equal(n, len); /* map order may differ, sizes may not */
	re = malloc(n + 1);
	assert_non_null(re);
	assert_int_equal(protobuf_c_message_pack(m, re), n);
	m2 = protobuf_c_message_unpack(d, NULL, n, re);
	assert_non_null(m2);
	assert_true(msg_equal(m, m2));
	protobuf_c_message_free_unpacked(m2, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	free(re);
}

/* ---- envelope checks ---------------------------------------------------------------- */

struct rx_msg {
	uint32_t conn;
	struct ttrpc_header hdr;
	uint8_t *data;
};

static void check_request(json_object *rec, const struct rx_msg *rx, const uint8_t *payload,
			  size_t plen, const uint8_t *raw, size_t raw_len)
{
	json_object *tmo = get(rec, "timeout_nano");
	int64_t want_tmo =
		json_object_is_type(tmo, json_type_null) ? 0 : json_object_get_int64(tmo);
	Ttrpc__Request *rq = NULL;
	uint8_t *mine = NULL;
	size_t mine_len = 0;

	assert_int_equal(ttrpc_request_unpack(rx->data, rx->hdr.length, &rq), 0);
	assert_string_equal(rq->service, json_object_get_string(get(rec, "service")));
	assert_string_equal(rq->method, json_object_get_string(get(rec, "method")));
	assert_int_equal(rq->timeout_nano, want_tmo);
	assert_int_equal(rq->n_metadata, json_object_array_length(get(rec, "metadata")));
	assert_int_equal(rq->payload.len, plen);
	assert_memory_equal(rq->payload.data, payload, plen);
	/* our encoder, given the same fields, produces Go's exact bytes */
	assert_int_equal(ttrpc_request_pack(rx->hdr.stream_id, rq->service, rq->method, payload,
					    plen, want_tmo, &mine, &mine_len),
			 0);
	assert_int_equal(mine_len, raw_len);
	assert_memory_equal(mine, raw, raw_len);
	free(mine);
	ttrpc__request__free_unpacked(rq, NULL);
}

static void check_response(json_object *rec, const struct rx_msg *rx, const uint8_t *payload,
			   size_t plen, const uint8_t *raw, size_t raw_len)
{
	Ttrpc__Response *rs = NULL;
	const char *msg = NULL;
	uint8_t *mine = NULL;
	size_t mine_len = 0;
	int code;

	assert_int_equal(ttrpc_response_unpack(rx->data, rx->hdr.length, &rs), 0);
	code = ttrpc_response_code(rs, &msg);
	assert_int_equal(rs->status != NULL, json_object_get_boolean(get(rec, "status_present")));
	assert_int_equal(code, json_object_get_int(get(rec, "status_code")));
	if (rs->status)
		assert_string_equal(msg, json_object_get_string(get(rec, "status_message")));
	assert_int_equal(rs->payload.len, plen);
	assert_memory_equal(rs->payload.data, payload, plen);
	assert_int_equal(
		ttrpc_response_pack(rx->hdr.stream_id, code, msg, payload, plen, &mine, &mine_len),
		0);
	assert_int_equal(mine_len, raw_len);
	assert_memory_equal(mine, raw, raw_len);
	free(mine);
	ttrpc__response__free_unpacked(rs, NULL);
}

/* Frames of one record: their bytes, the ttRPC message inside, and our encoding of it. */
static void check_frames(json_object *rec, uint32_t conn, uint8_t **ret_msg, size_t *ret_len)
{
	json_object *frames = get(rec, "mux_frames");
	uint8_t *wire = NULL, *msg = NULL, *mine;
	size_t wire_len = 0, msg_len = 0, n = json_object_array_length(frames);

	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		size_t start = wire_len;

		assert_int_equal(json_object_get_int(get(f, "conn")), conn);
		hex_append(json_object_get_string(get(f, "hex")), &wire, &wire_len);
		assert_int_equal(mux_get_be32(wire + start + 4),
				 json_object_get_int(get(f, "len")));
		msg = realloc(msg, msg_len + wire_len - start - 8 + 1);
		assert_non_null(msg);
		memcpy(msg + msg_len, wire + start + 8, wire_len - start - 8);
		msg_len += wire_len - start - 8;
	}
	assert_int_equal(mux_encode_frames(msg_len), n);
	mine = malloc(mux_encode_size(msg_len));
	assert_non_null(mine);
	assert_int_equal(mux_encode(conn, msg, msg_len, mine, mux_encode_size(msg_len)),
			 (long)wire_len);
	assert_memory_equal(mine, wire, wire_len);
	free(mine);
	free(wire);
	*ret_msg = msg;
	*ret_len = msg_len;
}

static void check_record(json_object *rec, const struct rx_msg *rx)
{
	json_object *tt = get(rec, "ttrpc");
	uint32_t conn = (uint32_t)json_object_get_int(
		get(json_object_array_get_idx(get(rec, "mux_frames"), 0), "conn"));
	uint8_t *raw = NULL, *payload = NULL;
	size_t raw_len = 0, plen = 0;

	assert_int_equal(rx->conn, conn);
	assert_int_equal(rx->hdr.length, json_object_get_int64(get(tt, "length")));
	assert_int_equal(rx->hdr.stream_id, json_object_get_int64(get(tt, "stream_id")));
	assert_int_equal(rx->hdr.type, json_object_get_int(get(tt, "type")));
	assert_int_equal(rx->hdr.flags, json_object_get_int(get(tt, "flags")));
	check_frames(rec, conn, &raw, &raw_len);
	assert_int_equal(raw_len, TTRPC_HEADER_SIZE + rx->hdr.length);
	hex_append(json_object_get_string(get(rec, "payload_hex")), &payload, &plen);
	assert_int_equal(plen, json_object_get_int64(get(rec, "payload_len")));
	if (rx->hdr.type == TTRPC_TYPE_REQUEST)
		check_request(rec, rx, payload, plen, raw, raw_len);
	else
		check_response(rec, rx, payload, plen, raw, raw_len);
	check_payload(rec, payload, plen);
	free(payload);
	free(raw);
}

/* ---- stream replay ------------------------------------------------------------------ */

struct replay {
	struct rx_msg msgs[128];
	unsigned n;
	uint32_t cur_conn;
};

static int replay_msg(const struct ttrpc_message *m, void *userdata)
{
	struct replay *r = userdata;
	struct rx_msg *x = &r->msgs[r->n];

	assert_true(r->n < 128);
	assert_false(m->oversized);
	x->conn = r->cur_conn;
	x->hdr = m->hdr;
	x->data = malloc(m->len + 1);
	assert_non_null(x->data);
	if (m->len)
		memcpy(x->data, m->data, m->len);
	r->n++;
	return 0;
}

struct replay_ctx {
	struct replay *r;
	struct ttrpc_stream *rx[3];
};

static int replay_data(uint32_t conn, const uint8_t *data, size_t len, void *userdata)
{
	struct replay_ctx *c = userdata;

	c->r->cur_conn = conn;
	return ttrpc_stream_feed(c->rx[conn], data, len);
}

/* Decode a direction's whole byte stream, fed in pseudo-random chunks. */
static void replay_stream(const uint8_t *buf, size_t len, uint32_t seed, struct replay *r)
{
	struct replay_ctx c = {.r = r};
	struct mux_decoder *d = NULL;

	assert_int_equal(mux_decoder_new(replay_data, &c, &d), 0);
	assert_int_equal(mux_decoder_open(d, 1), 0);
	assert_int_equal(mux_decoder_open(d, 2), 0);
	assert_int_equal(ttrpc_stream_new(replay_msg, r, &c.rx[1]), 0);
	assert_int_equal(ttrpc_stream_new(replay_msg, r, &c.rx[2]), 0);
	for (size_t off = 0; off < len;) {
		uint32_t x = rng_next(&seed);
		size_t k = x % 4 == 0 ? x % 9000 + 1 : x % 64 + 1; /* mostly small, some big */

		if (k > len - off)
			k = len - off;
		assert_int_equal(mux_decoder_feed(d, buf + off, k), 0);
		off += k;
	}
	assert_true(mux_decoder_idle(d));
	assert_true(ttrpc_stream_idle(c.rx[1]) && ttrpc_stream_idle(c.rx[2]));
	mux_decoder_free(d);
	ttrpc_stream_free(c.rx[1]);
	ttrpc_stream_free(c.rx[2]);
}

static void replay_free(struct replay *r)
{
	for (unsigned i = 0; i < r->n; i++)
		free(r->msgs[i].data);
	r->n = 0;
}

static void direction_stream(json_object *records, const char *dir, uint8_t **buf, size_t *len,
			     unsigned *count)
{
	*count = 0;
	for (size_t i = 0; i < json_object_array_length(records); i++) {
		json_object *rec = json_object_array_get_idx(records, i);
		json_object *frames = get(rec, "mux_frames");

		if (strcmp(json_object_get_string(get(rec, "dir")), dir))
			continue;
		(*count)++;
		for (size_t j = 0; j < json_object_array_length(frames); j++)
			hex_append(json_object_get_string(
					   get(json_object_array_get_idx(frames, j), "hex")),
				   buf, len);
	}
}

static void check_direction(json_object *records, const char *dir, uint32_t seed, unsigned *checked)
{
	static struct replay r;
	uint8_t *buf = NULL;
	size_t len = 0;
	unsigned count, k = 0;

	replay_free(&r); /* a failed earlier test may have left messages behind */
	direction_stream(records, dir, &buf, &len, &count);
	replay_stream(buf, len, seed, &r);
	assert_int_equal(r.n, count);
	for (size_t i = 0; i < json_object_array_length(records); i++) {
		json_object *rec = json_object_array_get_idx(records, i);

		if (strcmp(json_object_get_string(get(rec, "dir")), dir))
			continue;
		check_record(rec, &r.msgs[k++]);
		(*checked)++;
	}
	replay_free(&r);
	free(buf);
}

static void check_file(const char *name, unsigned want_records)
{
	json_object *root = load_vectors(name);
	json_object *records = get(root, "records");
	unsigned checked = 0;

	assert_int_equal(json_object_array_length(records), want_records);
	check_direction(records, "runtime->plugin", 0x9e3779b9u, &checked);
	check_direction(records, "plugin->runtime", 0x85ebca6bu, &checked);
	assert_int_equal(checked, want_records);
	/* a second chunking of the runtime's stream, to vary the split points */
	checked = 0;
	check_direction(records, "runtime->plugin", 0xc2b2ae35u, &checked);
	json_object_put(root);
}

static void test_vectors_testplugin_session(void **state)
{
	(void)state;
	check_file(vector_files[0], 80);
}

static void test_vectors_template_session(void **state)
{
	(void)state;
	check_file(vector_files[1], 76);
}

static void test_vectors_fail_create_session(void **state)
{
	(void)state;
	check_file(vector_files[2], 34);
}

static void test_vectors_hang_create_session(void **state)
{
	(void)state;
	check_file(vector_files[3], 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_testplugin_session),
		cmocka_unit_test(test_vectors_template_session),
		cmocka_unit_test(test_vectors_fail_create_session),
		cmocka_unit_test(test_vectors_hang_create_session),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
