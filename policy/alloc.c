/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The allocation state: pools, the container table and the create / update /
 * release / get operations. See policy/alloc.h for the contract and docs/policy.md
 * for the policy itself.
 *
 * The shared pool is never stored per container: a container records only what it
 * owns (exclusive / isolated CPUs) and whether it runs on the shared pool; its cpuset
 * is derived on demand (alloc_get). So a pool change costs one pass that lists the
 * dependent containers, never a rewrite of every container.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/alloc_priv.h"
#include "policy/strhash.h"

#define ALLOC_MIN_BUCKETS    64
#define ALLOC_DEFAULT_PERIOD 100000

static const char *const alloc_default_namespaces[] = {"kube-system"};

void alloc_reason(char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!reason || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
}

const char *alloc_pool_name(enum alloc_pool p)
{
	static const char *const names[] = {
		[ALLOC_POOL_SHARED] = "shared",
		[ALLOC_POOL_RESERVED] = "reserved",
		[ALLOC_POOL_EXCLUSIVE] = "exclusive",
		[ALLOC_POOL_ISOLATED] = "isolated",
	};

	if ((unsigned int)p >= ALLOC_POOL_COUNT)
		return "unknown";
	return names[p];
}

void alloc_config_init(struct alloc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->reserved_namespaces = alloc_default_namespaces;
	c->n_reserved_namespaces = 1;
	c->exclusive_enabled = true;
	c->prefer_whole_cores = true;
	c->prefer_same_numa = true;
	c->prefer_core_kind = ALLOC_CORE_KIND_PERFORMANCE;
	c->isolated_allow = true;
	c->exclusive_no_quota = true;
	c->shared_min_cpus = 1;
	c->memory_only_nodes = ALLOC_MEMORY_ONLY_NONE;
	c->pin_mems = true;
	c->cfs_period_us = ALLOC_DEFAULT_PERIOD;
}

void alloc_request_init(struct alloc_request *r)
{
	memset(r, 0, sizeof(*r));
	r->prefs.hide_hyperthreads = -1;
}

/* The reserved set a config resolves to on t. */
static int config_reserved(const struct topology *t, const struct alloc_config *cfg,
			   struct cpuset *ret, char *reason, size_t reason_size)
{
	int r;

	if (!cpuset_is_empty(&cfg->reserved_cpus)) {
		if (!cpuset_is_subset(&cfg->reserved_cpus, &t->online)) {
			alloc_reason(reason, reason_size, "reserved_cpus include offline CPUs");
			return -EINVAL;
		}
		*ret = cfg->reserved_cpus;
		return 0;
	}
	r = alloc_reserve_count(t, cfg, cfg->reserved_count, ret);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		alloc_reason(reason, reason_size,
			     "reserved_count %u exceeds the %u online non-isolated CPUs",
			     cfg->reserved_count, cpuset_count(&t->online));
		return -EINVAL;
	}
	return 0;
}

static int config_check_scalars(const struct alloc_config *cfg, char *reason, size_t reason_size)
{
	if (cfg->cfs_period_us < 1000 || cfg->cfs_period_us > 1000000) {
		alloc_reason(reason, reason_size, "cfs_period_us %llu not in [1000, 1000000]",
			     (unsigned long long)cfg->cfs_period_us);
		return -EINVAL;
	}
	if ((unsigned int)cfg->prefer_core_kind > ALLOC_CORE_KIND_ANY) {
		alloc_reason(reason, reason_size, "bad prefer_core_kind %d", cfg->prefer_core_kind);
		return -EINVAL;
	}
	if ((unsigned int)cfg->memory_only_nodes > ALLOC_MEMORY_ONLY_ALL) {
		alloc_reason(reason, reason_size, "bad memory_only_nodes %d",
			     cfg->memory_only_nodes);
		return -EINVAL;
	}
	if (cfg->n_reserved_namespaces && !cfg->reserved_namespaces) {
		alloc_reason(reason, reason_size, "reserved_namespaces is NULL");
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_reserved_namespaces; i++) {
		const char *ns = cfg->reserved_namespaces[i];

		if (!ns || !ns[0] || strlen(ns) > ALLOC_ID_MAX) {
			alloc_reason(reason, reason_size,
				     "reserved namespace #%zu empty or too long", i);
			return -EINVAL;
		}
	}
	return 0;
}

