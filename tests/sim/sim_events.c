/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivering one lifecycle event to the plugin (doc §6.3/§6.4) and applying what comes
 * back. v0.9.0 sends the nine notification events as StateChange; v0.12.2 uses the
 * dedicated RPCs and falls back to StateChange for good on the first code 12.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static bool is_notification(int ev)
{
	switch (ev) {
	case NRI_EV_RUN_POD_SANDBOX:
	case NRI_EV_STOP_POD_SANDBOX:
	case NRI_EV_REMOVE_POD_SANDBOX:
	case NRI_EV_POST_CREATE_CONTAINER:
	case NRI_EV_START_CONTAINER:
	case NRI_EV_POST_START_CONTAINER:
	case NRI_EV_POST_UPDATE_CONTAINER:
	case NRI_EV_REMOVE_CONTAINER:
	case NRI_EV_POST_UPDATE_POD_SANDBOX:
		return true;
	default:
		return false;
	}
}

struct dedicated {
	int ev;
	const char *method;
	const ProtobufCMessageDescriptor *desc;
};

static const struct dedicated dedicated[] = {
	{NRI_EV_RUN_POD_SANDBOX, "RunPodSandbox", &PBD(run_pod_sandbox_request)},
	{NRI_EV_STOP_POD_SANDBOX, "StopPodSandbox", &PBD(stop_pod_sandbox_request)},
	{NRI_EV_REMOVE_POD_SANDBOX, "RemovePodSandbox", &PBD(remove_pod_sandbox_request)},
	{NRI_EV_POST_CREATE_CONTAINER, "PostCreateContainer", &PBD(post_create_container_request)},
	{NRI_EV_START_CONTAINER, "StartContainer", &PBD(start_container_request)},
	{NRI_EV_POST_START_CONTAINER, "PostStartContainer", &PBD(post_start_container_request)},
	{NRI_EV_POST_UPDATE_CONTAINER, "PostUpdateContainer", &PBD(post_update_container_request)},
	{NRI_EV_REMOVE_CONTAINER, "RemoveContainer", &PBD(remove_container_request)},
	{NRI_EV_POST_UPDATE_POD_SANDBOX, "PostUpdatePodSandbox",
	 &PBD(post_update_pod_sandbox_request)},
};

static const struct dedicated *dedicated_for(int ev)
{
	for (size_t i = 0; i < sizeof(dedicated) / sizeof(dedicated[0]); i++) {
		if (dedicated[i].ev == ev)
			return &dedicated[i];
	}
	return NULL;
}

/* Sets a message-typed field by name: the nine request types differ only in type name. */
static void set_field(ProtobufCMessage *m, const char *name, void *value)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	if (f && f->type == PROTOBUF_C_TYPE_MESSAGE)
		*(void **)((char *)m + f->offset) = value;
}

struct ev_ctx {
	struct sim *s;
	struct sim_arena a;
	int ev;
	struct sim_pod *pod;
	struct sim_ctr *ctr;
	PB(PodSandbox) * pod_pb;
	PB(Container) * ctr_pb;
	const struct sim_res *req_res;
	int moved; /* cpusets the reply's updates changed */
};

static int send_state_change(struct ev_ctx *c, struct sim_call_res *res)
{
	PB(StateChangeEvent) m = NRI__PKG__API__V1ALPHA1__STATE_CHANGE_EVENT__INIT;

	m.event = (Nri__Pkg__Api__V1alpha1__Event)c->ev;
	m.pod = c->pod_pb;
	m.container = c->ctr_pb;
	return sim_call(c->s, "StateChange", &m.base, c->s->o.request_timeout_ms, res);
}

static int send_notification(struct ev_ctx *c)
{
	const struct dedicated *d = dedicated_for(c->ev);
	struct sim *s = c->s;
	struct sim_call_res res;
	ProtobufCMessage *m;
	int r;

	if (!sim_nri_at_least(s, 12, 0) || s->state_change_fallback || !d) {
		r = send_state_change(c, &res);
		sim_record(s, "StateChange", c->ev, c->pod->id, c->ctr ? c->ctr->id : NULL, &res,
			   -1);
		sim_call_res_done(&res);
		return r;
	}
	m = sim_arena_alloc(&c->a, d->desc->sizeof_message);
	if (!m)
		return -ENOMEM;
	protobuf_c_message_init(d->desc, m);
	set_field(m, "pod", c->pod_pb);
	set_field(m, "container", c->ctr_pb);
	r = sim_call(s, d->method, m, s->o.request_timeout_ms, &res);
	sim_record(s, d->method, c->ev, c->pod->id, c->ctr ? c->ctr->id : NULL, &res, -1);
	sim_call_res_done(&res);
	if (r == TTRPC_UNIMPLEMENTED) { /* doc §6.3: permanent fallback for all nine */
		s->state_change_fallback = true;
		sim_error(s, "plugin does not implement %s: falling back to StateChange",
			  d->method);
		return send_notification(c);
	}
	return r;
}

