/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shield half of the allocation property test: invariants of shielded containers,
 * the restore comparison once shields are around, and the shield / unshield
 * operations. Not a standalone header: test_alloc_props.c includes it once, after
 * struct world and the helpers it uses (die, rnd_below, w_intersects, w_or,
 * changes_has), only to keep each file under 800 lines.
 */
#pragma once

static unsigned int cores_spanned(const struct topology *t, const struct cpuset *cpus)
{
	unsigned int n = 0;

	for (int i = 0; i < t->n_cores; i++)
		n += w_intersects(&t->cores[i].cpus, cpus);
	return n;
}

/* Every thread of the cores cpus touches. */
static void cores_of(const struct topology *t, const struct cpuset *cpus, struct cpuset *ret)
{
	cpuset_zero(ret);
	for (int i = 0; i < t->n_cores; i++)
		if (w_intersects(&t->cores[i].cpus, cpus))
			w_or(ret, &t->cores[i].cpus);
}

/* Runs on the shared pool (whole of it): shared and not shielded, or mixed. */
static bool on_shared_pool(const struct ctr *c, const struct alloc_result *res)
{
	return (res->pool == ALLOC_POOL_SHARED && !res->shielded) ||
	       (res->pool == ALLOC_POOL_EXCLUSIVE && c->req.cpu_request_mcpu % 1000);
}

/* A shield is CPUs of nobody else: not in any pool, nor in another shield. */
static void check_shield(struct world *w, const struct ctr *c, const struct alloc_result *res,
			 const struct alloc_stats *st, struct cpuset *shields)
{
	if (res->pool != ALLOC_POOL_SHARED || !cpuset_is_empty(&res->exclusive))
		die(w, "%s: shielded but pool %s / exclusive part", c->id,
		    alloc_pool_name(res->pool));
	if (w_intersects(&res->cpus, shields))
		die(w, "%s: shield overlaps another shield", c->id);
	w_or(shields, &res->cpus);
	if (!cpuset_is_subset(&res->cpus, &st->shielded))
		die(w, "%s: shield CPUs missing from stats.shielded", c->id);
	if (w_intersects(&res->cpus, &st->shared) || w_intersects(&res->cpus, &st->reserved) ||
	    w_intersects(&res->cpus, &st->exclusive) || w_intersects(&res->cpus, &st->isolated))
		die(w, "%s: shield CPUs also shared, reserved, exclusive or isolated", c->id);
}

/*
 * Container i after the restore into s2 against before it (w->res[i]). A shield is a
 * loan that restore drops: with shields (lent) the shielded and the shared-pool
 * containers come out on the pool with the shields given back, and only they are
 * reported; everything else, and every container when nothing was lent, must come
 * out exactly as it was. This keeps the round trip meaningful with shields around
 * instead of skipping it (or unshielding first, which would test unshield twice).
 */
static void restore_compare(struct world *w, struct alloc_state *s2, size_t i,
			    const struct alloc_stats *st, bool lent)
{
	const struct ctr *c = &w->live[i];
	const struct alloc_result *a = &w->res[i];
	struct alloc_result b;
	struct cpuset pool, back;
	bool moved = lent && (a->shielded || on_shared_pool(c, a));

	if (alloc_get(s2, c->id, &b) < 0 || a->pool != b.pool || b.shielded ||
	    !cpuset_equal(&a->exclusive, &b.exclusive) || a->quota != b.quota ||
	    a->shares != b.shares)
		die(w, "restore changed %s", c->id);
	if (moved && has_devices(&c->req)) {
		/* narrowed to its devices: moves only if the shields were near them */
		cpuset_or(&back, &st->shared, &st->shielded);
		cpuset_andnot(&pool, &b.cpus, &b.exclusive);
		cpuset_andnot(&pool, &pool, &st->reserved);
		if (cpuset_is_empty(&pool) || !cpuset_is_subset(&pool, &back))
			die(w, "restore put %s outside the pool", c->id);
		if (changes_has(w, c->id) == cpuset_equal(&a->cpus, &b.cpus))
			die(w, "restore of %s: reported %d, cpus changed %d", c->id,
			    changes_has(w, c->id), !cpuset_equal(&a->cpus, &b.cpus));
		return;
	}
	if (changes_has(w, c->id) != moved)
		die(w, "restore %s %s", moved ? "did not report" : "moved", c->id);
	if (!moved) {
		/* No change reported means equal cpus; compare mems too. */
		if (!cpuset_equal(&a->cpus, &b.cpus) || !cpuset_equal(&a->mems, &b.mems))
			die(w, "restore changed %s without reporting it", c->id);
		return;
	}
	cpuset_or(&back, &st->shared, &st->shielded);
	cpuset_andnot(&pool, &b.cpus, &b.exclusive);
	cpuset_andnot(&pool, &pool, &st->reserved);
	if (!cpuset_equal(&pool, &back))
		die(w, "restore put %s on other than the pool with the shields given back", c->id);
}

