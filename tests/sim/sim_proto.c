/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls into the plugin (with the request timeout as deadline), the Runtime service the
 * plugin calls (RegisterPlugin, UpdateContainers), and the handshake: RegisterPlugin
 * within the registration timeout, Configure with mask validation, Synchronize split
 * into `more` chunks.
 *
 * --lock-inversion reproduces containerd#13733 (fixed in NRI v0.12.1, containerd/nri#301):
 * the runtime's UpdateContainer to the plugin holds the container's lock and waits for
 * the NRI lock's answer, a plugin's UpdateContainers holds the NRI lock and waits for
 * the container's. When the two overlap (an UpdateContainers read while an
 * UpdateContainer is in flight, or while its answer is being applied) containerd
 * deadlocks: here the UpdateContainers is counted, logged and never answered, and every
 * later one hangs too (the NRI lock stays taken).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static const char *const event_names[] = {
	"UNKNOWN",
	"RUN_POD_SANDBOX",
	"STOP_POD_SANDBOX",
	"REMOVE_POD_SANDBOX",
	"CREATE_CONTAINER",
	"POST_CREATE_CONTAINER",
	"START_CONTAINER",
	"POST_START_CONTAINER",
	"UPDATE_CONTAINER",
	"POST_UPDATE_CONTAINER",
	"STOP_CONTAINER",
	"REMOVE_CONTAINER",
	"UPDATE_POD_SANDBOX",
	"POST_UPDATE_POD_SANDBOX",
	"VALIDATE_CONTAINER_ADJUSTMENT",
};

uint32_t sim_known_events(const struct sim *s)
{
	return sim_nri_at_least(s, 10, 0) ? 0x3FFFu : 0x7FFu;
}

void sim_call_res_done(struct sim_call_res *r)
{
	free(r->msg);
	free(r->payload);
	*r = (struct sim_call_res){0};
}

/* How long the runtime holds its locks while it applies an UpdateContainer's answer. */
#define SIM_LOCK_APPLY_MS 50

static void call_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
		      size_t len, void *userdata)
{
	struct sim_call_res *r = userdata;

	(void)t;
	r->done = true;
	r->code = code;
	r->msg = strdup(msg ? msg : "");
	r->len = 0;
	if (len && (r->payload = malloc(len))) {
		memcpy(r->payload, payload, len);
		r->len = len;
	}
}

/*
 * --lock-inversion: containerd applies an UpdateContainer's answer with the container's
 * lock still held; what the plugin sends meanwhile (typically queued by the very handler
 * that answered) meets it.
 */
static void hold_locks_applying(struct sim *s, const char *method)
{
	uint64_t end = sim_now_us() + SIM_LOCK_APPLY_MS * 1000;

	if (!s->o.lock_inversion || strcmp(method, "UpdateContainer"))
		return;
	for (uint64_t now; s->t && (now = sim_now_us()) < end;) {
		if (nri_trunk_run_once(s->t, (int)((end - now + 999) / 1000)) < 0)
			break; /* the caller's next read sees the EOF again */
	}
}

int sim_call(struct sim *s, const char *method, const ProtobufCMessage *m, unsigned int timeout_ms,
	     struct sim_call_res *res)
{
	size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
	uint8_t *buf = malloc(len + 1);
	uint64_t t0 = sim_now_us();
	int r;

	*res = (struct sim_call_res){0};
	if (!buf || !s->t)
		return res->code = buf ? -ENOTCONN : -ENOMEM;
	if (m)
		protobuf_c_message_pack(m, buf);
	s->in_call = true;
	s->call_method = method;
	r = nri_trunk_call(s->t, SIM_NRI_SERVICE_PLUGIN, method, buf, len,
			   (int64_t)timeout_ms * 1000000, call_done, res);
	free(buf);
	if (r < 0)
		res->done = true, res->code = r;
	else
		sim_fault_after_send(s, method);
	while (!res->done && nri_trunk_run_once(s->t, -1) >= 0)
		;
	if (res->done && res->code == 0)
		hold_locks_applying(s, method);
	s->in_call = false;
	s->call_method = NULL;
	res->latency_us = sim_now_us() - t0;
	if (!res->done)
		res->code = -ECONNRESET;
	if (res->code < 0) {
		char why[128];
		snprintf(why, sizeof(why), "%s: %s", method,
			 res->code == -ETIMEDOUT ? "request timeout" : strerror(-res->code));
		sim_disconnect(s, why);
	} else {
		sim_run_deferred(s);
	}
	return res->code;
}

