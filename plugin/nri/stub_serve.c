/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Plugin service (conn 1): unpack each request, run the plugin's handler and
 * answer exactly once. Mirrors pkg/stub (doc §9): a missing handler answers success
 * with an empty response, a failing handler answers code 2 (which fails the runtime's
 * operation but keeps us connected), an unknown method or service answers code 12 so
 * a v0.12 runtime falls back to StateChange (doc §6.3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/nri/stub_priv.h"

#define PB(x)  Nri__Pkg__Api__V1alpha1__##x
#define PBD(x) nri__pkg__api__v1alpha1__##x##__descriptor

struct serve_ctx {
	struct nri_stub *s;
	struct nri_trunk *t;
	const struct nri_request *req;
};

/* msg = prefix + arg: no caller-supplied format strings (-Wformat-nonliteral). */
static int reply_error(const struct serve_ctx *c, int code, const char *prefix, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s%s", prefix, arg);
	return nri_trunk_reply_error(c->t, c->req->stream_id, code, msg);
}

static int reply_handler_error(const struct serve_ctx *c, int rc, const struct nri_reply *r)
{
	const char *msg = r && r->error ? r->error : strerror(rc < 0 ? -rc : EIO);

	return nri_trunk_reply_error(c->t, c->req->stream_id, TTRPC_UNKNOWN, msg);
}

static int reply_packed(const struct serve_ctx *c, const struct nri_reply *r, bool more)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = stub_reply_pack(r, more, &buf, &len);

	if (ret < 0)
		return reply_error(c, TTRPC_INTERNAL, "", strerror(-ret));
	ret = nri_trunk_reply(c->t, c->req->stream_id, buf, len);
	free(buf);
	return ret;
}

static int reply_empty(const struct serve_ctx *c)
{
	return nri_trunk_reply(c->t, c->req->stream_id, NULL, 0);
}

static ProtobufCMessage *unpack(const struct serve_ctx *c, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m =
		protobuf_c_message_unpack(d, NULL, c->req->payload_len, c->req->payload);

	if (!m)
		reply_error(c, TTRPC_INVALID_ARGUMENT, "failed to unmarshal request of ",
			    c->req->method);
	return m;
}

/* Notification events (doc §6.4): the answer carries only success or an error. */
static int notify(struct nri_stub *s, int ev, const PB(PodSandbox) * pod, const PB(Container) * ctr)
{
	const struct nri_stub_handlers *h = &s->h;

	switch (ev) {
	case NRI_EV_RUN_POD_SANDBOX:
		return h->run_pod_sandbox ? h->run_pod_sandbox(s, pod, s->ud) : 0;
	case NRI_EV_STOP_POD_SANDBOX:
		return h->stop_pod_sandbox ? h->stop_pod_sandbox(s, pod, s->ud) : 0;
	case NRI_EV_REMOVE_POD_SANDBOX:
		return h->remove_pod_sandbox ? h->remove_pod_sandbox(s, pod, s->ud) : 0;
	case NRI_EV_POST_UPDATE_POD_SANDBOX:
		return h->post_update_pod_sandbox ? h->post_update_pod_sandbox(s, pod, s->ud) : 0;
	case NRI_EV_POST_CREATE_CONTAINER:
		return h->post_create_container ? h->post_create_container(s, pod, ctr, s->ud) : 0;
	case NRI_EV_START_CONTAINER:
		return h->start_container ? h->start_container(s, pod, ctr, s->ud) : 0;
	case NRI_EV_POST_START_CONTAINER:
		return h->post_start_container ? h->post_start_container(s, pod, ctr, s->ud) : 0;
	case NRI_EV_POST_UPDATE_CONTAINER:
		return h->post_update_container ? h->post_update_container(s, pod, ctr, s->ud) : 0;
	case NRI_EV_REMOVE_CONTAINER:
		return h->remove_container ? h->remove_container(s, pod, ctr, s->ud) : 0;
	default:
		return 0; /* the Go stub ignores events it has no notification for */
	}
}

/* Reads a message-typed field by name, so one function serves all nine request types. */
static void *field_ptr(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return NULL;
	return *(void **)((char *)m + f->offset);
}

static int serve_notification(const struct serve_ctx *c, const ProtobufCMessageDescriptor *d,
			      int ev)
{
	ProtobufCMessage *m = unpack(c, d);
	int rc;

	if (!m)
		return 0;
	rc = notify(c->s, ev, field_ptr(m, "pod"), field_ptr(m, "container"));
	protobuf_c_message_free_unpacked(m, NULL);
	return rc < 0 ? reply_handler_error(c, rc, NULL) : reply_empty(c);
}

