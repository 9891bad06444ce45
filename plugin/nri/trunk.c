/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One NRI trunk (see trunk.h): socket -> mux decoder -> per-conn ttRPC reassembly ->
 * server dispatch (serve_conn) or client completion (call_conn); replies and calls
 * -> ttRPC pack -> mux encode (§2.6 pattern 1) -> output queue -> send().
 *
 * Design choices:
 * - Single-threaded, non-blocking. Output is queued and sent opportunistically right
 *   away and then whenever the socket is writable, so a peer that is itself busy
 *   writing can never deadlock us; conn 1 requests are dispatched while a conn 2 call
 *   is pending, because both conns are decoded from the same read loop (doc §3.8).
 * - Server rules mirror the Go ttRPC server: a new stream id must be odd and strictly
 *   greater than the previous one, else INVALID_ARGUMENT and the handler is not run;
 *   oversized messages are answered RESOURCE_EXHAUSTED and skipped, not fatal.
 * - Client: ids 1, 3, 5, ...; timeouts use CLOCK_MONOTONIC; an expired call completes
 *   with -ETIMEDOUT and its late reply, having no pending call any more, is dropped
 *   (as the Go client does). A request too large to send completes with -EMSGSIZE
 *   from the next nri_trunk_process(), never from inside nri_trunk_call(), so done
 *   always runs from the event loop.
 * - Callbacks run inside nri_trunk_process(); re-entering the read path from them
 *   (nri_trunk_call_sync / run_once / process) would corrupt the decoders, so it is
 *   refused with -EDEADLK. Callbacks must not free the trunk.
 * - send() uses MSG_NOSIGNAL: a closed peer is an error return, never SIGPIPE.
 */
#include "plugin/nri/trunk.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plugin/nri/mux.h"
#include "plugin/nri/ttrpc.h"

/* The layers below define the same limits without including trunk.h. */
_Static_assert(TTRPC_MAX_DATA == TTRPC_MAX_MESSAGE, "ttRPC limit mismatch");
_Static_assert(MUX_MAX_FRAME == MUX_MAX_PAYLOAD, "mux limit mismatch");

#define TRUNK_READ_SIZE	   (64u * 1024)
#define TRUNK_READS_PER_IO 64	      /* bound one process() call's reading (4 MiB) */
#define TRUNK_KEEP_OUTQ	   (1u << 20) /* release larger output buffers once drained */

struct nri_call {
	struct nri_call *next;
	uint32_t sid;
	uint64_t deadline_ns; /* 0: none */
	int preset;	      /* != 0: complete with this code at the next process() */
	nri_call_done_fn done;
	void *userdata;
};

struct nri_outq {
	uint8_t *buf;
	size_t off, len, cap;
};

struct nri_trunk {
	int fd;
	uint32_t serve_conn, call_conn;
	nri_serve_fn serve;
	void *userdata;
	struct mux_decoder *mux;
	struct ttrpc_stream *rx_serve, *rx_call;
	uint8_t *rbuf;
	struct nri_outq out;
	uint32_t last_sid; /* last accepted request id on serve_conn */
	uint32_t next_sid; /* next client id on call_conn */
	struct nri_call *calls;
	uint32_t *open; /* request ids not answered yet */
	size_t n_open, cap_open;
	unsigned in_handler, in_process;
	uint64_t rx_ns;
	int io_err; /* send error seen outside process(), reported by it */
	int err;    /* the trunk is dead */
	struct nri_trunk_stats stats;
};

static uint64_t trunk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- output queue ------------------------------------------------------------------ */

