/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/nri/trunk.c over socketpair(AF_UNIX, SOCK_STREAM): two trunks
 * talking to each other, or one trunk and a "raw" peer that writes hand-made frames
 * to exercise the rules a well-behaved peer never breaks.
 */
#include <fcntl.h>
#include <pthread.h>
#include <time.h>

#include "tests/unit/nri/trunk_peer.h"

/* ---- tests -------------------------------------------------------------------------- */

static void test_nri_trunk_call_both_directions(void **state)
{
	int sv[2];
	struct server sp = {0}, sr = {0};
	struct result r1 = {0}, r2 = {0};
	struct nri_trunk *plugin, *runtime;
	struct nri_trunk_stats st;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	runtime = trunk(sv[1], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, &sr);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "RegisterPlugin",
					(const uint8_t *)"abc", 3, 0, done_cb, &r1),
			 1);
	assert_int_equal(
		nri_trunk_call(runtime, SVC_PLUGIN, "Configure", NULL, 0, 2000000000, done_cb, &r2),
		1);
	/* a NULL done is allowed; its reply comes before the next one's */
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "NoDone", NULL, 0, 0, NULL, NULL), 3);
	assert_int_equal(
		nri_trunk_call(plugin, SVC_RUNTIME, "UpdateContainers", NULL, 0, 0, done_cb, &r1),
		5);
	pump2(plugin, runtime, &r1.done, 2);
	pump2(plugin, runtime, &r2.done, 1);
	assert_int_equal(r1.code, 0);
	assert_int_equal(r2.code, 0);
	assert_int_equal(r2.len, 0);
	assert_null(r2.payload);
	assert_string_equal(sr.method, "UpdateContainers");
	assert_string_equal(sp.method, "Configure");
	assert_true(sp.saw_in_handler);
	assert_false(nri_trunk_in_handler(plugin));
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.msgs_out, 4);
	assert_int_equal(st.msgs_in, 4);
	assert_int_equal(st.frames_in, 4);
	assert_int_equal(st.protocol_errors, 0);
	free(r1.payload);
	nri_trunk_free(plugin);
	nri_trunk_free(runtime);
}

/* The Configure race (doc §6.1): conn 1 is served while our conn 2 call is pending. */
static void test_nri_trunk_serve_while_call_pending(void **state)
{
	int sv[2];
	struct server sp = {0}, sr = {.mode = SRV_DEFER};
	struct result reg = {0}, conf = {0};
	struct nri_trunk *plugin, *runtime;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	runtime = trunk(sv[1], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, &sr);
	assert_true(nri_trunk_call(plugin, SVC_RUNTIME, "RegisterPlugin", NULL, 0, 0, done_cb,
				   &reg) > 0);
	pump2(plugin, runtime, &sr.calls, 1); /* runtime holds the reply back */
	assert_true(nri_trunk_call(runtime, SVC_PLUGIN, "Configure", (const uint8_t *)"\x10\x01", 2,
				   0, done_cb, &conf) > 0);
	pump2(plugin, runtime, &conf.done, 1);
	assert_int_equal(conf.code, 0);
	assert_int_equal(conf.len, 2);
	assert_int_equal(reg.done, 0);
	assert_int_equal(nri_trunk_reply(runtime, sr.last_sid, NULL, 0), 0);
	assert_int_equal(nri_trunk_reply(runtime, sr.last_sid, NULL, 0), -ENOENT); /* once */
	pump2(plugin, runtime, &reg.done, 1);
	assert_int_equal(reg.code, 0);
	free(conf.payload);
	nri_trunk_free(plugin);
	nri_trunk_free(runtime);
}

