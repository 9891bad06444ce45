/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/nri/mux.c: incremental frame decoding and §2.6 encoding. */
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

/* What the decoder delivered, per conn (conn 1 and 2 only; others must never show up). */
struct sink {
	uint8_t data[3][256];
	size_t len[3];
	unsigned calls;
	int fail_with;
};

static int sink_cb(uint32_t conn, const uint8_t *data, size_t len, void *userdata)
{
	struct sink *s = userdata;

	assert_true(conn == 1 || conn == 2);
	assert_true(len > 0);
	assert_true(s->len[conn] + len <= sizeof(s->data[conn]));
	memcpy(s->data[conn] + s->len[conn], data, len);
	s->len[conn] += len;
	s->calls++;
	return s->fail_with;
}

static struct mux_decoder *decoder_new(struct sink *s)
{
	struct mux_decoder *d = NULL;

	assert_int_equal(mux_decoder_new(sink_cb, s, &d), 0);
	assert_int_equal(mux_decoder_open(d, 1), 0);
	assert_int_equal(mux_decoder_open(d, 2), 0);
	return d;
}

static size_t put_frame(uint8_t *out, uint32_t conn, const char *payload)
{
	size_t n = strlen(payload);

	mux_put_be32(out, conn);
	mux_put_be32(out + 4, (uint32_t)n);
	memcpy(out + 8, payload, n);
	return 8 + n;
}

/* conn 1 "hello", conn 2 "world!!", conn 1 "" (zero-length), conn 1 "again" */
static size_t build_stream(uint8_t *out)
{
	size_t n = 0;

	n += put_frame(out + n, 1, "hello");
	n += put_frame(out + n, 2, "world!!");
	n += put_frame(out + n, 1, "");
	n += put_frame(out + n, 1, "again");
	return n;
}

static void check_stream_sink(const struct sink *s)
{
	assert_int_equal(s->len[1], 10);
	assert_memory_equal(s->data[1], "helloagain", 10);
	assert_int_equal(s->len[2], 7);
	assert_memory_equal(s->data[2], "world!!", 7);
}

static void test_mux_decoder_feed_split_at_every_offset(void **state)
{
	uint8_t buf[128];
	size_t n = build_stream(buf);

	(void)state;
	for (size_t k = 0; k <= n; k++) {
		struct sink s = {0};
		struct mux_decoder *d = decoder_new(&s);
		struct mux_decoder_stats st;

		assert_int_equal(mux_decoder_feed(d, buf, k), 0);
		assert_int_equal(mux_decoder_feed(d, buf + k, n - k), 0);
		check_stream_sink(&s);
		mux_decoder_get_stats(d, &st);
		assert_int_equal(st.frames, 4);
		assert_int_equal(st.empty_frames, 1);
		assert_int_equal(st.bytes, n);
		assert_true(mux_decoder_idle(d));
		mux_decoder_free(d);
	}
}

static void test_mux_decoder_feed_byte_by_byte(void **state)
{
	uint8_t buf[128];
	size_t n = build_stream(buf);
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(mux_decoder_feed(d, buf + i, 1), 0);
		assert_int_equal(mux_decoder_idle(d), i == 12 || i == 27 || i == 35 || i == n - 1);
	}
	check_stream_sink(&s);
	mux_decoder_free(d);
}

static void test_mux_decoder_feed_coalesced(void **state)
{
	uint8_t buf[128];
	size_t n = build_stream(buf);
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);

	(void)state;
	assert_int_equal(mux_decoder_feed(d, buf, n), 0);
	check_stream_sink(&s);
	/* One callback per non-empty frame: payloads are passed through, not gathered. */
	assert_int_equal(s.calls, 3);
	mux_decoder_free(d);
}

static void test_mux_decoder_feed_oversized_rejected(void **state)
{
	uint8_t hdr[8];
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);

	(void)state;
	mux_put_be32(hdr, 1);
	mux_put_be32(hdr + 4, MUX_MAX_FRAME + 1);
	assert_int_equal(mux_decoder_feed(d, hdr, 8), -EPROTO);
	/* sticky: the stream cannot be resynchronised */
	assert_int_equal(mux_decoder_feed(d, hdr, 1), -EPROTO);
	mux_decoder_free(d);
}