static int serve_state_change(const struct serve_ctx *c)
{
	PB(StateChangeEvent) *e = (PB(StateChangeEvent) *)unpack(c, &PBD(state_change_event));
	int rc;

	if (!e)
		return 0;
	rc = notify(c->s, (int)e->event, e->pod, e->container);
	nri__pkg__api__v1alpha1__state_change_event__free_unpacked(e, NULL);
	return rc < 0 ? reply_handler_error(c, rc, NULL) : reply_empty(c);
}

static int configure_mask(struct nri_stub *s, const PB(ConfigureRequest) * m, char *err,
			  size_t errlen)
{
	uint32_t events = 0, allowed;
	const char *cfg = m->config ? m->config : "";
	int rc = 0;

	if (s->h.configure)
		rc = s->h.configure(s, cfg, s->runtime_name, s->runtime_version, s->ud, &events);
	if (rc < 0) {
		snprintf(err, errlen, "configure handler failed: %s", strerror(-rc));
		return rc;
	}
	if (events == 0)
		events = s->detected;
	if (events & ~s->detected) {
		snprintf(err, errlen, "events 0x%x outside the handlers' mask 0x%x", events,
			 s->detected);
		return -EINVAL;
	}
	allowed = stub_version_mask(s->nri_version);
	events &= allowed;
	if (!events) { /* 0 would mean "everything" to the runtime */
		snprintf(err, errlen, "no subscribed event is known to NRI %s", s->nri_version);
		return -EINVAL;
	}
	s->events = events;
	return 0;
}

static int configure_store(struct nri_stub *s, const PB(ConfigureRequest) * m)
{
	char *name = strdup(m->runtime_name ? m->runtime_name : "");
	char *version = strdup(m->runtime_version ? m->runtime_version : "");
	char *nri = NULL;

	if (!name || !version ||
	    stub_version_resolve(m->nri_version, m->runtime_name, m->runtime_version, &nri) < 0) {
		free(name);
		free(version);
		return -ENOMEM;
	}
	free(s->runtime_name);
	free(s->runtime_version);
	free(s->nri_version);
	s->runtime_name = name;
	s->runtime_version = version;
	s->nri_version = nri;
	s->registration_timeout_ms = m->registration_timeout > 0 ? (unsigned)m->registration_timeout
								 : s->o.registration_timeout_ms;
	s->request_timeout_ms =
		m->request_timeout > 0 ? (unsigned)m->request_timeout : STUB_DEFAULT_REQUEST_MS;
	return 0;
}

static int serve_configure(const struct serve_ctx *c)
{
	PB(ConfigureRequest) *m = (PB(ConfigureRequest) *)unpack(c, &PBD(configure_request));
	PB(ConfigureResponse) resp = NRI__PKG__API__V1ALPHA1__CONFIGURE_RESPONSE__INIT;
	uint8_t buf[16];
	char err[256] = "";
	size_t len;
	int rc;

	if (!m) {
		c->s->configure_failed = true;
		return 0;
	}
	rc = configure_store(c->s, m);
	if (rc == 0)
		rc = configure_mask(c->s, m, err, sizeof(err));
	nri__pkg__api__v1alpha1__configure_request__free_unpacked(m, NULL);
	if (rc < 0) {
		c->s->configure_failed = true;
		return reply_error(c, TTRPC_UNKNOWN, "", *err ? err : strerror(-rc));
	}
	resp.events = (int32_t)c->s->events;
	len = nri__pkg__api__v1alpha1__configure_response__pack(&resp, buf);
	c->s->configured = true;
	stub_session_configured(c->s);
	return nri_trunk_reply(c->t, c->req->stream_id, buf, len);
}

void stub_sync_reset(struct nri_stub *s)
{
	for (size_t i = 0; i < s->n_sync_chunks; i++)
		nri__pkg__api__v1alpha1__synchronize_request__free_unpacked(s->sync_chunks[i],
									    NULL);
	free(s->sync_chunks);
	s->sync_chunks = NULL;
	s->n_sync_chunks = 0;
}

