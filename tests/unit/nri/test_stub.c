/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stub behaviour over a socketpair. The plugin side is the real stub on the test's main
 * thread; the runtime side is a scripted trunk (serve 2 / call 1) on a second thread
 * that answers RegisterPlugin, then runs one script of calls and closes the socket,
 * which makes nri_stub_run() return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/nri/stub.h"
#include "plugin/nri/stub_priv.h"
#include "plugin/nri/trunk.h"

#define PB(x)	  Nri__Pkg__Api__V1alpha1__##x
#define PLUGIN_SV "nri.pkg.api.v1alpha1.Plugin"

/* ---- the scripted runtime --------------------------------------------------------- */

struct rt_result {
	bool done;
	int code;
	char msg[256];
	uint8_t *payload;
	size_t len;
};

struct rt {
	struct nri_trunk *t;
	bool registered;
	char reg_name[64], reg_idx[8], reg_version[32];
	int n_updates;		   /* UpdateContainers received */
	int updates_while_pending; /* ... while one of our calls was unanswered */
	int n_update_entries;
	struct rt_result *pending; /* the call in flight, if any */
	int updates_mode; /* UpdateContainers answer: 0 ok, 1 "ghost*" as failed, 2 error */
	void (*script)(struct rt *rt);
	void *data;
};

/* As CRI-O (a failed list) or containerd (an error status without one) answer. */
static int rt_answer_updates(struct rt *rt, uint32_t id, PB(UpdateContainersRequest) * m)
{
	PB(UpdateContainersResponse)
	rsp = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINERS_RESPONSE__INIT;
	PB(ContainerUpdate) * failed[8];
	uint8_t buf[1024];
	size_t len;

	if (rt->updates_mode == 2)
		return nri_trunk_reply_error(rt->t, id, TTRPC_UNKNOWN,
					     "NRI update of some containers failed");
	for (size_t i = 0; rt->updates_mode == 1 && m && i < m->n_update && i < 8; i++)
		if (!strncmp(m->update[i]->container_id, "ghost", 5))
			failed[rsp.n_failed++] = m->update[i];
	rsp.failed = failed;
	len = nri__pkg__api__v1alpha1__update_containers_response__get_packed_size(&rsp);
	assert_true(len <= sizeof(buf));
	nri__pkg__api__v1alpha1__update_containers_response__pack(&rsp, buf);
	return nri_trunk_reply(rt->t, id, buf, len);
}

static int rt_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	struct rt *rt = ud;

	if (!strcmp(req->method, "RegisterPlugin")) {
		PB(RegisterPluginRequest) *m =
			nri__pkg__api__v1alpha1__register_plugin_request__unpack(
				NULL, req->payload_len, req->payload);
		if (m) {
			snprintf(rt->reg_name, sizeof(rt->reg_name), "%s", m->plugin_name);
			snprintf(rt->reg_idx, sizeof(rt->reg_idx), "%s", m->plugin_idx);
			snprintf(rt->reg_version, sizeof(rt->reg_version), "%s", m->nri_version);
			nri__pkg__api__v1alpha1__register_plugin_request__free_unpacked(m, NULL);
		}
		rt->registered = true;
		return nri_trunk_reply(t, req->stream_id, NULL, 0);
	}
	if (!strcmp(req->method, "UpdateContainers")) {
		PB(UpdateContainersRequest) *m =
			nri__pkg__api__v1alpha1__update_containers_request__unpack(
				NULL, req->payload_len, req->payload);
		rt->n_updates++;
		/* Byte order on the wire: was the call's answer already in? */
		rt->updates_while_pending += rt->pending && !rt->pending->done;
		int r;

		if (m)
			rt->n_update_entries += (int)m->n_update;
		r = rt_answer_updates(rt, req->stream_id, m);
		if (m)
			nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(m, NULL);
		return r;
	}
	return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, "nope");
}

static void rt_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
		    size_t len, void *ud)
{
	struct rt_result *r = ud;

	(void)t;
	r->done = true;
	r->code = code;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
	r->len = len;
	r->payload = NULL;
	if (len) {
		r->payload = malloc(len);
		if (r->payload)
			memcpy(r->payload, payload, len);
	}
}

/* Call the plugin and drive the trunk until the answer is in; packs m if non-NULL. */
static void rt_call_svc(struct rt *rt, const char *svc, const char *method,
			const ProtobufCMessage *m, struct rt_result *res)
{
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
	uint8_t *buf = malloc(len + 1);

	memset(res, 0, sizeof(*res));
	if (m)
		protobuf_c_message_pack(m, buf);
	rt->pending = res;
	if (nri_trunk_call(rt->t, svc, method, buf, len, 2000000000LL, rt_done, res) < 0)
		res->done = true, res->code = -EIO;
	while (!res->done && nri_trunk_run_once(rt->t, 1000) >= 0)
		;
	rt->pending = NULL;
	free(buf);
}

static void rt_call(struct rt *rt, const char *method, const ProtobufCMessage *m,
		    struct rt_result *res)
{
	rt_call_svc(rt, PLUGIN_SV, method, m, res);
}

static void rt_configure(struct rt *rt, const char *rname, const char *rver, const char *nri,
			 struct rt_result *res)
{
	PB(ConfigureRequest) c = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;

