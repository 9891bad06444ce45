/* SPDX-License-Identifier: Apache-2.0 */
/* Reconciliation with the node: ghosts, vanished cgroups and drift (reconcile.h). */
#include <errno.h>
#include <stdarg.h>
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

	if (!d->rc.kroot && kubepods_root_open(d->opt.cgroup_root, &d->rc.kroot) < 0)
		d->rc.kroot = NULL; /* no hierarchy (yet): nothing can be told */
	if (!d->rc.kroot || !c->cgroups_path || !*c->cgroups_path ||
	    cgroups_resolve(c->cgroups_path, CGROUPS_DRIVER_AUTO, &rel) < 0)
		return NODE_UNKNOWN;
	r = kubepods_read_at(d->rc.kroot, rel, &k);
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

/* ---- drift ------------------------------------------------------------------------ */

enum drift_field { DF_CPUS, DF_MEMS, DF_QUOTA, DF_PERIOD, DF_SHARES, DF_COUNT };
_Static_assert(DF_COUNT == DAEMON_DRIFT_FIELDS, "struct daemon counts every drift field");
static const char *const field_names[DF_COUNT] = {METRICS_TG_DRIFT_FIELDS};

/* A drift report: which fields, and a text naming what the cgroup held. */
struct drift {
	unsigned int mask;
	char text[sizeof(((struct model_track *)0)->drift)];
};

static void drift_add(struct drift *df, enum drift_field f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void drift_add(struct drift *df, enum drift_field f, const char *fmt, ...)
{
	size_t len = strlen(df->text);
	va_list ap;

	df->mask |= 1u << f;
	if (len && len + 2 < sizeof(df->text))
		len += (size_t)snprintf(df->text + len, sizeof(df->text) - len, ", ");
	va_start(ap, fmt);
	if (len < sizeof(df->text))
		vsnprintf(df->text + len, sizeof(df->text) - len, fmt, ap);
	va_end(ap);
}

static int64_t quota_norm(int64_t q)
{
	return q > 0 ? q : -1; /* v1 -1 and v2 "max" alike */
}

static uint64_t shares_norm(uint64_t s)
{
	return s < 2 ? 2 : s > 262144 ? 262144 : s; /* what the kernel keeps */
}

/* The CPU limits the cgroup holds against want's; unknown values (0) are not judged. */
static void limits_drift(const struct kubepods_ctr *k, const struct nri_resources *want,
			 struct drift *df)
{
	if (k->quota && want->has_quota && quota_norm(k->quota) != quota_norm(want->quota))
		drift_add(df, DF_QUOTA, "quota %lld (want %lld)", (long long)quota_norm(k->quota),
			  (long long)quota_norm(want->quota));
	if (k->period && want->has_period && k->period != want->period)
		drift_add(df, DF_PERIOD, "period %llu (want %llu)", (unsigned long long)k->period,
			  (unsigned long long)want->period);
	if (!want->has_shares || !k->shares)
		return;
	/* v2 holds a weight, and the map back to shares is lossy: compare weights */
	if (k->weight ? k->weight != kubepods_shares_to_weight(want->shares)
		      : k->shares != shares_norm(want->shares))
		drift_add(df, DF_SHARES, "shares %llu (want %llu)", (unsigned long long)k->shares,
			  (unsigned long long)want->shares);
}

static bool c_mems_intended(struct daemon *d, const char *id)
{
	const struct model_container *c = model_container_by_id(d->model, id);

	return !c || !c->track.mem_preserve;
}

/* What id's cgroup (k) holds that topoguard does not intend. */
static void drift_of(struct daemon *d, const char *id, const struct kubepods_ctr *k,
		     struct drift *df)
{
	struct nri_resources want;
	struct alloc_result r;
	struct cpuset have;

	memset(df, 0, sizeof(*df));
	if (alloc_get(d->alloc, id, &r) < 0)
		return;
	daemon_result_to_resources(d, id, &r, &want);
	if (*k->cpus && want.cpus && cpuset_parse(k->cpus, strlen(k->cpus), &have) >= 0 &&
	    !cpuset_equal(&have, &r.cpus))
		drift_add(df, DF_CPUS, "cpus %s (want %s)", k->cpus, want.cpus);
	/* mems are intended only where topoguard pins them (memory.pin_mems, no preserve) */
	if (c_mems_intended(d, id) && want.mems && *k->mems &&
	    cpuset_parse(k->mems, strlen(k->mems), &have) >= 0 && !cpuset_equal(&have, &r.mems))
		drift_add(df, DF_MEMS, "mems %s (want %s)", k->mems, want.mems);
	limits_drift(k, &want, df);
}

/* Told recently: what topoguard sent may not have landed yet. */
static bool settled(const struct model_container *c, uint64_t now)
{
	return !c->track.told_ns ||
	       (now >= c->track.told_ns && now - c->track.told_ns >= DAEMON_RECONCILE_SETTLE_NS);
}

/* Record a drift the update queued for c repairs: counters, c's last drift, the log. */
static void note_drift(struct daemon *d, struct model_container *c, const struct drift *df,
		       uint64_t now)
{
	bool again = c->track.drift_ns && !strcmp(c->track.drift, df->text);

	for (int f = 0; f < DF_COUNT; f++) {
		if (!(df->mask & (1u << f)))
			continue;
		d->rc.drift[f]++;
		metrics_tg_drift_repaired(d->metrics, field_names[f]);
	}
	c->track.drift_ns = now;
	snprintf(c->track.drift, sizeof(c->track.drift), "%s", df->text);
	d->rc.last_drift_ns = now;
	snprintf(d->rc.last_drift, sizeof(d->rc.last_drift), "%s: %s", c->id, df->text);
	/* the same drift again and again (a third party keeps writing): once is news */
	if (again)
		log_debug("drift repaired again: container=%s %s", c->id, df->text);
	else
		log_warn("drift repaired: container=%s %s", c->id, df->text);
}

/* Compare one container; 1 when it drifted (and its id went into d->changes). */
static int check_one(struct daemon *d, const char *id, uint64_t now, bool repair,
		     struct ghost_list *g, struct drift *df)
{
	struct model_container *c = model_container_by_id(d->model, id);
	struct kubepods_ctr k;
	enum node_view v;

	df->mask = 0;
	if (!c)
		return 0;
	v = node_look(d, c, &k);
	if (v == NODE_GONE)
		ghost_add(g, id, "cgroup-gone");
	if (v != NODE_EMPTY && v != NODE_ALIVE)
		return 0;
	if (settled(c, now))
		drift_of(d, id, &k, df);
	else if (repair) /* judged once its update can have landed, not a period later */
		d->rc.due_ns = now + DAEMON_RECONCILE_SETTLE_NS;
	kubepods_ctr_done(&k);
	if (!df->mask || alloc_changes_push(&d->changes, id) < 0)
		return 0;
	return 1;
}

/* Every placed container against its cgroup: repair drift, release what is gone. */
static void pass(struct daemon *d, uint64_t now)
{
	size_t n = alloc_count(d->alloc);
	struct drift *df = calloc(n ? n : 1, sizeof(*df));
	struct ghost_list g = {0};
	/* no runtime to carry a repair: drift found now is left for the first pass after a
	 * reconnect, which finds it again */
	bool repair = d->stub && nri_stub_is_connected(d->stub);
	uint64_t t0 = daemon_now_ns(); /* now may be a test's clock */
	size_t drifted = 0;

	if (!df)
		return;
	alloc_changes_reset(&d->changes);
	for (size_t i = 0; i < n; i++)
		drifted += (size_t)check_one(d, alloc_id_at(d->alloc, i), now, repair, &g, &df[i]);
	/* the repairs first: the ids in d->changes are the allocation's, which a release
	 * changes */
	if (drifted && repair && daemon_send_changes(d, "drift") == 0) {
		for (size_t i = 0; i < n; i++) {
			struct model_container *c =
				model_container_by_id(d->model, alloc_id_at(d->alloc, i));

			if (df[i].mask && c)
				note_drift(d, c, &df[i], now);
		}
	}
	free(df);
	ghosts_release(d, &g, now);
	d->rc.passes++;
	d->rc.last_pass_ns = now;
	d->rc.last_pass_cost_ns = daemon_now_ns() - t0;
	metrics_tg_reconcile_pass(d->metrics, (double)d->rc.last_pass_cost_ns / 1e9);
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

/* {"what": text, "seconds_ago": age}. */
static json_object *event_json(const char *text, uint64_t age_ns)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "what", json_object_new_string(text));
	json_object_object_add(o, "seconds_ago", json_object_new_double((double)age_ns / 1e9));
	return o;
}