/* Gather every chunk's pods and containers into two flat arrays for the one handler call. */
static int sync_call(struct nri_stub *s, struct nri_reply *r)
{
	size_t n_pods = 0, n_ctrs = 0, ip = 0, ic = 0;
	PB(PodSandbox) * *pods;
	PB(Container) * *ctrs;
	int rc;

	for (size_t i = 0; i < s->n_sync_chunks; i++) {
		PB(SynchronizeRequest) *m = s->sync_chunks[i];
		n_pods += m->n_pods;
		n_ctrs += m->n_containers;
	}
	pods = calloc(n_pods + 1, sizeof(*pods));
	ctrs = calloc(n_ctrs + 1, sizeof(*ctrs));
	if (!pods || !ctrs) {
		free(pods);
		free(ctrs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_sync_chunks; i++) {
		PB(SynchronizeRequest) *m = s->sync_chunks[i];
		for (size_t j = 0; j < m->n_pods; j++)
			pods[ip++] = m->pods[j];
		for (size_t j = 0; j < m->n_containers; j++)
			ctrs[ic++] = m->containers[j];
	}
	rc = s->h.synchronize(s, pods, n_pods, ctrs, n_ctrs, r, s->ud);
	free(pods);
	free(ctrs);
	return rc;
}

static int sync_keep(struct nri_stub *s, PB(SynchronizeRequest) * m)
{
	void **arr = realloc(s->sync_chunks, (s->n_sync_chunks + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	s->sync_chunks = arr;
	arr[s->n_sync_chunks++] = m;
	return 0;
}

static int serve_synchronize(const struct serve_ctx *c)
{
	PB(SynchronizeRequest) *m = (PB(SynchronizeRequest) *)unpack(c, &PBD(synchronize_request));
	struct nri_stub *s = c->s;
	struct nri_reply *r = NULL;
	bool more;
	int rc;

	if (!m)
		return 0;
	more = m->more;
	rc = sync_keep(s, m);
	if (rc < 0) {
		nri__pkg__api__v1alpha1__synchronize_request__free_unpacked(m, NULL);
		return reply_error(c, TTRPC_INTERNAL, "", strerror(-rc));
	}
	rc = stub_reply_new(STUB_REPLY_SYNC, NULL, &r);
	/* Partial chunks: only `more = true`, no updates, or the runtime drops us (§6.1). */
	if (rc == 0 && !more && s->h.synchronize)
		rc = sync_call(s, r);
	if (rc < 0)
		rc = reply_handler_error(c, rc, r);
	else
		rc = reply_packed(c, r, more);
	stub_reply_free(r);
	if (!more) {
		stub_sync_reset(s);
		s->synchronized = true;
		if (s->o.on_synchronized)
			s->o.on_synchronized(s, s->ud);
	}
	return rc;
}

static int serve_create(const struct serve_ctx *c)
{
	PB(CreateContainerRequest) *m =
		(PB(CreateContainerRequest) *)unpack(c, &PBD(create_container_request));
	struct nri_reply *r = NULL;
	int rc;

	if (!m)
		return 0;
	rc = stub_reply_new(STUB_REPLY_CREATE, m->container ? m->container->id : NULL, &r);
	if (rc == 0 && c->s->h.create_container)
		rc = c->s->h.create_container(c->s, m->pod, m->container, r, c->s->ud);
	rc = rc < 0 ? reply_handler_error(c, rc, r) : reply_packed(c, r, false);
	stub_reply_free(r);
	nri__pkg__api__v1alpha1__create_container_request__free_unpacked(m, NULL);
	return rc;
}

static int serve_update(const struct serve_ctx *c)
{
	PB(UpdateContainerRequest) *m =
		(PB(UpdateContainerRequest) *)unpack(c, &PBD(update_container_request));
	struct nri_reply *r = NULL;
	int rc;

	if (!m)
		return 0;
	rc = stub_reply_new(STUB_REPLY_UPDATE, NULL, &r);
	if (rc == 0 && c->s->h.update_container)
		rc = c->s->h.update_container(c->s, m->pod, m->container, m->linux_resources, r,
					      c->s->ud);
	rc = rc < 0 ? reply_handler_error(c, rc, r) : reply_packed(c, r, false);
	stub_reply_free(r);
	nri__pkg__api__v1alpha1__update_container_request__free_unpacked(m, NULL);
	return rc;
}

static int serve_stop(const struct serve_ctx *c)
{
	PB(StopContainerRequest) *m =
		(PB(StopContainerRequest) *)unpack(c, &PBD(stop_container_request));
	struct nri_reply *r = NULL;
	int rc;

	if (!m)
		return 0;
	rc = stub_reply_new(STUB_REPLY_STOP, NULL, &r);
	if (rc == 0 && c->s->h.stop_container)
		rc = c->s->h.stop_container(c->s, m->pod, m->container, r, c->s->ud);
	rc = rc < 0 ? reply_handler_error(c, rc, r) : reply_packed(c, r, false);
	stub_reply_free(r);
	nri__pkg__api__v1alpha1__stop_container_request__free_unpacked(m, NULL);
	return rc;
}

static int serve_update_pod(const struct serve_ctx *c)
{
	PB(UpdatePodSandboxRequest) *m =
		(PB(UpdatePodSandboxRequest) *)unpack(c, &PBD(update_pod_sandbox_request));
	int rc = 0;

	if (!m)
		return 0;
	if (c->s->h.update_pod_sandbox)
		rc = c->s->h.update_pod_sandbox(c->s, m->pod, m->overhead_linux_resources,
						m->linux_resources, c->s->ud);
	nri__pkg__api__v1alpha1__update_pod_sandbox_request__free_unpacked(m, NULL);
	return rc < 0 ? reply_handler_error(c, rc, NULL) : reply_empty(c);
}

static int serve_shutdown(const struct serve_ctx *c)
{
	int rc = c->s->h.shutdown ? c->s->h.shutdown(c->s, c->s->ud) : 0;

	return rc < 0 ? reply_handler_error(c, rc, NULL) : reply_empty(c);
}

/* No validator handler exists in this stub: accept (reject = false, empty reply). */
static int serve_validate(const struct serve_ctx *c)
{
	return reply_empty(c);
}

struct method {
	const char *name;
	int (*fn)(const struct serve_ctx *c);
	const ProtobufCMessageDescriptor *desc; /* notifications: request type */
	int event;
};

static const struct method methods[] = {
	{"Configure", serve_configure, NULL, 0},
	{"Synchronize", serve_synchronize, NULL, 0},
	{"Shutdown", serve_shutdown, NULL, 0},
	{"CreateContainer", serve_create, NULL, 0},
	{"UpdateContainer", serve_update, NULL, 0},
	{"StopContainer", serve_stop, NULL, 0},
	{"UpdatePodSandbox", serve_update_pod, NULL, 0},
	{"StateChange", serve_state_change, NULL, 0},
	{"ValidateContainerAdjustment", serve_validate, NULL, 0},
	{"RunPodSandbox", NULL, &PBD(run_pod_sandbox_request), NRI_EV_RUN_POD_SANDBOX},
	{"StopPodSandbox", NULL, &PBD(stop_pod_sandbox_request), NRI_EV_STOP_POD_SANDBOX},
	{"RemovePodSandbox", NULL, &PBD(remove_pod_sandbox_request), NRI_EV_REMOVE_POD_SANDBOX},
	{"PostUpdatePodSandbox", NULL, &PBD(post_update_pod_sandbox_request),
	 NRI_EV_POST_UPDATE_POD_SANDBOX},
	{"PostCreateContainer", NULL, &PBD(post_create_container_request),
	 NRI_EV_POST_CREATE_CONTAINER},
	{"StartContainer", NULL, &PBD(start_container_request), NRI_EV_START_CONTAINER},
	{"PostStartContainer", NULL, &PBD(post_start_container_request),
	 NRI_EV_POST_START_CONTAINER},
	{"PostUpdateContainer", NULL, &PBD(post_update_container_request),
	 NRI_EV_POST_UPDATE_CONTAINER},
	{"RemoveContainer", NULL, &PBD(remove_container_request), NRI_EV_REMOVE_CONTAINER},
};

int stub_serve(struct nri_trunk *t, const struct nri_request *req, void *userdata)
{
	struct serve_ctx c = {.s = userdata, .t = t, .req = req};

	if (strcmp(req->service, NRI_PLUGIN_SERVICE) != 0)
		return reply_error(&c, TTRPC_UNIMPLEMENTED, "service ", req->service);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		const struct method *m = &methods[i];
		int r;

		if (strcmp(req->method, m->name) != 0)
			continue;
		r = m->fn ? m->fn(&c) : serve_notification(&c, m->desc, m->event);
		if (c.s->h.after_reply)
			c.s->h.after_reply(c.s, c.s->ud);
		return r;
	}
	return reply_error(&c, TTRPC_UNIMPLEMENTED, "method ", req->method);
}