static void test_nri_trunk_stream_id_rules(void **state)
{
	struct server sp = {0};
	struct nri_trunk *plugin;
	struct nri_trunk_stats st;
	struct raw r;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	raw_request(&r, plugin, 2, "Even"); /* even: server-initiated, refused */
	raw_request(&r, plugin, 5, "Good");
	raw_request(&r, plugin, 5, "Repeated");
	raw_request(&r, plugin, 3, "Lower");
	raw_request(&r, plugin, 7, "Good2");
	raw_wait(&r, plugin, 5);
	assert_int_equal(sp.calls, 2);
	assert_string_equal(sp.method, "Good2");
	assert_int_equal(r.hdr[0].stream_id, 2);
	assert_int_equal(raw_code(&r, 0), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(r.hdr[1].stream_id, 5);
	assert_int_equal(raw_code(&r, 1), TTRPC_OK);
	assert_int_equal(r.resp[1]->payload.len, 2); /* the echo */
	assert_int_equal(r.hdr[2].stream_id, 5);
	assert_int_equal(raw_code(&r, 2), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(r.hdr[3].stream_id, 3);
	assert_int_equal(raw_code(&r, 3), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(raw_code(&r, 4), TTRPC_OK);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(r.conn[i], 1);
		assert_int_equal(r.hdr[i].type, TTRPC_TYPE_RESPONSE);
	}
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.protocol_errors, 3);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_handler_error_answers_internal(void **state)
{
	struct server sp = {.mode = SRV_FAIL};
	struct nri_trunk *plugin;
	struct raw r;
	const char *msg = NULL;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	raw_request(&r, plugin, 1, "CreateContainer");
	raw_wait(&r, plugin, 1);
	assert_int_equal(ttrpc_response_code(r.resp[0], &msg), TTRPC_INTERNAL);
	assert_string_equal(msg, strerror(EIO));
	assert_int_equal(nri_trunk_reply(plugin, 1, NULL, 0), -ENOENT);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_call_timeout_late_reply_dropped(void **state)
{
	struct server sp = {0};
	struct result res = {0};
	struct nri_trunk *plugin;
	struct raw r;
	int sid;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	assert_int_equal(nri_trunk_timeout_ms(plugin), -1);
	sid = nri_trunk_call(plugin, SVC_RUNTIME, "UpdateContainers", NULL, 0, 20000000, done_cb,
			     &res);
	assert_int_equal(sid, 1);
	assert_true(nri_trunk_timeout_ms(plugin) >= 0);
	assert_int_equal(res.done, 0); /* never from inside nri_trunk_call() */
	raw_wait(&r, plugin, 1);       /* the request did go out, with its deadline */
	assert_int_equal(r.hdr[0].type, TTRPC_TYPE_REQUEST);
	for (int i = 0; i < PUMP_LIMIT && !res.done; i++)
		assert_int_equal(nri_trunk_run_once(plugin, 1), 0);
	assert_int_equal(res.done, 1);
	assert_int_equal(res.code, -ETIMEDOUT);
	assert_int_equal(nri_trunk_timeout_ms(plugin), -1);
	raw_response(&r, plugin, 1); /* late reply: dropped, done not run twice */
	for (int i = 0; i < 20; i++)
		assert_int_equal(nri_trunk_run_once(plugin, 1), 0);
	assert_int_equal(res.done, 1);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_eof_resets_pending(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct result a = {0}, b = {0};
	struct nri_trunk *plugin;
	int rc = 0;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "A", NULL, 0, 0, done_cb, &a), 1);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "B", NULL, 0, 0, done_cb, &b), 3);
	close(sv[1]);
	for (int i = 0; i < PUMP_LIMIT && rc == 0; i++)
		rc = nri_trunk_run_once(plugin, 1);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, -ECONNRESET);
	assert_int_equal(b.code, -ECONNRESET);
	/* dead: every further use reports it */
	assert_int_equal(nri_trunk_process(plugin, POLLIN), rc);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "C", NULL, 0, 0, done_cb, &a), rc);
	assert_int_equal(a.done, 1);
	nri_trunk_free(plugin);
}

static long long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * EOF on an idle trunk (nothing to write, nothing pending): the first turn reports
 * -ECONNRESET at once. Without EOF detection the trunk would poll on, or wait for a
 * write to fail; the stub only learnt of it from its own timeouts.
 */
