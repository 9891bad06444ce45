/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restore (Synchronize), reconfiguration and explain.
 *
 * Restore never moves a valid assignment: running containers keep their CPUs in
 * the order given ("first come keeps"), and only a claim that is invalid (offline,
 * reserved, already claimed, wrong size, would drain the shared pool) is
 * re-allocated. A container that cannot get exclusive CPUs any more falls back to
 * the shared pool instead of failing: it is already running.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_priv.h"

struct restore {
	struct alloc_state *s;
	const struct alloc_restore_entry *in;
	size_t n;
	struct alloc_entry **es;
	struct alloc_plan *plans;
	bool *pending;		  /* needs a fresh exclusive allocation */
	size_t deps;		  /* shared-dependent containers once everything is placed */
	struct cpuset shared_est; /* the old shared pool, as the shared containers show it */
	bool has_est;
	bool force_floor; /* second attempt: keep the shared minimum even with deps == 0 */
};

static bool plan_owns(const struct alloc_plan *p)
{
	return p->pool == ALLOC_POOL_EXCLUSIVE || p->pool == ALLOC_POOL_ISOLATED;
}

static bool plan_dep(const struct alloc_plan *p)
{
	return p->pool == ALLOC_POOL_SHARED || (p->pool == ALLOC_POOL_EXCLUSIVE && p->mixed);
}

/* Shared containers to protect the minimum for (see alloc_restore's second attempt). */
static size_t deps_floor(const struct restore *rs)
{
	return rs->deps ? rs->deps : (size_t)rs->force_floor;
}

static void to_fallback(struct restore *rs, size_t i)
{
	struct alloc_plan *p = &rs->plans[i];

	if (!plan_dep(p))
		rs->deps++;
	p->pool = ALLOC_POOL_SHARED;
	p->mixed = false;
	p->wide = false;
	p->why = ALLOC_WHY_SHARED_FALLBACK;
}

/* Build entries and plans, insert them (uncommitted) in order. */
static int restore_prepare(struct restore *rs, char *reason, size_t reason_size)
{
	struct alloc_state *s = rs->s;
	int r;

	for (size_t i = 0; i < rs->n; i++) {
		const struct alloc_restore_entry *in = &rs->in[i];

		r = alloc_check_request(&in->req, reason, reason_size);
		if (r < 0)
			return r;
		if (alloc_find(s, in->req.id)) {
			alloc_reason(reason, reason_size, "container %s listed twice", in->req.id);
			return -EINVAL;
		}
		r = alloc_entry_new(&in->req, &rs->es[i]);
		if (r < 0)
			return r;
		r = alloc_insert(s, rs->es[i]);
		if (r < 0) {
			alloc_entry_free(rs->es[i]);
			rs->es[i] = NULL;
			return r;
		}
		alloc_plan_of(s, &in->req, &rs->plans[i]);
		if (rs->plans[i].pool == ALLOC_POOL_EXCLUSIVE && in->has_exclusive &&
		    cpuset_is_empty(&in->exclusive))
			to_fallback(rs, i);
		else if (plan_dep(&rs->plans[i]))
			rs->deps++;
	}
	return 0;
}

static void estimate_shared(struct restore *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct alloc_restore_entry *in = &rs->in[i];

		if (rs->plans[i].pool != ALLOC_POOL_SHARED || rs->plans[i].wide ||
		    cpuset_is_empty(&in->cpus))
			continue;
		if (!rs->has_est)
			rs->shared_est = in->cpus;
		else
			cpuset_and(&rs->shared_est, &rs->shared_est, &in->cpus);
		rs->has_est = true;
	}
}

static bool claim_valid(struct restore *rs, size_t i, const struct cpuset *claim,
			struct cpuset *owned);

/*
 * Candidate k (0, 1, 2) for what entry i owns exclusively; false if there is none.
 * The current cpuset comes first for a non-mixed container: it is what the runtime
 * reports now, while the persisted part is from CreateContainer and goes stale after
 * an in-place resize. A mixed container's cpuset includes the shared pool, so its
 * persisted part comes first and the estimate (cpuset minus the old shared pool) last.
 */
