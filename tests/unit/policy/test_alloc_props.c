/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property tests of the allocation policy over every sysfs fixture (loaded with
 * sysfs_topology_load), the machine shapes of tests/lib/shapes.c (package id -1,
 * 16 sockets, inferred P/E cores) and a few synthetic machines (isolated CPUs,
 * memory-only nodes): random create / update / stop / restore / shield / unshield operations,
 * with the invariants of docs/policy.md checked after EACH step. The shield half
 * (invariants, restore with shields, the operations) is test_alloc_props_shield.h.
 *
 * TOPOGUARD_SEED: unset = the fixed default seed, "random", or a number. The seed is
 * printed first and again on failure. TOPOGUARD_PROPS_OPS overrides the operations
 * per machine (default 100000, 20000 under ASan where every step costs ~10x).
 * Fixtures are found under $TOPOGUARD_SRC/tests/fixtures/sysfs (tests/run.sh sets it
 * to the repository root), else ./tests/fixtures/sysfs.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "plugin/host/sysfs.h"
#include "policy/alloc.h"
#include "tests/lib/shapes.h"

#if defined(__SANITIZE_ADDRESS__)
#define PROPS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROPS_ASAN 1
#endif
#endif
#ifndef PROPS_ASAN
#define PROPS_ASAN 0
#endif

#define DEFAULT_SEED 0x7090a11cULL
#define MAX_LIVE     32 /* live containers: bounds each step's checks */
#define ID_LEN	     24

struct ctr {
	char id[ID_LEN];
	struct alloc_request req;
};

struct world {
	const char *name;
	const struct topology *t;
	struct alloc_config cfg;
	struct alloc_state *s;
	struct ctr live[MAX_LIVE];
	struct alloc_result res[MAX_LIVE];	/* live[i]'s result, filled by check_state */
	struct alloc_restore_entry v[MAX_LIVE]; /* check_restore's input, reused */
	size_t n_live;
	size_t n_prev;	       /* res[0..n_prev) hold the results before this step */
	const char *target;    /* the container this step operated on */
	unsigned int max_cpus; /* largest integer request: scales with the machine */
	uint64_t rng;
	unsigned long step, next_id;
	struct alloc_state *scratch; /* empty state reused by check_restore */
	struct alloc_changes ch;
	unsigned long creates, refusals, updates, stops, restores;
	unsigned long shields, unshields, shield_refusals;
};

static uint64_t g_seed;
static long g_ops;

static const char *const g_namespaces[] = {"kube-system", "default", "team-a", "monitoring"};
static const char *const g_reserved_ns[] = {"kube-system", "monitoring"};

/* Only the words that can hold an online CPU: keeps per-step checks cheap. */
static unsigned int g_nw;

