/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container lifecycle on the allocation state: create, in-place resize, release,
 * and the read-only views (stats, iteration). Every mutating call reserves what it
 * may need before touching the pools, so a failure leaves the state as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_priv.h"

static void apply_plan(struct alloc_entry *e, const struct alloc_plan *p)
{
	e->pool = p->pool;
	e->mixed = p->mixed;
	e->wide = p->wide;
	e->hide_ht = p->hide_ht;
	e->why = p->why;
	e->iso_fallback = p->iso_fallback;
	e->shielded = false; /* a plan never shields: an update ends the loan */
	if (p->pool != ALLOC_POOL_EXCLUSIVE && p->pool != ALLOC_POOL_ISOLATED) {
		cpuset_zero(&e->excl);
		cpuset_zero(&e->owned);
		e->has_path = false;
	}
}

static bool owns_cpus(enum alloc_pool p)
{
	return p == ALLOC_POOL_EXCLUSIVE || p == ALLOC_POOL_ISOLATED;
}

int alloc_create(struct alloc_state *s, const struct alloc_request *req, struct alloc_result *ret,
		 struct alloc_changes *changes, char *reason, size_t reason_size)
{
	struct alloc_entry *e;
	struct alloc_plan p;
	int r;

	if (!s)
		return -EINVAL;
	r = alloc_check_request(req, reason, reason_size);
	if (r < 0)
		return r;
	if (alloc_find(s, req->id)) {
		alloc_reason(reason, reason_size, "container %s already allocated", req->id);
		return -EEXIST;
	}
	if (alloc_changes_reserve(changes, s->n + 1) < 0 || alloc_entry_new(req, &e) < 0)
		return -ENOMEM;
	alloc_plan_of(s, req, &p);
	apply_plan(e, &p);
	r = alloc_place(s, e, &p, false, s->shared_deps, reason, reason_size);
	if (r >= 0)
		r = alloc_insert(s, e);
	if (r < 0) {
		alloc_entry_free(e);
		return r;
	}
	alloc_commit(s, e);
	if (e->pool == ALLOC_POOL_EXCLUSIVE)
		alloc_changes_shared(s, e, changes);
	if (ret)
		alloc_result_of(s, e, ret);
	return 0;
}

/* Same pool and shape: grow or shrink the CPUs e has instead of moving it. */
static bool resizable(const struct alloc_entry *e, const struct alloc_plan *p)
{
	return owns_cpus(p->pool) && p->pool == e->pool && p->hide_ht == e->hide_ht &&
	       !cpuset_is_empty(&e->excl);
}

static int update_in_place(struct alloc_state *s, struct alloc_entry *e, const struct alloc_plan *p,
			   size_t deps_other, char *reason, size_t reason_size)
{
	struct alloc_entry next = *e;
	int r;

	apply_plan(&next, p);
	r = alloc_place(s, &next, p, true, deps_other, reason, reason_size);
	if (r < 0)
		return r;
	alloc_uncommit(s, e);
	*e = next;
	alloc_commit(s, e);
	return 0;
}

static int update_move(struct alloc_state *s, struct alloc_entry *e, const struct alloc_plan *p,
		       size_t deps_other, char *reason, size_t reason_size)
{
	struct alloc_entry old = *e;
	int r;

	alloc_uncommit(s, e);
	apply_plan(e, p);
	r = alloc_place(s, e, p, false, deps_other, reason, reason_size);
	if (r < 0) {
		*e = old;
		alloc_commit(s, e);
		return r;
	}
	alloc_commit(s, e);
	return 0;
}

int alloc_update(struct alloc_state *s, const struct alloc_request *req, struct alloc_result *ret,
		 struct alloc_changes *changes, char *reason, size_t reason_size)
{
	struct alloc_entry *e;
	struct cpuset before;
	struct alloc_request nreq;
	struct alloc_plan p;
	size_t deps_other;
	int r;