int64_t sim_t_ms(const struct sim *s)
{
	return (int64_t)((sim_now_us() - s->t0_us) / 1000);
}

void sim_record(struct sim *s, const char *method, int ev, const char *pod, const char *ctr,
		const struct sim_call_res *res, int n_updates)
{
	json_object *o = json_object_new_object();
	const char *outcome = res->code == 0 ? "ok" : res->code > 0 ? "error" : "disconnected";

	if (!o)
		return;
	if (res->code == -ETIMEDOUT)
		outcome = "timeout";
	json_object_object_add(o, "method", json_object_new_string(method));
	if (ev > 0 && ev < (int)(sizeof(event_names) / sizeof(event_names[0])))
		json_object_object_add(o, "event", json_object_new_string(event_names[ev]));
	if (pod)
		json_object_object_add(o, "pod", json_object_new_string(pod));
	if (ctr)
		json_object_object_add(o, "container", json_object_new_string(ctr));
	json_object_object_add(o, "latency_us", json_object_new_int64((int64_t)res->latency_us));
	json_object_object_add(o, "t_ms", json_object_new_int64(sim_t_ms(s)));
	json_object_object_add(o, "outcome", json_object_new_string(outcome));
	json_object_object_add(o, "code", json_object_new_int(res->code));
	if (res->code != 0)
		json_object_object_add(o, "message",
				       json_object_new_string(res->msg ? res->msg : ""));
	if (n_updates >= 0)
		json_object_object_add(o, "updates", json_object_new_int(n_updates));
	json_object_array_add(s->requests, o);
}

static bool name_ok(const struct sim *s, const char *name)
{
	if (!name || !*name)
		return false;
	if (!sim_nri_at_least(s, 12, 0)) /* before, only a non-empty name was required */
		return true;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_.+-", *p)))
			return false;
	}
	return true;
}

static bool idx_ok(const char *idx)
{
	return idx && strlen(idx) == 2 && idx[0] >= '0' && idx[0] <= '9' && idx[1] >= '0' &&
	       idx[1] <= '9';
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v ? v : "");
}

static int serve_register(struct sim *s, const struct nri_request *req)
{
	PB(RegisterPluginRequest) *m = nri__pkg__api__v1alpha1__register_plugin_request__unpack(
		NULL, req->payload_len, req->payload);
	char idx[3] = "", name[256] = "";

	if (!m) {
		s->register_failed = true;
		return nri_trunk_reply_error(s->t, req->stream_id, TTRPC_INVALID_ARGUMENT,
					     "failed to unmarshal RegisterPluginRequest");
	}
	if (s->o.launch_path) { /* launched: the file name is the identity */
		const char *base = s->o.launch_name ? s->o.launch_name : s->o.launch_path;
		const char *slash = strrchr(base, '/');
		base = slash ? slash + 1 : base;
		snprintf(idx, sizeof(idx), "%.2s", base);
		snprintf(name, sizeof(name), "%s", strlen(base) > 3 ? base + 3 : "");
	} else {
		snprintf(idx, sizeof(idx), "%s", m->plugin_idx ? m->plugin_idx : "");
		snprintf(name, sizeof(name), "%s", m->plugin_name ? m->plugin_name : "");
	}
	set_str(&s->plugin_name, name);
	set_str(&s->plugin_idx, idx);
	set_str(&s->plugin_nri_version, m->nri_version);
	nri__pkg__api__v1alpha1__register_plugin_request__free_unpacked(m, NULL);
	if (!idx_ok(idx) || !name_ok(s, name)) {
		s->register_failed = true;
		return nri_trunk_reply_error(s->t, req->stream_id, TTRPC_UNKNOWN,
					     "invalid plugin name or index");
	}
	s->registered = true;
	return nri_trunk_reply(s->t, req->stream_id, NULL, 0);
}