static uint8_t *trunk_outq_reserve(struct nri_outq *q, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (q->off > 0) {
		memmove(q->buf, q->buf + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (q->cap - q->len >= n)
		return q->buf + q->len;
	cap = q->cap * 2 > q->len + n ? q->cap * 2 : q->len + n;
	p = realloc(q->buf, cap);
	if (!p)
		return NULL;
	q->buf = p;
	q->cap = cap;
	return q->buf + q->len;
}

static void trunk_outq_drained(struct nri_outq *q)
{
	q->off = q->len = 0;
	if (q->cap > TRUNK_KEEP_OUTQ) {
		free(q->buf);
		q->buf = NULL;
		q->cap = 0;
	}
}

/* Send what the socket takes now. 0 (also when it would block) or -errno. */
static int trunk_send_queued(struct nri_trunk *t)
{
	struct nri_outq *q = &t->out;
	ssize_t n;

	while (q->off < q->len) {
		n = send(t->fd, q->buf + q->off, q->len - q->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		q->off += (size_t)n;
		t->stats.bytes_out += (uint64_t)n;
	}
	trunk_outq_drained(q);
	return 0;
}

static void trunk_try_send(struct nri_trunk *t)
{
	int r = trunk_send_queued(t);

	if (r < 0 && !t->io_err)
		t->io_err = r;
}

/* Queue one whole ttRPC message as mux frames (doc §2.6 pattern 1). */
static int trunk_queue_message(struct nri_trunk *t, uint32_t conn, const uint8_t *msg, size_t len)
{
	size_t need = mux_encode_size(len);
	uint8_t *p = trunk_outq_reserve(&t->out, need);
	long n;

	if (!p)
		return -ENOMEM;
	n = mux_encode(conn, msg, len, p, need);
	if (n < 0)
		return (int)n;
	t->out.len += (size_t)n;
	t->stats.frames_out += mux_encode_frames(len);
	t->stats.msgs_out++;
	trunk_try_send(t);
	return 0;
}

/* ---- server side -------------------------------------------------------------------- */

static int trunk_send_response(struct nri_trunk *t, uint32_t sid, int code, const char *msg,
			       const uint8_t *payload, size_t len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int r;

	r = ttrpc_response_pack(sid, code, msg, payload, len, &buf, &n);
	if (r < 0)
		return r;
	r = trunk_queue_message(t, t->serve_conn, buf, n);
	free(buf);
	return r;
}

static int trunk_open_add(struct nri_trunk *t, uint32_t sid)
{
	uint32_t *p;
	size_t cap;

	if (t->n_open == t->cap_open) {
		cap = t->cap_open ? t->cap_open * 2 : 8;
		p = realloc(t->open, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		t->open = p;
		t->cap_open = cap;
	}
	t->open[t->n_open++] = sid;
	return 0;
}

static ssize_t trunk_open_find(const struct nri_trunk *t, uint32_t sid)
{
	for (size_t i = 0; i < t->n_open; i++)
		if (t->open[i] == sid)
			return (ssize_t)i;
	return -1;
}

static void trunk_open_del(struct nri_trunk *t, size_t i)
{
	t->open[i] = t->open[--t->n_open];
}

/* Answer an open stream; the stream is closed only once the answer is queued. */
static int trunk_answer(struct nri_trunk *t, uint32_t sid, int code, const char *msg,
			const uint8_t *payload, size_t len)
{
	bool too_big;
	ssize_t i;
	int r;

	if (!t || (!payload && len))
		return -EINVAL;
	if (t->err)
		return t->err;
	i = trunk_open_find(t, sid);
	if (i < 0)
		return -ENOENT;
	r = trunk_send_response(t, sid, code, msg, payload, len);
	too_big = r == -EMSGSIZE;
	if (too_big) /* what Go's server does when the result is too large */
		r = trunk_send_response(t, sid, TTRPC_RESOURCE_EXHAUSTED,
					"response exceeds the 4 MiB ttRPC limit", NULL, 0);
	if (r < 0)
		return r;
	trunk_open_del(t, (size_t)i);
	return too_big ? -EMSGSIZE : 0;
}

int nri_trunk_reply(struct nri_trunk *t, uint32_t stream_id, const uint8_t *payload, size_t len)
{
	return trunk_answer(t, stream_id, 0, NULL, payload, len);
}

int nri_trunk_reply_error(struct nri_trunk *t, uint32_t stream_id, int code, const char *msg)
{
	if (code == 0)
		return -EINVAL;
	return trunk_answer(t, stream_id, code, msg, NULL, 0);
}

/* Run the handler for a validated request and enforce the answer-once rule. */
static int trunk_dispatch(struct nri_trunk *t, uint32_t sid, const Ttrpc__Request *rq)
{
	struct nri_request req = {
		.stream_id = sid,
		.service = rq->service ? rq->service : "",
		.method = rq->method ? rq->method : "",
		.payload = rq->payload.data,
		.payload_len = rq->payload.len,
		.timeout_nano = rq->timeout_nano,
		.received_ns = t->rx_ns,
	};
	int r;

	r = trunk_open_add(t, sid);
	if (r < 0)
		return r;
	if (!t->serve)
		return nri_trunk_reply_error(t, sid, TTRPC_UNIMPLEMENTED, "no service");
	t->in_handler++;
	r = t->serve(t, &req, t->userdata);
	t->in_handler--;
	if (r < 0 && !t->err && trunk_open_find(t, sid) >= 0)
		return nri_trunk_reply_error(t, sid, TTRPC_INTERNAL, strerror(-r));
	return 0;
}

static int trunk_on_request(const struct ttrpc_message *m, struct nri_trunk *t)
{
	uint32_t sid = m->hdr.stream_id;
	Ttrpc__Request *rq = NULL;
	int r;

	if (m->oversized) {
		t->stats.protocol_errors++;
		return trunk_send_response(t, sid, TTRPC_RESOURCE_EXHAUSTED,
					   "message exceeds the 4 MiB ttRPC limit", NULL, 0);
	}
	if (sid % 2 == 0 || sid <= t->last_sid) {
		t->stats.protocol_errors++;
		return trunk_send_response(t, sid, TTRPC_INVALID_ARGUMENT,
					   "stream id must be odd and increasing", NULL, 0);
	}
	t->last_sid = sid;
	if (ttrpc_request_unpack(m->data, m->len, &rq) < 0) {
		t->stats.protocol_errors++;
		return trunk_send_response(t, sid, TTRPC_INVALID_ARGUMENT,
					   "malformed ttrpc.Request", NULL, 0);
	}
	r = trunk_dispatch(t, sid, rq);
	ttrpc__request__free_unpacked(rq, NULL);
	return r;
}

static int trunk_on_serve_msg(const struct ttrpc_message *m, void *userdata)
{
	struct nri_trunk *t = userdata;

	t->stats.msgs_in++;
	if (m->hdr.type != TTRPC_TYPE_REQUEST) {
		t->stats.protocol_errors++; /* NRI is unary: nothing else belongs here */
		return 0;
	}
	return trunk_on_request(m, t);
}

/* ---- client side -------------------------------------------------------------------- */

static struct nri_call *trunk_call_take(struct nri_trunk *t, uint32_t sid)
{
	for (struct nri_call **pp = &t->calls; *pp; pp = &(*pp)->next) {
		struct nri_call *c = *pp;

		if (c->sid == sid) {
			*pp = c->next;
			return c;
		}
	}
	return NULL;
}

static void trunk_call_complete(struct nri_trunk *t, struct nri_call *c, int code, const char *msg,
				const uint8_t *payload, size_t len)
{
	if (c->done)
		c->done(t, code, msg ? msg : "", payload, len, c->userdata);
	free(c);
}

static void trunk_on_response(struct nri_trunk *t, struct nri_call *c,
			      const struct ttrpc_message *m)
{
	Ttrpc__Response *rs = NULL;
	const char *msg;
	int code;

	if (m->oversized) {
		/* Go's client fails the call with ResourceExhausted. */
		trunk_call_complete(t, c, TTRPC_RESOURCE_EXHAUSTED,
				    "response exceeds the 4 MiB ttRPC limit", NULL, 0);
		return;
	}
	if (ttrpc_response_unpack(m->data, m->len, &rs) < 0) {
		t->stats.protocol_errors++;
		trunk_call_complete(t, c, -EBADMSG, "malformed ttrpc.Response", NULL, 0);
		return;
	}
	code = ttrpc_response_code(rs, &msg);
	if (code == 0)
		trunk_call_complete(t, c, 0, "", rs->payload.data, rs->payload.len);
	else
		trunk_call_complete(t, c, code, msg, NULL, 0);
	ttrpc__response__free_unpacked(rs, NULL);
}

static int trunk_on_call_msg(const struct ttrpc_message *m, void *userdata)
{
	struct nri_trunk *t = userdata;
	struct nri_call *c;

	t->stats.msgs_in++;
	if (m->hdr.type != TTRPC_TYPE_RESPONSE) {
		t->stats.protocol_errors++;
		return 0;
	}
	c = trunk_call_take(t, m->hdr.stream_id);
	if (c) /* else: late reply after a timeout, dropped like Go does */
		trunk_on_response(t, c, m);
	return 0;
}

static void trunk_call_append(struct nri_trunk *t, struct nri_call *c)
{
	struct nri_call **pp = &t->calls;

	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
}

int nri_trunk_call(struct nri_trunk *t, const char *service, const char *method,
		   const uint8_t *payload, size_t len, int64_t timeout_ns, nri_call_done_fn done,
		   void *userdata)
{
	uint8_t *buf = NULL;
	struct nri_call *c;
	size_t n = 0;
	int r;

	if (!t || !service || !method || (!payload && len) || timeout_ns < 0)
		return -EINVAL;
	if (t->err)
		return t->err;
	if (t->next_sid > INT32_MAX)
		return -EOVERFLOW; /* the return value must stay a positive int */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct nri_call){.sid = t->next_sid, .done = done, .userdata = userdata};
	r = ttrpc_request_pack(c->sid, service, method, payload, len, timeout_ns, &buf, &n);
	if (r == 0)
		r = trunk_queue_message(t, t->call_conn, buf, n);
	free(buf);
	if (r == -EMSGSIZE)
		c->preset = r;
	else if (r < 0) {
		free(c);
		return r;
	}
	if (timeout_ns > 0)
		c->deadline_ns = trunk_now_ns() + (uint64_t)timeout_ns;
	trunk_call_append(t, c);
	t->next_sid += 2;
	return (int)c->sid;
}

static struct nri_call *trunk_take_expired(struct nri_trunk *t, uint64_t now)
{
	for (struct nri_call *c = t->calls; c; c = c->next)
		if (c->preset || (c->deadline_ns && c->deadline_ns <= now))
			return trunk_call_take(t, c->sid);
	return NULL;
}

/* Complete preset and timed-out calls; done may start new calls, so rescan each time. */
static void trunk_expire(struct nri_trunk *t)
{
	uint64_t now = trunk_now_ns();
	struct nri_call *c;

	while ((c = trunk_take_expired(t, now))) {
		if (c->preset)
			trunk_call_complete(t, c, c->preset,
					    "request exceeds the 4 MiB ttRPC limit", NULL, 0);
		else
			trunk_call_complete(t, c, -ETIMEDOUT, "timed out", NULL, 0);
	}
}

int nri_trunk_timeout_ms(const struct nri_trunk *t)
{
	uint64_t now, min = UINT64_MAX;

	if (!t)
		return -1;
	now = trunk_now_ns();
	for (const struct nri_call *c = t->calls; c; c = c->next) {
		if (c->preset)
			return 0;
		if (c->deadline_ns && c->deadline_ns < min)
			min = c->deadline_ns;
	}
	if (min == UINT64_MAX)
		return -1;
	if (min <= now)
		return 0;
	min = (min - now + 999999) / 1000000; /* round up: never wake before expiry */
	return min > INT32_MAX ? INT32_MAX : (int)min;
}

/* ---- life cycle --------------------------------------------------------------------- */

/* Mark dead and fail every pending call; done may not revive the trunk (t->err set). */
static void trunk_kill(struct nri_trunk *t, int err)
{
	struct nri_call *c;

	if (!t->err)
		t->err = err;
	while ((c = t->calls)) {
		t->calls = c->next;
		trunk_call_complete(t, c, -ECONNRESET, "connection closed", NULL, 0);
	}
}

static int trunk_on_mux_data(uint32_t conn, const uint8_t *data, size_t len, void *userdata)
{
	struct nri_trunk *t = userdata;

	if (conn == t->serve_conn)
		return ttrpc_stream_feed(t->rx_serve, data, len);
	return ttrpc_stream_feed(t->rx_call, data, len);
}

static int trunk_setup(struct nri_trunk *t)
{
	int r;

	t->rbuf = malloc(TRUNK_READ_SIZE);
	if (!t->rbuf)
		return -ENOMEM;
	r = mux_decoder_new(trunk_on_mux_data, t, &t->mux);
	if (r == 0)
		r = mux_decoder_open(t->mux, t->serve_conn);
	if (r == 0)
		r = mux_decoder_open(t->mux, t->call_conn);
	if (r == 0)
		r = ttrpc_stream_new(trunk_on_serve_msg, t, &t->rx_serve);
	if (r == 0)
		r = ttrpc_stream_new(trunk_on_call_msg, t, &t->rx_call);
	return r;
}

static void trunk_release(struct nri_trunk *t)
{
	if (t->fd >= 0)
		close(t->fd);
	mux_decoder_free(t->mux);
	ttrpc_stream_free(t->rx_serve);
	ttrpc_stream_free(t->rx_call);
	free(t->rbuf);
	free(t->out.buf);
	free(t->open);
	free(t);
}

static int trunk_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int nri_trunk_new(int fd, uint32_t serve_conn, uint32_t call_conn, nri_serve_fn serve,
		  void *userdata, struct nri_trunk **ret)
{
	struct nri_trunk *t;
	int r;

	if (fd < 0)
		return -EBADF;
	if (!ret || !serve_conn || !call_conn || serve_conn == call_conn) {
		close(fd);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	*t = (struct nri_trunk){.fd = fd,
				.serve_conn = serve_conn,
				.call_conn = call_conn,
				.serve = serve,
				.userdata = userdata,
				.next_sid = 1};
	r = trunk_set_nonblock(fd);
	if (r == 0)
		r = trunk_setup(t);
	if (r < 0) {
		trunk_release(t);
		return r;
	}
	*ret = t;
	return 0;
}

void nri_trunk_free(struct nri_trunk *t)
{
	if (!t)
		return;
	trunk_kill(t, -ECONNRESET);
	trunk_release(t);
}

/* ---- event loop --------------------------------------------------------------------- */

/* Read and dispatch until the socket is drained (bounded). 0, -ECONNRESET at EOF, -errno. */
static int trunk_read(struct nri_trunk *t)
{
	ssize_t n;
	int r;

	for (int i = 0; i < TRUNK_READS_PER_IO && !t->err; i++) {
		n = recv(t->fd, t->rbuf, TRUNK_READ_SIZE, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		t->stats.bytes_in += (uint64_t)n;
		t->rx_ns = trunk_now_ns();
		r = mux_decoder_feed(t->mux, t->rbuf, (size_t)n);
		if (r < 0) {
			if (r == -EPROTO)
				t->stats.protocol_errors++;
			return r;
		}
	}
	return 0;
}

int nri_trunk_process(struct nri_trunk *t, short revents)
{
	int r = 0;

	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	if (t->in_process)
		return -EDEADLK;
	t->in_process++;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		r = trunk_read(t);
	if (r == 0)
		r = t->io_err;
	if (r == 0)
		r = trunk_send_queued(t);
	if (r == 0)
		trunk_expire(t);
	if (r == 0)
		r = t->io_err;
	t->in_process--;
	if (r < 0)
		trunk_kill(t, r);
	return r;
}

int nri_trunk_run_once(struct nri_trunk *t, int timeout_ms)
{
	struct pollfd p;
	int tmo, r;

	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	if (t->in_process)
		return -EDEADLK;
	p = (struct pollfd){.fd = t->fd, .events = nri_trunk_events(t)};
	tmo = nri_trunk_timeout_ms(t);
	if (tmo < 0 || (timeout_ms >= 0 && timeout_ms < tmo))
		tmo = timeout_ms;
	r = poll(&p, 1, tmo);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return nri_trunk_process(t, r > 0 ? p.revents : 0);
}

static int trunk_wait_writable(struct nri_trunk *t, uint64_t deadline, bool forever)
{
	struct pollfd p = {.fd = t->fd, .events = POLLOUT};
	uint64_t now = trunk_now_ns();
	int tmo = -1;

	if (!forever) {
		if (now >= deadline)
			return -ETIMEDOUT;
		tmo = (int)((deadline - now + 999999) / 1000000);
	}
	if (poll(&p, 1, tmo) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int nri_trunk_flush(struct nri_trunk *t, int timeout_ms)
{
	uint64_t deadline;
	int r;

	if (!t)
		return -EINVAL;
	if (t->err)
		return t->err;
	deadline = trunk_now_ns() + (timeout_ms > 0 ? (uint64_t)timeout_ms * 1000000u : 0);
	for (;;) {
		r = t->io_err ? t->io_err : trunk_send_queued(t);
		if (r < 0 || t->out.off == t->out.len)
			return r;
		r = trunk_wait_writable(t, deadline, timeout_ms < 0);
		if (r < 0)
			return r;
	}
}

/* ---- blocking call ------------------------------------------------------------------ */

struct trunk_sync {
	bool done;
	int code;
	uint8_t *payload;
	size_t len;
	char *msg;
};

static void trunk_sync_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
			    size_t len, void *userdata)
{
	struct trunk_sync *s = userdata;

	(void)t;
	s->done = true;
	s->code = code;
	if (code != 0) {
		s->msg = strdup(msg ? msg : "");
		if (!s->msg)
			s->code = -ENOMEM;
		return;
	}
	if (len == 0)
		return;
	s->payload = malloc(len);
	if (!s->payload) {
		s->code = -ENOMEM;
		return;
	}
	memcpy(s->payload, payload, len);
	s->len = len;
}

static void trunk_sync_hand_over(struct trunk_sync *s, uint8_t **ret_payload, size_t *ret_len,
				 char **ret_msg)
{
	if (ret_payload)
		*ret_payload = s->payload;
	else
		free(s->payload);
	if (ret_len)
		*ret_len = s->len;
	if (ret_msg)
		*ret_msg = s->msg;
	else
		free(s->msg);
}

int nri_trunk_call_sync(struct nri_trunk *t, const char *service, const char *method,
			const uint8_t *payload, size_t len, int64_t timeout_ns,
			uint8_t **ret_payload, size_t *ret_len, char **ret_msg)
{
	struct trunk_sync s = {0};
	int sid, r = 0;

	if (!t)
		return -EINVAL;
	if (t->in_handler || t->in_process)
		return -EDEADLK;
	sid = nri_trunk_call(t, service, method, payload, len, timeout_ns, trunk_sync_done, &s);
	if (sid < 0)
		return sid;
	while (!s.done && r >= 0)
		r = nri_trunk_run_once(t, -1);
	if (!s.done) {
		/* poll() itself failed: s lives on our stack, so forget the call. */
		free(trunk_call_take(t, (uint32_t)sid));
		return r;
	}
	trunk_sync_hand_over(&s, ret_payload, ret_len, ret_msg);
	return s.code;
}

/* ---- accessors ---------------------------------------------------------------------- */

int nri_trunk_fd(const struct nri_trunk *t)
{
	return t ? t->fd : -EINVAL;
}

short nri_trunk_events(const struct nri_trunk *t)
{
	if (!t)
		return 0;
	return (short)(POLLIN | (t->out.off < t->out.len ? POLLOUT : 0));
}

bool nri_trunk_in_handler(const struct nri_trunk *t)
{
	return t && t->in_handler > 0;
}

void nri_trunk_get_stats(const struct nri_trunk *t, struct nri_trunk_stats *ret)
{
	struct mux_decoder_stats ms;

	if (!t || !ret)
		return;
	*ret = t->stats;
	mux_decoder_get_stats(t->mux, &ms);
	ret->frames_in = ms.frames;
	ret->dropped_frames = ms.dropped_frames;
}
