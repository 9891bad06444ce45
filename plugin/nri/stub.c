/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NRI plugin stub: identity, connection, registration, the poll loop, extra fds
 * and timers, queued UpdateContainers and reconnect. Request handling lives in
 * stub_serve.c, reply building in stub_reply.c, version inference in stub_version.c.
 *
 * One state machine serves start and reconnect: "connecting" (trunk up, RegisterPlugin
 * sent, waiting for Configure until the registration deadline), "configured", and,
 * with reconnect, "waiting to redial" (redial_at_ns set) after a loss.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "plugin/nri/stub_priv.h"

#define PB(x) Nri__Pkg__Api__V1alpha1__##x

uint64_t stub_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void nri_stub_options_init(struct nri_stub_options *o)
{
	if (!o)
		return;
	*o = (struct nri_stub_options){0};
	o->fd = -1;
}

static int stub_init(struct nri_stub *s, const struct nri_stub_handlers *h,
		     const struct nri_stub_options *o, void *ud)
{
	int ret;

	s->h = *h;
	s->o = *o;
	s->ud = ud;
	s->wake_fd = -1;
	s->watch_fd = -1;
	s->detected = stub_detect_events(h);
	if (!s->detected)
		return -EINVAL;
	ret = stub_identity_resolve(o, &s->name, &s->idx);
	if (ret < 0)
		return ret;
	ret = stub_connection_fd(o, &s->fd_option);
	if (ret < 0)
		return ret;
	s->prelaunched = s->fd_option >= 0;
	s->socket_path = strdup(o->socket_path ? o->socket_path : NRI_DEFAULT_SOCKET);
	s->o.socket_path = NULL; /* not owned; the copy above is */
	if (!s->socket_path)
		return -ENOMEM;
	if (!s->o.backoff_min_ms)
		s->o.backoff_min_ms = 100;
	if (!s->o.backoff_max_ms)
		s->o.backoff_max_ms = 5000;
	if (!s->o.registration_timeout_ms)
		s->o.registration_timeout_ms = STUB_DEFAULT_REGISTRATION_MS;
	s->registration_timeout_ms = s->o.registration_timeout_ms;
	s->request_timeout_ms = STUB_DEFAULT_REQUEST_MS;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return s->wake_fd < 0 ? -errno : 0;
}

int nri_stub_new(const struct nri_stub_handlers *h, const struct nri_stub_options *o, void *ud,
		 struct nri_stub **ret)
{
	struct nri_stub_options defaults;
	struct nri_stub *s;
	int r;