static void test_nri_trunk_eof_idle_detected_at_once(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct nri_trunk *t;
	struct timespec t0;
	int rc;

	(void)state;
	pair(sv);
	t = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	close(sv[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = nri_trunk_run_once(t, 3000);
	assert_int_equal(rc, -ECONNRESET);
	assert_true(elapsed_ms(&t0) < 1500); /* not the poll timeout */
	assert_int_equal(nri_trunk_process(t, 0), -ECONNRESET);
	assert_int_equal(nri_trunk_run_once(t, 0), -ECONNRESET);
	nri_trunk_free(t);
}

/* A hang-up may come as POLLHUP alone: that is reason enough to read. */
static void test_nri_trunk_eof_on_pollhup_alone(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct nri_trunk *t;

	(void)state;
	pair(sv);
	t = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	close(sv[1]);
	assert_int_equal(nri_trunk_process(t, POLLHUP), -ECONNRESET);
	nri_trunk_free(t);
}

/* Calls already on the wire, the peer reads them and hangs up: EOF, not a write error,
 * and every pending call completes with -ECONNRESET. */
static void test_nri_trunk_eof_with_calls_in_flight(void **state)
{
	struct server sp = {0};
	struct result a = {0}, b = {0};
	struct nri_trunk *t;
	struct raw r;
	uint8_t buf[4096];
	ssize_t n;

	(void)state;
	t = plugin_with_raw(&r, &sp);
	assert_int_equal(nri_trunk_call(t, SVC_RUNTIME, "A", NULL, 0, 0, done_cb, &a), 1);
	assert_int_equal(nri_trunk_call(t, SVC_RUNTIME, "B", NULL, 0, 0, done_cb, &b), 3);
	assert_int_equal(nri_trunk_flush(t, 1000), 0);
	while (r.n < 2 && (n = recv(r.fd, buf, sizeof(buf), 0)) > 0)
		assert_int_equal(mux_decoder_feed(r.mux, buf, (size_t)n), 0);
	assert_int_equal(r.n, 2); /* both requests read: nothing left for an RST */
	close(r.fd);
	r.fd = -1;
	assert_int_equal(nri_trunk_run_once(t, 3000), -ECONNRESET);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, -ECONNRESET);
	assert_int_equal(b.done, 1);
	assert_int_equal(b.code, -ECONNRESET);
	nri_trunk_free(t);
	raw_done(&r);
}

/* A last request followed by EOF in the same read: served and answered, then EOF. */
static void test_nri_trunk_eof_after_last_request(void **state)
{
	struct server sp = {0};
	struct nri_trunk *t;
	struct raw r;
	uint8_t buf[4096];
	ssize_t n;

	(void)state;
	t = plugin_with_raw(&r, &sp);
	raw_request(&r, t, 1, "Configure");
	assert_int_equal(shutdown(r.fd, SHUT_WR), 0);
	assert_int_equal(nri_trunk_run_once(t, 3000), -ECONNRESET);
	assert_int_equal(sp.calls, 1);
	assert_string_equal(sp.method, "Configure");
	while (r.n < 1 && (n = recv(r.fd, buf, sizeof(buf), 0)) > 0)
		assert_int_equal(mux_decoder_feed(r.mux, buf, (size_t)n), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(raw_code(&r, 0), 0);
	nri_trunk_free(t);
	raw_done(&r);
}

static void test_nri_trunk_free_resets_pending(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct result a = {0};
	struct nri_trunk *plugin;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "A", NULL, 0, 0, done_cb, &a), 1);
	nri_trunk_free(plugin);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.code, -ECONNRESET);
	nri_trunk_free(NULL);
	close(sv[1]);
}

static void test_nri_trunk_large_payload_round_trip(void **state)
{
	size_t len = 3u * 1024 * 1024;
	uint8_t *payload = malloc(len);
	int sv[2];
	struct server sp = {0}, sr = {0};
	struct result res = {0};
	struct nri_trunk *plugin, *runtime;
	struct nri_trunk_stats st;

	(void)state;
	assert_non_null(payload);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 31 + (i >> 12));
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	runtime = trunk(sv[1], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, &sr);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "UpdateContainers", payload, len, 0,
					done_cb, &res),
			 1);
	pump2(plugin, runtime, &res.done, 1);
	assert_int_equal(res.code, 0);
	assert_int_equal(sr.payload_len, len);
	assert_int_equal(res.len, len);
	assert_memory_equal(res.payload, payload, len);
	nri_trunk_get_stats(runtime, &st);
	assert_int_equal(st.frames_in, 2); /* 4096 + rest */
	assert_int_equal(st.frames_out, 2);
	free(res.payload);
	free(payload);
	nri_trunk_free(plugin);
	nri_trunk_free(runtime);
}