void sim_record_moved(struct sim *s, int n)
{
	size_t len = json_object_array_length(s->requests);

	if (len)
		json_object_object_add(json_object_array_get_idx(s->requests, len - 1), "moved",
				       json_object_new_int(n));
}

/* Whether two cpulists name different sets ("" = unset, all CPUs, differs from any). */
static bool cpus_differ(const char *a, const char *b)
{
	uint64_t x[SIM_MAX_CPUS / 64], y[SIM_MAX_CPUS / 64];

	if (!a || !*a || !b || !*b)
		return (a && *a) != (b && *b);
	if (sim_cpulist_parse(a, x) < 0 || sim_cpulist_parse(b, y) < 0)
		return strcmp(a, b) != 0;
	return memcmp(x, y, sizeof(x)) != 0;
}

/* One update: applied to c; 1 if it changed c's cpuset. */
static int apply_one(struct sim_ctr *c, const PB(ContainerUpdate) * u, int *applied)
{
	char *before = c->res.cpus ? strdup(c->res.cpus) : NULL;
	int moved;

	if (u->linux_ && sim_ctr_apply(c, u->linux_->resources) == 0)
		(*applied)++;
	moved = cpus_differ(before, c->res.cpus);
	free(before);
	return moved;
}

int sim_apply_updates(struct sim *s, PB(ContainerUpdate) * *u, size_t n, const char *skip_id,
		      json_object *log, int *ret_moved)
{
	int applied = 0, moved = 0;

	for (size_t i = 0; i < n; i++) {
		struct sim_ctr *c = sim_model_ctr(&s->model, u[i]->container_id);
		json_object *e;

		if (!c || (skip_id && !strcmp(skip_id, c->id)))
			continue; /* unknown ids are skipped silently, like containerd */
		if (c->ghost) {	  /* CRI-O 1.26 no longer knows it */
			sim_error(s, "update of container %s failed: ID does not exist", c->id);
			continue;
		}
		moved += apply_one(c, u[i], &applied);
		sim_cgroups_touch(c); /* the runtime writes what an update names, changed or not */
		if (!log || !(e = json_object_new_object()))
			continue;
		json_object_object_add(e, "container", json_object_new_string(c->id));
		json_object_object_add(e, "cpus",
				       json_object_new_string(c->res.cpus ? c->res.cpus : ""));
		json_object_object_add(e, "t_ms", json_object_new_int64(sim_t_ms(s)));
		json_object_array_add(log, e);
	}
	if (ret_moved)
		*ret_moved = moved;
	return applied;
}

static void apply_evictions(struct sim *s, PB(ContainerEviction) * *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_ctr *c = sim_model_ctr(&s->model, e[i]->container_id);

		if (!s->o.honor_evictions || !c) {
			sim_error(s, "eviction of %s ignored (%s)", e[i]->container_id,
				  e[i]->reason);
			continue;
		}
		c->state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
		sim_error(s, "evicted %s: %s", c->id, e[i]->reason);
	}
}

/*
 * The answer: success, listing as failed each update of a container the runtime does
 * not know any more (a `fail-after` ghost) that did not ask to ignore failures, as
 * CRI-O 1.26 does. Unknown ids stay silently skipped, as containerd does.
 */
static int reply_updates(struct sim *s, uint32_t stream_id, PB(UpdateContainersRequest) * m)
{
	PB(UpdateContainersResponse)
	rsp = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINERS_RESPONSE__INIT;
	PB(ContainerUpdate) **failed = calloc(m->n_update + 1, sizeof(*failed));
	uint8_t *buf;
	size_t len;
	int r;

	if (!failed)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_update; i++) {
		const struct sim_ctr *c = sim_model_ctr(&s->model, m->update[i]->container_id);

		if (c && c->ghost && !m->update[i]->ignore_failure)
			failed[rsp.n_failed++] = m->update[i];
	}
	rsp.failed = failed;
	len = nri__pkg__api__v1alpha1__update_containers_response__get_packed_size(&rsp);
	buf = malloc(len + 1);
	if (!buf) {
		free(failed);
		return -ENOMEM;
	}
	nri__pkg__api__v1alpha1__update_containers_response__pack(&rsp, buf);
	r = nri_trunk_reply(s->t, stream_id, buf, len);
	free(buf);
	free(failed);
	return r;
}