	c.runtime_name = (char *)rname;
	c.runtime_version = (char *)rver;
	c.nri_version = (char *)(nri ? nri : "");
	c.request_timeout = 1500;
	rt_call(rt, "Configure", &c.base, res);
}

static int32_t configure_events(const struct rt_result *res)
{
	PB(ConfigureResponse) * m;
	int32_t ev;

	if (res->code != 0)
		return -1;
	m = nri__pkg__api__v1alpha1__configure_response__unpack(NULL, res->len, res->payload);
	if (!m)
		return -1;
	ev = m->events;
	nri__pkg__api__v1alpha1__configure_response__free_unpacked(m, NULL);
	return ev;
}

static void *rt_thread(void *arg)
{
	struct rt *rt = arg;

	while (!rt->registered && nri_trunk_run_once(rt->t, 2000) >= 0)
		;
	rt->script(rt);
	nri_trunk_flush(rt->t, 1000);
	nri_trunk_free(rt->t);
	rt->t = NULL;
	return NULL;
}

struct plug {
	int creates, starts, syncs, sync_pods, stop_calls;
	int update_rc; /* what nri_reply_update returned inside create */
	int queue_rc;
	uint32_t cfg_events;
	char last_ctr[64];
};

/* What on_updates_failed reported in the last session. */
static struct {
	int calls, code;
	size_t n;
	char ids[4][32];
} failed_seen;

static void session_on_updates_failed(struct nri_stub *s, const char *const *ids, size_t n,
				      int code, void *ud)
{
	(void)s, (void)ud;
	failed_seen.calls++;
	failed_seen.code = code;
	failed_seen.n = n;
	for (size_t i = 0; i < n && i < 4; i++)
		snprintf(failed_seen.ids[i], sizeof(failed_seen.ids[i]), "%s", ids[i]);
}

/* Runs `script` as the runtime against a stub with handlers h; returns nri_stub_run's code. */
static int run_session(const struct nri_stub_handlers *h, struct rt *rt, void *plug)
{
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	pthread_t th;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(
		nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, rt_serve, rt, &rt->t), 0);
	nri_stub_options_init(&o);
	o.name = "unit";
	o.idx = "42";
	o.fd = sv[1];
	o.on_updates_failed = session_on_updates_failed;
	assert_int_equal(nri_stub_new(h, &o, plug, &s), 0);
	assert_int_equal(pthread_create(&th, NULL, rt_thread, rt), 0);
	r = nri_stub_run(s);
	pthread_join(th, NULL);
	nri_stub_free(s);
	return r;
}

/* ---- handlers ------------------------------------------------------------------------ */

static int h_create(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		    struct nri_reply *reply, void *ud)
{
	struct plug *p = ud;
	struct nri_resources res = {.cpus = "1"};
	struct nri_reply *u;

	(void)pod;
	p->creates++;
	snprintf(p->last_ctr, sizeof(p->last_ctr), "%s", ctr->id);
	p->update_rc = nri_reply_update(reply, ctr->id, &res, false);
	assert_int_equal(nri_reply_update(reply, "other", &res, false), 0);
	assert_int_equal(nri_reply_adjust(reply, &res), 0);
	assert_int_equal(nri_reply_adjust(reply, &res), -EALREADY);
	assert_int_equal(nri_reply_adjust_annotation(reply, "k", "v"), 0);
	u = nri_stub_new_updates(s);
	assert_non_null(u);
	assert_int_equal(nri_reply_update(u, "other", &res, true), 0);
	p->queue_rc = nri_stub_update_containers(s, u, NULL, NULL);
	return 0;
}

static int h_start(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr, void *ud)
{
	struct plug *p = ud;

	(void)s, (void)pod;
	p->starts++;
	snprintf(p->last_ctr, sizeof(p->last_ctr), "%s", ctr ? ctr->id : "");
	return 0;
}

static int h_stop_fail(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		       struct nri_reply *reply, void *ud)
{
	struct plug *p = ud;

	(void)s, (void)pod, (void)ctr;
	p->stop_calls++;
	/* StopContainerResponse has no adjust and no evict field */
	assert_int_equal(nri_reply_evict(reply, "x", "why"), -EOPNOTSUPP);
	assert_int_equal(nri_reply_adjust(reply, &(struct nri_resources){0}), -EOPNOTSUPP);
	nri_reply_set_error(reply, "refusing to stop %s", "ctr");
	return -EPERM;
}

static int h_sync(struct nri_stub *s, NriPodSandbox *const *pods, size_t n_pods,
		  NriContainer *const *ctrs, size_t n_ctrs, struct nri_reply *reply, void *ud)
{
	struct plug *p = ud;
	struct nri_resources res = {.cpus = "0-1"};

	(void)s, (void)pods, (void)ctrs, (void)n_ctrs;
	p->syncs++;
	p->sync_pods = (int)n_pods;
	return nri_reply_update(reply, "c0", &res, false);
}

static int h_update_pod(struct nri_stub *s, const NriPodSandbox *pod,
			const NriLinuxResources *overhead, const NriLinuxResources *res, void *ud)
{
	(void)s, (void)pod, (void)overhead, (void)res, (void)ud;
	return 0;
}

