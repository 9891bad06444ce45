/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration, Configure and Synchronize (doc §6.1). Any failure here closes the
 * plugin, like the real runtime does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static int wait_registered(struct sim *s)
{
	uint64_t deadline = sim_now_us() + (uint64_t)s->o.registration_timeout_ms * 1000;

	while (s->t && !s->registered && !s->register_failed) {
		uint64_t now = sim_now_us();
		if (now >= deadline) {
			sim_error(s, "no RegisterPlugin within %u ms",
				  s->o.registration_timeout_ms);
			return -ETIMEDOUT;
		}
		if (nri_trunk_run_once(s->t, (int)((deadline - now + 999) / 1000)) < 0)
			return -ECONNRESET;
	}
	if (!s->registered) {
		sim_error(s, "registration of '%s-%s' refused", s->plugin_idx ? s->plugin_idx : "",
			  s->plugin_name ? s->plugin_name : "");
		return -EPERM;
	}
	return 0;
}

static int configure(struct sim *s)
{
	PB(ConfigureRequest) m = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
	PB(ConfigureResponse) * resp;
	struct sim_call_res res;
	uint32_t known = sim_known_events(s), ev;
	int r;

	m.config = s->o.launch_path && s->plugin_config ? s->plugin_config : (char *)"";
	/* before v0.12 the plugin infers the NRI version from the runtime's release */
	m.runtime_name = (char *)s->nri->runtime_name;
	m.runtime_version = (char *)s->nri->runtime_version;
	if (sim_nri_at_least(s, 7, 0)) { /* the fields came with v0.7 */
		m.registration_timeout = s->o.registration_timeout_ms;
		m.request_timeout = s->o.request_timeout_ms;
	}
	m.nri_version = (char *)(sim_nri_at_least(s, 12, 0) ? s->nri->tag : "");
	r = sim_call(s, "Configure", &m.base, s->o.request_timeout_ms, &res);
	sim_record(s, "Configure", 0, NULL, NULL, &res, -1);
	if (r != 0) {
		sim_call_res_done(&res);
		return r < 0 ? r : -EPROTO;
	}
	resp = nri__pkg__api__v1alpha1__configure_response__unpack(NULL, res.len, res.payload);
	sim_call_res_done(&res);
	if (!resp)
		return -EBADMSG;
	ev = (uint32_t)resp->events;
	nri__pkg__api__v1alpha1__configure_response__free_unpacked(resp, NULL);
	if (ev & ~known) {
		sim_error(s, "plugin subscribed to unknown events 0x%x (known 0x%x)", ev, known);
		return -EINVAL;
	}
	s->events = ev ? ev : known;
	return 0;
}

/* containerd: pods not in unknown state, containers neither exited nor unknown. */
static bool ctr_syncable(const struct sim_ctr *c)
{
	return !c->removed && !c->failed &&
	       c->state != NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
}

struct sync_set {
	PB(PodSandbox) * *pods;
	size_t n_pods;
	PB(Container) * *ctrs;
	size_t n_ctrs;
};

static int sync_collect(struct sim *s, struct sim_arena *a, struct sync_set *set)
{
	const struct sim_model *m = &s->model;

	set->pods = sim_arena_alloc(a, (m->n_pods + 1) * sizeof(*set->pods));
	set->ctrs = sim_arena_alloc(a, (m->n_ctrs + 1) * sizeof(*set->ctrs));
	if (!set->pods || !set->ctrs)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_pods; i++) {
		if (m->pods[i]->removed)
			continue;
		if (!(set->pods[set->n_pods++] = sim_pod_build(a, m, m->pods[i])))
			return -ENOMEM;
	}
	for (size_t i = 0; i < m->n_ctrs; i++) {
		if (!ctr_syncable(m->ctrs[i]))
			continue;
		if (!(set->ctrs[set->n_ctrs++] = sim_ctr_build(a, m, m->ctrs[i])))
			return -ENOMEM;
	}
	return 0;
}

