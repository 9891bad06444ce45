/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/nri/ttrpc.c: header codec, reassembly, envelopes, status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/nri/mux.h"
#include "plugin/nri/ttrpc.h"

#define MAX_SEEN 8

struct seen {
	unsigned n;
	struct ttrpc_header hdr[MAX_SEEN];
	uint8_t *data[MAX_SEEN];
	size_t len[MAX_SEEN];
	bool oversized[MAX_SEEN];
};

static int seen_cb(const struct ttrpc_message *m, void *userdata)
{
	struct seen *s = userdata;

	assert_true(s->n < MAX_SEEN);
	assert_int_equal(m->len, m->oversized ? 0 : m->hdr.length);
	s->hdr[s->n] = m->hdr;
	s->len[s->n] = m->len;
	s->oversized[s->n] = m->oversized;
	s->data[s->n] = m->len ? malloc(m->len) : NULL;
	if (m->len) {
		assert_non_null(s->data[s->n]);
		memcpy(s->data[s->n], m->data, m->len);
	}
	s->n++;
	return 0;
}

static void seen_done(struct seen *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->data[i]);
}

static size_t put_msg(uint8_t *out, uint32_t sid, uint8_t type, const char *body)
{
	struct ttrpc_header h = {.length = (uint32_t)strlen(body), .stream_id = sid, .type = type};

	ttrpc_header_pack(&h, out);
	memcpy(out + TTRPC_HEADER_SIZE, body, h.length);
	return TTRPC_HEADER_SIZE + h.length;
}

static void test_ttrpc_header_pack_unpack(void **state)
{
	struct ttrpc_header h = {.length = 0x4b, .stream_id = 1, .type = 1, .flags = 0}, g;
	const uint8_t want[10] = {0, 0, 0, 0x4b, 0, 0, 0, 1, 1, 0};
	const uint8_t odd[10] = {0x00, 0x40, 0x00, 0x01, 0xfe, 0xdc, 0xba, 0x99, 3, 5};
	uint8_t out[10];

	(void)state;
	ttrpc_header_pack(&h, out);
	assert_memory_equal(out, want, 10);
	ttrpc_header_unpack(odd, &g);
	assert_int_equal(g.length, 0x400001);
	assert_int_equal(g.stream_id, 0xfedcba99u);
	assert_int_equal(g.type, 3);
	assert_int_equal(g.flags, 5);
	ttrpc_header_pack(&g, out);
	assert_memory_equal(out, odd, 10);
}

/* Messages spanning feeds at every split point, and a zero-length message between. */
static void test_ttrpc_stream_feed_reassembly_every_split(void **state)
{
	uint8_t buf[128];
	size_t n = 0;

	(void)state;
	n += put_msg(buf + n, 1, TTRPC_TYPE_REQUEST, "first message");
	n += put_msg(buf + n, 3, TTRPC_TYPE_RESPONSE, "");
	n += put_msg(buf + n, 5, TTRPC_TYPE_REQUEST, "third");
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b += 7) {
			struct seen s = {0};
			struct ttrpc_stream *st = NULL;

			assert_int_equal(ttrpc_stream_new(seen_cb, &s, &st), 0);
			assert_int_equal(ttrpc_stream_feed(st, buf, a), 0);
			assert_int_equal(ttrpc_stream_feed(st, buf + a, b - a), 0);
			assert_int_equal(ttrpc_stream_feed(st, buf + b, n - b), 0);
			assert_int_equal(s.n, 3);
			assert_int_equal(s.hdr[0].stream_id, 1);
			assert_memory_equal(s.data[0], "first message", 13);
			assert_int_equal(s.hdr[1].length, 0);
			assert_int_equal(s.hdr[1].type, TTRPC_TYPE_RESPONSE);
			assert_null(s.data[1]);
			assert_int_equal(s.len[2], 5);
			assert_memory_equal(s.data[2], "third", 5);
			assert_true(ttrpc_stream_idle(st));
			ttrpc_stream_free(st);
			seen_done(&s);
		}
	}
}