static bool claimed(const struct restore *rs, size_t i, int k, struct cpuset *ret)
{
	const struct alloc_restore_entry *in = &rs->in[i];

	switch (k) {
	case 0:
		*ret = in->cpus;
		return !rs->plans[i].mixed;
	case 1:
		*ret = in->exclusive;
		return in->has_exclusive;
	case 2:
		if (!rs->plans[i].mixed || !rs->has_est)
			return false;
		cpuset_andnot(ret, &in->cpus, &rs->shared_est);
		return true;
	default:
		return false;
	}
}

/* The first valid candidate claim of entry i. */
static bool find_claim(struct restore *rs, size_t i, struct cpuset *claim, struct cpuset *owned)
{
	for (int k = 0; k < 3; k++)
		if (claimed(rs, i, k, claim) && claim_valid(rs, i, claim, owned))
			return true;
	return false;
}

static bool claim_valid(struct restore *rs, size_t i, const struct cpuset *claim,
			struct cpuset *owned)
{
	struct alloc_state *s = rs->s;
	const struct alloc_plan *p = &rs->plans[i];
	struct cpuset avail;

	if (p->pool == ALLOC_POOL_ISOLATED)
		cpuset_andnot(&avail, &s->isolated, &s->iso_used);
	else
		avail = s->shared;
	if (aw_count(claim, s->nw) != p->n || !cpuset_is_subset(claim, &avail))
		return false;
	if (!p->hide_ht)
		*owned = *claim;
	else if (!alloc_cores_of(s, claim, owned) || !cpuset_is_subset(owned, &avail))
		return false;
	if (p->pool == ALLOC_POOL_ISOLATED)
		return true;
	return alloc_check_shared_min(s, aw_count(owned, s->nw), deps_floor(rs), p->mixed, NULL,
				      0) == 0;
}

static void restore_claims(struct restore *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct alloc_entry *e = rs->es[i];
		struct cpuset claim, owned;

		if (!plan_owns(&rs->plans[i]))
			continue;
		if (!find_claim(rs, i, &claim, &owned)) {
			rs->pending[i] = true;
			continue;
		}
		e->pool = rs->plans[i].pool;
		e->mixed = rs->plans[i].mixed;
		e->hide_ht = rs->plans[i].hide_ht;
		e->why = rs->plans[i].why;
		e->iso_fallback = rs->plans[i].iso_fallback;
		e->excl = claim;
		e->owned = owned;
		e->restored = true;
		alloc_commit(rs->s, e);
	}
}

static void apply(struct alloc_entry *e, const struct alloc_plan *p)
{
	e->pool = p->pool;
	e->mixed = p->mixed;
	e->wide = p->wide;
	e->hide_ht = p->hide_ht;
	e->why = p->why;
	e->iso_fallback = p->iso_fallback;
}

static void restore_pending(struct restore *rs)
{
	struct alloc_state *s = rs->s;

	for (size_t i = 0; i < rs->n; i++) {
		struct alloc_entry *e = rs->es[i];
		const struct alloc_plan *p = &rs->plans[i];

		if (!rs->pending[i])
			continue;
		apply(e, p);
		e->reallocated = true;
		if (alloc_place(s, e, p, false, deps_floor(rs) - plan_dep(p), NULL, 0) < 0) {
			to_fallback(rs, i);
			apply(e, &rs->plans[i]);
			cpuset_zero(&e->excl);
			cpuset_zero(&e->owned);
		}
		alloc_commit(s, e);
	}
	for (size_t i = 0; i < rs->n; i++) {
		if (plan_owns(&rs->plans[i]) || rs->pending[i])
			continue;
		apply(rs->es[i], &rs->plans[i]);
		rs->es[i]->restored = true;
		alloc_commit(s, rs->es[i]);
	}
}

static void restore_changes(struct restore *rs, struct alloc_changes *changes)
{
	struct alloc_result res;

	for (size_t i = 0; i < rs->n; i++) {
		alloc_result_of(rs->s, rs->es[i], &res);
		if (!cpuset_equal(&res.cpus, &rs->in[i].cpus))
			alloc_changes_push(changes, rs->es[i]->id);
	}
}