static void restore_check_pools(struct world *w, const struct alloc_state *s2,
				const struct alloc_stats *st)
{
	struct alloc_stats st2;
	struct cpuset back;

	alloc_stats_get(s2, &st2);
	cpuset_or(&back, &st->shared, &st->shielded);
	if (!cpuset_equal(&st2.shared, &back) || !cpuset_is_empty(&st2.shielded) ||
	    st2.shielded_containers || !cpuset_equal(&st2.exclusive, &st->exclusive) ||
	    !cpuset_equal(&st2.isolated, &st->isolated))
		die(w, "restore changed the pools beyond dropping the shields");
}

/* After a shield / unshield: exactly target and every container on the shared pool. */
static void check_shield_changes(struct world *w, const char *target)
{
	struct alloc_result res;
	size_t want = 0;

	for (size_t i = 0; i < w->n_live; i++) {
		const struct ctr *c = &w->live[i];
		bool listed = strcmp(c->id, target) == 0;

		if (alloc_get(w->s, c->id, &res) < 0)
			die(w, "%s missing", c->id);
		listed = listed || on_shared_pool(c, &res);
		if (changes_has(w, c->id) != listed)
			die(w, "shield of %s: %s %s in changes", target, c->id,
			    listed ? "missing" : "wrongly");
		want += listed;
	}
	if (w->ch.n != want)
		die(w, "shield of %s: %zu changes, want %zu", target, w->ch.n, want);
}

/* A live container, mostly one that can be shielded (shared, not shielded yet). */
static struct ctr *pick_shield_target(struct world *w, bool shielded)
{
	size_t start = rnd_below(w, (unsigned int)w->n_live);
	struct alloc_result res;

	if (rnd_below(w, 5) == 0)
		return &w->live[start]; /* sometimes anyone: the errors get exercised */
	for (size_t k = 0; k < w->n_live; k++) {
		struct ctr *c = &w->live[(start + k) % w->n_live];

		if (alloc_get(w->s, c->id, &res) == 0 && res.pool == ALLOC_POOL_SHARED &&
		    res.shielded == shielded)
			return c;
	}
	return &w->live[start];
}

/* What a shield of n CPUs must do given the state before it (stats, c's result). */
static int shield_expect(const struct world *w, const struct alloc_stats *st,
			 const struct alloc_request *r, const struct alloc_result *before,
			 unsigned int n)
{
	/* wide, even when narrowed to its devices' node away from the reserved CPUs */
	bool wide = w->cfg.burstable_unlimited_wide && r->qos == QOS_BURSTABLE &&
		    r->cpu_limit_mcpu == 0 && !cpuset_is_empty(&st->reserved);

	unsigned int floor = w->cfg.shared_min_cpus ? w->cfg.shared_min_cpus : 1;

	if (before->pool != ALLOC_POOL_SHARED)
		return -EINVAL;
	if (before->shielded)
		return -EALREADY;
	if (wide || w_intersects(&before->cpus, &st->reserved))
		return -EINVAL; /* wide Burstable: on the shared and the reserved pool */
	/* n CPUs are always found in a pool that has them; the floor is kept even with no
	 * other shared container (the next one is created there). */
	return cpuset_count(&st->shared) < n + floor ? -ENOSPC : 0;
}

