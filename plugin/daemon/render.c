/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers on the status socket: "status" (pools and containers) and
 * "explain CONTAINER" (why a container got its CPUs), as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bpf/usage.h"

#include "plugin/daemon/affinity.h"
#include "plugin/daemon/annotations.h"
#include "plugin/daemon/control.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/reconcile.h"
#include "plugin/daemon/render.h"
#include "plugin/daemon/state.h"

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void add_set(struct daemon *d, json_object *o, const char *key, const struct cpuset *s)
{
	if (cpuset_format(s, d->scratch_cpus, DAEMON_CPULIST_MAX) < 0)
		d->scratch_cpus[0] = '\0';
	add_str(o, key, d->scratch_cpus);
}

static json_object *render_pools(struct daemon *d)
{
	json_object *arr = json_object_new_array();
	struct alloc_stats st;

	alloc_stats_get(d->alloc, &st);
	for (int p = 0; p < ALLOC_POOL_COUNT; p++) {
		json_object *o = json_object_new_object();

		add_str(o, "name", alloc_pool_name(p));
		json_object_object_add(o, "capacity", json_object_new_int64(st.pool[p].capacity));
		json_object_object_add(o, "assigned", json_object_new_int64(st.pool[p].assigned));
		json_object_object_add(o, "free", json_object_new_int64(st.pool[p].free));
		json_object_object_add(o, "containers",
				       json_object_new_int64(st.pool[p].containers));
		if (p == ALLOC_POOL_SHARED)
			add_set(d, o, "cpus", &st.shared);
		else if (p == ALLOC_POOL_RESERVED)
			add_set(d, o, "cpus", &st.reserved);
		else if (p == ALLOC_POOL_EXCLUSIVE)
			add_set(d, o, "cpus", &st.exclusive);
		else
			add_set(d, o, "cpus", &st.isolated);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct render_ctx {
	struct daemon *d;
	json_object *arr;
};

static int render_one(struct model_container *c, void *ud)
{
	struct render_ctx *rc = ud;
	struct daemon *d = rc->d;
	struct model_pod *pod = model_container_pod(d->model, c);
	json_object *o;
	struct alloc_result r;

	if (c->sandbox)
		return 0;
	o = json_object_new_object();
	add_str(o, "id", c->id);
	add_str(o, "name", c->name);
	add_str(o, "pod", pod ? pod->name : "");
	add_str(o, "namespace", pod ? pod->namespace : "");
	add_str(o, "state", model_state_name(c->state));
	add_str(o, "qos", qos_class_name(daemon_container_qos(d, pod, c)));
	if (alloc_get(d->alloc, c->id, &r) >= 0) {
		add_str(o, "pool", alloc_pool_name(r.pool));
		add_set(d, o, "cpus", &r.cpus);
		add_set(d, o, "mems", &r.mems);
		add_set(d, o, "exclusive", &r.exclusive);
		json_object *u = daemon_live_json(d, c->id);

		if (u)
			json_object_object_add(o, "usage", u);
	} else {
		add_str(o, "pool", "unmanaged");
		add_str(o, "cpus", c->resources.cpus);
		add_str(o, "mems", c->resources.mems);
	}
	json_object_array_add(rc->arr, o);
	return 0;
}

/* What the kernel made live usage do without ("live_usage_notes"), only when there is any. */
static void add_live_notes(struct daemon *d, json_object *root)
{
	struct usage *u = daemon_live_usage(d);
	const char *notes[4];
	size_t n = u ? usage_notes(u, notes, 4) : 0;
	json_object *arr;

	if (n == 0)
		return;
	arr = json_object_new_array();
	for (size_t i = 0; i < n && i < 4; i++)
		json_object_array_add(arr, json_object_new_string(notes[i]));
	json_object_object_add(root, "live_usage_notes", arr);
}

/* Safe actuation: the mode and what direct mode did (docs/deploy.md). */
static json_object *render_actuation(const struct daemon *d)
{
	json_object *o = json_object_new_object();
	const char *cfg[] = {"auto", "nri", "direct"};

	add_str(o, "mode", daemon_actuation_name(daemon_actuation(d)));
	add_str(o, "configured",
		d->cfg.actuation <= CONFIG_ACTUATION_DIRECT ? cfg[d->cfg.actuation] : "?");
	json_object_object_add(o, "direct_writes",
			       json_object_new_int64((int64_t)d->direct_writes));
	json_object_object_add(o, "direct_failures",
			       json_object_new_int64((int64_t)d->direct_failures));
	json_object_object_add(o, "owed", json_object_new_int64((int64_t)d->n_owed));
	json_object_object_add(o, "owed_settled", json_object_new_int64((int64_t)d->owed_settled));
	return o;
}

static json_object *render_status(struct daemon *d)
{
	json_object *root = json_object_new_object();
	struct render_ctx rc = {.d = d, .arr = json_object_new_array()};

	add_str(root, "plugin", d->stub ? nri_stub_name(d->stub) : "");
	add_str(root, "runtime", d->stub ? nri_stub_runtime_name(d->stub) : "");
	add_str(root, "runtime_version", d->stub ? nri_stub_runtime_version(d->stub) : "");
	add_str(root, "nri_version", d->stub ? nri_stub_nri_version(d->stub) : "");
	json_object_object_add(root, "connected",
			       json_object_new_boolean(d->stub && nri_stub_is_connected(d->stub)));
	json_object_object_add(root, "synchronized", json_object_new_boolean(d->synchronized));
	json_object_object_add(root, "actuation", render_actuation(d));
	add_str(root, "state_source", d->state_known ? d->state_source : "unknown");
	add_str(root, "live_usage", daemon_live_backend(d));
	if (daemon_live_usage(d) && usage_backend(daemon_live_usage(d)) == USAGE_BACKEND_BPF)
		/* attached only while an exclusive or latency-sensitive container runs */
		json_object_object_add(
			root, "live_usage_bpf_attached",
			json_object_new_boolean(usage_bpf_attached(daemon_live_usage(d))));
	add_live_notes(d, root);
	if (d->control)
		json_object_object_add(root, "closed_loop", daemon_control_json(d));
	json_object_object_add(root, "reconcile", daemon_reconcile_json(d, daemon_track_now(d)));
	add_set(d, root, "online", &d->topo->online);
	json_object_object_add(root, "pools", render_pools(d));
	model_foreach_container(d->model, NULL, render_one, &rc);
	json_object_object_add(root, "containers", rc.arr);
	return root;
}

struct find_ctx {
	const char *name;
	struct model_container *hit;
};

static int match_name(struct model_container *mc, void *ud)
{
	struct find_ctx *f = ud;

	if (!strcmp(mc->name, f->name))
		f->hit = mc;
	return 0;
}

/* "id", or "namespace/pod/container". */
static struct model_container *find_container(struct daemon *d, const char *what)
{
	char ns[256], pod[256], name[256];
	struct model_container *c = model_container_by_id(d->model, what);
	struct find_ctx f = {.name = name};
	struct model_pod *p;

	if (c)
		return c;
	if (sscanf(what, "%255[^/]/%255[^/]/%255s", ns, pod, name) != 3)
		return NULL;
	p = model_pod_by_name(d->model, ns, pod);
	if (!p)
		return NULL;
	model_foreach_container(d->model, p->id, match_name, &f);
	return f.hit;
}

static json_object *render_explain(struct daemon *d, const char *what)
{
	json_object *root = json_object_new_object();
	struct model_container *c = find_container(d, what);
	char line[2048], text[4096]; /* explain names each level: room for all of them */
	struct annotations_prefs ap;
	struct model_pod *pod;
	struct annotations_kv kv[256];
	size_t n = 0;

	if (!c) {
		add_str(root, "error", "no such container (give an id or namespace/pod/container)");
		return root;
	}
	pod = model_container_pod(d->model, c);
	for (size_t i = 0; pod && i < pod->n_annotations && n < 256; i++, n++)
		kv[n] = (struct annotations_kv){pod->annotations[i].key, pod->annotations[i].value};
	annotations_parse(kv, n, c->name, d->cfg.annotations_allow_aliases, NULL, NULL, &ap);
	if (alloc_explain(d->alloc, c->id, line, sizeof(line)) == -ENOENT)
		snprintf(line, sizeof(line),
			 "not managed by topoguard (cpu.preserve, or created "
			 "before a failure); cpuset %s",
			 *c->resources.cpus ? c->resources.cpus : "unset");
	snprintf(text, sizeof(text), "%s/%s/%s (%s): QoS %s; %s", pod ? pod->namespace : "?",
		 pod ? pod->name : "?", c->name, c->id,
		 qos_class_name(daemon_container_qos(d, pod, c)), line);
	for (int p = 0; p < ANNOTATIONS_PREF_COUNT; p++) {
		size_t len = strlen(text);

		if (ap.value[p] >= 0 && len + 80 < sizeof(text))
			snprintf(text + len, sizeof(text) - len, "; annotation %s=%s (%s)",
				 annotations_pref_name(p), ap.value[p] ? "yes" : "no",
				 annotations_source_name(ap.source[p]));
	}
	affinity_explain(d, c, text, sizeof(text));
	daemon_reconcile_explain(d, c, daemon_track_now(d), line, sizeof(line));
	if (strlen(text) + strlen(line) < sizeof(text))
		strcat(text, line);
	daemon_control_explain(d, c->id, daemon_now_ns(), line, sizeof(line));
	if (strlen(text) + strlen(line) < sizeof(text))
		strcat(text, line);
	add_str(root, "container", c->id);
	add_str(root, "explanation", text);
	return root;
}

int daemon_render_status(const char *request, char **ret_json, void *ud)
{
	struct daemon *d = ud;
	json_object *root;
	char *s;

	if (!strcmp(request, "status")) {
		root = render_status(d);
	} else if (!strncmp(request, "explain ", 8)) {
		root = render_explain(d, request + 8);
	} else {
		root = json_object_new_object();
		add_str(root, "error", "unknown request (status | explain CONTAINER)");
	}
	s = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	if (!s)
		return -ENOMEM;
	*ret_json = s;
	return 0;
}
