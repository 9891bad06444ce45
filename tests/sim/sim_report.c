/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JSON report (format in docs/simulator.md). Built from the simulator's own
 * bookkeeping, so a test can check what the runtime would have applied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/sim/sim.h"

static const char *const state_names[] = {"unknown", "created", "paused", "running", "stopped"};

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *kvs_json(const struct sim_kvs *kv)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; o && i < kv->n; i++)
		json_object_object_add(o, kv->v[i].key, json_object_new_string(kv->v[i].value));
	return o;
}

static json_object *res_json(const struct sim_res *r, json_object *o)
{
	json_object_object_add(o, "cpus", json_object_new_string(r->cpus ? r->cpus : ""));
	json_object_object_add(o, "mems", json_object_new_string(r->mems ? r->mems : ""));
	if (r->has_shares)
		json_object_object_add(o, "cpu_shares", json_object_new_int64((int64_t)r->shares));
	if (r->has_quota)
		json_object_object_add(o, "cpu_quota", json_object_new_int64(r->quota));
	if (r->has_period)
		json_object_object_add(o, "cpu_period", json_object_new_int64((int64_t)r->period));
	if (r->has_mem_limit)
		json_object_object_add(o, "memory_limit", json_object_new_int64(r->mem_limit));
	return o;
}

static json_object *ctr_json(const struct sim_ctr *c)
{
	json_object *o = json_object_new_object(), *cg = sim_cgroups_json(c);
	int st = c->state >= 0 && c->state <= 4 ? c->state : 0;

	if (!o) {
		json_object_put(cg);
		return NULL;
	}
	json_object_object_add(o, "id", json_object_new_string(c->id));
	json_object_object_add(o, "pod", json_object_new_string(c->pod_id));
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "state",
			       json_object_new_string(c->removed ? "removed" : state_names[st]));
	json_object_object_add(o, "failed", json_object_new_boolean(c->failed));
	if (c->ghost)
		json_object_object_add(o, "ghost", json_object_new_boolean(true));
	if (c->exited)
		json_object_object_add(o, "exit_code", json_object_new_int(c->exit_code));
	json_object_object_add(o, "exclusive", json_object_new_boolean(c->exclusive));
	json_object_object_add(o, "annotations", kvs_json(&c->annotations));
	if (cg)
		json_object_object_add(o, "cgroup", cg);
	return res_json(&c->res, o);
}

static json_object *plugin_json(const struct sim *s)
{
	json_object *o = json_object_new_object();
	char hex[16];

	if (!o)
		return NULL;
	snprintf(hex, sizeof(hex), "0x%x", s->events);
	json_object_object_add(o, "name", str_or_null(s->plugin_name));
	json_object_object_add(o, "idx", str_or_null(s->plugin_idx));
	json_object_object_add(o, "nri_version", str_or_null(s->plugin_nri_version));
	json_object_object_add(o, "events", json_object_new_int64(s->events));
	json_object_object_add(o, "events_hex", json_object_new_string(hex));
	json_object_object_add(o, "connected", json_object_new_boolean(s->connected));
	return o;
}

static void add_ref(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, json_object_get(v));
}

json_object *sim_report_build(const struct sim *s)
{
	json_object *o = json_object_new_object(), *ctrs = json_object_new_array();
	json_object *uns = json_object_new_object();
	bool fail;

	if (!o || !ctrs || !uns) {
		json_object_put(o);
		json_object_put(ctrs);
		json_object_put(uns);
		return NULL;
	}
	json_object_object_add(o, "runtime_nri_version", json_object_new_string(s->o.nri_version));
	json_object_object_add(o, "plugin", plugin_json(s));
	add_ref(o, "sessions", s->sessions_log);
	add_ref(o, "plugin_exits", s->plugin_exits);
	add_ref(o, "requests", s->requests);
	for (size_t i = 0; i < s->model.n_ctrs; i++)
		json_object_array_add(ctrs, ctr_json(s->model.ctrs[i]));
	json_object_object_add(o, "containers", ctrs);
	json_object_object_add(uns, "calls", json_object_new_int64((int64_t)s->unsolicited_calls));
	add_ref(uns, "updates", s->unsolicited);
	json_object_object_add(o, "unsolicited_updates", uns);
	add_ref(o, "errors", s->errors);
	json_object_object_add(o, "disconnects", json_object_new_int64((int64_t)s->disconnects));
	json_object_object_add(o, "reconnects", json_object_new_int64((int64_t)s->reconnects));
	json_object_object_add(o, "state_change_fallback",
			       json_object_new_boolean(s->state_change_fallback));
	json_object_object_add(o, "lock_inversions",
			       json_object_new_int64((int64_t)s->lock_inversions));
	json_object_object_add(o, "expectations_passed", json_object_new_int(s->expect_passed));
	add_ref(o, "expectations_failed", s->expect_failures);
	fail = s->expect_failed || s->lock_inversions || !s->sessions;
	json_object_object_add(o, "result", json_object_new_string(fail ? "fail" : "pass"));
	return o;
}

int sim_report_write(const struct sim *s, const char *path)
{
	json_object *o = sim_report_build(s);
	FILE *f;
	int r = 0;

	if (!o)
		return -ENOMEM;
	f = path ? fopen(path, "we") : stdout;
	if (!f) {
		r = -errno;
	} else {
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
		if (fflush(f) != 0)
			r = -EIO;
		if (f != stdout)
			fclose(f);
	}
	json_object_put(o);
	return r;
}