static void test_nri_trunk_call_too_large_emsgsize(void **state)
{
	size_t len = TTRPC_MAX_MESSAGE;
	uint8_t *payload = calloc(1, len);
	int sv[2];
	struct server sp = {0};
	struct result res = {0};
	struct nri_trunk *plugin;
	struct nri_trunk_stats st;

	(void)state;
	assert_non_null(payload);
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "UpdateContainers", payload, len, 0,
					done_cb, &res),
			 1);
	assert_int_equal(res.done, 0);
	assert_int_equal(nri_trunk_timeout_ms(plugin), 0);
	assert_int_equal(nri_trunk_run_once(plugin, 0), 0);
	assert_int_equal(res.done, 1);
	assert_int_equal(res.code, -EMSGSIZE);
	assert_int_equal(nri_trunk_call_sync(plugin, SVC_RUNTIME, "UpdateContainers", payload,
					     len + 1, 0, NULL, NULL, NULL),
			 -EMSGSIZE);
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.msgs_out, 0);
	assert_int_equal(st.bytes_out, 0);
	free(payload);
	nri_trunk_free(plugin);
	close(sv[1]);
}

static void test_nri_trunk_reply_too_large_resource_exhausted(void **state)
{
	struct server sp = {.mode = SRV_HUGE};
	struct nri_trunk *plugin;
	struct raw r;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	raw_request(&r, plugin, 1, "Synchronize");
	raw_wait(&r, plugin, 1);
	assert_int_equal(sp.reply_result, -EMSGSIZE);
	assert_int_equal(raw_code(&r, 0), TTRPC_RESOURCE_EXHAUSTED);
	assert_int_equal(nri_trunk_reply(plugin, 1, NULL, 0), -ENOENT); /* answered once */
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_call_sync_in_handler_edeadlk(void **state)
{
	struct server sp = {.mode = SRV_SYNC_CALL};
	struct nri_trunk *plugin;
	struct raw r;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	raw_request(&r, plugin, 1, "CreateContainer");
	raw_wait(&r, plugin, 1);
	assert_int_equal(sp.sync_result, -EDEADLK);
	assert_int_equal(raw_code(&r, 0), TTRPC_OK); /* the handler still answered */
	nri_trunk_free(plugin);
	raw_done(&r);
}

/* The runtime side runs in a thread; it calls Configure before answering RegisterPlugin. */
struct runtime_thread {
	struct nri_trunk *t;
	struct server srv;
	bool configure; /* call Configure and wait for it before answering */
	struct result conf;
};

static void *runtime_main(void *arg)
{
	struct runtime_thread *rt = arg;

	for (int i = 0; i < PUMP_LIMIT && rt->srv.calls == 0; i++)
		if (nri_trunk_run_once(rt->t, 1) < 0)
			return NULL;
	if (!rt->configure) {
		nri_trunk_flush(rt->t, 5000);
		return NULL;
	}
	if (nri_trunk_call(rt->t, SVC_PLUGIN, "Configure", NULL, 0, 0, done_cb, &rt->conf) < 0)
		return NULL;
	for (int i = 0; i < PUMP_LIMIT && rt->conf.done == 0; i++)
		if (nri_trunk_run_once(rt->t, 1) < 0)
			return NULL;
	nri_trunk_reply(rt->t, rt->srv.last_sid, (const uint8_t *)"ok", 2);
	nri_trunk_flush(rt->t, 5000);
	return NULL;
}

static void test_nri_trunk_call_sync_serves_meanwhile(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct runtime_thread rt = {.srv = {.mode = SRV_DEFER}, .configure = true};
	struct nri_trunk *plugin;
	pthread_t th;
	uint8_t *out = NULL;
	size_t out_len = 0;
	char *msg = NULL;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	rt.t = trunk(sv[1], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, &rt.srv);
	assert_int_equal(pthread_create(&th, NULL, runtime_main, &rt), 0);
	assert_int_equal(nri_trunk_call_sync(plugin, SVC_RUNTIME, "RegisterPlugin", NULL, 0,
					     5000000000LL, &out, &out_len, &msg),
			 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sp.calls, 1); /* Configure was served while we waited */
	assert_string_equal(sp.method, "Configure");
	assert_int_equal(rt.conf.done, 1);
	assert_int_equal(out_len, 2);
	assert_memory_equal(out, "ok", 2);
	assert_null(msg);
	free(out);
	nri_trunk_free(plugin);
	nri_trunk_free(rt.t);
}

/* The runtime answers INTERNAL: call_sync hands over the message, no payload. */
static void test_nri_trunk_call_sync_error_message(void **state)
{
	int sv[2];
	struct server sp = {0};
	struct runtime_thread rt = {.srv = {.mode = SRV_FAIL}};
	struct nri_trunk *plugin;
	uint8_t *out = (uint8_t *)"untouched?";
	size_t out_len = 99;
	char *msg = NULL;
	pthread_t th;

	(void)state;
	pair(sv);
	plugin = trunk(sv[0], NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, &sp);
	rt.t = trunk(sv[1], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, &rt.srv);
	assert_int_equal(pthread_create(&th, NULL, runtime_main, &rt), 0);
	assert_int_equal(
		nri_trunk_call_sync(plugin, SVC_RUNTIME, "X", NULL, 0, 0, &out, &out_len, &msg),
		TTRPC_INTERNAL);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(out);
	assert_int_equal(out_len, 0);
	assert_string_equal(msg, strerror(EIO));
	free(msg);
	nri_trunk_free(plugin);
	nri_trunk_free(rt.t);
}

static void test_nri_trunk_oversized_request_resource_exhausted(void **state)
{
	size_t big = TTRPC_MAX_MESSAGE + 1, total = TTRPC_HEADER_SIZE + big;
	uint8_t *msg = calloc(1, total);
	struct ttrpc_header h = {.length = (uint32_t)big, .stream_id = 1, .type = 1};
	struct server sp = {0};
	struct nri_trunk *plugin;
	struct raw r;

	(void)state;
	assert_non_null(msg);
	plugin = plugin_with_raw(&r, &sp);
	ttrpc_header_pack(&h, msg);
	/* a hostile peer: the rest after 4096 (> 4 MiB) is too big for one frame: use two */
	raw_frame(&r, plugin, 1, msg, 4096);
	raw_frame(&r, plugin, 1, msg + 4096, total - 4096 - 100);
	raw_frame(&r, plugin, 1, msg + total - 100, 100);
	raw_request(&r, plugin, 3, "After"); /* the stream is back in sync */
	raw_wait(&r, plugin, 2);
	assert_int_equal(r.hdr[0].stream_id, 1);
	assert_int_equal(raw_code(&r, 0), TTRPC_RESOURCE_EXHAUSTED);
	assert_int_equal(r.hdr[1].stream_id, 3);
	assert_int_equal(raw_code(&r, 1), TTRPC_OK);
	assert_int_equal(sp.calls, 1);
	free(msg);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_unknown_conn_dropped(void **state)
{
	struct server sp = {0};
	struct nri_trunk *plugin;
	struct nri_trunk_stats st;
	struct raw r;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	raw_frame(&r, plugin, 9, (const uint8_t *)"junk", 4);
	raw_request(&r, plugin, 1, "Configure");
	raw_wait(&r, plugin, 1);
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.dropped_frames, 1);
	assert_int_equal(st.frames_in, 2);
	assert_int_equal(sp.calls, 1);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_oversized_frame_is_fatal(void **state)
{
	struct server sp = {0};
	struct result res = {0};
	struct nri_trunk *plugin;
	struct raw r;
	uint8_t hdr[8];
	int rc = 0;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "A", NULL, 0, 0, done_cb, &res), 1);
	mux_put_be32(hdr, 1);
	mux_put_be32(hdr + 4, MUX_MAX_PAYLOAD + 1);
	assert_int_equal(send(r.fd, hdr, 8, MSG_NOSIGNAL), 8);
	for (int i = 0; i < PUMP_LIMIT && rc == 0; i++)
		rc = nri_trunk_run_once(plugin, 1);
	assert_int_equal(rc, -EPROTO);
	assert_int_equal(res.code, -ECONNRESET);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_new_invalid(void **state)
{
	int sv[2];
	struct nri_trunk *t = NULL;

	(void)state;
	pair(sv);
	assert_int_equal(nri_trunk_new(-1, 1, 2, serve_cb, NULL, &t), -EBADF);
	assert_int_equal(nri_trunk_new(sv[0], 1, 1, serve_cb, NULL, &t), -EINVAL);
	assert_null(t);
	/* the fd was closed by the failed constructor (it owns it) */
	assert_true(fcntl(sv[0], F_GETFD) < 0 && errno == EBADF);
	close(sv[1]);
}

/* Reads everything the trunk sends until three messages arrived (runs in a thread). */
static void *drain_main(void *arg)
{
	struct raw *r = arg;
	static uint8_t buf[65536];

	while (r->n < 3) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), 0);

		if (n <= 0 || mux_decoder_feed(r->mux, buf, (size_t)n) < 0)
			break;
	}
	return NULL;
}