static int h_configure_wide(struct nri_stub *s, const char *config, const char *rn, const char *rv,
			    void *ud, uint32_t *ret_events)
{
	(void)s, (void)config, (void)rn, (void)rv, (void)ud;
	*ret_events = 0xFFFF; /* more than the handlers subscribe to */
	return 0;
}

/* ---- tests -------------------------------------------------------------------------- */

static void *run_stub(void *arg)
{
	nri_stub_run(arg);
	return NULL;
}

/*
 * A listening socket that appears at path at once: bound and listening under another
 * name, then renamed into place. Bound in place, the file would show before listen(),
 * and a stub that dials on the creation event between the two is refused and, with a
 * backoff of a minute, never back within this test's seconds.
 */
static int listen_at(const char *dir, const char *path)
{
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s/staging.sock", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(rename(tmp.sun_path, path), 0);
	return fd;
}

/*
 * A runtime restart: the socket is gone, then reappears. With a redial backoff of a
 * minute, only the watch on the socket's directory can make the stub dial within the
 * few seconds allowed here (issue 14: reconnect within 300 ms of the socket).
 */
static void test_stub_dials_when_the_socket_reappears(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/tg-stub-watch.XXXXXX";
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	struct pollfd p;
	pthread_t th;
	int lfd, cfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/nri.sock", dir);
	nri_stub_options_init(&o);
	o.name = "unit";
	o.idx = "42";
	o.socket_path = sa.sun_path;
	o.reconnect = true;
	o.backoff_min_ms = 60000;
	o.backoff_max_ms = 60000;
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), 0);
	assert_int_equal(pthread_create(&th, NULL, run_stub, s), 0);
	usleep(200000); /* the first dial failed: the stub waits a minute, or for the socket */
	lfd = listen_at(dir, sa.sun_path);
	p = (struct pollfd){.fd = lfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	close(cfd);
	close(lfd);
	nri_stub_stop(s);
	pthread_join(th, NULL);
	nri_stub_free(s);
	unlink(sa.sun_path);
	rmdir(dir);
}

/*
 * The socket can appear after the dial that failed and before the watch exists: no
 * event will come for it. Arming the watch says whether the socket is already there
 * (the stub then dials at once); only the arming that creates the watch says so.
 */
static void test_stub_watch_arm_sees_a_socket_already_there(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	char dir[] = "/tmp/tg-stub-arm.XXXXXX", path[128];
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	int lfd, ffd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nri.sock", dir);
	nri_stub_options_init(&o);
	o.name = "unit";
	o.idx = "42";
	o.socket_path = path;
	o.reconnect = true;
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), 0);
	/* nothing there: the watch will report it */
	assert_false(stub_watch_arm(s));
	stub_watch_disarm(s);
	/* a plain file by that name is no socket to dial */
	ffd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(ffd >= 0);
	close(ffd);
	assert_false(stub_watch_arm(s));
	stub_watch_disarm(s);
	unlink(path);
	/* the socket is there when the watch is armed */
	lfd = listen_at(dir, path);
	assert_true(stub_watch_arm(s));
	/* armed already: no second "dial now" for the same wait */
	assert_false(stub_watch_arm(s));
	stub_watch_disarm(s);
	close(lfd);
	nri_stub_free(s);
	unlink(path);
	rmdir(dir);
}

static void test_nri_stub_new_invalid(void **state)
{
	struct nri_stub_handlers h = {0};
	struct nri_stub_options o;
	struct nri_stub *s = (struct nri_stub *)0x1;

	(void)state;
	nri_stub_options_init(&o);
	o.name = "ok";
	o.idx = "10";
	o.socket_path = "/nonexistent/nri.sock";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL); /* no handler */
	h.start_container = h_start;
	o.idx = "1";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL);
	o.idx = "1a";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL);
	o.idx = "100";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL);
	o.idx = "10";
	o.name = "bad name";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL);
	o.name = "";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), -EINVAL);
	assert_ptr_equal(s, (struct nri_stub *)0x1); /* untouched on failure */
	o.name = "good.name_1+x-y";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), 0);
	assert_string_equal(nri_stub_name(s), "good.name_1+x-y");
	assert_string_equal(nri_stub_idx(s), "10");
	assert_int_equal(nri_stub_start(s), -ENOENT); /* nothing listens there */
	nri_stub_free(s);
	nri_stub_free(NULL);
}

static void test_nri_stub_new_identity_from_env(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct nri_stub *s = NULL;

	(void)state;
	setenv("NRI_PLUGIN_NAME", "envname", 1);
	setenv("NRI_PLUGIN_IDX", "33", 1);
	assert_int_equal(nri_stub_new(&h, NULL, NULL, &s), 0);
	assert_string_equal(nri_stub_name(s), "envname");
	assert_string_equal(nri_stub_idx(s), "33");
	nri_stub_free(s);
	/* index only: the name is the executable's */
	unsetenv("NRI_PLUGIN_NAME");
	assert_int_equal(nri_stub_new(&h, NULL, NULL, &s), 0);
	assert_string_equal(nri_stub_name(s), program_invocation_short_name);
	nri_stub_free(s);
	/* neither: "test_stub" is not "NN-name" */
	unsetenv("NRI_PLUGIN_IDX");
	assert_int_equal(nri_stub_new(&h, NULL, NULL, &s), -EINVAL);
	setenv("NRI_PLUGIN_IDX", "33", 1);
	setenv("NRI_PLUGIN_SOCKET", "3x", 1);
	assert_int_equal(nri_stub_new(&h, NULL, NULL, &s), -EINVAL);
	unsetenv("NRI_PLUGIN_SOCKET");
	unsetenv("NRI_PLUGIN_IDX");
}