static bool w_intersects(const struct cpuset *a, const struct cpuset *b)
{
	for (unsigned int i = 0; i < g_nw; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

static void w_or(struct cpuset *dst, const struct cpuset *a)
{
	for (unsigned int i = 0; i < g_nw; i++)
		dst->bits[i] |= a->bits[i];
}

static uint64_t rnd(struct world *w)
{
	/* xorshift64*: deterministic per seed, no libc state. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

static unsigned int rnd_below(struct world *w, unsigned int n)
{
	return n ? (unsigned int)(rnd(w) % n) : 0;
}

static void __attribute__((format(printf, 2, 3))) die(const struct world *w, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("%s: step %lu: %s (seed %" PRIu64 "; rerun with TOPOGUARD_SEED=%" PRIu64 ")",
		 w->name, w->step, msg, g_seed, g_seed);
}

static bool hides(const struct world *w, const struct alloc_request *r)
{
	return r->prefs.hide_hyperthreads >= 0 ? r->prefs.hide_hyperthreads > 0
					       : w->cfg.hide_hyperthreads;
}

/* CPUs a container owns: its exclusive part, plus the idle siblings when hiding. */
static void owned_of(const struct world *w, const struct alloc_request *r,
		     const struct alloc_result *res, struct cpuset *ret)
{
	int cpu;

	*ret = res->exclusive;
	if (!hides(w, r))
		return;
	cpuset_foreach (cpu, &res->exclusive) {
		const struct topo_cpu *c = topology_cpu(w->t, cpu);

		if (c && c->core >= 0)
			w_or(ret, &w->t->cores[c->core].cpus);
	}
}

static bool ns_reserved(const char *ns)
{
	for (size_t i = 0; i < sizeof(g_reserved_ns) / sizeof(g_reserved_ns[0]); i++)
		if (strcmp(ns, g_reserved_ns[i]) == 0)
			return true;
	return false;
}

static unsigned int nodes_spanned(const struct topology *t, const struct cpuset *cpus)
{
	unsigned int n = 0;

	for (int i = 0; i < t->n_nodes; i++)
		n += w_intersects(&t->nodes[i].cpus, cpus);
	return n;
}

static bool changes_has(const struct world *w, const char *id)
{
	for (size_t i = 0; i < w->ch.n; i++)
		if (strcmp(w->ch.ids[i], id) == 0)
			return true;
	return false;
}

/* Placed next to its devices (narrowed to them, for a shared part). */
static bool near_devices(enum alloc_device_fit f)
{
	return f == ALLOC_DEVICE_FIT_LOCAL || f == ALLOC_DEVICE_FIT_NODE ||
	       f == ALLOC_DEVICE_FIT_PACKAGE;
}

/* Its shared part may be narrowed to its devices' nodes (docs/policy.md "Devices"). */
static bool has_devices(const struct alloc_request *r)
{
	return r->prefs.device_mode != ALLOC_DEVICE_OFF && !cpuset_is_empty(&r->prefs.device_nodes);
}

#include "tests/unit/policy/test_alloc_props_shield.h"

/* The CPUs of the nodes of r's devices. */
static void device_node_cpus(const struct world *w, const struct alloc_request *r,
			     struct cpuset *ret)
{
	cpuset_zero(ret);
	for (int i = 0; i < w->t->n_nodes; i++)
		if (cpuset_test(&r->prefs.device_nodes, (unsigned int)w->t->nodes[i].id))
			w_or(ret, &w->t->nodes[i].cpus);
}

static void check_one(struct world *w, size_t i, const struct alloc_stats *st, struct cpuset *seen,
		      struct cpuset *shields, unsigned int *deps)
{
	const struct ctr *c = &w->live[i];
	struct alloc_result res;
	struct cpuset owned, pool_part;

	if (alloc_get(w->s, c->id, &res) < 0)
		die(w, "%s missing", c->id);
	/* Every other container whose cpuset changed must have been reported. */
	if (i < w->n_prev && c->id != w->target && !cpuset_equal(&w->res[i].cpus, &res.cpus) &&
	    !changes_has(w, c->id))
		die(w, "%s's cpuset changed but it was not reported", c->id);
	w->res[i] = res;
	if (cpuset_is_empty(&res.cpus))
		die(w, "%s has an empty cpuset", c->id);
	owned_of(w, &c->req, &res, &owned);
	if (w_intersects(&owned, seen))
		die(w, "%s: exclusive CPUs owned twice", c->id);
	w_or(seen, &owned);
	if (w_intersects(&owned, &st->shared) || w_intersects(&owned, &st->reserved))
		die(w, "%s: exclusive CPUs also shared or reserved", c->id);
	if (w_intersects(&res.cpus, &st->reserved) && !ns_reserved(c->req.pod_namespace) &&
	    !(w->cfg.burstable_unlimited_wide && c->req.qos == QOS_BURSTABLE &&
	      c->req.cpu_limit_mcpu == 0))
		die(w, "%s (namespace %s) runs on reserved CPUs", c->id, c->req.pod_namespace);
	if (res.shielded)
		check_shield(w, c, &res, st, shields);
	if (on_shared_pool(c, &res)) {
		(*deps)++;
		/* Exactly the pool besides its own (and, when wide, the reserved) CPUs. */
		cpuset_andnot(&pool_part, &res.cpus, &res.exclusive);
		cpuset_andnot(&pool_part, &pool_part, &st->reserved);
		if (has_devices(&c->req) ? cpuset_is_empty(&pool_part) ||
						   !cpuset_is_subset(&pool_part, &st->shared)
					 : !cpuset_equal(&pool_part, &st->shared))
			die(w, "%s: shared container not on %s the shared pool", c->id,
			    has_devices(&c->req) ? "a part of" : "exactly");
		if (res.pool == ALLOC_POOL_SHARED && !has_devices(&c->req) &&
		    res.device != ALLOC_DEVICE_FIT_NONE)
			die(w, "%s: no devices, fit %s", c->id, alloc_device_fit_name(res.device));
	}
	if (w->cfg.pin_mems && cpuset_is_empty(&res.mems))
		die(w, "%s: empty mems", c->id);
}

static void check_state(struct world *w)
{
	struct alloc_stats st;
	struct cpuset seen, all, shields;
	unsigned int deps = 0, floor, n_shields = 0;

	alloc_stats_get(w->s, &st);
	cpuset_zero(&seen);
	cpuset_zero(&shields);
	if (alloc_count(w->s) != w->n_live)
		die(w, "%zu containers in the state, %zu live", alloc_count(w->s), w->n_live);
	for (size_t i = 0; i < w->n_live; i++) {
		check_one(w, i, &st, &seen, &shields, &deps);
		n_shields += w->res[i].shielded;
	}
	cpuset_or(&all, &st.exclusive, &st.isolated);
	if (!cpuset_equal(&all, &seen))
		die(w, "pool accounting differs from the containers' CPUs");
	if (!cpuset_equal(&shields, &st.shielded) || n_shields != st.shielded_containers)
		die(w, "%u shields on %u CPUs, stats say %u on %u", n_shields,
		    cpuset_count(&shields), st.shielded_containers, cpuset_count(&st.shielded));
	if (deps != st.shared_containers)
		die(w, "%u shared containers, stats say %u", deps, st.shared_containers);
	if (st.pool[ALLOC_POOL_SHARED].capacity != cpuset_count(&st.shared))
		die(w, "shared capacity %u, pool has %u CPUs", st.pool[ALLOC_POOL_SHARED].capacity,
		    cpuset_count(&st.shared));
	floor = w->cfg.shared_min_cpus ? w->cfg.shared_min_cpus : 1;
	if (deps && cpuset_count(&st.shared) < floor)
		die(w, "shared pool %u CPUs < minimum %u with %u shared containers",
		    cpuset_count(&st.shared), floor, deps);
	/* A shielded container goes back to the pool on unshield: that pool too. */
	cpuset_or(&all, &st.shared, &st.shielded);
	if (n_shields && cpuset_count(&all) < floor)
		die(w,
		    "shared pool %u CPUs + shields %u < minimum %u: an unshield would leave "
		    "a shared container below it",
		    cpuset_count(&st.shared), cpuset_count(&st.shielded), floor);
}

/* Feed the current assignments into a fresh state: it must come out the same, minus
 * the shields (restore drops them; restore_compare says what that changes). */
static void check_restore(struct world *w, bool adopt)
{
	struct alloc_restore_entry *v = w->v;
	struct alloc_state *s2 = w->scratch;
	const struct alloc_result *a;
	struct alloc_stats st;
	size_t n = alloc_count(w->s);
	bool lent;
	int r;

	if (!s2 && alloc_state_new(w->t, &w->cfg, &s2) < 0)
		die(w, "out of memory");
	alloc_stats_get(w->s, &st);
	lent = !cpuset_is_empty(&st.shielded);
	/* Live order, not the state's: any order must restore a valid state unchanged.
	 * w->res holds the current results (check_state ran on this state). */
	for (size_t i = 0; i < n; i++) {
		const struct ctr *c = &w->live[i];

		a = &w->res[i];
		v[i].req = c->req;
		v[i].cpus = a->cpus;
		v[i].has_exclusive = true;
		v[i].exclusive = a->exclusive;
	}
	alloc_changes_reset(&w->ch);
	r = alloc_restore(s2, v, n, &w->ch, NULL, 0);
	if (r < 0)
		die(w, "restore: %s", strerror(-r));
	if (w->ch.n && !lent)
		die(w, "restore of an unchanged state moved %s", w->ch.ids[0]);
	for (size_t i = 0; i < n; i++)
		restore_compare(w, s2, i, &st, lent);
	restore_check_pools(w, s2, &st);
	if (adopt) {
		alloc_state_free(w->s);
		w->s = s2;
		w->scratch = NULL;
		w->restores++;
		return;
	}
	/* Empty it again for the next check (cheaper than a new state per step). */
	for (size_t i = 0; i < n; i++)
		if (alloc_release(s2, w->live[i].id, NULL) != 1)
			die(w, "release %s from the restored state", w->live[i].id);
	w->scratch = s2;
}

/* One container in five has devices on one or two nodes; some strict, some opted out. */
static void random_devices(struct world *w, struct alloc_request *r)
{
	unsigned int roll = rnd_below(w, 100);

	if (roll >= 20 || w->t->n_nodes < 1)
		return;
	for (int k = roll < 5 ? 2 : 1; k > 0; k--)
		cpuset_set(&r->prefs.device_nodes,
			   (unsigned int)w->t->nodes[rnd_below(w, (unsigned int)w->t->n_nodes)].id);
	roll = rnd_below(w, 10);
	r->prefs.device_mode = roll == 0   ? ALLOC_DEVICE_STRICT
			       : roll == 1 ? ALLOC_DEVICE_OFF
					   : ALLOC_DEVICE_PREFER;
}

static void random_request(struct world *w, struct ctr *c)
{
	struct alloc_request *r = &c->req;
	unsigned int roll = rnd_below(w, 100);

	alloc_request_init(r);
	snprintf(c->id, sizeof(c->id), "c%lu", w->next_id++);
	r->id = c->id;
	r->pod_namespace = g_namespaces[rnd_below(w, 100) < 10 ? 0 : 1 + rnd_below(w, 3)];
	if (roll < 45) {
		r->qos = QOS_GUARANTEED;
		r->cpu_request_mcpu = rnd_below(w, 4) ? 1000 * (1 + rnd_below(w, w->max_cpus))
						      : 250 * (1 + rnd_below(w, 12));
		r->cpu_limit_mcpu = r->cpu_request_mcpu;
	} else if (roll < 80) {
		r->qos = QOS_BURSTABLE;
		r->cpu_request_mcpu = 100 * (1 + rnd_below(w, 20));
		r->cpu_limit_mcpu = rnd_below(w, 2) ? 0 : r->cpu_request_mcpu * 2;
	} else {
		r->qos = QOS_BESTEFFORT;
	}
	roll = rnd_below(w, 100);
	r->prefs.hide_hyperthreads = roll < 10 ? 1 : roll < 15 ? 0 : -1;
	r->prefs.isolated = !cpuset_is_empty(&w->t->isolated) && rnd_below(w, 100) < 8;
	r->prefs.shared_only = rnd_below(w, 100) < 3;
	random_devices(w, r);
}

static bool node_fits(const struct world *w, const struct cpuset *avail, unsigned int n, bool hide)
{
	const struct topology *t = w->t;

	for (int i = 0; i < t->n_nodes; i++) {
		struct cpuset x;
		unsigned int cores = 0;

		cpuset_and(&x, avail, &t->nodes[i].cpus);
		if (!hide) {
			if (cpuset_count(&x) >= n)
				return true;
			continue;
		}
		for (int k = 0; k < t->n_cores; k++)
			cores += cpuset_is_subset(&t->cores[k].cpus, &x) &&
				 !cpuset_is_empty(&t->cores[k].cpus);
		if (cores >= n)
			return true;
	}
	return false;
}

/* An exclusive allocation that fits in one NUMA node lies in one. */
static void check_numa(struct world *w, const struct alloc_request *r,
		       const struct alloc_stats *before, const struct alloc_result *res)
{
	struct cpuset avail;
	unsigned int n;

	if (res->pool == ALLOC_POOL_EXCLUSIVE) {
		avail = before->shared;
		n = (unsigned int)(r->cpu_request_mcpu / 1000);
	} else if (res->pool == ALLOC_POOL_ISOLATED) {
		cpuset_andnot(&avail, &w->t->isolated, &before->isolated);
		cpuset_andnot(&avail, &avail, &before->reserved);
		n = (unsigned int)((r->cpu_request_mcpu + 999) / 1000);
		n = n ? n : 1;
	} else {
		return;
	}
	if (near_devices(res->device) || res->device == ALLOC_DEVICE_FIT_ELSEWHERE) {
		struct cpuset near;

		device_node_cpus(w, r, &near);
		if ((res->device == ALLOC_DEVICE_FIT_NODE ||
		     res->device == ALLOC_DEVICE_FIT_LOCAL) &&
		    !cpuset_is_subset(&res->exclusive, &near))
			die(w, "%s: placed on its devices' nodes but outside them", r->id);
		cpuset_and(&near, &near, &avail);
		if (res->device != ALLOC_DEVICE_FIT_NODE && res->device != ALLOC_DEVICE_FIT_LOCAL &&
		    node_fits(w, &near, n, hides(w, r)))
			die(w, "%s: a device node had room for %u CPUs, placed %s", r->id, n,
			    alloc_device_fit_name(res->device));
		if (res->device == ALLOC_DEVICE_FIT_PACKAGE)
			return; /* next to the device beats one node elsewhere */
		if (res->device != ALLOC_DEVICE_FIT_ELSEWHERE) {
			/* devices on two nodes may take both; one that fits takes one */
			if (w->cfg.prefer_same_numa && node_fits(w, &near, n, hides(w, r)) &&
			    nodes_spanned(w->t, &res->exclusive) > 1)
				die(w, "%s: %u CPUs fit in one device node but span %u", r->id, n,
				    nodes_spanned(w->t, &res->exclusive));
			return;
		}
	}
	if (!w->cfg.prefer_same_numa)
		return; /* the knob that turns this property off */
	if (node_fits(w, &avail, n, hides(w, r)) && nodes_spanned(w->t, &res->exclusive) > 1)
		die(w, "%s: %u CPUs fit in one node but span %u", r->id, n,
		    nodes_spanned(w->t, &res->exclusive));
}

static void op_create(struct world *w)
{
	struct ctr *c = &w->live[w->n_live];
	struct alloc_stats before;
	struct alloc_result res;
	int r;

	random_request(w, c);
	alloc_stats_get(w->s, &before);
	r = alloc_create(w->s, &c->req, &res, &w->ch, NULL, 0);
	if (r == -ENOSPC && !c->req.prefs.shared_only) {
		c->req.prefs.shared_only = true; /* what the daemon does */
		r = alloc_create(w->s, &c->req, &res, &w->ch, NULL, 0);
	}
	if (r == -ENOSPC) {
		w->refusals++;
		return;
	}
	if (r < 0)
		die(w, "create %s: %s", c->id, strerror(-r));
	check_numa(w, &c->req, &before, &res);
	w->target = c->id;
	w->n_live++;
	w->creates++;
}

static void op_update(struct world *w)
{
	struct ctr *c = &w->live[rnd_below(w, (unsigned int)w->n_live)];
	struct alloc_request nr = c->req;
	struct alloc_result before, after;
	int r;

	if (nr.qos == QOS_GUARANTEED) {
		nr.cpu_request_mcpu = rnd_below(w, 3) ? 1000 * (1 + rnd_below(w, w->max_cpus + 1))
						      : 250 * (1 + rnd_below(w, 16));
		nr.cpu_limit_mcpu = nr.cpu_request_mcpu;
	} else if (nr.qos == QOS_BURSTABLE) {
		nr.cpu_request_mcpu = 100 * (1 + rnd_below(w, 20));
	}
	alloc_get(w->s, c->id, &before);
	r = alloc_update(w->s, &nr, &after, &w->ch, NULL, 0);
	if (r == -ENOSPC) {
		alloc_get(w->s, c->id, &after);
		/* A failed update keeps the old allocation, a shield included. */
		if (!cpuset_equal(&before.exclusive, &after.exclusive) ||
		    !cpuset_equal(&before.cpus, &after.cpus) || before.shielded != after.shielded)
			die(w, "failed update of %s changed it", c->id);
		w->refusals++;
		return;
	}
	if (r < 0)
		die(w, "update %s: %s", c->id, strerror(-r));
	if (after.shielded)
		die(w, "update of %s kept its shield (an update ends the loan)", c->id);
	c->req = nr;
	w->target = c->id;
	w->updates++;
}

static void op_stop(struct world *w)
{
	size_t i = rnd_below(w, (unsigned int)w->n_live);

	if (alloc_release(w->s, w->live[i].id, &w->ch) != 1)
		die(w, "release %s", w->live[i].id);
	if (alloc_release(w->s, w->live[i].id, &w->ch) != 0)
		die(w, "second release of %s", w->live[i].id);
	w->live[i] = w->live[--w->n_live];
	w->live[i].req.id = w->live[i].id; /* the id string moved with the struct */
	w->res[i] = w->res[w->n_live];
	w->n_prev--;
	w->stops++;
}

/*
 * A Synchronize after trouble: the containers in a random order, some without their
 * persisted exclusive part, some claiming another container's CPUs. Conflicts must
 * be resolved (checked by check_state) and every container whose cpuset differs from
 * what it reported must be listed.
 */
static void op_restore_messy(struct world *w)
{
	struct alloc_restore_entry *v = calloc(w->n_live + 1, sizeof(*v));
	struct alloc_state *s2 = NULL;
	struct alloc_result res;
	size_t n = w->n_live;

	if (!v || alloc_state_new(w->t, &w->cfg, &s2) < 0)
		die(w, "out of memory");
	for (size_t i = 0; i < n; i++) {
		size_t j = rnd_below(w, (unsigned int)(i + 1));

		v[i] = v[j]; /* inside-out Fisher-Yates */
		v[j].req = w->live[i].req;
		v[j].cpus = w->res[i].cpus;
		v[j].has_exclusive = rnd_below(w, 4) != 0;
		v[j].exclusive = w->res[i].exclusive;
	}
	for (size_t i = 0; i < n; i++) {
		if (n > 1 && rnd_below(w, 5) == 0) {
			v[i].cpus = v[rnd_below(w, (unsigned int)n)].cpus;
			v[i].exclusive = v[i].cpus;
		}
	}
	if (alloc_restore(s2, v, n, &w->ch, NULL, 0) < 0)
		die(w, "messy restore failed");
	for (size_t i = 0; i < n; i++) {
		if (alloc_get(s2, v[i].req.id, &res) < 0)
			die(w, "%s lost by restore", v[i].req.id);
		if (!cpuset_equal(&res.cpus, &v[i].cpus) && !changes_has(w, v[i].req.id))
			die(w, "restore moved %s without reporting it", v[i].req.id);
	}
	free(v);
	alloc_state_free(w->s);
	w->s = s2;
	w->n_prev = 0; /* reported relative to the claims, checked above */
	w->restores++;
}

static void step(struct world *w)
{
	unsigned int roll = rnd_below(w, 100);

	alloc_changes_reset(&w->ch);
	w->n_prev = w->n_live;
	w->target = NULL;
	if (roll < 2) {
		check_state(w); /* fills w->res for the restores */
		if (roll == 0)
			check_restore(w, true);
		else
			op_restore_messy(w);
	} else if (w->n_live == 0 || (roll < 45 && w->n_live < MAX_LIVE))
		op_create(w);
	else if (roll < 62)
		op_update(w);
	else if (roll < 72)
		op_shield(w);
	else if (roll < 78)
		op_unshield(w);
	else
		op_stop(w);
	check_state(w);
	check_restore(w, false);
}

static void random_config(struct world *w)
{
	struct alloc_config *c = &w->cfg;
	unsigned int online = cpuset_count(&w->t->online);

	alloc_config_init(c);
	c->reserved_namespaces = g_reserved_ns;
	c->n_reserved_namespaces = 2;
	c->reserved_count = online >= 8 ? rnd_below(w, 3) : 0;
	c->shared_min_cpus = online >= 8 ? 1 + rnd_below(w, 2) : 1;
	c->hide_hyperthreads = rnd_below(w, 4) == 0;
	c->burstable_unlimited_wide = rnd_below(w, 2);
	c->memory_only_nodes = rnd_below(w, 2) ? ALLOC_MEMORY_ONLY_NEAREST : ALLOC_MEMORY_ONLY_NONE;
	c->exclusive_no_quota = rnd_below(w, 2);
	c->prefer_whole_cores = rnd_below(w, 4) != 0;
	c->prefer_same_numa = rnd_below(w, 8) != 0;
	if (alloc_config_validate(w->t, c, NULL, 0) < 0) {
		alloc_config_init(c);
		c->reserved_namespaces = g_reserved_ns;
		c->n_reserved_namespaces = 2;
	}
}

/* What a run holds while it runs: die() jumps out of it, run_teardown frees it. */
static struct {
	struct world *w;
	struct topology *t;
	struct dirent **names;
	int n_names;
} g_run;

static void world_free(struct world *w)
{
	if (!w)
		return;
	alloc_state_free(w->s);
	alloc_state_free(w->scratch);
	alloc_changes_done(&w->ch);
	free(w);
}

static int run_teardown(void **state)
{
	(void)state;
	world_free(g_run.w);
	topology_free(g_run.t);
	for (int i = 0; i < g_run.n_names; i++)
		free(g_run.names[i]);
	free(g_run.names);
	memset(&g_run, 0, sizeof(g_run));
	return 0;
}

static void run_world(const char *name, const struct topology *t, long ops)
{
	struct world *w = calloc(1, sizeof(*w));
	int r;

	assert_non_null(w);
	g_run.w = w;
	w->name = name;
	w->t = t;
	g_nw = t->max_cpu < 0 ? 1 : (unsigned int)t->max_cpu / 64 + 1;
	w->max_cpus = cpuset_count(&t->online) / 8;
	if (w->max_cpus < 4)
		w->max_cpus = 4;
	w->rng = g_seed ^ (uint64_t)strlen(name) * 0x9e3779b97f4a7c15ULL;
	for (const char *p = name; *p; p++)
		w->rng = (w->rng ^ (unsigned char)*p) * 1099511628211ULL;
	w->rng |= 1;
	random_config(w);
	r = alloc_state_new(t, &w->cfg, &w->s);
	if (r < 0)
		die(w, "alloc_state_new: %s", strerror(-r));
	for (w->step = 0; w->step < (unsigned long)ops; w->step++)
		step(w);
	printf("  %-16s %3u CPUs: %lu creates, %lu updates, %lu stops, %lu restores, "
	       "%lu refusals, %lu shields (%lu refused), %lu unshields (reserved %u, min %u, "
	       "hide %d, wide %d, whole %d, numa %d)\n",
	       name, cpuset_count(&t->online), w->creates, w->updates, w->stops, w->restores,
	       w->refusals, w->shields, w->shield_refusals, w->unshields, w->cfg.reserved_count,
	       w->cfg.shared_min_cpus, w->cfg.hide_hyperthreads, w->cfg.burstable_unlimited_wide,
	       w->cfg.prefer_whole_cores, w->cfg.prefer_same_numa);
	world_free(w);
	g_run.w = NULL;
}

static void fixture_dir(char *buf, size_t size)
{
	const char *src = getenv("TOPOGUARD_SRC");

	snprintf(buf, size, "%s/tests/fixtures/sysfs", src && src[0] ? src : ".");
}

static void test_alloc_props_fixtures(void **state)
{
	char dir[4096], root[4400];
	struct dirent **names = NULL;
	int n, done = 0;

	(void)state;
	fixture_dir(dir, sizeof(dir));
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		fail_msg("no fixtures at %s (set TOPOGUARD_SRC): %s", dir, strerror(errno));
	g_run.names = names;
	g_run.n_names = n;
	for (int i = 0; i < n; i++) {
		int r;

		snprintf(root, sizeof(root), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] == '.' || strstr(names[i]->d_name, ".md"))
			continue;
		r = sysfs_topology_load(root, &g_run.t);
		if (r < 0)
			fail_msg("sysfs_topology_load(%s): %s", root, strerror(-r));
		run_world(names[i]->d_name, g_run.t, g_ops);
		topology_free(g_run.t);
		g_run.t = NULL;
		done++;
	}
	assert_true(done > 0);
}

static void test_alloc_props_synthetic(void **state)
{
	struct topo_synth_spec specs[] = {
		{.packages = 2,
		 .dies_per_package = 1,
		 .nodes_per_die = 2,
		 .l3_per_node = 2,
		 .cores_per_l3 = 4,
		 .threads_per_core = 2,
		 .memory_only_nodes = 2},
		{.packages = 1,
		 .dies_per_package = 1,
		 .nodes_per_die = 1,
		 .l3_per_node = 2,
		 .cores_per_l3 = 4,
		 .threads_per_core = 2},
	};
	char name[32];

	(void)state;
	/* Isolated CPUs: no fixture has isolcpus=. */
	for (int k = 0; k < 4; k++)
		cpuset_set(&specs[1].isolated, (unsigned int)(4 + k));
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		assert_int_equal(topology_synthetic(&specs[i], &g_run.t), 0);
		snprintf(name, sizeof(name), "synthetic-%zu", i);
		run_world(name, g_run.t, g_ops / 2);
		topology_free(g_run.t);
		g_run.t = NULL;
	}
}

static void test_alloc_props_shapes(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	char name[64];

	(void)state;
	assert_non_null(sh);
	for (size_t i = 0; i < shape_count(); i++) {
		assert_int_equal(shape_get(i, sh), 0);
		if (!sh->bench)
			continue;
		assert_int_equal(shape_load(sh, &g_run.t), 0);
		snprintf(name, sizeof(name), "shape:%s", sh->name);
		run_world(name, g_run.t, g_ops / 4);
		topology_free(g_run.t);
		g_run.t = NULL;
	}
	free(sh);
}

static uint64_t pick_seed(void)
{
	const char *e = getenv("TOPOGUARD_SEED");
	struct timespec ts;

	if (!e || !e[0])
		return DEFAULT_SEED;
	if (strcmp(e, "random") == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
	}
	return strtoull(e, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_alloc_props_synthetic, run_teardown),
		cmocka_unit_test_teardown(test_alloc_props_fixtures, run_teardown),
		cmocka_unit_test_teardown(test_alloc_props_shapes, run_teardown),
	};
	const char *ops = getenv("TOPOGUARD_PROPS_OPS");

	g_seed = pick_seed();
	g_ops = ops && ops[0] ? strtol(ops, NULL, 10) : PROPS_ASAN ? 20000 : 100000;
	if (g_ops <= 0)
		g_ops = 1;
	printf("alloc properties: seed %" PRIu64 " (TOPOGUARD_SEED), %ld ops per machine%s\n",
	       g_seed, g_ops, PROPS_ASAN ? " (ASan build: scaled down from 100000)" : "");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