/* More output than the socket holds: queued, partly sent, compacted, flushed later. */
static void test_nri_trunk_flush_waits_for_peer(void **state)
{
	size_t len = 1u << 20;
	uint8_t *payload = calloc(1, len);
	struct server sp = {0};
	struct result res = {0};
	struct nri_trunk *plugin;
	struct nri_trunk_stats st;
	struct raw r;
	pthread_t th;

	(void)state;
	assert_non_null(payload);
	plugin = plugin_with_raw(&r, &sp);
	for (int i = 0; i < 3; i++)
		assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "UpdateContainers", payload,
						len, 0, done_cb, &res),
				 2 * i + 1);
	assert_true(nri_trunk_events(plugin) & POLLOUT); /* 3 MiB > the socket buffer */
	assert_int_equal(nri_trunk_flush(plugin, 0), -ETIMEDOUT);
	assert_int_equal(pthread_create(&th, NULL, drain_main, &r), 0);
	assert_int_equal(nri_trunk_flush(plugin, 10000), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_false(nri_trunk_events(plugin) & POLLOUT);
	assert_int_equal(r.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(r.conn[i], 2);
		assert_int_equal(r.hdr[i].stream_id, 2 * i + 1);
		assert_true(r.hdr[i].length > len);
	}
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.frames_out, 6);
	assert_int_equal(st.bytes_out, 3 * (TTRPC_HEADER_SIZE + r.hdr[0].length + 16));
	assert_int_equal(res.done, 0);
	nri_trunk_free(plugin);
	assert_int_equal(res.done, 3);
	free(payload);
	raw_done(&r);
}