/* Whole cores exactly when the pool can spare the siblings (and keep its floor). */
static void check_widening(struct world *w, const char *id, unsigned int n,
			   const struct cpuset *pool, const struct cpuset *shield)
{
	unsigned int floor = w->cfg.shared_min_cpus ? w->cfg.shared_min_cpus : 1;
	unsigned int have = cpuset_count(pool), got = cpuset_count(shield);
	struct cpuset whole;

	cores_of(w->t, shield, &whole);
	cpuset_and(&whole, &whole, pool);
	if (cpuset_equal(&whole, shield)) {
		if (got > n && have - got < floor)
			die(w, "shield %s widened to %u CPUs, leaving %u < %u", id, got, have - got,
			    floor);
		return;
	}
	if (got != n)
		die(w, "shield %s: %u CPUs for %u, not whole cores", id, got, n);
	if (have - cpuset_count(&whole) >= floor)
		die(w, "shield %s not widened, though the pool could spare %u siblings", id,
		    cpuset_count(&whole) - got);
}

/* The core of the pool's first CPU (housekeeping) is used only when n need it. */
static void check_housekeeping(struct world *w, const char *id, unsigned int n,
			       const struct cpuset *pool, const struct cpuset *shield)
{
	struct cpuset one, first, rest;
	int cpu = cpuset_next(pool, 0);

	if (cpu < 0)
		return;
	cpuset_zero(&one);
	cpuset_set(&one, (unsigned int)cpu);
	cores_of(w->t, &one, &first);
	cpuset_andnot(&rest, pool, &first);
	if (cpuset_count(&rest) >= n && w_intersects(shield, &first))
		die(w, "shield %s (%u CPUs) on the core of CPU %d, %u CPUs free elsewhere", id, n,
		    cpu, cpuset_count(&rest));
}

static void op_shield(struct world *w)
{
	struct ctr *c = pick_shield_target(w, false);
	unsigned int n = 1 + rnd_below(w, w->max_cpus), got;
	struct alloc_stats before, after;
	struct alloc_result res, now;
	char reason[256] = "";
	int r, expect;

	alloc_stats_get(w->s, &before);
	alloc_get(w->s, c->id, &res);
	expect = shield_expect(w, &before, &c->req, &res, n);
	r = alloc_shield(w->s, c->id, n, &w->ch, reason, sizeof(reason));
	if (r != expect)
		die(w, "shield %s (%u CPUs) of a pool of %u: %s, want %s (%s)", c->id, n,
		    cpuset_count(&before.shared), strerror(-r), strerror(-expect), reason);
	if (r < 0) {
		alloc_stats_get(w->s, &after);
		if (memcmp(&before, &after, sizeof(before)) != 0 || w->ch.n)
			die(w, "failed shield of %s (%d) changed the state", c->id, r);
		w->shield_refusals++;
		return; /* check_state: nothing may have moved, nothing was reported */
	}
	alloc_get(w->s, c->id, &now);
	got = cpuset_count(&now.cpus);
	if (!now.shielded || got < n || !cpuset_is_subset(&now.cpus, &before.shared))
		die(w, "shield %s (%u CPUs) gave %u CPUs, or outside the old pool", c->id, n, got);
	/* Widened by siblings only: the n CPUs picked span at most n cores. */
	if (cores_spanned(w->t, &now.cpus) > n)
		die(w, "shield %s (%u CPUs) spans %u cores", c->id, n,
		    cores_spanned(w->t, &now.cpus));
	check_widening(w, c->id, n, &before.shared, &now.cpus);
	check_housekeeping(w, c->id, n, &before.shared, &now.cpus);
	check_shield_changes(w, c->id);
	w->target = c->id;
	w->shields++;
}

static void op_unshield(struct world *w)
{
	struct ctr *c = pick_shield_target(w, true);
	struct alloc_result before, now;
	int r;

	alloc_get(w->s, c->id, &before);
	r = alloc_unshield(w->s, c->id, &w->ch);
	if (r != (before.shielded ? 1 : 0))
		die(w, "unshield %s: %d (shielded %d)", c->id, r, before.shielded);
	alloc_get(w->s, c->id, &now);
	if (now.shielded || alloc_unshield(w->s, c->id, NULL) != 0)
		die(w, "%s still shielded after unshield", c->id);
	if (r == 0) {
		if (w->ch.n)
			die(w, "unshield of unshielded %s reported changes", c->id);
		return;
	}
	check_shield_changes(w, c->id);
	w->target = c->id;
	w->unshields++;
}