/* Back to the empty state restore started from. */
static void restore_undo(struct restore *rs)
{
	struct alloc_state *s = rs->s;

	for (size_t i = 0; i < s->n; i++)
		alloc_entry_free(s->entries[i]);
	s->n = 0;
	memset(s->buckets, 0, sizeof(*s->buckets) * s->n_buckets);
	cpuset_zero(&s->excl_used);
	cpuset_zero(&s->iso_used);
	cpuset_zero(&s->shield_used);
	s->shared = s->excl_pool;
	s->shared_deps = 0;
}

/* One pass over the entries; on error the state is back to empty. */
static int restore_once(struct restore *rs, char *reason, size_t reason_size)
{
	int r;

	rs->deps = 0;
	rs->has_est = false;
	memset(rs->es, 0, sizeof(*rs->es) * rs->n);
	memset(rs->pending, 0, sizeof(*rs->pending) * rs->n);
	r = restore_prepare(rs, reason, reason_size);
	if (r < 0) {
		restore_undo(rs);
		return r;
	}
	estimate_shared(rs);
	restore_claims(rs);
	restore_pending(rs);
	return 0;
}

static bool below_floor(const struct alloc_state *s)
{
	unsigned int floor = s->cfg.shared_min_cpus ? s->cfg.shared_min_cpus : 1;

	return s->shared_deps > 0 && aw_count(&s->shared, s->nw) < floor;
}

int alloc_restore(struct alloc_state *s, const struct alloc_restore_entry *entries, size_t n,
		  struct alloc_changes *changes, char *reason, size_t reason_size)
{
	struct restore rs = {.s = s, .in = entries, .n = n};
	int r = -ENOMEM;

	if (!s || (n && !entries))
		return -EINVAL;
	if (s->n) {
		alloc_reason(reason, reason_size, "restore needs an empty state");
		return -EBUSY;
	}
	rs.es = calloc(n + 1, sizeof(*rs.es));
	rs.plans = calloc(n + 1, sizeof(*rs.plans));
	rs.pending = calloc(n + 1, sizeof(*rs.pending));
	if (rs.es && rs.plans && rs.pending && alloc_changes_reserve(changes, n + 1) == 0)
		r = restore_once(&rs, reason, reason_size);
	/*
	 * Claims may drain the shared pool when no shared container was expected, and a
	 * container that then fell back would run on nothing: start over keeping the
	 * minimum free from the first claim on.
	 */
	if (r >= 0 && below_floor(s)) {
		restore_undo(&rs);
		rs.force_floor = true;
		r = restore_once(&rs, reason, reason_size);
	}
	if (r >= 0)
		restore_changes(&rs, changes);
	free(rs.es);
	free(rs.plans);
	free(rs.pending);
	return r < 0 ? r : 0;
}

/* ---- reconfigure ------------------------------------------------------------------ */

static int snapshot(const struct alloc_state *s, struct alloc_restore_entry **ret)
{
	struct alloc_restore_entry *v = calloc(s->n + 1, sizeof(*v));
	struct alloc_result res;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct alloc_entry *e = s->entries[i];

		alloc_result_of(s, e, &res);
		v[i].req = e->req;
		v[i].cpus = res.cpus;
		/* Only owned CPUs are claims; shared ones may become exclusive now. */
		v[i].has_exclusive =
			e->pool == ALLOC_POOL_EXCLUSIVE || e->pool == ALLOC_POOL_ISOLATED;
		v[i].exclusive = res.exclusive;
	}
	*ret = v;
	return 0;
}

int alloc_reconfigure(struct alloc_state *s, const struct topology *t,
		      const struct alloc_config *cfg, struct alloc_changes *changes, char *reason,
		      size_t reason_size)
{
	struct alloc_restore_entry *v = NULL;
	struct alloc_state *next = NULL, tmp;
	int r;

	if (!s)
		return -EINVAL;
	t = t ? t : s->topo;
	cfg = cfg ? cfg : &s->cfg;
	r = alloc_config_validate(t, cfg, reason, reason_size);
	if (r < 0)
		return r;
	r = alloc_state_new(t, cfg, &next);
	if (r >= 0)
		r = snapshot(s, &v);
	if (r >= 0)
		r = alloc_restore(next, v, s->n, changes, reason, reason_size);
	free(v);
	if (r < 0) {
		alloc_state_free(next);
		return r;
	}
	tmp = *s;
	*s = *next;
	*next = tmp;
	alloc_state_free(next);
	return 0;
}