struct mask_case {
	const char *rname, *rver, *nri;
	int32_t want;
};

static void script_masks(struct rt *rt)
{
	const struct mask_case *c = rt->data;
	struct rt_result res;

	rt_configure(rt, c->rname, c->rver, c->nri, &res);
	assert_int_equal(res.code, 0);
	assert_int_equal(configure_events(&res), c->want);
	free(res.payload);
}

static void test_configure_mask_versions(void **state)
{
	struct nri_stub_handlers h = {.create_container = h_create,
				      .start_container = h_start,
				      .update_pod_sandbox = h_update_pod};
	const uint32_t all = NRI_EV_BIT(NRI_EV_CREATE_CONTAINER) |
			     NRI_EV_BIT(NRI_EV_START_CONTAINER) |
			     NRI_EV_BIT(NRI_EV_UPDATE_POD_SANDBOX);
	const struct mask_case cases[] = {
		{"nri-sim", "v1", "v0.12.2", (int32_t)all},
		{"nri-sim", "v1", "", (int32_t)(all & 0x7FF)},
		{"containerd", "v1.7.20", "", (int32_t)(all & 0x7FF)},
		{"containerd", "v2.2.0", "", (int32_t)all},
		{"cri-o", "1.33.2", "", (int32_t)(all & 0x7FF)},
		{"cri-o", "1.34.0", "", (int32_t)all},
		{"containerd", "v2.1.0", "(devel)", (int32_t)(all & 0x7FF)},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plug p = {0};
		struct rt rt = {.script = script_masks, .data = (void *)&cases[i]};

		assert_int_equal(run_session(&h, &rt, &p), -ECONNRESET);
		assert_string_equal(rt.reg_name, "unit");
		assert_string_equal(rt.reg_idx, "42");
		assert_string_equal(rt.reg_version, "v0.12.2");
	}
}

/* NRI before v0.7.0 never synchronizes a pre-launched plugin; unknown counts as old. */
static void test_version_syncs_prelaunched(void **state)
{
	(void)state;
	assert_false(nri_version_syncs_prelaunched("v0.3.0"));
	assert_false(nri_version_syncs_prelaunched("v0.6.1"));
	assert_true(nri_version_syncs_prelaunched("v0.7.0"));
	assert_true(nri_version_syncs_prelaunched("v0.8.0"));
	assert_true(nri_version_syncs_prelaunched("v0.12.2"));
	assert_false(nri_version_syncs_prelaunched("unknown"));
	assert_false(nri_version_syncs_prelaunched(""));
	assert_false(nri_version_syncs_prelaunched(NULL));
}

/* containerd#13733 is fixed from NRI v0.12.1; no released containerd infers to it. */
static void test_version_updates_safe(void **state)
{
	(void)state;
	assert_false(nri_version_updates_safe("v0.4.0"));
	assert_false(nri_version_updates_safe("v0.11.0"));
	assert_false(nri_version_updates_safe("v0.12.0"));
	assert_true(nri_version_updates_safe("v0.12.1"));
	assert_true(nri_version_updates_safe("v0.12.2"));
	assert_true(nri_version_updates_safe("v1.0.0"));
	assert_false(nri_version_updates_safe("unknown"));
	assert_false(nri_version_updates_safe(NULL));
}

static void script_configure_rejected(struct rt *rt)
{
	struct rt_result res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	rt->data = (void *)(intptr_t)res.code;
	free(res.payload);
}

static void test_configure_mask_not_subset(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start, .configure = h_configure_wide};
	struct rt rt = {.script = script_configure_rejected};
	struct plug p = {0};

	(void)state;
	assert_int_not_equal(run_session(&h, &rt, &p), 0);
	assert_int_equal((int)(intptr_t)rt.data, TTRPC_UNKNOWN);
}

static PB(PodSandbox) * make_pod(PB(PodSandbox) * pod, const char *id)
{
	*pod = (PB(PodSandbox))NRI__PKG__API__V1ALPHA1__POD_SANDBOX__INIT;
	pod->id = (char *)id;
	return pod;
}

static void script_sync_chunks(struct rt *rt)
{
	PB(SynchronizeRequest) m = NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;
	PB(PodSandbox) pods[3], *pp[1];
	int *out = rt->data;
	struct rt_result res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	m.pods = pp;
	m.n_pods = 1;
	for (int i = 0; i < 3; i++) {
		PB(SynchronizeResponse) * r;
		char id[16];

		snprintf(id, sizeof(id), "p%d", i);
		pp[0] = make_pod(&pods[i], id);
		m.more = i < 2;
		rt_call(rt, "Synchronize", &m.base, &res);
		assert_int_equal(res.code, 0);
		r = nri__pkg__api__v1alpha1__synchronize_response__unpack(NULL, res.len,
									  res.payload);
		assert_non_null(r);
		out[2 * i] = r->more;
		out[2 * i + 1] = (int)r->n_update;
		nri__pkg__api__v1alpha1__synchronize_response__free_unpacked(r, NULL);
		free(res.payload);
	}
}