	if (!h || !ret)
		return -EINVAL;
	if (!o) {
		nri_stub_options_init(&defaults);
		o = &defaults;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = stub_init(s, h, o, ud);
	if (r < 0) {
		s->fd_option = -1; /* still the caller's on failure */
		nri_stub_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* Detached first: a done callback may queue again (and gets -ENOTCONN). */
static void queue_drop(struct nri_stub *s)
{
	struct stub_pending *q = s->queue;
	size_t n = s->n_queue;

	s->queue = NULL;
	s->n_queue = 0;
	for (size_t i = 0; i < n; i++) {
		if (q[i].done)
			q[i].done(s, -ECONNRESET, q[i].ud);
		stub_reply_free(q[i].updates);
	}
	free(q);
}

/* Drop every per-connection state; on_close only for a session that got configured. */
static void teardown(struct nri_stub *s)
{
	bool was_configured = s->configured;

	nri_trunk_free(s->trunk); /* completes in-flight UpdateContainers with -ECONNRESET */
	s->trunk = NULL;
	queue_drop(s);
	stub_sync_reset(s);
	s->registered = s->register_failed = false;
	s->configured = s->configure_failed = s->synchronized = false;
	s->session_counted = false;
	s->connect_deadline_ns = 0;
	if (was_configured && s->o.on_close)
		s->o.on_close(s, s->ud);
}

void nri_stub_free(struct nri_stub *s)
{
	if (!s)
		return;
	s->o.on_close = NULL; /* no callbacks into a plugin that is tearing us down */
	teardown(s);
	if (s->fd_option >= 0)
		close(s->fd_option);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	stub_watch_disarm(s);
	free(s->queue);
	free(s->fds);
	free(s->timers);
	free(s->name);
	free(s->idx);
	free(s->socket_path);
	free(s->runtime_name);
	free(s->runtime_version);
	free(s->nri_version);
	free(s);
}

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void register_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
			  size_t len, void *userdata)
{
	struct nri_stub *s = userdata;

	(void)t, (void)msg, (void)payload, (void)len;
	if (code == 0)
		s->registered = true;
	else
		s->register_failed = true;
}

static int send_register(struct nri_stub *s)
{
	PB(RegisterPluginRequest) m = NRI__PKG__API__V1ALPHA1__REGISTER_PLUGIN_REQUEST__INIT;
	uint8_t *buf;
	size_t len;
	int r;

	m.plugin_name = s->name;
	m.plugin_idx = s->idx;
	m.nri_version = (char *)NRI_STUB_VERSION;
	len = nri__pkg__api__v1alpha1__register_plugin_request__get_packed_size(&m);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	nri__pkg__api__v1alpha1__register_plugin_request__pack(&m, buf);
	r = nri_trunk_call(s->trunk, NRI_RUNTIME_SERVICE, "RegisterPlugin", buf, len,
			   (int64_t)s->registration_timeout_ms * 1000000, register_done, s);
	free(buf);
	return r < 0 ? r : 0;
}

/* Open the connection, set up the trunk and send RegisterPlugin (answered later). */
static int stub_connect(struct nri_stub *s)
{
	int fd, r;

	if (s->prelaunched) {
		if (s->fd_option < 0)
			return -ENOTCONN; /* a launched plugin's socket cannot be reopened */
		fd = s->fd_option;
		s->fd_option = -1;
	} else {
		fd = dial(s->socket_path);
		if (fd < 0)
			return fd;
	}
	r = nri_trunk_new(fd, NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, stub_serve, s, &s->trunk);
	if (r < 0)
		return r;
	s->connect_deadline_ns = stub_now_ns() + (uint64_t)s->registration_timeout_ms * 1000000ull;
	r = send_register(s);
	if (r < 0)
		teardown(s);
	return r;
}

static int ns_to_ms(uint64_t deadline, uint64_t now)
{
	uint64_t ms;

	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int loop_timeout(const struct nri_stub *s, int max_ms)
{
	uint64_t now = stub_now_ns();
	int t = max_ms;

	if (s->trunk)
		t = min_timeout(t, nri_trunk_timeout_ms(s->trunk));
	if (s->trunk && !s->configured && s->connect_deadline_ns)
		t = min_timeout(t, ns_to_ms(s->connect_deadline_ns, now));
	if (!s->trunk && s->redial_at_ns)
		t = min_timeout(t, ns_to_ms(s->redial_at_ns, now));
	for (size_t i = 0; i < s->n_timers; i++)
		t = min_timeout(t, ns_to_ms(s->timers[i].due_ns, now));
	return t;
}

/* The ids of a failed list, or of the whole request for an error status. */
static void report_failed(struct nri_stub *s, const struct nri_reply *sent, int code,
			  const uint8_t *payload, size_t len)
{
	PB(UpdateContainersResponse) *rsp = NULL;
	const char **ids;
	size_t n = 0;

	if (!s->o.on_updates_failed || code < 0 || !sent)
		return;
	if (code == 0 && !(rsp = nri__pkg__api__v1alpha1__update_containers_response__unpack(
				   NULL, len, payload)))
		return;
	ids = calloc((rsp ? rsp->n_failed : sent->n_updates) + 1, sizeof(*ids));
	for (size_t i = 0; ids && rsp && i < rsp->n_failed; i++)
		if (rsp->failed[i]->container_id && *rsp->failed[i]->container_id)
			ids[n++] = rsp->failed[i]->container_id;
	for (size_t i = 0; ids && !rsp && i < sent->n_updates; i++)
		ids[n++] = stub_reply_update_id(sent, i);
	if (n)
		s->o.on_updates_failed(s, ids, n, code, s->ud);
	free(ids);
	if (rsp)
		nri__pkg__api__v1alpha1__update_containers_response__free_unpacked(rsp, NULL);
}

static void updates_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
			 size_t len, void *userdata)
{
	struct stub_pending *p = userdata;

	(void)t, (void)msg;
	p->stub->n_inflight--;
	report_failed(p->stub, p->updates, code, payload, len);
	if (p->done)
		p->done(p->stub, code, p->ud);
	stub_reply_free(p->updates);
	free(p);
}

static int send_one_update(struct nri_stub *s, struct stub_pending *q)
{
	struct stub_pending *p = malloc(sizeof(*p));
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!p)
		return -ENOMEM;
	*p = *q;
	p->stub = s;
	r = stub_reply_pack(q->updates, false, &buf, &len);
	/* No deadline, like the Go stub: the runtime answers once its own lock is free. */
	if (r == 0)
		r = nri_trunk_call(s->trunk, NRI_RUNTIME_SERVICE, "UpdateContainers", buf, len, 0,
				   updates_done, p);
	free(buf);
	if (r < 0) {
		free(p);
		return r;
	}
	q->updates = NULL; /* kept until the answer: it names what an error status failed */
	s->n_inflight++;
	return 0;
}

/* doc §7: sent from the loop, after the handler that queued them has returned. */
static void queue_flush(struct nri_stub *s)
{
	struct stub_pending *q = s->queue;
	size_t n = s->n_queue;

	if (!n || !s->trunk || !s->configured || nri_trunk_in_handler(s->trunk))
		return;
	s->queue = NULL; /* detached: done callbacks may queue more */
	s->n_queue = 0;
	for (size_t i = 0; i < n; i++) {
		int r = s->trunk ? send_one_update(s, &q[i]) : -ENOTCONN;

		if (r < 0 && q[i].done)
			q[i].done(s, r, q[i].ud);
		stub_reply_free(q[i].updates);
	}
	free(q);
}

/* why: the error of the dial or session that ended (-ENOENT: no socket to dial). */
static void schedule_redial(struct nri_stub *s, int why)
{
	if (!s->backoff_ms)
		s->backoff_ms = s->o.backoff_min_ms;
	s->redial_at_ns = stub_now_ns() + (uint64_t)s->backoff_ms * 1000000ull;
	s->backoff_ms =
		s->backoff_ms >= s->o.backoff_max_ms / 2 ? s->o.backoff_max_ms : s->backoff_ms * 2;
	/* no socket at the dial, one now: it came before the watch, no event will say so */
	if (stub_watch_arm(s) && why == -ENOENT)
		s->redial_at_ns = stub_now_ns();
}

/* The socket reappeared: dial now; should that fail, the backoff starts afresh. */
static void watch_turn(struct nri_stub *s, short revents)
{
	if (!revents || !stub_watch_seen(s) || s->trunk || !s->redial_at_ns)
		return;
	s->redial_at_ns = stub_now_ns();
	s->backoff_ms = 0;
}

static void session_lost(struct nri_stub *s, int err)
{
	s->session_error = err;
	teardown(s);
	if (s->running && s->o.reconnect && !s->prelaunched)
		schedule_redial(s, err);
}

/* After each loop turn: give up on a failed or overdue session. */
static void session_check(struct nri_stub *s)
{
	if (!s->trunk)
		return;
	if (s->register_failed)
		session_lost(s, -ECONNREFUSED);
	else if (s->configure_failed)
		session_lost(s, -EPROTO);
	else if (!s->configured && stub_now_ns() >= s->connect_deadline_ns)
		session_lost(s, -ETIMEDOUT);
}

/* From Configure: counted there so on_synchronized already sees the new count. */
void stub_session_configured(struct nri_stub *s)
{
	if (s->session_counted)
		return;
	s->session_counted = true;
	if (s->ever_configured)
		s->reconnects++;
	s->ever_configured = true;
	s->backoff_ms = 0;
	stub_watch_disarm(s);
}

static void redial_check(struct nri_stub *s)
{
	int r;

	if (s->trunk || !s->redial_at_ns || stub_now_ns() < s->redial_at_ns)
		return;
	s->redial_at_ns = 0;
	r = stub_connect(s);
	if (r < 0) {
		s->session_error = r;
		schedule_redial(s, r);
	}
}

static void timers_run(struct nri_stub *s)
{
	for (size_t i = 0; i < s->n_timers; i++) {
		uint64_t now = stub_now_ns();
		struct stub_timer *t = &s->timers[i];

		if (now < t->due_ns)
			continue;
		t->due_ns += (uint64_t)t->interval_ms * 1000000ull;
		if (t->due_ns <= now)
			t->due_ns = now + (uint64_t)t->interval_ms * 1000000ull;
		t->cb(s, t->ud);
	}
}

static void fds_compact(struct nri_stub *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_fds; i++) {
		if (!s->fds[i].removed)
			s->fds[j++] = s->fds[i];
	}
	s->n_fds = j;
}