/* Objects per request: --sync-chunk, or shrink like containerd when > 4 MiB. */
static size_t chunk_size(const struct sim *s, const struct sync_set *set)
{
	PB(SynchronizeRequest) all = NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;
	size_t total = set->n_pods + set->n_ctrs, size, n;

	if (!sim_nri_at_least(s, 7, 0)) /* no `more` before v0.7: one request */
		return total ? total : 1;
	if (s->o.sync_chunk)
		return s->o.sync_chunk;
	all.pods = set->pods;
	all.n_pods = set->n_pods;
	all.containers = set->ctrs;
	all.n_containers = set->n_ctrs;
	size = nri__pkg__api__v1alpha1__synchronize_request__get_packed_size(&all);
	if (size + 64 <= TTRPC_MAX_MESSAGE || total == 0)
		return total ? total : 1;
	n = (size_t)((double)total * TTRPC_MAX_MESSAGE / (double)size * 0.9);
	return n < 8 ? 8 : n;
}

/* The final answer's updates are applied; *n_upd and *moved say what they did. */
static int sync_reply(struct sim *s, const struct sim_call_res *res, bool more, int *n_upd,
		      int *moved)
{
	PB(SynchronizeResponse) *r =
		nri__pkg__api__v1alpha1__synchronize_response__unpack(NULL, res->len, res->payload);
	int ret = 0;

	if (!r)
		return -EBADMSG;
	if (more && (!r->more || r->n_update)) {
		sim_error(s, "plugin does not handle split sync requests");
		ret = -EPROTO;
	} else if (!more) {
		*n_upd = sim_apply_updates(s, r->update, r->n_update, NULL, NULL, moved);
	}
	nri__pkg__api__v1alpha1__synchronize_response__free_unpacked(r, NULL);
	return ret;
}

static int sync_send(struct sim *s, const struct sync_set *set, size_t per)
{
	uint64_t deadline = sim_now_us() + (uint64_t)s->o.request_timeout_ms * 1000;
	size_t total = set->n_pods + set->n_ctrs, off = 0;

	do {
		PB(SynchronizeRequest) m = NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;
		size_t end = off + per < total ? off + per : total;
		struct sim_call_res res;
		uint64_t now = sim_now_us();
		unsigned int left = now < deadline ? (unsigned int)((deadline - now) / 1000) : 0;
		int r, n_upd = 0, moved = 0;

		/* Pods first, then containers; one deadline covers the whole series. */
		m.pods = set->pods + (off < set->n_pods ? off : set->n_pods);
		m.n_pods = (end < set->n_pods ? end : set->n_pods) -
			   (off < set->n_pods ? off : set->n_pods);
		m.containers = set->ctrs + (off > set->n_pods ? off - set->n_pods : 0);
		m.n_containers = (end > set->n_pods ? end - set->n_pods : 0) -
				 (off > set->n_pods ? off - set->n_pods : 0);
		m.more = end < total;
		r = sim_call(s, "Synchronize", &m.base, left ? left : 1, &res);
		if (r == 0)
			r = sync_reply(s, &res, m.more, &n_upd, &moved);
		sim_record(s, "Synchronize", 0, NULL, NULL, &res, n_upd);
		sim_record_moved(s, moved);
		sim_call_res_done(&res);
		if (r != 0)
			return r < 0 ? r : -EPROTO;
		off = end;
	} while (off < total);
	return 0;
}

static int synchronize(struct sim *s)
{
	struct sim_arena a = {0};
	struct sync_set set = {0};
	int r = sync_collect(s, &a, &set);

	if (r == 0)
		r = sync_send(s, &set, chunk_size(s, &set));
	sim_arena_done(&a);
	return r;
}

int sim_handshake(struct sim *s)
{
	int r = wait_registered(s);

	if (r == 0)
		r = configure(s);
	/* a launched plugin got no Synchronize before v0.7 */
	if (r == 0 && !(s->o.launch_path && !sim_nri_at_least(s, 7, 0)))
		r = synchronize(s);
	if (r == 0) {
		json_object *o = json_object_new_object();
		if (o) {
			json_object_object_add(
				o, "plugin",
				json_object_new_string(s->plugin_name ? s->plugin_name : ""));
			json_object_object_add(o, "events", json_object_new_int64(s->events));
			json_object_array_add(s->sessions_log, o);
		}
	}
	return r;
}