static void test_synchronize_more_chunks(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start, .synchronize = h_sync};
	int out[6] = {0};
	struct rt rt = {.script = script_sync_chunks, .data = out};
	struct plug p = {0};

	(void)state;
	run_session(&h, &rt, &p);
	assert_int_equal(p.syncs, 1); /* once, on the final chunk */
	assert_int_equal(p.sync_pods, 3);
	assert_int_equal(out[0], 1); /* more = true, no updates */
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	assert_int_equal(out[3], 0);
	assert_int_equal(out[4], 0); /* final: more = false with the handler's update */
	assert_int_equal(out[5], 1);
}

static void script_unknown(struct rt *rt)
{
	struct rt_result *out = rt->data, res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	rt_call(rt, "NoSuchMethod", NULL, &out[0]);
	rt_call_svc(rt, "nri.pkg.api.v1alpha1.Other", "Configure", NULL, &out[1]);
	/* A dedicated RPC whose handler is absent: success, empty. */
	rt_call(rt, "RemoveContainer", NULL, &out[2]);
	rt_call(rt, "Shutdown", NULL, &out[3]); /* no handler: Empty, and we stay up */
	rt_call(rt, "StartContainer", NULL, &out[4]);
}

static void test_serve_unknown_method_code12(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct rt_result out[5];
	struct rt rt = {.script = script_unknown, .data = out};
	struct plug p = {0};

	(void)state;
	run_session(&h, &rt, &p);
	assert_int_equal(out[0].code, TTRPC_UNIMPLEMENTED);
	assert_string_equal(out[0].msg, "method NoSuchMethod");
	assert_int_equal(out[1].code, TTRPC_UNIMPLEMENTED);
	assert_string_equal(out[1].msg, "service nri.pkg.api.v1alpha1.Other");
	assert_int_equal(out[2].code, 0);
	assert_int_equal(out[2].len, 0);
	assert_int_equal(out[3].code, 0);
	assert_int_equal(out[4].code, 0);
	assert_int_equal(p.starts, 1);
	for (int i = 0; i < 5; i++)
		free(out[i].payload);
}

static void script_state_change(struct rt *rt)
{
	PB(StateChangeEvent) e = NRI__PKG__API__V1ALPHA1__STATE_CHANGE_EVENT__INIT;
	PB(StartContainerRequest) sc = NRI__PKG__API__V1ALPHA1__START_CONTAINER_REQUEST__INIT;
	PB(Container) ctr = NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	PB(PodSandbox) pod;
	struct rt_result *out = rt->data, res;

	rt_configure(rt, "nri-sim", "v1", "v0.9.0", &res);
	free(res.payload);
	e.event = NRI__PKG__API__V1ALPHA1__EVENT__START_CONTAINER;
	e.pod = make_pod(&pod, "pod0");
	ctr.id = (char *)"ctr-sc";
	e.container = &ctr;
	rt_call(rt, "StateChange", &e.base, &out[0]);
	e.event = NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_CONTAINER; /* no handler: ignored */
	rt_call(rt, "StateChange", &e.base, &out[1]);
	sc.pod = &pod;
	ctr.id = (char *)"ctr-rpc";
	sc.container = &ctr;
	rt_call(rt, "StartContainer", &sc.base, &out[2]);
}

static void test_serve_state_change_dispatch(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct rt_result out[3];
	struct rt rt = {.script = script_state_change, .data = out};
	struct plug p = {0};

	(void)state;
	run_session(&h, &rt, &p);
	for (int i = 0; i < 3; i++)
		assert_int_equal(out[i].code, 0);
	assert_int_equal(p.starts, 2);
	assert_string_equal(p.last_ctr, "ctr-rpc");
}

static void script_stop_error(struct rt *rt)
{
	PB(StopContainerRequest) m = NRI__PKG__API__V1ALPHA1__STOP_CONTAINER_REQUEST__INIT;
	struct rt_result *out = rt->data, res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	rt_call(rt, "StopContainer", &m.base, &out[0]);
}

static void test_serve_handler_error_code2(void **state)
{
	struct nri_stub_handlers h = {.stop_container = h_stop_fail};
	struct rt_result out[1];
	struct rt rt = {.script = script_stop_error, .data = out};
	struct plug p = {0};

	(void)state;
	run_session(&h, &rt, &p);
	assert_int_equal(p.stop_calls, 1);
	assert_int_equal(out[0].code, TTRPC_UNKNOWN);
	assert_string_equal(out[0].msg, "refusing to stop ctr");
}