static void fds_dispatch(struct nri_stub *s, const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n && i < s->n_fds; i++) {
		if (p[i].revents && !s->fds[i].removed)
			s->fds[i].cb(s, s->fds[i].fd, p[i].revents, s->fds[i].ud);
	}
	fds_compact(s);
}

static void wake_drain(struct nri_stub *s)
{
	uint64_t v;

	while (read(s->wake_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static int trunk_turn(struct nri_stub *s, short revents)
{
	int r;

	if (!s->trunk)
		return 0;
	r = nri_trunk_process(s->trunk, revents);
	if (r < 0)
		session_lost(s, r);
	return 0;
}

/*
 * One poll() over the wake fd, the trunk (or, while waiting to redial, the socket
 * watch) and the extra fds, then everything due.
 */
static int iterate(struct nri_stub *s, int max_ms)
{
	bool watching = !s->trunk && s->watch_fd >= 0;
	size_t nf = s->n_fds, base = s->trunk || watching ? 2 : 1;
	struct pollfd *p = calloc(nf + 2, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p[0] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
	if (s->trunk)
		p[1] = (struct pollfd){.fd = nri_trunk_fd(s->trunk),
				       .events = nri_trunk_events(s->trunk)};
	else if (watching)
		p[1] = (struct pollfd){.fd = s->watch_fd, .events = POLLIN};
	for (size_t i = 0; i < nf; i++)
		p[base + i] = (struct pollfd){.fd = s->fds[i].removed ? -1 : s->fds[i].fd,
					      .events = s->fds[i].events};
	r = poll(p, base + nf, loop_timeout(s, max_ms));
	if (r < 0 && errno != EINTR) {
		r = -errno;
		free(p);
		return r;
	}
	if (p[0].revents)
		wake_drain(s);
	if (base == 2 && watching)
		watch_turn(s, r > 0 ? p[1].revents : 0);
	else if (base == 2)
		trunk_turn(s, r > 0 ? p[1].revents : 0);
	session_check(s);
	fds_dispatch(s, p + base, r > 0 ? nf : 0);
	free(p);
	timers_run(s);
	redial_check(s);
	session_check(s);
	queue_flush(s);
	return 0;
}

int nri_stub_start(struct nri_stub *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->trunk)
		return -EALREADY;
	s->session_error = 0;
	r = stub_connect(s);
	if (r < 0)
		return r;
	while (s->trunk && !s->configured && !s->stop_requested) {
		r = iterate(s, -1);
		if (r < 0) {
			teardown(s);
			return r;
		}
	}
	if (s->configured)
		return 0;
	if (s->trunk) { /* stopped while connecting */
		teardown(s);
		return -ECANCELED;
	}
	return s->session_error ? s->session_error : -ECONNRESET;
}

int nri_stub_wait(struct nri_stub *s)
{
	int r = 0;

	if (!s)
		return -EINVAL;
	s->running = true;
	for (;;) {
		if (s->stop_requested) {
			s->stop_requested = 0;
			r = 0;
			break;
		}
		if (!s->trunk && !s->redial_at_ns) {
			r = s->ever_configured ? -ECONNRESET : -ENOTCONN;
			break;
		}
		r = iterate(s, -1);
		if (r < 0)
			break;
	}
	s->running = false;
	return r;
}

int nri_stub_run(struct nri_stub *s)
{
	int r;

	if (!s)
		return -EINVAL;
	r = nri_stub_start(s);
	if (r < 0) {
		if (!s->o.reconnect || s->prelaunched || r == -ECANCELED)
			return r;
		schedule_redial(s, r);
	}
	return nri_stub_wait(s);
}

void nri_stub_stop(struct nri_stub *s)
{
	uint64_t one = 1;
	ssize_t n;

	if (!s)
		return;
	s->stop_requested = 1;
	n = write(s->wake_fd, &one, sizeof(one)); /* async-signal-safe */
	(void)n;
}

struct nri_reply *nri_stub_new_updates(struct nri_stub *s)
{
	struct nri_reply *r;

	if (!s || stub_reply_new(STUB_REPLY_UPDATES, NULL, &r) < 0)
		return NULL;
	return r;
}

int nri_stub_update_containers(struct nri_stub *s, struct nri_reply *updates,
			       void (*done)(struct nri_stub *s, int code, void *ud), void *ud)
{
	struct stub_pending *q;

	if (!s || !updates || updates->kind != STUB_REPLY_UPDATES) {
		stub_reply_free(updates);
		return -EINVAL;
	}
	if (!s->trunk || !s->configured) {
		stub_reply_free(updates);
		return -ENOTCONN;
	}
	q = realloc(s->queue, (s->n_queue + 1) * sizeof(*q));
	if (!q) {
		stub_reply_free(updates);
		return -ENOMEM;
	}
	s->queue = q;
	q[s->n_queue++] = (struct stub_pending){.updates = updates, .done = done, .ud = ud};
	return 0;
}

int nri_stub_add_fd(struct nri_stub *s, int fd, short events, nri_stub_fd_fn cb, void *ud)
{
	struct stub_fd *f;

	if (!s || fd < 0 || !cb)
		return -EINVAL;
	for (size_t i = 0; i < s->n_fds; i++) {
		if (s->fds[i].fd == fd && !s->fds[i].removed)
			return -EEXIST;
	}
	f = realloc(s->fds, (s->n_fds + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	s->fds = f;
	f[s->n_fds++] = (struct stub_fd){.fd = fd, .events = events, .cb = cb, .ud = ud};
	return 0;
}

/* Only marks: the loop may be iterating the array right now; it compacts afterwards. */
int nri_stub_remove_fd(struct nri_stub *s, int fd)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < s->n_fds; i++) {
		if (s->fds[i].fd == fd && !s->fds[i].removed) {
			s->fds[i].removed = true;
			return 0;
		}
	}
	return -ENOENT;
}

int nri_stub_add_timer(struct nri_stub *s, unsigned int interval_ms, nri_stub_timer_fn cb, void *ud)
{
	struct stub_timer *t;

	if (!s || !interval_ms || !cb)
		return -EINVAL;
	t = realloc(s->timers, (s->n_timers + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->timers = t;
	t[s->n_timers++] = (struct stub_timer){
		.interval_ms = interval_ms,
		.due_ns = stub_now_ns() + (uint64_t)interval_ms * 1000000ull,
		.cb = cb,
		.ud = ud,
	};
	return 0;
}