static json_object *drift_json(const struct daemon *d)
{
	json_object *o = json_object_new_object();

	for (int f = 0; f < DF_COUNT; f++)
		json_object_object_add(o, field_names[f],
				       json_object_new_int64((int64_t)d->rc.drift[f]));
	return o;
}

void daemon_reconcile_explain(const struct daemon *d, const struct model_container *c, uint64_t now,
			      char *buf, size_t len)
{
	buf[0] = '\0';
	if (c->track.drift_ns)
		snprintf(buf, len, "; last drift of its cgroup %.1f s ago: %s (repaired)",
			 (double)(now - c->track.drift_ns) / 1e9, c->track.drift);
	else if (!c->track.confirmed && c->track.created_ns && d->cfg.reconcile_ghost_after_us)
		snprintf(buf, len,
			 "; not seen running yet: a ghost %.1f s after its creation "
			 "unless it starts",
			 (double)d->cfg.reconcile_ghost_after_us / 1e6);
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
	json_object_object_add(o, "drift_repaired", drift_json(d));
	if (d->rc.last_drift_ns)
		json_object_object_add(o, "last_drift",
				       event_json(d->rc.last_drift, now - d->rc.last_drift_ns));
	json_object_object_add(
		o, "ghost_after_s",
		json_object_new_double((double)d->cfg.reconcile_ghost_after_us / 1e6));
	json_object_object_add(o, "ghosts_released", json_object_new_int64((int64_t)d->rc.ghosts));
	if (d->rc.last_ghost_ns)
		json_object_object_add(o, "last_ghost",
				       event_json(d->rc.last_ghost, now - d->rc.last_ghost_ns));
	return o;
}