int alloc_config_validate(const struct topology *t, const struct alloc_config *cfg, char *reason,
			  size_t reason_size)
{
	struct cpuset reserved, shared;
	unsigned int n_shared;
	int r;

	if (!t || !cfg) {
		alloc_reason(reason, reason_size, "no topology or config");
		return -EINVAL;
	}
	r = config_check_scalars(cfg, reason, reason_size);
	if (r < 0)
		return r;
	r = config_reserved(t, cfg, &reserved, reason, reason_size);
	if (r < 0)
		return r;
	cpuset_andnot(&shared, &t->online, &reserved);
	cpuset_andnot(&shared, &shared, &t->isolated);
	n_shared = cpuset_count(&shared);
	if (n_shared == 0 || n_shared < cfg->shared_min_cpus) {
		alloc_reason(reason, reason_size,
			     "shared pool would have %u CPUs (shared_min_cpus %u, at least 1)",
			     n_shared, cfg->shared_min_cpus);
		return -EINVAL;
	}
	return 0;
}

static int copy_namespaces(struct alloc_state *s, const struct alloc_config *cfg)
{
	size_t n = cfg->n_reserved_namespaces;

	s->ns = calloc(n + 1, sizeof(char *));
	if (!s->ns)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s->ns[i] = strdup(cfg->reserved_namespaces[i]);
		if (!s->ns[i])
			return -ENOMEM;
	}
	s->cfg.reserved_namespaces = (const char *const *)s->ns;
	return 0;
}

static int state_init(struct alloc_state *s, const struct topology *t,
		      const struct alloc_config *cfg)
{
	int r;

	s->topo = t;
	s->cfg = *cfg;
	r = copy_namespaces(s, cfg);
	if (r < 0)
		return r;
	r = config_reserved(t, cfg, &s->reserved, NULL, 0);
	if (r < 0)
		return r;
	cpuset_andnot(&s->isolated, &t->isolated, &s->reserved);
	cpuset_and(&s->isolated, &s->isolated, &t->online);
	cpuset_andnot(&s->excl_pool, &t->online, &s->reserved);
	cpuset_andnot(&s->excl_pool, &s->excl_pool, &s->isolated);
	s->shared = s->excl_pool;
	s->n_buckets = ALLOC_MIN_BUCKETS;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	if (!s->buckets)
		return -ENOMEM;
	return alloc_topo_digest(s);
}

int alloc_state_new(const struct topology *t, const struct alloc_config *cfg,
		    struct alloc_state **ret)
{
	struct alloc_state *s;
	int r;

