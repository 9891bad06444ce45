/* SPDX-License-Identifier: Apache-2.0 */
/* Reconciliation with the node: ghosts and vanished cgroups (reconcile.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "plugin/daemon/live.h"
#include "plugin/daemon/reconcile.h"
#include "plugin/host/cgroups.h"
#include "plugin/host/kubepods.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

#define NS_PER_US 1000ull
/* A refused request says nothing of whom it refused: a container younger than this
 * may simply not have reached its PostCreateContainer yet. */
#define REJECT_GRACE_NS 1000000000ull

/* What the node says of a container's cgroup. */
enum node_view {
	NODE_UNKNOWN, /* nothing can be told (no path, unreadable) */
	NODE_ABSENT,  /* not there, and never seen: not created, or not where we look */
	NODE_GONE,    /* not there any more, after it was seen */
	NODE_EMPTY,   /* there, without a process */
	NODE_ALIVE,   /* there, with a process */
};

/*
 * Look at c's cgroup (c->cgroups_path, resolved below the cgroup root). Records what
 * it learns in c->track; *ret (optional) gets what was read when it is there.
 */
static enum node_view node_look(struct daemon *d, struct model_container *c,
				struct kubepods_ctr *ret)
{
	struct kubepods_ctr k;
	char *rel = NULL;
	int r;

	if (!c->cgroups_path || !*c->cgroups_path ||
	    cgroups_resolve(c->cgroups_path, CGROUPS_DRIVER_AUTO, &rel) < 0)
		return NODE_UNKNOWN;
	r = kubepods_read(d->opt.cgroup_root, rel, &k);
	free(rel);
	if (r == -ENOENT)
		return c->track.cgroup_seen ? NODE_GONE : NODE_ABSENT;
	if (r < 0)
		return NODE_UNKNOWN;
	c->track.cgroup_seen = true;
	c->track.confirmed = c->track.confirmed || k.has_procs;
	if (ret)
		*ret = k;
	else
		kubepods_ctr_done(&k);
	return k.has_procs ? NODE_ALIVE : NODE_EMPTY;
}

static const char *why_text(const char *reason)
{
	if (!strcmp(reason, "never-started"))
		return "it did not start within reconcile.ghost_after";
	if (!strcmp(reason, "cgroup-gone"))
		return "its cgroup is gone";
	return "the runtime rejects updates of it";
}

static void note_ghost(struct daemon *d, const char *id, const char *reason, uint64_t now)
{
	d->rc.ghosts++;
	d->rc.last_ghost_ns = now;
	snprintf(d->rc.last_ghost, sizeof(d->rc.last_ghost), "%s (%s)", id, reason);
	metrics_tg_ghost_released(d->metrics, reason);
}

/*
 * Give up id's reservation: nothing runs there. The model forgets it (a runtime that
 * never removes it must not make ghosts pile up); the freed CPUs go out unsolicited.
 */
static void release_ghost(struct daemon *d, const char *id, const char *reason, uint64_t now)
{
	struct model_container *c = model_container_by_id(d->model, id);
	const struct model_pod *pod = c ? model_container_pod(d->model, c) : NULL;
	char *cpus = malloc(DAEMON_CPULIST_MAX);
	struct alloc_result r;

	if (!cpus || alloc_get(d->alloc, id, &r) < 0 ||
	    cpuset_format(&r.cpus, cpus, DAEMON_CPULIST_MAX) < 0) {
		free(cpus);
		return;
	}
	alloc_changes_reset(&d->changes);
	if (alloc_release(d->alloc, id, &d->changes) <= 0) {
		free(cpus);
		return;
	}
	log_warn("ghost released: container=%s pod=%s/%s reason=%s cpus=%s: %s", id,
		 pod ? pod->namespace : "?", pod ? pod->name : "?", reason, cpus, why_text(reason));
	free(cpus);
	note_ghost(d, id, reason, now);
	daemon_live_untrack(d, id);
	if (c)
		metrics_tg_container_remove(d->metrics, pod ? pod->namespace : "",
					    pod ? pod->name : "", c->name);
	model_container_remove(d->model, id);
	daemon_update_pool_metrics(d);
	if (d->changes.n)
		daemon_send_changes(d, "ghost");
}

/* Ids to release, copied: the allocation's own strings go with the release. */
struct ghost_list {
	char **id;
	const char **reason;
	size_t n, cap;
};

static void ghost_add(struct ghost_list *g, const char *id, const char *reason)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		char **ids = realloc(g->id, cap * sizeof(*ids));
		const char **rs = ids ? realloc(g->reason, cap * sizeof(*rs)) : NULL;

		if (ids)
			g->id = ids;
		if (!rs)
			return; /* out of memory: the next tick tries again */
		g->reason = rs;
		g->cap = cap;
	}
	g->id[g->n] = strdup(id);
	if (g->id[g->n])
		g->reason[g->n++] = reason;
}

static void ghosts_release(struct daemon *d, struct ghost_list *g, uint64_t now)
{
	for (size_t i = 0; i < g->n; i++) {
		release_ghost(d, g->id[i], g->reason[i], now);
		free(g->id[i]);
	}
	free(g->id);
	free(g->reason);
}