static void script_create(struct rt *rt)
{
	PB(CreateContainerRequest) m = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_REQUEST__INIT;
	PB(Container) ctr = NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	PB(PodSandbox) pod;
	PB(CreateContainerResponse) * r;
	struct rt_result res;
	int *out = rt->data;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	ctr.id = (char *)"c-new";
	m.pod = make_pod(&pod, "pod0");
	m.container = &ctr;
	rt_call(rt, "CreateContainer", &m.base, &res);
	assert_int_equal(res.code, 0);
	r = nri__pkg__api__v1alpha1__create_container_response__unpack(NULL, res.len, res.payload);
	assert_non_null(r);
	out[0] = (int)r->n_update;
	out[1] = r->n_update ? strcmp(r->update[0]->container_id, "other") : -1;
	out[2] = r->adjust && r->adjust->n_annotations == 1 && r->adjust->linux_ &&
		 r->adjust->linux_->resources && r->adjust->linux_->resources->cpu &&
		 !strcmp(r->adjust->linux_->resources->cpu->cpus, "1");
	nri__pkg__api__v1alpha1__create_container_response__free_unpacked(r, NULL);
	free(res.payload);
	for (int i = 0; i < 50 && rt->n_updates == 0; i++)
		nri_trunk_run_once(rt->t, 20);
}

static void test_update_containers_queued_after_handler(void **state)
{
	struct nri_stub_handlers h = {.create_container = h_create};
	int out[3] = {0};
	struct rt rt = {.script = script_create, .data = out};
	struct plug p = {0};

	(void)state;
	run_session(&h, &rt, &p);
	assert_int_equal(p.creates, 1);
	assert_int_equal(p.update_rc, -EINVAL); /* an update of the container being created */
	assert_int_equal(out[0], 1);		/* only "other" went out */
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	assert_int_equal(p.queue_rc, 0);
	assert_int_equal(rt.n_updates, 1);
	assert_int_equal(rt.n_update_entries, 1);
	assert_int_equal(rt.updates_while_pending, 0); /* not sent from inside the handler */
}

/* A StartContainer that queues an update of "ghost1" and "alive". */
static int h_start_queue(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			 void *ud)
{
	struct nri_resources res = {.cpus = "0-1"};
	struct nri_reply *u = nri_stub_new_updates(s);

	(void)pod, (void)ctr;
	assert_non_null(u);
	assert_int_equal(nri_reply_update(u, "ghost1", &res, false), 0);
	assert_int_equal(nri_reply_update(u, "alive", &res, false), 0);
	((struct plug *)ud)->queue_rc = nri_stub_update_containers(s, u, NULL, NULL);
	return 0;
}

static void script_start_then_updates(struct rt *rt)
{
	PB(StartContainerRequest) sc = NRI__PKG__API__V1ALPHA1__START_CONTAINER_REQUEST__INIT;
	PB(Container) ctr = NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	PB(PodSandbox) pod;
	struct rt_result res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	sc.pod = make_pod(&pod, "pod0");
	ctr.id = (char *)"c1";
	sc.container = &ctr;
	rt_call(rt, "StartContainer", &sc.base, &res);
	free(res.payload);
	for (int i = 0; i < 50 && rt->n_updates == 0; i++)
		nri_trunk_run_once(rt->t, 20);
}

/*
 * The runtime's word on an unsolicited update reaches the plugin: CRI-O names the
 * containers it failed (one it no longer knows), containerd answers with an error
 * status and no list, so every container of that request is reported; a success
 * reports nothing.
 */
static void test_update_containers_failures_reported(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start_queue};
	struct plug p = {0};

	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		struct rt rt = {.script = script_start_then_updates, .updates_mode = mode};

		memset(&failed_seen, 0, sizeof(failed_seen));
		run_session(&h, &rt, &p);
		assert_int_equal(p.queue_rc, 0);
		assert_int_equal(rt.n_updates, 1);
		assert_int_equal(failed_seen.calls, mode == 0 ? 0 : 1);
	}
	/* the last session (mode 2): every id of the request, with the status */
	assert_int_equal(failed_seen.code, TTRPC_UNKNOWN);
	assert_int_equal(failed_seen.n, 2);
	assert_string_equal(failed_seen.ids[0], "ghost1");
	assert_string_equal(failed_seen.ids[1], "alive");
	{
		struct rt rt = {.script = script_start_then_updates, .updates_mode = 1};

		memset(&failed_seen, 0, sizeof(failed_seen));
		run_session(&h, &rt, &p);
		assert_int_equal(failed_seen.calls, 1);
		assert_int_equal(failed_seen.code, 0);
		assert_int_equal(failed_seen.n, 1);
		assert_string_equal(failed_seen.ids[0], "ghost1");
	}
}

static void test_update_containers_not_connected(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	struct nri_reply *u;

	(void)state;
	nri_stub_options_init(&o);
	o.name = "x";
	o.idx = "01";
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), 0);
	u = nri_stub_new_updates(s);
	assert_non_null(u);
	assert_int_equal(nri_reply_adjust(u, &(struct nri_resources){0}), -EOPNOTSUPP);
	assert_int_equal(nri_stub_update_containers(s, u, NULL, NULL), -ENOTCONN);
	assert_false(nri_stub_is_connected(s));
	nri_stub_free(s);
}

struct loop_data {
	int pipe_rd, ticks, fd_calls, synced;
	bool removed;
};

static void on_pipe(struct nri_stub *s, int fd, short revents, void *ud)
{
	struct loop_data *d = ud;
	char c;

	(void)revents;
	d->fd_calls++;
	assert_int_equal(read(fd, &c, 1), 1);
	d->removed = nri_stub_remove_fd(s, fd) == 0;
}