	if (!ret || alloc_config_validate(t, cfg, NULL, 0) < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = state_init(s, t, cfg);
	if (r < 0) {
		alloc_state_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void alloc_entry_free(struct alloc_entry *e)
{
	free(e); /* id and ns live in the same allocation */
}

void alloc_state_free(struct alloc_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		alloc_entry_free(s->entries[i]);
	free(s->entries);
	free(s->buckets);
	for (size_t i = 0; s->ns && s->ns[i]; i++)
		free(s->ns[i]);
	free(s->ns);
	alloc_topo_digest_free(s);
	free(s);
}

/* ---- container table ------------------------------------------------------------ */

static size_t hash_id(const char *id)
{
	return (size_t)strhash(id);
}

struct alloc_entry *alloc_find(const struct alloc_state *s, const char *id)
{
	struct alloc_entry *e;

	if (!s || !id)
		return NULL;
	for (e = s->buckets[hash_id(id) & (s->n_buckets - 1)]; e; e = e->hnext)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static int rehash(struct alloc_state *s, size_t n_buckets)
{
	struct alloc_entry **b = calloc(n_buckets, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		struct alloc_entry *e = s->entries[i];
		size_t h = hash_id(e->id) & (n_buckets - 1);

		e->hnext = b[h];
		b[h] = e;
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n_buckets;
	return 0;
}

/* Adds e to the table (no pool accounting: see alloc_commit). */
int alloc_insert(struct alloc_state *s, struct alloc_entry *e)
{
	size_t h;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct alloc_entry **v = realloc(s->entries, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->entries = v;
		s->cap = cap;
	}
	if (s->n + 1 > s->n_buckets && rehash(s, s->n_buckets * 2) < 0)
		return -ENOMEM;
	h = hash_id(e->id) & (s->n_buckets - 1);
	e->hnext = s->buckets[h];
	s->buckets[h] = e;
	e->idx = s->n;
	s->entries[s->n++] = e;
	return 0;
}

void alloc_remove(struct alloc_state *s, struct alloc_entry *e)
{
	struct alloc_entry **pp = &s->buckets[hash_id(e->id) & (s->n_buckets - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	s->entries[e->idx] = s->entries[--s->n];
	s->entries[e->idx]->idx = e->idx;
}

int alloc_check_request(const struct alloc_request *req, char *reason, size_t reason_size)
{
	if (!req || !req->id || !req->id[0] || strlen(req->id) > ALLOC_ID_MAX) {
		alloc_reason(reason, reason_size, "container id missing or longer than %d",
			     ALLOC_ID_MAX);
		return -EINVAL;
	}
	if (req->pod_namespace && strlen(req->pod_namespace) > ALLOC_ID_MAX) {
		alloc_reason(reason, reason_size, "namespace longer than %d", ALLOC_ID_MAX);
		return -EINVAL;
	}
	if (req->cpu_request_mcpu < 0 || req->cpu_limit_mcpu < 0 || req->mem_limit < 0 ||
	    req->cpu_request_mcpu > (int64_t)CPUSET_MAX * 1000) {
		alloc_reason(reason, reason_size, "negative or absurd CPU/memory request");
		return -EINVAL;
	}
	if ((unsigned int)req->prefs.device_mode >= ALLOC_DEVICE_MODE_COUNT) {
		alloc_reason(reason, reason_size, "bad device mode %d", req->prefs.device_mode);
		return -EINVAL;
	}
	if ((unsigned int)req->qos > QOS_GUARANTEED) {
		alloc_reason(reason, reason_size, "bad QoS class %d", req->qos);
		return -EINVAL;
	}
	return 0;
}

/* One allocation per container: the entry, then its id and namespace strings. */
int alloc_entry_new(const struct alloc_request *req, struct alloc_entry **ret)
{
	const char *ns = req->pod_namespace ? req->pod_namespace : "";
	size_t id_len = strlen(req->id) + 1, ns_len = strlen(ns) + 1;
	struct alloc_entry *e = calloc(1, sizeof(*e) + id_len + ns_len);

	if (!e)
		return -ENOMEM;
	e->id = (char *)(e + 1);
	e->ns = e->id + id_len;
	memcpy(e->id, req->id, id_len);
	memcpy(e->ns, ns, ns_len);
	e->req = *req;
	e->req.id = e->id;
	e->req.pod_namespace = e->ns;
	*ret = e;
	return 0;
}

/* ---- pools ------------------------------------------------------------------------ */

bool alloc_is_shared_dep(const struct alloc_entry *e)
{
	return (e->pool == ALLOC_POOL_SHARED && !e->shielded) ||
	       (e->pool == ALLOC_POOL_EXCLUSIVE && e->mixed);
}

/* Account e's owned CPUs and shared dependency in the pools. */
void alloc_commit(struct alloc_state *s, struct alloc_entry *e)
{
	if (e->pool == ALLOC_POOL_EXCLUSIVE || e->pool == ALLOC_POOL_ISOLATED || e->shielded)
		s->owned_gen++;
	if (e->pool == ALLOC_POOL_EXCLUSIVE) {
		cpuset_or(&s->excl_used, &s->excl_used, &e->owned);
		cpuset_andnot(&s->shared, &s->shared, &e->owned);
	} else if (e->pool == ALLOC_POOL_ISOLATED) {
		cpuset_or(&s->iso_used, &s->iso_used, &e->owned);
	} else if (e->shielded) {
		cpuset_or(&s->shield_used, &s->shield_used, &e->owned);
		cpuset_andnot(&s->shared, &s->shared, &e->owned);
	}
	if (alloc_is_shared_dep(e))
		s->shared_deps++;
}

void alloc_uncommit(struct alloc_state *s, struct alloc_entry *e)
{
	if (e->pool == ALLOC_POOL_EXCLUSIVE || e->pool == ALLOC_POOL_ISOLATED || e->shielded)
		s->owned_gen++;
	if (e->pool == ALLOC_POOL_EXCLUSIVE) {
		cpuset_andnot(&s->excl_used, &s->excl_used, &e->owned);
		/* Only CPUs still in the exclusive pool go back (reconfigure may shrink it). */
		cpuset_and(&e->owned, &e->owned, &s->excl_pool);
		cpuset_or(&s->shared, &s->shared, &e->owned);
	} else if (e->pool == ALLOC_POOL_ISOLATED) {
		cpuset_andnot(&s->iso_used, &s->iso_used, &e->owned);
	} else if (e->shielded) {
		cpuset_andnot(&s->shield_used, &s->shield_used, &e->owned);
		cpuset_and(&e->owned, &e->owned, &s->excl_pool);
		cpuset_or(&s->shared, &s->shared, &e->owned);
	}
	if (alloc_is_shared_dep(e))
		s->shared_deps--;
}

static bool in_reserved_ns(const struct alloc_state *s, const char *ns)
{
	if (!ns)
		return false;
	for (size_t i = 0; i < s->cfg.n_reserved_namespaces; i++)
		if (strcmp(s->cfg.reserved_namespaces[i], ns) == 0)
			return true;
	return false;
}

static bool want_hide(const struct alloc_state *s, const struct alloc_request *req)
{
	if (req->prefs.hide_hyperthreads >= 0)
		return req->prefs.hide_hyperthreads > 0;
	return s->cfg.hide_hyperthreads;
}

static void plan_shared(const struct alloc_state *s, const struct alloc_request *req,
			struct alloc_plan *p)
{
	p->pool = ALLOC_POOL_SHARED;
	if (req->qos != QOS_GUARANTEED)
		p->why = ALLOC_WHY_SHARED_QOS;
	else if (req->prefs.shared_only)
		p->why = ALLOC_WHY_SHARED_PREF;
	else if (!s->cfg.exclusive_enabled)
		p->why = ALLOC_WHY_SHARED_DISABLED;
	else
		p->why = ALLOC_WHY_SHARED_SMALL;
	p->wide = s->cfg.burstable_unlimited_wide && req->qos == QOS_BURSTABLE &&
		  req->cpu_limit_mcpu == 0 && !aw_is_empty(&s->reserved, s->nw);
}

void alloc_plan_of(const struct alloc_state *s, const struct alloc_request *req,
		   struct alloc_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->hide_ht = want_hide(s, req);
	if (!aw_is_empty(&s->reserved, s->nw) &&
	    (req->prefs.reserved || in_reserved_ns(s, req->pod_namespace))) {
		p->pool = ALLOC_POOL_RESERVED;
		p->why = ALLOC_WHY_RESERVED_NS;
	} else if (req->prefs.isolated && s->cfg.isolated_allow && !req->prefs.shared_only &&
		   !aw_is_empty(&s->isolated, s->nw)) {
		p->pool = ALLOC_POOL_ISOLATED;
		p->why = ALLOC_WHY_ISOLATED;
		p->n = (unsigned int)((req->cpu_request_mcpu + 999) / 1000);
		if (p->n == 0)
			p->n = 1;
	} else if (req->qos == QOS_GUARANTEED && s->cfg.exclusive_enabled &&
		   !req->prefs.shared_only && req->cpu_request_mcpu >= 1000) {
		p->pool = ALLOC_POOL_EXCLUSIVE;
		p->why = ALLOC_WHY_EXCLUSIVE;
		p->n = (unsigned int)(req->cpu_request_mcpu / 1000);
		p->mixed = req->cpu_request_mcpu % 1000 != 0;
	} else {
		plan_shared(s, req, p);
	}
	/* No isolated CPUs on this machine: what the same request without the wish gets
	 * (a Guaranteed pod: exclusive CPUs, not the shared pool with a quota). */
	p->iso_fallback = req->prefs.isolated && s->cfg.isolated_allow && !req->prefs.shared_only &&
			  p->pool != ALLOC_POOL_RESERVED && aw_is_empty(&s->isolated, s->nw);
}

/* ---- placing ------------------------------------------------------------------------ */

static unsigned int shared_floor(const struct alloc_state *s)
{
	return s->cfg.shared_min_cpus > 0 ? s->cfg.shared_min_cpus : 1;
}

/*
 * Would taking `take` more CPUs from the shared pool break the minimum? deps counts
 * the shared containers once the container is placed; adds_dep: it becomes one.
 */
int alloc_check_shared_min(const struct alloc_state *s, unsigned int take, size_t deps,
			   bool adds_dep, char *reason, size_t reason_size)
{
	unsigned int have = aw_count(&s->shared, s->nw);

	/* a shielded container comes back to the pool: it counts as one on it */
	if ((deps == 0 && aw_is_empty(&s->shield_used, s->nw)) || (take == 0 && !adds_dep))
		return 0;
	if (have < take || have - take < shared_floor(s)) {
		alloc_reason(reason, reason_size,
			     "shared pool has %u CPUs, taking %u would leave fewer than "
			     "shared_min_cpus (%u) for %zu shared container(s)",
			     have, take, shared_floor(s), deps);
		return -ENOSPC;
	}
	return 0;
}

static int place_shared(const struct alloc_state *s, char *reason, size_t reason_size)
{
	unsigned int have = aw_count(&s->shared, s->nw);

	if (have < shared_floor(s)) {
		alloc_reason(reason, reason_size,
			     "shared pool has %u CPUs, below shared_min_cpus (%u): exclusive "
			     "containers hold the rest",
			     have, shared_floor(s));
		return -ENOSPC;
	}
	return 0;
}

/* A fresh pick next to e's devices if it has any; -EXDEV: strict and no room there
 * (the reason is written). */
static int pick_owned(struct alloc_state *s, const struct alloc_entry *e, struct alloc_pick_req *pr,
		      struct alloc_pick_out *out, enum alloc_device_fit *fit, char *reason,
		      size_t reason_size)
{
	int r;

	if (pr->near || !alloc_device_wanted(&e->req))
		return alloc_pick(s, pr, out);
	r = alloc_device_pick(s, &e->req, pr, out, fit, reason, reason_size);
	return r == -ENOSPC && *fit == ALLOC_DEVICE_FIT_NONE ? -EXDEV : r;
}

/* Pick (or grow / shrink) e's owned CPUs from avail for plan p. */
static int place_owned(struct alloc_state *s, struct alloc_entry *e, const struct alloc_plan *p,
		       const struct cpuset *avail, bool resize, char *reason, size_t reason_size)
{
	struct alloc_pick_req pr = {.avail = avail, .hide_ht = p->hide_ht};
	enum alloc_device_fit fit = ALLOC_DEVICE_FIT_NONE;
	struct alloc_pick_out out;
	struct cpuset elsewhere;
	unsigned int have = resize ? aw_count(&e->excl, s->nw) : 0;
	int r;

	aw_or(&elsewhere, &s->excl_used, &s->iso_used, s->nw);
	pr.owned_elsewhere = &elsewhere;
	if (resize && have >= p->n) {
		alloc_shrink(s, &e->excl, &e->owned, p->n, p->hide_ht);
		return 0;
	}
	pr.n = p->n - have;
	pr.near = resize && have ? &e->excl : NULL;
	r = pick_owned(s, e, &pr, &out, &fit, reason, reason_size);
	if (r == -ENOMEM || r == -EXDEV)
		return r == -EXDEV ? -ENOSPC : r;
	if (r < 0) {
		alloc_reason(reason, reason_size, "%u %s%s CPUs wanted, %u free in the %s pool",
			     pr.n, p->hide_ht ? "whole-core " : "", resize ? "more" : "",
			     p->hide_ht ? alloc_free_cores(s, avail) : aw_count(avail, s->nw),
			     alloc_pool_name(p->pool));
		return r;
	}
	if (!resize) {
		cpuset_zero(&e->excl);
		cpuset_zero(&e->owned);
		e->path = out.path;
		e->has_path = true;
		e->dev_fit = (unsigned char)fit;
	}
	cpuset_or(&e->excl, &e->excl, &out.visible);
	cpuset_or(&e->owned, &e->owned, &out.owned);
	return 0;
}

/*
 * Place e (not committed, not counted in s->shared_deps) per p. resize: e->excl /
 * e->owned hold its current CPUs of the same pool, to be kept where possible.
 * On failure e's CPUs are unchanged.
 */
int alloc_place(struct alloc_state *s, struct alloc_entry *e, const struct alloc_plan *p,
		bool resize, size_t deps_other, char *reason, size_t reason_size)
{
	struct cpuset avail, keep_excl = e->excl, keep_owned = e->owned;
	size_t deps = deps_other + (p->pool == ALLOC_POOL_SHARED || p->mixed);
	unsigned int take;
	int r;

	if (p->pool == ALLOC_POOL_SHARED)
		return place_shared(s, reason, reason_size);
	if (p->pool == ALLOC_POOL_RESERVED)
		return 0;
	if (p->pool == ALLOC_POOL_ISOLATED) {
		cpuset_andnot(&avail, &s->isolated, &s->iso_used);
		return place_owned(s, e, p, &avail, resize, reason, reason_size);
	}
	r = place_owned(s, e, p, &s->shared, resize, reason, reason_size);
	if (r < 0)
		return r;
	take = aw_count(&e->owned, s->nw);
	if (resize)
		take = take > aw_count(&keep_owned, s->nw) ? take - aw_count(&keep_owned, s->nw)
							   : 0;
	r = alloc_check_shared_min(s, take, deps, p->mixed, reason, reason_size);
	if (r < 0) {
		e->excl = keep_excl;
		e->owned = keep_owned;
	}
	return r;
}

/* ---- results ------------------------------------------------------------------------ */

static void mems_of(const struct alloc_state *s, const struct cpuset *cpus, struct cpuset *ret)
{
	const struct topology *t = s->topo;

	cpuset_zero(ret);
	if (!s->cfg.pin_mems)
		return;
	for (int i = 0; i < t->n_nodes; i++) {
		if (!aw_intersects(&t->nodes[i].cpus, cpus, s->nw))
			continue;
		cpuset_set(ret, (unsigned int)t->nodes[i].id);
		if (s->cfg.memory_only_nodes == ALLOC_MEMORY_ONLY_NEAREST)
			aw_or(ret, ret, &s->memonly[i], s->nw_nodes);
	}
	if (s->cfg.memory_only_nodes == ALLOC_MEMORY_ONLY_ALL)
		aw_or(ret, ret, &s->memonly_all, s->nw_nodes);
}

static void cpus_of(const struct alloc_state *s, const struct alloc_entry *e, struct cpuset *ret)
{
	switch (e->pool) {
	case ALLOC_POOL_SHARED:
		if (e->shielded) {
			*ret = e->excl;
			break;
		}
		*ret = s->shared;
		alloc_device_narrow(s, e, ret); /* wide: the reserved CPUs stay whole */
		if (e->wide)
			aw_or(ret, ret, &s->reserved, s->nw);
		break;
	case ALLOC_POOL_RESERVED:
		*ret = s->reserved;
		break;
	case ALLOC_POOL_EXCLUSIVE:
		*ret = e->excl;
		if (e->mixed) {
			struct cpuset pool = s->shared;

			alloc_device_narrow(s, e, &pool);
			aw_or(ret, ret, &pool, s->nw);
		}
		break;
	default:
		*ret = e->excl;
		break;
	}
}

static enum alloc_device_fit device_fit_of(const struct alloc_state *s, const struct alloc_entry *e)
{
	struct cpuset pool;

	/* most containers want no device: no copy of the pool for them (one per shared
	 * container in a reply that moves them all) */
	if (!alloc_device_wanted(&e->req))
		return ALLOC_DEVICE_FIT_NONE;
	if (e->pool == ALLOC_POOL_EXCLUSIVE || e->pool == ALLOC_POOL_ISOLATED)
		return e->has_path ? (enum alloc_device_fit)e->dev_fit : ALLOC_DEVICE_FIT_NONE;
	if (e->pool != ALLOC_POOL_SHARED || e->shielded)
		return ALLOC_DEVICE_FIT_NONE;
	pool = s->shared;
	return alloc_device_narrow(s, e, &pool);
}

static bool owns_cpus(const struct alloc_entry *e)
{
	return e->pool == ALLOC_POOL_EXCLUSIVE || e->pool == ALLOC_POOL_ISOLATED;
}

static void cpu_side_of(const struct alloc_state *s, const struct alloc_entry *e,
			struct alloc_cpu_side *ret)
{
	const struct alloc_request *q = &e->req;

	ret->pool = e->pool;
	ret->plain_shared =
		e->pool == ALLOC_POOL_SHARED && !e->shielded && !e->wide && !alloc_device_wanted(q);
	ret->shares = qos_shares_from_mcpu(q->cpu_request_mcpu);
	ret->period = s->cfg.cfs_period_us;
	/* Mixed containers keep their quota: it bounds what they take from the shared pool. */
	if (owns_cpus(e) && !e->mixed && s->cfg.exclusive_no_quota)
		ret->quota = -1;
	else
		ret->quota = qos_quota_from_mcpu(q->cpu_limit_mcpu, ret->period);
}

void alloc_result_of(const struct alloc_state *s, const struct alloc_entry *e,
		     struct alloc_result *ret)
{
	struct alloc_cpu_side side;

	cpu_side_of(s, e, &side);
	ret->pool = e->pool;
	ret->shielded = e->shielded;
	ret->isolated_fallback = e->iso_fallback;
	cpus_of(s, e, &ret->cpus);
	ret->device = device_fit_of(s, e);
	mems_of(s, &ret->cpus, &ret->mems);
	if (owns_cpus(e))
		ret->exclusive = e->excl;
	else
		cpuset_zero(&ret->exclusive);
	ret->shares = side.shares;
	ret->quota = side.quota;
	ret->period = side.period;
}

int alloc_get(const struct alloc_state *s, const char *id, struct alloc_result *ret)
{
	const struct alloc_entry *e = alloc_find(s, id);

	if (!e || !ret)
		return -ENOENT;
	alloc_result_of(s, e, ret);
	return 0;
}

int alloc_get_cpu_side(const struct alloc_state *s, const char *id, struct alloc_cpu_side *ret)
{
	const struct alloc_entry *e = alloc_find(s, id);

	if (!e || !ret)
		return -ENOENT;
	cpu_side_of(s, e, ret);
	return 0;
}

int alloc_get_request(const struct alloc_state *s, const char *id, struct alloc_request *ret)
{
	const struct alloc_entry *e = alloc_find(s, id);

	if (!e || !ret)
		return -ENOENT;
	*ret = e->req;
	return 0;
}

/* ---- changes ------------------------------------------------------------------------ */

void alloc_changes_reset(struct alloc_changes *c)
{
	if (c)
		c->n = 0;
}

void alloc_changes_done(struct alloc_changes *c)
{
	if (!c)
		return;
	free(c->ids);
	c->ids = NULL;
	c->n = c->cap = 0;
}

int alloc_changes_push(struct alloc_changes *c, const char *id)
{
	if (!c)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		const char **v = realloc(c->ids, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->ids = v;
		c->cap = cap;
	}
	c->ids[c->n++] = id;
	return 0;
}

/* Every shared-dependent container but except: the shared pool just changed. */
int alloc_changes_shared(const struct alloc_state *s, const struct alloc_entry *except,
			 struct alloc_changes *c)
{
	if (!c)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct alloc_entry *e = s->entries[i];

		if (e != except && alloc_is_shared_dep(e) && alloc_changes_push(c, e->id) < 0)
			return -ENOMEM;
	}
	return 0;
}

int alloc_changes_all(const struct alloc_state *s, struct alloc_changes *c)
{
	if (!s)
		return -EINVAL;
	if (alloc_changes_reserve(c, s->n) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		(void)alloc_changes_push(c, s->entries[i]->id); /* reserved: cannot fail */
	return 0;
}

/* Make room for one push per container (plus one) so that later pushes cannot fail. */
int alloc_changes_reserve(struct alloc_changes *c, size_t extra)
{
	const char **v;
	size_t cap;

	if (!c || c->cap >= c->n + extra)
		return 0;
	cap = c->n + extra;
	if (cap < 32)
		cap = 32;
	v = realloc(c->ids, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->ids = v;
	c->cap = cap;
	return 0;
}