/* Responses and requests a correct peer never sends. */
static void test_nri_trunk_bad_peer_messages(void **state)
{
	static const uint8_t bad_pb[] = {0x0a, 0x10, 'x'}; /* length past the end */
	static const uint8_t status0[] = {0x0a, 0x00, 0x12, 0x02, 'o', 'k'};
	size_t big = TTRPC_MAX_MESSAGE + 1;
	uint8_t *zeros = calloc(1, big);
	struct server sp = {0};
	struct result a = {0}, b = {0}, c = {0};
	struct nri_trunk *plugin;
	struct nri_trunk_stats st;
	struct raw r;

	(void)state;
	assert_non_null(zeros);
	plugin = plugin_with_raw(&r, &sp);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "A", NULL, 0, 0, done_cb, &a), 1);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "B", NULL, 0, 0, done_cb, &b), 3);
	assert_int_equal(nri_trunk_call(plugin, SVC_RUNTIME, "C", NULL, 0, 0, done_cb, &c), 5);
	raw_message(&r, plugin, 2, 1, TTRPC_TYPE_RESPONSE, zeros, big);
	raw_message(&r, plugin, 2, 3, TTRPC_TYPE_RESPONSE, bad_pb, sizeof(bad_pb));
	raw_message(&r, plugin, 2, 7, TTRPC_TYPE_REQUEST, NULL, 0);  /* wrong direction */
	raw_message(&r, plugin, 1, 9, TTRPC_TYPE_RESPONSE, NULL, 0); /* wrong direction */
	raw_message(&r, plugin, 1, 1, TTRPC_TYPE_REQUEST, bad_pb, sizeof(bad_pb));
	raw_message(&r, plugin, 2, 5, TTRPC_TYPE_RESPONSE, status0, sizeof(status0));
	raw_wait(&r, plugin, 4); /* our requests A, B, C, then the answer to the bad one */
	for (int i = 0; i < PUMP_LIMIT && !c.done; i++)
		assert_int_equal(nri_trunk_run_once(plugin, 1), 0);
	assert_int_equal(a.code, TTRPC_RESOURCE_EXHAUSTED);
	assert_int_equal(b.code, -EBADMSG);
	assert_int_equal(c.code, 0); /* a status with code 0 is success */
	assert_int_equal(c.len, 2);
	assert_int_equal(r.conn[3], 1);
	assert_int_equal(raw_code(&r, 3), TTRPC_INVALID_ARGUMENT);
	assert_int_equal(sp.calls, 0);
	nri_trunk_get_stats(plugin, &st);
	assert_int_equal(st.protocol_errors, 4);
	free(c.payload);
	free(zeros);
	nri_trunk_free(plugin);
	raw_done(&r);
}