static void on_tick(struct nri_stub *s, void *ud)
{
	struct loop_data *d = ud;

	if (++d->ticks == 3)
		nri_stub_stop(s);
}

static void on_synced(struct nri_stub *s, void *ud)
{
	(void)s;
	((struct loop_data *)ud)->synced++;
}

static void script_idle(struct rt *rt)
{
	struct rt_result res;

	rt_configure(rt, "nri-sim", "v1", "v0.12.2", &res);
	free(res.payload);
	rt_call(rt, "Synchronize", NULL, &res);
	free(res.payload);
	/* until the plugin side closes after nri_stub_stop() + nri_stub_free() */
	while (nri_trunk_run_once(rt->t, 100) >= 0)
		;
}

static void test_nri_stub_wait_fds_timers_stop(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct loop_data d = {0};
	struct rt rt = {.script = script_idle};
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	int sv[2], p[2];
	pthread_t th;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(
		nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, rt_serve, &rt, &rt.t), 0);
	nri_stub_options_init(&o);
	o.name = "loop";
	o.idx = "07";
	o.fd = sv[1];
	o.on_synchronized = on_synced;
	assert_int_equal(nri_stub_new(&h, &o, &d, &s), 0);
	assert_int_equal(nri_stub_add_fd(s, p[0], POLLIN, on_pipe, &d), 0);
	assert_int_equal(nri_stub_add_fd(s, p[0], POLLIN, on_pipe, &d), -EEXIST);
	assert_int_equal(nri_stub_add_timer(s, 20, on_tick, &d), 0);
	assert_int_equal(pthread_create(&th, NULL, rt_thread, &rt), 0);
	assert_int_equal(nri_stub_run(s), 0); /* returned because of nri_stub_stop() */
	assert_int_equal(d.ticks, 3);
	assert_int_equal(d.fd_calls, 1); /* removed from inside its own callback */
	assert_true(d.removed);
	assert_int_equal(d.synced, 1);
	assert_true(nri_stub_is_connected(s));
	assert_int_equal(nri_stub_request_timeout_ms(s), 1500);
	assert_int_equal(nri_stub_registration_timeout_ms(s), 5000); /* 0 in Configure: default */
	assert_string_equal(nri_stub_runtime_name(s), "nri-sim");
	nri_stub_free(s);
	pthread_join(th, NULL);
	close(p[0]);
	close(p[1]);
}

/* ---- lifecycle: the registration deadline, the redial backoff ------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define SAFETY_MS 5000 /* the runtime side gives up after this: a hang becomes a failure */

/* A runtime that takes RegisterPlugin and then says nothing, until the plugin hangs up. */
struct mute_rt {
	struct nri_trunk *t;
	bool registered, saw_eof;
	uint64_t eof_at;
};

static int mute_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	struct mute_rt *m = ud;

	if (strcmp(req->method, "RegisterPlugin"))
		return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, "nope");
	m->registered = true;
	return nri_trunk_reply(t, req->stream_id, NULL, 0);
}

static void *mute_thread(void *arg)
{
	struct mute_rt *m = arg;
	uint64_t end = now_ms() + SAFETY_MS;
	int r = 0;

	while (r >= 0 && now_ms() < end)
		r = nri_trunk_run_once(m->t, 50);
	m->saw_eof = r == -ECONNRESET;
	m->eof_at = now_ms();
	nri_trunk_free(m->t); /* after SAFETY_MS: closes, so a stub stuck waiting returns */
	m->t = NULL;
	return NULL;
}

/* Registered but never configured: the deadline fires, the stub says so and hangs up. */
static void test_nri_stub_start_registration_deadline(void **state)
{
	struct nri_stub_handlers h = {.start_container = h_start};
	struct mute_rt m = {0};
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	uint64_t t0, took;
	pthread_t th;
	int sv[2], r;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(
		nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, mute_serve, &m, &m.t), 0);
	nri_stub_options_init(&o);
	o.name = "mute";
	o.idx = "05";
	o.fd = sv[1];
	o.registration_timeout_ms = 300;
	assert_int_equal(nri_stub_new(&h, &o, NULL, &s), 0);
	assert_int_equal(nri_stub_registration_timeout_ms(s), 300);
	assert_int_equal(pthread_create(&th, NULL, mute_thread, &m), 0);
	t0 = now_ms();
	r = nri_stub_start(s);
	took = now_ms() - t0;
	pthread_join(th, NULL);
	print_message("registration deadline: start returned %d after %" PRIu64 " ms, runtime saw "
		      "EOF %" PRIu64 " ms after the start\n",
		      r, took, m.eof_at - t0);
	assert_true(m.registered);
	assert_int_equal(r, -ETIMEDOUT);
	assert_true(took >= 300);
	assert_true(took < SAFETY_MS);
	assert_true(m.saw_eof); /* the stub closed the connection, the runtime did not */
	assert_false(nri_stub_is_connected(s));
	/* a pre-launched plugin cannot redial: run reports the same and returns */
	assert_int_equal(nri_stub_run(s), -ENOTCONN);
	nri_stub_free(s);
}