/* A placed container not confirmed to exist, created at least bound ago. */
static bool overdue(const struct model_container *c, uint64_t now, uint64_t bound)
{
	return !c->track.confirmed && c->track.created_ns && now >= c->track.created_ns &&
	       now - c->track.created_ns >= bound;
}

static void ghosts_check(struct daemon *d, uint64_t now)
{
	uint64_t bound = (uint64_t)d->cfg.reconcile_ghost_after_us * NS_PER_US;
	struct ghost_list g = {0};

	if (!bound)
		return;
	for (size_t i = 0; i < alloc_count(d->alloc); i++) {
		const char *id = alloc_id_at(d->alloc, i);
		struct model_container *c = model_container_by_id(d->model, id);

		/* a process in its cgroup is proof enough where it can be checked */
		if (c && overdue(c, now, bound) && node_look(d, c, NULL) != NODE_ALIVE)
			ghost_add(&g, id, "never-started");
	}
	ghosts_release(d, &g, now);
}

/* Every placed container against its cgroup. */
static void pass(struct daemon *d, uint64_t now)
{
	struct ghost_list g = {0};

	for (size_t i = 0; i < alloc_count(d->alloc); i++) {
		const char *id = alloc_id_at(d->alloc, i);
		struct model_container *c = model_container_by_id(d->model, id);

		if (c && node_look(d, c, NULL) == NODE_GONE)
			ghost_add(&g, id, "cgroup-gone");
	}
	ghosts_release(d, &g, now);
	d->rc.passes++;
	d->rc.last_pass_ns = now;
	d->rc.last_pass_cost_ns = daemon_now_ns() - now;
}

/* A pass is due: reconcile.interval after the last, or as a Synchronize asked. */
static bool pass_due(const struct daemon *d, uint64_t now)
{
	uint64_t every = (uint64_t)d->cfg.reconcile_interval_us * NS_PER_US;

	if (!every)
		return false;
	if (d->rc.due_ns && now >= d->rc.due_ns)
		return true;
	return !d->rc.last_pass_ns || now - d->rc.last_pass_ns >= every;
}

void daemon_reconcile_tick(struct daemon *d, uint64_t now)
{
	if (!d->state_known || !d->alloc)
		return;
	ghosts_check(d, now);
	if (!pass_due(d, now))
		return;
	d->rc.due_ns = 0;
	pass(d, now);
}

/* Whether a rejected update of c means that nothing runs there (and why). */
static const char *rejected_ghost(struct daemon *d, struct model_container *c, bool named,
				  uint64_t now)
{
	enum node_view v = node_look(d, c, NULL);

	if (v == NODE_GONE)
		return "cgroup-gone";
	if (c->track.confirmed || v == NODE_ALIVE)
		return NULL;
	/* the runtime named it: it does not know it. A refused request only counts for a
	 * container past its grace, where the node shows no process either */
	if (named || (c->track.created_ns && now - c->track.created_ns >= REJECT_GRACE_NS))
		return "update-rejected";
	return NULL;
}

void daemon_reconcile_updates_failed(struct daemon *d, const char *const *ids, size_t n, int code,
				     uint64_t now)
{
	struct ghost_list g = {0};
	struct alloc_result r;

	for (size_t i = 0; i < n; i++) {
		struct model_container *c = model_container_by_id(d->model, ids[i]);
		const char *why;

		if (!c || alloc_get(d->alloc, ids[i], &r) < 0)
			continue;
		why = rejected_ghost(d, c, code == 0, now);
		if (why) {
			ghost_add(&g, ids[i], why);
		} else if (!c->track.reject_logged) {
			c->track.reject_logged = true;
			log_warn("the runtime did not apply an update of running container %s "
				 "(code=%d)",
				 ids[i], code);
		}
	}
	ghosts_release(d, &g, now);
}

json_object *daemon_reconcile_json(struct daemon *d, uint64_t now)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "interval_s",
			       json_object_new_double((double)d->cfg.reconcile_interval_us / 1e6));
	json_object_object_add(o, "passes", json_object_new_int64((int64_t)d->rc.passes));
	if (d->rc.last_pass_ns) {
		json_object_object_add(
			o, "last_pass_seconds_ago",
			json_object_new_double((double)(now - d->rc.last_pass_ns) / 1e9));
		json_object_object_add(
			o, "last_pass_ms",
			json_object_new_double((double)d->rc.last_pass_cost_ns / 1e6));
	}
	json_object_object_add(
		o, "ghost_after_s",
		json_object_new_double((double)d->cfg.reconcile_ghost_after_us / 1e6));
	json_object_object_add(o, "ghosts_released", json_object_new_int64((int64_t)d->rc.ghosts));
	if (d->rc.last_ghost_ns) {
		json_object *g = json_object_new_object();

		json_object_object_add(g, "container", json_object_new_string(d->rc.last_ghost));
		json_object_object_add(
			g, "seconds_ago",
			json_object_new_double((double)(now - d->rc.last_ghost_ns) / 1e9));
		json_object_object_add(o, "last_ghost", g);
	}
	return o;
}