static void test_nri_trunk_no_serve_callback_unimplemented(void **state)
{
	int sv[2];
	struct nri_trunk *t = NULL;
	struct raw r;

	(void)state;
	pair(sv);
	raw_init(&r, sv[1]);
	assert_int_equal(nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, NULL, NULL, &t),
			 0);
	raw_message(&r, t, 2, 1, TTRPC_TYPE_REQUEST, NULL, 0);
	raw_wait(&r, t, 1);
	assert_int_equal(raw_code(&r, 0), TTRPC_UNIMPLEMENTED);
	nri_trunk_free(t);
	raw_done(&r);
}

static void test_nri_trunk_api_invalid_arguments(void **state)
{
	struct server sp = {0};
	struct nri_trunk_stats st = {.msgs_in = 42};
	struct nri_trunk *plugin;
	struct raw r;

	(void)state;
	plugin = plugin_with_raw(&r, &sp);
	assert_int_equal(nri_trunk_reply(NULL, 1, NULL, 0), -EINVAL);
	assert_int_equal(nri_trunk_reply(plugin, 1, NULL, 3), -EINVAL);
	assert_int_equal(nri_trunk_reply(plugin, 1, NULL, 0), -ENOENT);
	assert_int_equal(nri_trunk_reply_error(plugin, 1, 0, "ok?"), -EINVAL);
	assert_int_equal(nri_trunk_call(plugin, NULL, "m", NULL, 0, 0, done_cb, NULL), -EINVAL);
	assert_int_equal(nri_trunk_call(plugin, "s", "m", NULL, 0, -1, done_cb, NULL), -EINVAL);
	assert_int_equal(nri_trunk_call_sync(NULL, "s", "m", NULL, 0, 0, NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(nri_trunk_process(NULL, 0), -EINVAL);
	assert_int_equal(nri_trunk_run_once(NULL, 0), -EINVAL);
	assert_int_equal(nri_trunk_flush(NULL, 0), -EINVAL);
	assert_int_equal(nri_trunk_flush(plugin, 0), 0); /* nothing queued */
	assert_int_equal(nri_trunk_fd(NULL), -EINVAL);
	assert_int_equal(nri_trunk_events(NULL), 0);
	assert_int_equal(nri_trunk_events(plugin), POLLIN);
	assert_int_equal(nri_trunk_timeout_ms(NULL), -1);
	assert_false(nri_trunk_in_handler(NULL));
	nri_trunk_get_stats(NULL, &st);
	assert_int_equal(st.msgs_in, 42);
	nri_trunk_free(plugin);
	raw_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nri_trunk_call_both_directions),
		cmocka_unit_test(test_nri_trunk_serve_while_call_pending),
		cmocka_unit_test(test_nri_trunk_stream_id_rules),
		cmocka_unit_test(test_nri_trunk_handler_error_answers_internal),
		cmocka_unit_test(test_nri_trunk_call_timeout_late_reply_dropped),
		cmocka_unit_test(test_nri_trunk_eof_resets_pending),
		cmocka_unit_test(test_nri_trunk_eof_idle_detected_at_once),
		cmocka_unit_test(test_nri_trunk_eof_on_pollhup_alone),
		cmocka_unit_test(test_nri_trunk_eof_with_calls_in_flight),
		cmocka_unit_test(test_nri_trunk_eof_after_last_request),
		cmocka_unit_test(test_nri_trunk_free_resets_pending),
		cmocka_unit_test(test_nri_trunk_large_payload_round_trip),
		cmocka_unit_test(test_nri_trunk_call_too_large_emsgsize),
		cmocka_unit_test(test_nri_trunk_reply_too_large_resource_exhausted),
		cmocka_unit_test(test_nri_trunk_call_sync_in_handler_edeadlk),
		cmocka_unit_test(test_nri_trunk_call_sync_serves_meanwhile),
		cmocka_unit_test(test_nri_trunk_call_sync_error_message),
		cmocka_unit_test(test_nri_trunk_oversized_request_resource_exhausted),
		cmocka_unit_test(test_nri_trunk_unknown_conn_dropped),
		cmocka_unit_test(test_nri_trunk_oversized_frame_is_fatal),
		cmocka_unit_test(test_nri_trunk_new_invalid),
		cmocka_unit_test(test_nri_trunk_flush_waits_for_peer),
		cmocka_unit_test(test_nri_trunk_bad_peer_messages),
		cmocka_unit_test(test_nri_trunk_no_serve_callback_unimplemented),
		cmocka_unit_test(test_nri_trunk_api_invalid_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