/* A message delivered through two mux frames (the Go 4096 + rest split). */
static void test_ttrpc_stream_feed_across_mux_frames(void **state)
{
	size_t len = 7001, total = len + TTRPC_HEADER_SIZE;
	uint8_t *msg = malloc(total), *frames = malloc(total + 16);
	struct ttrpc_header h = {.length = (uint32_t)len, .stream_id = 3, .type = 1};
	struct seen s = {0};
	struct ttrpc_stream *st = NULL;

	(void)state;
	assert_non_null(msg);
	assert_non_null(frames);
	ttrpc_header_pack(&h, msg);
	for (size_t i = 0; i < len; i++)
		msg[TTRPC_HEADER_SIZE + i] = (uint8_t)(i * 13);
	assert_int_equal(mux_encode(1, msg, total, frames, total + 16), (long)total + 16);
	assert_int_equal(ttrpc_stream_new(seen_cb, &s, &st), 0);
	/* the ttRPC layer sees the two frame payloads as consecutive slices */
	assert_int_equal(ttrpc_stream_feed(st, frames + 8, 4096), 0);
	assert_int_equal(s.n, 0);
	assert_false(ttrpc_stream_idle(st));
	assert_int_equal(ttrpc_stream_feed(st, frames + 8 + 4096 + 8, total - 4096), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.len[0], len);
	assert_memory_equal(s.data[0], msg + TTRPC_HEADER_SIZE, len);
	ttrpc_stream_free(st);
	seen_done(&s);
	free(msg);
	free(frames);
}

static void test_ttrpc_stream_feed_oversized_resync(void **state)
{
	size_t big = TTRPC_MAX_DATA + 1, total = TTRPC_HEADER_SIZE + big + 20;
	uint8_t *buf = calloc(1, total);
	struct ttrpc_header h = {.length = (uint32_t)big, .stream_id = 7, .type = 1};
	struct seen s = {0};
	struct ttrpc_stream *st = NULL;

	(void)state;
	assert_non_null(buf);
	ttrpc_header_pack(&h, buf);
	put_msg(buf + TTRPC_HEADER_SIZE + big, 9, 1, "0123456789");
	assert_int_equal(ttrpc_stream_new(seen_cb, &s, &st), 0);
	/* reported as soon as the header is seen, so the stream can be answered */
	assert_int_equal(ttrpc_stream_feed(st, buf, 100), 0);
	assert_int_equal(s.n, 1);
	assert_true(s.oversized[0]);
	assert_int_equal(s.hdr[0].stream_id, 7);
	assert_int_equal(s.hdr[0].length, big);
	assert_int_equal(ttrpc_stream_feed(st, buf + 100, total - 100), 0);
	assert_int_equal(s.n, 2);
	assert_false(s.oversized[1]);
	assert_int_equal(s.hdr[1].stream_id, 9);
	assert_memory_equal(s.data[1], "0123456789", 10);
	ttrpc_stream_free(st);
	seen_done(&s);
	free(buf);
}

static void test_ttrpc_stream_feed_max_size_accepted(void **state)
{
	size_t total = TTRPC_HEADER_SIZE + TTRPC_MAX_DATA;
	uint8_t *buf = calloc(1, total);
	struct ttrpc_header h = {.length = TTRPC_MAX_DATA, .stream_id = 1, .type = 2};
	struct seen s = {0};
	struct ttrpc_stream *st = NULL;

	(void)state;
	assert_non_null(buf);
	ttrpc_header_pack(&h, buf);
	buf[total - 1] = 0x5a;
	assert_int_equal(ttrpc_stream_new(seen_cb, &s, &st), 0);
	assert_int_equal(ttrpc_stream_feed(st, buf, 4096), 0);
	assert_int_equal(ttrpc_stream_feed(st, buf + 4096, total - 4096), 0);
	assert_int_equal(s.n, 1);
	assert_false(s.oversized[0]);
	assert_int_equal(s.len[0], TTRPC_MAX_DATA);
	assert_int_equal(s.data[0][TTRPC_MAX_DATA - 1], 0x5a);
	ttrpc_stream_free(st);
	seen_done(&s);
	free(buf);
}

static int fail_cb(const struct ttrpc_message *m, void *userdata)
{
	(void)m;
	(*(unsigned *)userdata)++;
	return -ENOTCONN;
}