static void create_adjust(struct ev_ctx *c, const PB(ContainerAdjustment) * adj)
{
	if (!adj)
		return;
	if (adj->linux_ && adj->linux_->resources)
		sim_ctr_apply(c->ctr, adj->linux_->resources);
	for (size_t i = 0; i < adj->n_annotations; i++)
		sim_kvs_set(&c->ctr->annotations, adj->annotations[i]->key,
			    adj->annotations[i]->value);
}

static void evictions(struct sim *s, PB(ContainerEviction) * *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_ctr *v = sim_model_ctr(&s->model, e[i]->container_id);

		if (s->o.honor_evictions && v) {
			v->state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
			sim_error(s, "evicted %s: %s", v->id, e[i]->reason);
		} else {
			sim_error(s, "eviction of %s ignored", e[i]->container_id);
		}
	}
}

/* Returns > 0 when the creation fails because of the reply's content. */
static int create_apply(struct ev_ctx *c, const struct sim_call_res *res, int *n_upd)
{
	PB(CreateContainerResponse) *r = nri__pkg__api__v1alpha1__create_container_response__unpack(
		NULL, res->len, res->payload);
	int ret = 0;

	if (!r)
		return 1;
	for (size_t i = 0; i < r->n_update; i++) {
		if (!strcmp(r->update[i]->container_id, c->ctr->id)) {
			sim_error(c->s, "plugin updated container %s while it was being created",
				  c->ctr->id);
			ret = 1; /* doc §6.4: fails the creation */
		}
	}
	if (ret == 0) {
		create_adjust(c, r->adjust);
		*n_upd = sim_apply_updates(c->s, r->update, r->n_update, NULL, NULL, &c->moved);
		evictions(c->s, r->evict, r->n_evict);
	}
	nri__pkg__api__v1alpha1__create_container_response__free_unpacked(r, NULL);
	return ret;
}

static int send_create(struct ev_ctx *c)
{
	PB(CreateContainerRequest) m = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_REQUEST__INIT;
	struct sim_call_res res;
	int r, n_upd = 0;

	m.pod = c->pod_pb;
	m.container = c->ctr_pb;
	r = sim_call(c->s, "CreateContainer", &m.base, c->s->o.request_timeout_ms, &res);
	if (r == 0 && create_apply(c, &res, &n_upd) > 0)
		r = TTRPC_UNKNOWN;
	sim_record(c->s, "CreateContainer", c->ev, c->pod->id, c->ctr->id, &res, n_upd);
	sim_record_moved(c->s, c->moved);
	sim_call_res_done(&res);
	return r;
}

/* An UpdateContainer the plugin did not see still changes the container. */
static void apply_requested(int ev, struct sim_ctr *ctr, const struct sim_res *req)
{
	struct sim_arena a = {0};
	PB(LinuxResources) * pb;

	if (ev != NRI_EV_UPDATE_CONTAINER || !ctr || !req)
		return;
	pb = sim_res_build(&a, req);
	if (pb)
		sim_ctr_apply(ctr, pb);
	sim_arena_done(&a);
}

/* The target's own update replaces/extends the requested resources (doc §6.4). */
static int update_apply(struct ev_ctx *c, const struct sim_call_res *res, int *n_upd)
{
	PB(UpdateContainerResponse) *r = nri__pkg__api__v1alpha1__update_container_response__unpack(
		NULL, res->len, res->payload);

	if (!r)
		return 1;
	apply_requested(c->ev, c->ctr, c->req_res);
	*n_upd = sim_apply_updates(c->s, r->update, r->n_update, NULL, NULL, &c->moved);
	evictions(c->s, r->evict, r->n_evict);
	nri__pkg__api__v1alpha1__update_container_response__free_unpacked(r, NULL);
	return 0;
}