static void test_mux_decoder_feed_max_frame_accepted(void **state)
{
	uint8_t hdr[8];
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);

	(void)state;
	mux_put_be32(hdr, 3); /* unknown conn: payload is skipped, nothing stored */
	mux_put_be32(hdr + 4, MUX_MAX_FRAME);
	assert_int_equal(mux_decoder_feed(d, hdr, 8), 0);
	assert_false(mux_decoder_idle(d));
	mux_decoder_free(d);
}

static void test_mux_decoder_feed_unknown_conn_dropped(void **state)
{
	uint8_t buf[128];
	size_t n = 0;
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);
	struct mux_decoder_stats st;

	(void)state;
	n += put_frame(buf + n, 7, "junk");
	n += put_frame(buf + n, 0, "zero");
	n += put_frame(buf + n, 2, "ok");
	assert_int_equal(mux_decoder_feed(d, buf, n), 0);
	assert_int_equal(s.len[1], 0);
	assert_int_equal(s.len[2], 2);
	mux_decoder_get_stats(d, &st);
	assert_int_equal(st.dropped_frames, 2);
	assert_int_equal(st.frames, 3);
	mux_decoder_free(d);
}

static void test_mux_decoder_feed_callback_error_sticky(void **state)
{
	uint8_t buf[64];
	size_t n = build_stream(buf);
	struct sink s = {.fail_with = -EIO};
	struct mux_decoder *d = decoder_new(&s);

	(void)state;
	assert_int_equal(mux_decoder_feed(d, buf, n), -EIO);
	assert_int_equal(s.calls, 1);
	assert_int_equal(mux_decoder_feed(d, buf, n), -EIO);
	assert_int_equal(s.calls, 1);
	mux_decoder_free(d);
}

static void test_mux_decoder_open_limits(void **state)
{
	struct sink s = {0};
	struct mux_decoder *d = NULL;

	(void)state;
	assert_int_equal(mux_decoder_new(NULL, &s, &d), -EINVAL);
	assert_null(d);
	assert_int_equal(mux_decoder_new(sink_cb, &s, &d), 0);
	assert_int_equal(mux_decoder_open(d, 0), -EINVAL);
	for (uint32_t c = 1; c <= MUX_MAX_OPEN_CONNS; c++)
		assert_int_equal(mux_decoder_open(d, c), 0);
	assert_int_equal(mux_decoder_open(d, 1), 0); /* already open */
	assert_int_equal(mux_decoder_open(d, 99), -ENOSPC);
	mux_decoder_free(d);
	mux_decoder_free(NULL);
}

/* doc §3.9: RegisterPlugin(policy, 10, v0.12.2), stream 1, timeout 5 s, on conn 2. */
static const uint8_t worked_example[93] = {
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x55,		    /* mux */
	0x00, 0x00, 0x00, 0x4b, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, /* ttrpc */
	0x0a, 0x1c, 'n',  'r',	'i',  '.',  'p',  'k',	'g',  '.',  'a',  'p',	'i',  '.',  'v',
	'1',  'a',  'l',  'p',	'h',  'a',  '1',  '.',	'R',  'u',  'n',  't',	'i',  'm',  'e',
	0x12, 0x0e, 'R',  'e',	'g',  'i',  's',  't',	'e',  'r',  'P',  'l',	'u',  'g',  'i',
	'n',  0x1a, 0x15, 0x0a, 0x06, 'p',  'o',  'l',	'i',  'c',  'y',  0x12, 0x02, '1',  '0',
	0x1a, 0x07, 'v',  '0',	'.',  '1',  '2',  '.',	'2',  0x20, 0x80, 0xe4, 0x97, 0xd0, 0x12,
};