/* The external runtime: a listening socket; records when each dial arrives. */
struct dial_rt {
	char dir[32], path[64];
	int lfd;
	uint64_t at[8];		 /* accept times, ms */
	uint64_t configured_end; /* when the configured session was closed, ms */
	int n, configure_nth, last;
	struct nri_stub *s;
};

static void dial_configure(struct dial_rt *d, int fd)
{
	struct rt rt = {0};
	struct rt_result res;

	assert_int_equal(nri_trunk_new(fd, NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, rt_serve, &rt, &rt.t),
			 0);
	while (!rt.registered && nri_trunk_run_once(rt.t, 100) >= 0)
		;
	rt_configure(&rt, "nri-sim", "v1", "v0.12.2", &res);
	assert_int_equal(res.code, 0);
	free(res.payload);
	nri_trunk_free(rt.t);
	d->configured_end = now_ms();
}

static void *dial_thread(void *arg)
{
	struct dial_rt *d = arg;
	struct pollfd p = {.fd = d->lfd, .events = POLLIN};

	while (d->n < d->last && poll(&p, 1, SAFETY_MS) == 1) {
		int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			break;
		d->at[d->n++] = now_ms();
		if (d->n == d->configure_nth)
			dial_configure(d, fd); /* resets the backoff */
		else
			close(fd); /* hang up at once: the stub must redial */
	}
	nri_stub_stop(d->s);
	return NULL;
}

static int dial_listen(struct dial_rt *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(d->dir, sizeof(d->dir), "/tmp/tg-stub-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/nri.sock", d->dir);
	memcpy(sa.sun_path, d->path, sizeof(d->path)); /* 64 < sizeof(sun_path) */
	d->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(d->lfd >= 0);
	assert_int_equal(bind(d->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(d->lfd, 8), 0);
	return 0;
}

static void count_close(struct nri_stub *s, void *ud)
{
	(void)s;
	(*(int *)ud)++;
}

/*
 * Redial delays double from backoff_min_ms up to backoff_max_ms and start over after a
 * session that got configured. Each gap between two dials is at least its delay (the
 * stub cannot dial earlier) and less than the next delay (it did not skip a step);
 * the margins are the delays themselves, so a loaded machine does not fail it.
 */
static void test_nri_stub_run_redial_backoff(void **state)
{
	static const uint64_t want[] = {200, 400, 800, 800}; /* min 200, max 800 */
	struct nri_stub_handlers h = {.start_container = h_start};
	struct dial_rt d = {.configure_nth = 5, .last = 6};
	struct nri_stub_options o;
	int closes = 0;
	pthread_t th;

	(void)state;
	dial_listen(&d);
	nri_stub_options_init(&o);
	o.name = "dialer";
	o.idx = "06";
	o.socket_path = d.path;
	o.reconnect = true;
	o.backoff_min_ms = 200;
	o.backoff_max_ms = 800;
	o.on_close = count_close;
	assert_int_equal(nri_stub_new(&h, &o, &closes, &d.s), 0);
	assert_int_equal(pthread_create(&th, NULL, dial_thread, &d), 0);
	assert_int_equal(nri_stub_run(d.s), 0); /* until the runtime side stops it */
	pthread_join(th, NULL);
	for (int i = 1; i < d.n; i++)
		print_message("redial %d after %" PRIu64 " ms\n", i,
			      d.at[i] - (i == d.configure_nth ? d.configured_end : d.at[i - 1]));
	assert_int_equal(d.n, 6);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t gap = d.at[i + 1] - d.at[i];

		if (gap < want[i] || gap >= 2 * want[i])
			fail_msg("redial %zu after %" PRIu64 " ms, want %" PRIu64 "..%" PRIu64,
				 i + 1, gap, want[i], 2 * want[i] - 1);
	}
	/* the 5th connection was configured: the next delay is the minimum again */
	assert_true(d.at[5] - d.configured_end >= 200);
	assert_true(d.at[5] - d.configured_end < 400);
	assert_int_equal(closes, 1); /* on_close only for the session that was configured */
	nri_stub_free(d.s);
	close(d.lfd);
	unlink(d.path);
	rmdir(d.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nri_stub_new_invalid),
		cmocka_unit_test(test_nri_stub_new_identity_from_env),
		cmocka_unit_test(test_configure_mask_versions),
		cmocka_unit_test(test_version_syncs_prelaunched),
		cmocka_unit_test(test_version_updates_safe),
		cmocka_unit_test(test_stub_dials_when_the_socket_reappears),
		cmocka_unit_test(test_stub_watch_arm_sees_a_socket_already_there),
		cmocka_unit_test(test_configure_mask_not_subset),
		cmocka_unit_test(test_synchronize_more_chunks),
		cmocka_unit_test(test_serve_unknown_method_code12),
		cmocka_unit_test(test_serve_state_change_dispatch),
		cmocka_unit_test(test_serve_handler_error_code2),
		cmocka_unit_test(test_update_containers_queued_after_handler),
		cmocka_unit_test(test_update_containers_failures_reported),
		cmocka_unit_test(test_update_containers_not_connected),
		cmocka_unit_test(test_nri_stub_wait_fds_timers_stop),
		cmocka_unit_test(test_nri_stub_start_registration_deadline),
		cmocka_unit_test(test_nri_stub_run_redial_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