	if (!s)
		return -EINVAL;
	r = alloc_check_request(req, reason, reason_size);
	if (r < 0)
		return r;
	e = alloc_find(s, req->id);
	if (!e) {
		alloc_reason(reason, reason_size, "container %s unknown", req->id);
		return -ENOENT;
	}
	if (alloc_changes_reserve(changes, s->n + 1) < 0)
		return -ENOMEM;
	/* The namespace cannot change in Kubernetes: keep the one we copied. */
	nreq = *req;
	nreq.id = e->id;
	nreq.pod_namespace = e->ns;
	alloc_plan_of(s, &nreq, &p);
	deps_other = s->shared_deps - (alloc_is_shared_dep(e) ? 1 : 0);
	before = s->shared;
	if (resizable(e, &p))
		r = update_in_place(s, e, &p, deps_other, reason, reason_size);
	else
		r = update_move(s, e, &p, deps_other, reason, reason_size);
	if (r < 0)
		return r;
	e->req = nreq;
	if (!cpuset_equal(&before, &s->shared))
		alloc_changes_shared(s, e, changes);
	if (ret)
		alloc_result_of(s, e, ret);
	return 0;
}

int alloc_release(struct alloc_state *s, const char *id, struct alloc_changes *changes)
{
	struct alloc_entry *e = alloc_find(s, id);
	bool grew;

	if (!e)
		return 0;
	if (alloc_changes_reserve(changes, s->n + 1) < 0)
		return -ENOMEM;
	grew = (e->pool == ALLOC_POOL_EXCLUSIVE || e->shielded) && !cpuset_is_empty(&e->owned);
	alloc_uncommit(s, e);
	alloc_remove(s, e);
	if (grew)
		alloc_changes_shared(s, NULL, changes);
	alloc_entry_free(e);
	return 1;
}

static void stat_add(struct alloc_pool_stat *st, const struct alloc_entry *e)
{
	st->containers++;
	st->requested_mcpu += e->req.cpu_request_mcpu;
}

void alloc_stats_get(const struct alloc_state *s, struct alloc_stats *ret)
{
	struct alloc_pool_stat *p = ret->pool;

	memset(ret, 0, sizeof(*ret));
	ret->shared = s->shared;
	ret->reserved = s->reserved;
	ret->exclusive = s->excl_used;
	ret->isolated = s->iso_used;
	ret->shielded = s->shield_used;
	ret->shared_containers = (unsigned int)s->shared_deps;
	p[ALLOC_POOL_SHARED].capacity = aw_count(&s->shared, s->nw);
	p[ALLOC_POOL_RESERVED].capacity = aw_count(&s->reserved, s->nw);
	p[ALLOC_POOL_EXCLUSIVE].capacity = aw_count(&s->excl_pool, s->nw);
	p[ALLOC_POOL_EXCLUSIVE].assigned = aw_count(&s->excl_used, s->nw);
	p[ALLOC_POOL_ISOLATED].capacity = aw_count(&s->isolated, s->nw);
	p[ALLOC_POOL_ISOLATED].assigned = aw_count(&s->iso_used, s->nw);
	for (int i = ALLOC_POOL_EXCLUSIVE; i <= ALLOC_POOL_ISOLATED; i++)
		p[i].free = p[i].capacity - p[i].assigned;
	for (size_t i = 0; i < s->n; i++) {
		/* a shielded container runs on its own CPUs, not on the pool's capacity */
		if (s->entries[i]->shielded)
			ret->shielded_containers++;
		else
			stat_add(&p[s->entries[i]->pool], s->entries[i]);
	}
	/* Shared pools are not handed out by the CPU: "assigned" is what was requested. */
	for (int i = ALLOC_POOL_SHARED; i <= ALLOC_POOL_RESERVED; i++) {
		int64_t want = (p[i].requested_mcpu + 999) / 1000;

		p[i].assigned = want < p[i].capacity ? (unsigned int)want : p[i].capacity;
		p[i].free = p[i].capacity - p[i].assigned;
	}
}

uint64_t alloc_owned_gen(const struct alloc_state *s)
{
	return s ? s->owned_gen : 0;
}

size_t alloc_count(const struct alloc_state *s)
{
	return s ? s->n : 0;
}

const char *alloc_id_at(const struct alloc_state *s, size_t i)
{
	if (!s || i >= s->n)
		return NULL;
	return s->entries[i]->id;
}