static void test_ttrpc_stream_feed_callback_error_sticky(void **state)
{
	uint8_t buf[64];
	size_t n = put_msg(buf, 1, 1, "x");
	struct ttrpc_stream *st = NULL;
	unsigned calls = 0;

	(void)state;
	assert_int_equal(ttrpc_stream_new(fail_cb, &calls, &st), 0);
	assert_int_equal(ttrpc_stream_feed(st, buf, n), -ENOTCONN);
	assert_int_equal(ttrpc_stream_feed(st, buf, n), -ENOTCONN);
	assert_int_equal(calls, 1);
	ttrpc_stream_free(st);
	ttrpc_stream_free(NULL);
}

/* doc §3.9: the 75-byte envelope of the RegisterPlugin example. */
static const uint8_t register_payload[] = {
	0x0a, 0x06, 'p',  'o', 'l', 'i', 'c', 'y', 0x12, 0x02, '1',
	'0',  0x1a, 0x07, 'v', '0', '.', '1', '2', '.',	 '2',
};

static void test_ttrpc_request_pack_worked_example(void **state)
{
	static const uint8_t head[] = {0, 0, 0, 0x4b, 0, 0, 0, 1, 1, 0, 0x0a, 0x1c};
	static const uint8_t tail[] = {0x20, 0x80, 0xe4, 0x97, 0xd0, 0x12};
	uint8_t *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ttrpc_request_pack(1, "nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin",
					    register_payload, sizeof(register_payload),
					    5000000000LL, &msg, &len),
			 0);
	assert_int_equal(len, 85);
	assert_memory_equal(msg, head, sizeof(head));
	assert_memory_equal(msg + 12, "nri.pkg.api.v1alpha1.Runtime", 28);
	assert_memory_equal(msg + 40, "\x12\x0eRegisterPlugin\x1a\x15", 18);
	assert_memory_equal(msg + 58, register_payload, sizeof(register_payload));
	assert_memory_equal(msg + 79, tail, sizeof(tail));
	free(msg);
}

static void test_ttrpc_request_round_trip(void **state)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	Ttrpc__Request *rq = NULL;
	struct ttrpc_header h;

	(void)state;
	assert_int_equal(ttrpc_request_pack(9, "svc", "M", register_payload, 3, -1, &msg, &len), 0);
	ttrpc_header_unpack(msg, &h);
	assert_int_equal(h.stream_id, 9);
	assert_int_equal(h.type, TTRPC_TYPE_REQUEST);
	assert_int_equal(h.length, len - TTRPC_HEADER_SIZE);
	assert_int_equal(ttrpc_request_unpack(msg + 10, h.length, &rq), 0);
	assert_string_equal(rq->service, "svc");
	assert_string_equal(rq->method, "M");
	assert_int_equal(rq->payload.len, 3);
	assert_memory_equal(rq->payload.data, register_payload, 3);
	assert_int_equal(rq->timeout_nano, -1);
	ttrpc__request__free_unpacked(rq, NULL);
	free(msg);
}

/* An empty payload and no deadline are omitted, as Go omits them (TM #4: frame 58). */
static void test_ttrpc_request_pack_omits_empty(void **state)
{
	uint8_t *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ttrpc_request_pack(3, "nri.pkg.api.v1alpha1.Plugin", "Synchronize", NULL,
					    0, 0, &msg, &len),
			 0);
	assert_int_equal(len, 10 + 2 + 27 + 2 + 11);
	free(msg);
}

static void test_ttrpc_request_pack_too_large(void **state)
{
	size_t big = TTRPC_MAX_DATA - 10; /* payload fits, envelope does not */
	uint8_t *payload = calloc(1, big), *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(payload);
	assert_int_equal(ttrpc_request_pack(1, "s", "m", payload, big, 0, &msg, &len), -EMSGSIZE);
	assert_null(msg);
	assert_int_equal(
		ttrpc_request_pack(1, "s", "m", payload, TTRPC_MAX_DATA + 1, 0, &msg, &len),
		-EMSGSIZE);
	assert_int_equal(ttrpc_request_pack(1, NULL, "m", payload, 1, 0, &msg, &len), -EINVAL);
	free(payload);
}