static int send_update(struct ev_ctx *c)
{
	PB(UpdateContainerRequest) m = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINER_REQUEST__INIT;
	struct sim_call_res res;
	int r, n_upd = 0;

	m.pod = c->pod_pb;
	m.container = c->ctr_pb;
	m.linux_resources = c->req_res ? sim_res_build(&c->a, c->req_res) : NULL;
	r = sim_call(c->s, "UpdateContainer", &m.base, c->s->o.request_timeout_ms, &res);
	if (r == 0 && update_apply(c, &res, &n_upd) > 0)
		r = TTRPC_UNKNOWN;
	sim_record(c->s, "UpdateContainer", c->ev, c->pod->id, c->ctr->id, &res, n_upd);
	sim_record_moved(c->s, c->moved);
	sim_call_res_done(&res);
	return r;
}

static int send_stop(struct ev_ctx *c)
{
	PB(StopContainerRequest) m = NRI__PKG__API__V1ALPHA1__STOP_CONTAINER_REQUEST__INIT;
	PB(StopContainerResponse) * r;
	struct sim_call_res res;
	int ret, n_upd = 0;

	m.pod = c->pod_pb;
	m.container = c->ctr_pb;
	ret = sim_call(c->s, "StopContainer", &m.base, c->s->o.request_timeout_ms, &res);
	if (ret == 0) {
		r = nri__pkg__api__v1alpha1__stop_container_response__unpack(NULL, res.len,
									     res.payload);
		if (r) {
			n_upd = sim_apply_updates(c->s, r->update, r->n_update, NULL, NULL,
						  &c->moved);
			nri__pkg__api__v1alpha1__stop_container_response__free_unpacked(r, NULL);
		}
	}
	sim_record(c->s, "StopContainer", c->ev, c->pod->id, c->ctr->id, &res, n_upd);
	sim_record_moved(c->s, c->moved);
	sim_call_res_done(&res);
	return ret;
}

static int send_update_pod(struct ev_ctx *c)
{
	PB(UpdatePodSandboxRequest) m = NRI__PKG__API__V1ALPHA1__UPDATE_POD_SANDBOX_REQUEST__INIT;
	struct sim_call_res res;
	int r;

	m.pod = c->pod_pb;
	m.linux_resources = c->req_res ? sim_res_build(&c->a, c->req_res) : NULL;
	r = sim_call(c->s, "UpdatePodSandbox", &m.base, c->s->o.request_timeout_ms, &res);
	sim_record(c->s, "UpdatePodSandbox", c->ev, c->pod->id, NULL, &res, -1);
	sim_call_res_done(&res);
	return r;
}

static int dispatch(struct ev_ctx *c)
{
	if (is_notification(c->ev))
		return send_notification(c);
	switch (c->ev) {
	case NRI_EV_CREATE_CONTAINER:
		return send_create(c);
	case NRI_EV_UPDATE_CONTAINER:
		return send_update(c);
	case NRI_EV_STOP_CONTAINER:
		return send_stop(c);
	case NRI_EV_UPDATE_POD_SANDBOX:
		return send_update_pod(c);
	default:
		return -EINVAL;
	}
}

int sim_event(struct sim *s, int ev, struct sim_pod *pod, struct sim_ctr *ctr,
	      const struct sim_res *req_res, bool *ret_failed)
{
	struct ev_ctx c = {.s = s, .ev = ev, .pod = pod, .ctr = ctr, .req_res = req_res};
	int r;

	*ret_failed = false;
	if (!s->connected || !(s->events & NRI_EV_BIT(ev))) {
		apply_requested(ev, ctr, req_res);
		return 0;
	}
	c.pod_pb = sim_pod_build(&c.a, &s->model, pod);
	c.ctr_pb = ctr ? sim_ctr_build(&c.a, &s->model, ctr) : NULL;
	if (!c.pod_pb || (ctr && !c.ctr_pb)) {
		sim_arena_done(&c.a);
		return -ENOMEM;
	}
	r = dispatch(&c);
	sim_arena_done(&c.a);
	if (r < 0)
		apply_requested(ev, ctr, req_res);
	/* An error reply fails the operation; a lost plugin counts as "no answer" (§6.6). */
	*ret_failed = r > 0;
	return r < 0 ? 0 : r;
}