static void test_mux_encode_worked_example(void **state)
{
	uint8_t out[93];

	(void)state;
	assert_int_equal(mux_encode_frames(85), 1);
	assert_int_equal(mux_encode_size(85), 93);
	assert_int_equal(mux_encode(2, worked_example + 8, 85, out, sizeof(out)), 93);
	assert_memory_equal(out, worked_example, 93);
}

static void check_frame(const uint8_t *p, uint32_t conn, uint32_t len, const uint8_t *data)
{
	assert_int_equal(mux_get_be32(p), conn);
	assert_int_equal(mux_get_be32(p + 4), len);
	assert_memory_equal(p + 8, data, len);
}

static void encode_and_check(size_t len)
{
	uint8_t *msg = malloc(len), *out = malloc(len + 16);
	size_t first = len <= 4096 ? len : 4096;

	assert_non_null(msg);
	assert_non_null(out);
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(mux_encode(1, msg, len, out, len + 16), (long)mux_encode_size(len));
	check_frame(out, 1, (uint32_t)first, msg);
	if (len > 4096) {
		assert_int_equal(mux_encode_frames(len), 2);
		check_frame(out + 8 + 4096, 1, (uint32_t)(len - 4096), msg + 4096);
	} else {
		assert_int_equal(mux_encode_frames(len), 1);
	}
	free(msg);
	free(out);
}

static void test_mux_encode_one_frame_up_to_4096(void **state)
{
	(void)state;
	encode_and_check(1);
	encode_and_check(10);
	encode_and_check(4095);
	encode_and_check(4096);
}

static void test_mux_encode_two_frames_above_4096(void **state)
{
	(void)state;
	encode_and_check(4097);
	encode_and_check(7011); /* TP #4 of the recorded vectors: 4096 + 2915 */
	encode_and_check(4u * 1024 * 1024 + 10);
}

static void test_mux_encode_invalid(void **state)
{
	uint8_t msg[16] = {0}, out[32];

	(void)state;
	assert_int_equal(mux_encode(1, msg, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(mux_encode(0, msg, 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(mux_encode(1, msg, 16, out, 23), -ENOBUFS);
	assert_int_equal(mux_encode(1, msg, 4096 + MUX_MAX_FRAME + 1, out, sizeof(out)), -EMSGSIZE);
	assert_int_equal(mux_encode_frames(0), 0);
}

static void test_mux_encode_decode_round_trip(void **state)
{
	static uint8_t msg[9000], out[9016];
	struct sink s = {0};
	struct mux_decoder *d = decoder_new(&s);
	uint8_t got[9000];
	size_t have = 0;
	long n;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ (i >> 8));
	n = mux_encode(2, msg, sizeof(msg), out, sizeof(out));
	assert_int_equal(n, 9016);
	/* feed in uneven chunks, draining the sink (it holds 256 bytes) as we go */
	for (long off = 0, step = 1; off < n; off += step, step = step * 3 % 251 + 1) {
		long k = off + step > n ? n - off : step;

		assert_int_equal(mux_decoder_feed(d, out + off, (size_t)k), 0);
		memcpy(got + have, s.data[2], s.len[2]);
		have += s.len[2];
		s.len[2] = 0;
	}
	assert_int_equal(have, sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	mux_decoder_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mux_decoder_feed_split_at_every_offset),
		cmocka_unit_test(test_mux_decoder_feed_byte_by_byte),
		cmocka_unit_test(test_mux_decoder_feed_coalesced),
		cmocka_unit_test(test_mux_decoder_feed_oversized_rejected),
		cmocka_unit_test(test_mux_decoder_feed_max_frame_accepted),
		cmocka_unit_test(test_mux_decoder_feed_unknown_conn_dropped),
		cmocka_unit_test(test_mux_decoder_feed_callback_error_sticky),
		cmocka_unit_test(test_mux_decoder_open_limits),
		cmocka_unit_test(test_mux_encode_worked_example),
		cmocka_unit_test(test_mux_encode_one_frame_up_to_4096),
		cmocka_unit_test(test_mux_encode_two_frames_above_4096),
		cmocka_unit_test(test_mux_encode_invalid),
		cmocka_unit_test(test_mux_encode_decode_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