static void test_ttrpc_response_pack_success_empty(void **state)
{
	static const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 1, 2, 0};
	uint8_t *msg = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(ttrpc_response_pack(1, 0, NULL, NULL, 0, &msg, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(msg, want, 10);
	free(msg);
}

static void test_ttrpc_response_pack_error_body(void **state)
{
	static const uint8_t body[] = {0x0a, 0x08, 0x08, 0x02, 0x12, 0x04, 'b', 'o', 'o', 'm'};
	uint8_t *msg = NULL;
	size_t len = 0;
	Ttrpc__Response *rs = NULL;
	const char *text = NULL;

	(void)state;
	/* an error never carries the payload */
	assert_int_equal(ttrpc_response_pack(5, 2, "boom", body, 3, &msg, &len), 0);
	assert_int_equal(len, 20);
	assert_memory_equal(msg + 10, body, sizeof(body));
	assert_int_equal(ttrpc_response_unpack(body, sizeof(body), &rs), 0);
	assert_int_equal(ttrpc_response_code(rs, &text), 2);
	assert_string_equal(text, "boom");
	ttrpc__response__free_unpacked(rs, NULL);
	free(msg);
}

static void test_ttrpc_response_code_success_forms(void **state)
{
	static const uint8_t code0[] = {0x0a, 0x00, 0x12, 0x03, 0x10, 0x88, 0x05};
	static const uint8_t neg[] = {0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	Ttrpc__Response *rs = NULL;
	const char *text = NULL;

	(void)state;
	/* absent status (L = 0) */
	assert_int_equal(ttrpc_response_unpack(NULL, 0, &rs), 0);
	assert_int_equal(ttrpc_response_code(rs, &text), 0);
	assert_string_equal(text, "");
	ttrpc__response__free_unpacked(rs, NULL);
	/* present status with code 0, plus a ConfigureResponse payload */
	assert_int_equal(ttrpc_response_unpack(code0, sizeof(code0), &rs), 0);
	assert_int_equal(ttrpc_response_code(rs, NULL), 0);
	assert_int_equal(rs->payload.len, 3);
	ttrpc__response__free_unpacked(rs, NULL);
	/* a negative code from a broken peer is not mistaken for a local -errno */
	assert_int_equal(ttrpc_response_unpack(neg, sizeof(neg), &rs), 0);
	assert_int_equal(ttrpc_response_code(rs, NULL), 2);
	ttrpc__response__free_unpacked(rs, NULL);
	assert_int_equal(ttrpc_response_code(NULL, NULL), 0);
}

static void test_ttrpc_unpack_malformed(void **state)
{
	static const uint8_t bad[] = {0x0a, 0x10, 'x'};			/* length past the end */
	static const uint8_t unknown[] = {0x0a, 0x01, 's', 0x78, 0x01}; /* field 15 */
	Ttrpc__Request *rq = NULL;
	Ttrpc__Response *rs = NULL;

	(void)state;
	assert_int_equal(ttrpc_request_unpack(bad, sizeof(bad), &rq), -EBADMSG);
	assert_null(rq);
	assert_int_equal(ttrpc_response_unpack(bad, sizeof(bad), &rs), -EBADMSG);
	assert_null(rs);
	/* unknown fields are skipped */
	assert_int_equal(ttrpc_request_unpack(unknown, sizeof(unknown), &rq), 0);
	assert_string_equal(rq->service, "s");
	ttrpc__request__free_unpacked(rq, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttrpc_header_pack_unpack),
		cmocka_unit_test(test_ttrpc_stream_feed_reassembly_every_split),
		cmocka_unit_test(test_ttrpc_stream_feed_across_mux_frames),
		cmocka_unit_test(test_ttrpc_stream_feed_oversized_resync),
		cmocka_unit_test(test_ttrpc_stream_feed_max_size_accepted),
		cmocka_unit_test(test_ttrpc_stream_feed_callback_error_sticky),
		cmocka_unit_test(test_ttrpc_request_pack_worked_example),
		cmocka_unit_test(test_ttrpc_request_round_trip),
		cmocka_unit_test(test_ttrpc_request_pack_omits_empty),
		cmocka_unit_test(test_ttrpc_request_pack_too_large),
		cmocka_unit_test(test_ttrpc_response_pack_success_empty),
		cmocka_unit_test(test_ttrpc_response_pack_error_body),
		cmocka_unit_test(test_ttrpc_response_code_success_forms),
		cmocka_unit_test(test_ttrpc_unpack_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