static int serve_updates(struct sim *s, uint32_t stream_id, const uint8_t *p, size_t len)
{
	PB(UpdateContainersRequest) *m =
		nri__pkg__api__v1alpha1__update_containers_request__unpack(NULL, len, p);
	int r;

	s->unsolicited_calls++;
	if (!m)
		return nri_trunk_reply_error(s->t, stream_id, TTRPC_INVALID_ARGUMENT,
					     "failed to unmarshal UpdateContainersRequest");
	sim_apply_updates(s, m->update, m->n_update, NULL, s->unsolicited, NULL);
	apply_evictions(s, m->evict, m->n_evict);
	sim_cgroups_sync(s); /* applied before the reply, as containerd does */
	sim_fault_check(s, "UpdateContainers");
	r = reply_updates(s, stream_id, m);
	nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(m, NULL);
	return r;
}

/* containerd's NRI lock: UpdateContainers waits until the event in flight is done. */
static int defer_updates(struct sim *s, const struct nri_request *req)
{
	struct sim_deferred *d = realloc(s->deferred, (s->n_deferred + 1) * sizeof(*d));
	uint8_t *copy = malloc(req->payload_len + 1);

	if (d)
		s->deferred = d;
	if (!d || !copy) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, req->payload, req->payload_len);
	d[s->n_deferred++] = (struct sim_deferred){req->stream_id, copy, req->payload_len};
	return 0;
}

void sim_run_deferred(struct sim *s)
{
	size_t n = s->n_deferred;

	s->n_deferred = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->t)
			serve_updates(s, s->deferred[i].stream_id, s->deferred[i].payload,
				      s->deferred[i].len);
		free(s->deferred[i].payload);
	}
}

/* --lock-inversion: a plugin UpdateContainers now would deadlock containerd. */
static bool inverts(const struct sim *s)
{
	if (!s->o.lock_inversion)
		return false;
	return s->wedged ||
	       (s->in_call && s->call_method && !strcmp(s->call_method, "UpdateContainer"));
}

/* The deadlock: never answered, never applied; the plugin's call hangs. */
static int lock_inversion(struct sim *s, const struct nri_request *req)
{
	PB(UpdateContainersRequest) *m = nri__pkg__api__v1alpha1__update_containers_request__unpack(
		NULL, req->payload_len, req->payload);

	s->unsolicited_calls++;
	if (!s->wedged) {
		s->lock_inversions++;
		sim_error(s,
			  "lock inversion: UpdateContainers (%zu updates) from the plugin while "
			  "UpdateContainer is in flight; containerd#13733 deadlocks here, the call "
			  "is never answered",
			  m ? m->n_update : 0);
	} else {
		sim_error(s, "lock inversion: UpdateContainers hangs (the NRI lock is held)");
	}
	s->wedged = true;
	if (m)
		nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(m, NULL);
	return 0;
}

int sim_serve(struct nri_trunk *t, const struct nri_request *req, void *userdata)
{
	struct sim *s = userdata;
	char msg[300];

	if (strcmp(req->service, SIM_NRI_SERVICE_RUNTIME) != 0) {
		snprintf(msg, sizeof(msg), "service %s", req->service);
		return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, msg);
	}
	if (!strcmp(req->method, "RegisterPlugin"))
		return serve_register(s, req);
	if (!strcmp(req->method, "UpdateContainers")) {
		if (inverts(s))
			return lock_inversion(s, req);
		if (s->in_call || !s->connected)
			return defer_updates(s, req);
		return serve_updates(s, req->stream_id, req->payload, req->payload_len);
	}
	snprintf(msg, sizeof(msg), "method %s", req->method);
	return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, msg);
}
