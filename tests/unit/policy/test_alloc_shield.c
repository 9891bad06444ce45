/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for policy/alloc_shield.c and the shield paths of policy/alloc*.c:
 * alloc_shield / alloc_unshield, and what create, update, release, reconfigure,
 * stats and explain do with a shielded container.
 *
 * Machine (test_alloc_fx.h): 32 CPUs, core k = {k, k+16}, L3 #0 = cores 0-3.
 */
#include "tests/unit/policy/test_alloc_fx.h"

#define SNAP_MAX    16
#define SNAP_ID_LEN 32

/* Everything observable of a state: compared before/after a call that must fail. */
struct snap {
	struct alloc_stats st;
	size_t n;
	char ids[SNAP_MAX][SNAP_ID_LEN]; /* copies: a snapshot outlives state changes */
	struct alloc_result res[SNAP_MAX];
};

static void snap_take(const struct fx *f, struct snap *ret)
{
	memset(ret, 0, sizeof(*ret));
	alloc_stats_get(f->s, &ret->st);
	ret->n = alloc_count(f->s);
	assert_true(ret->n <= SNAP_MAX);
	for (size_t i = 0; i < ret->n; i++) {
		const char *id = alloc_id_at(f->s, i);

		assert_non_null(id);
		assert_true(strlen(id) < SNAP_ID_LEN);
		strcpy(ret->ids[i], id);
		assert_int_equal(alloc_get(f->s, ret->ids[i], &ret->res[i]), 0);
	}
}

static void result_equal(const char *id, const struct alloc_result *a, const struct alloc_result *b)
{
	if (a->pool != b->pool || !cpuset_equal(&a->cpus, &b->cpus) ||
	    !cpuset_equal(&a->mems, &b->mems) || !cpuset_equal(&a->exclusive, &b->exclusive) ||
	    a->shares != b->shares || a->quota != b->quota || a->period != b->period ||
	    a->shielded != b->shielded)
		fail_msg("result of %s changed", id);
}

/* alloc_stats_get() memsets the struct first, so the padding compares equal too. */
static void snap_equal(const struct fx *f, const struct snap *before)
{
	struct snap now;

	snap_take(f, &now);
	if (memcmp(&now.st, &before->st, sizeof(now.st)) != 0)
		fail_msg("alloc_stats changed");
	assert_int_equal(now.n, before->n);
	for (size_t i = 0; i < now.n; i++) {
		struct alloc_result r;

		assert_int_equal(alloc_get(f->s, before->ids[i], &r), 0);
		result_equal(before->ids[i], &before->res[i], &r);
	}
}

static struct alloc_result get_ok(const struct fx *f, const char *id)
{
	struct alloc_result res;

	if (alloc_get(f->s, id, &res) < 0)
		fail_msg("alloc_get(%s) failed", id);
	return res;
}

static void assert_cpus(const struct fx *f, const char *id, const char *want)
{
	struct alloc_result res = get_ok(f, id);

	assert_set(&res.cpus, want);
}

static bool cpus_equal(const struct fx *f, const char *id, const struct cpuset *want)
{
	struct alloc_result res = get_ok(f, id);

	return cpuset_equal(&res.cpus, want);
}

static unsigned int ncpus(const struct fx *f, const char *id)
{
	struct alloc_result res = get_ok(f, id);

	return cpuset_count(&res.cpus);
}

static void shield_ok(struct fx *f, const char *id, unsigned int n)
{
	int r;

	alloc_changes_reset(&f->ch);
	r = alloc_shield(f->s, id, n, &f->ch, f->reason, sizeof(f->reason));
	if (r != 0)
		fail_msg("alloc_shield(%s, %u): %s (%s)", id, n, strerror(-r), f->reason);
}

/* alloc_shield fails with want, leaves the state and the changes list alone. */
static void shield_fails(struct fx *f, const char *id, unsigned int n, int want)
{
	struct snap before;
	int r;

	snap_take(f, &before);
	alloc_changes_reset(&f->ch);
	f->reason[0] = '\0';
	r = alloc_shield(f->s, id, n, &f->ch, f->reason, sizeof(f->reason));
	if (r != want)
		fail_msg("alloc_shield(%s, %u) = %d, want %d", id ? id : "(null)", n, r, want);
	assert_int_equal(f->ch.n, 0);
	snap_equal(f, &before);
}

/* The changes list holds exactly these ids, each once. */
static void changes_are(const struct fx *f, const char *const *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!changes_has(f, want[i]))
			fail_msg("%s missing from changes", want[i]);
	if (f->ch.n != n)
		fail_msg("%zu changes, want %zu (first: %s)", f->ch.n, n,
			 f->ch.n ? f->ch.ids[0] : "-");
}

#define CHANGES_ARE(f, ...)                                  \
	changes_are((f), (const char *const[]){__VA_ARGS__}, \
		    sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* b1, b2 Burstable; g exclusive 0,16; m mixed, exclusive 1,17. Pool 2-15,18-31. */
static void four(struct fx *f)
{
	fx_state(f);
	burstable(f, "b1", 500);
	burstable(f, "b2", 100);
	guaranteed(f, "g", 2000);
	guaranteed(f, "m", 2500);
}

static void test_alloc_shield_shared_whole_core(void **state)
{
	struct fx *f = *state;
	struct alloc_result before, res;
	struct alloc_stats st;

	four(f);
	before = get_ok(f, "b1");
	shield_ok(f, "b1", 1);
	res = get_ok(f, "b1");
	/* Not core 2 (the pool's first CPU); 1 CPU asked, the sibling is free: whole core. */
	assert_set(&res.cpus, "3,19");
	assert_set(&res.mems, "0");
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_true(cpuset_is_empty(&res.exclusive));
	assert_true(res.shielded);
	assert_int_equal(res.quota, before.quota);
	assert_int_equal(res.shares, before.shares);
	assert_int_equal(res.period, before.period);
	res = get_ok(f, "b2");
	assert_set(&res.cpus, "2,4-15,18,20-31");
	assert_false(res.shielded);
	res = get_ok(f, "m");
	assert_set(&res.cpus, "1-2,4-15,17-18,20-31");
	assert_set(&res.exclusive, "1,17");
	res = get_ok(f, "g");
	assert_set(&res.cpus, "0,16");
	CHANGES_ARE(f, "b1", "b2", "m");
	alloc_stats_get(f->s, &st);
	assert_set(&st.shielded, "3,19");
	assert_set(&st.shared, "2,4-15,18,20-31");
	assert_int_equal(st.shielded_containers, 1);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].capacity, 26);
	assert_int_equal(st.shared_containers, 2); /* b2 and m: b1 is off the pool */
}

static void test_alloc_shield_several_cpus_tightest(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	four(f);
	shield_ok(f, "b1", 4);
	res = get_ok(f, "b1");
	/* Without core 2, L3 #0 keeps 3,19 only: the next L3 is the tightest fit. */
	assert_set(&res.cpus, "4-5,20-21");
	shield_ok(f, "b2", 3);
	res = get_ok(f, "b2");
	/* L3 #1 has cores 6-7 left: 3 CPUs there, widened to the 2 whole cores. */
	assert_int_equal(cpuset_count(&res.cpus), 4);
	assert_set(&res.cpus, "6-7,22-23");
	res = get_ok(f, "m");
	assert_set(&res.cpus, "1-3,8-15,17-19,24-31");
	CHANGES_ARE(f, "b2", "m");
}

/* The core of the pool's first CPU takes the housekeeping: avoided while n fit elsewhere. */
static void test_alloc_shield_avoids_first_core(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;
	struct cpuset first_core;

	fx_state(f);
	burstable(f, "b1", 100);
	burstable(f, "b2", 100);
	shield_ok(f, "b1", 1);
	assert_cpus(f, "b1", "1,17");
	assert_int_equal(alloc_unshield(f->s, "b1", NULL), 1);
	guaranteed(f, "g", 28000);
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 4); /* two whole cores */
	first_core = set_of("14,30");
	assert_true(cpuset_is_subset(&first_core, &st.shared));
	/* Only 2 CPUs outside the first core: 3 must use it; whole cores would leave 0. */
	shield_ok(f, "b1", 3);
	assert_int_equal(ncpus(f, "b1"), 3);
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 1);
	assert_true(cpus_equal(f, "b2", &st.shared));
}

static void test_alloc_shield_fragment_not_widened(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 3000); /* 0-1,16: CPU 17 is a fragment */
	shield_ok(f, "b", 1);
	res = get_ok(f, "b");
	/* Fragments first; its sibling 1 is exclusive, so there is nothing to widen to. */
	assert_set(&res.cpus, "17");
	CHANGES_ARE(f, "b");
}

static void test_alloc_shield_not_widened_at_shared_min(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_stats st;

	f->cfg.shared_min_cpus = 5;
	fx_state(f);
	burstable(f, "b1", 100);
	burstable(f, "b2", 100);
	guaranteed(f, "g", 26000); /* leaves 3 whole cores: 13-15,29-31 */
	alloc_stats_get(f->s, &st);
	assert_set(&st.shared, "13-15,29-31");
	/* A whole core would leave 4 < 5: one thread only. */
	shield_ok(f, "b1", 1);
	res = get_ok(f, "b1");
	assert_int_equal(cpuset_count(&res.cpus), 1);
	assert_true(cpuset_is_subset(&res.cpus, &st.shared));
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 5);
	res = get_ok(f, "b2");
	assert_true(cpuset_equal(&res.cpus, &st.shared));
	/* Nothing left to lend: b2 would drop the pool below 5. */
	shield_fails(f, "b2", 1, -ENOSPC);
	assert_non_null(strstr(f->reason, "shared_min_cpus"));
}

static void test_alloc_shield_alone_keeps_one_cpu(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_stats st;

	f->cfg.shared_min_cpus = 0; /* the floor is still 1 */
	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 30000); /* pool: core 15 = 15,31 */
	shield_fails(f, "b", 2, -ENOSPC);
	assert_true(f->reason[0] != '\0');
	/* No other shared container, yet the next one needs a CPU: not widened. */
	shield_ok(f, "b", 1);
	res = get_ok(f, "b");
	assert_int_equal(cpuset_count(&res.cpus), 1);
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 1);
	assert_int_equal(st.shared_containers, 0);
	CHANGES_ARE(f, "b");
}

static void test_alloc_shield_enospc_more_than_pool(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;

	four(f);
	shield_fails(f, "b1", 28, -ENOSPC); /* the whole pool: nothing left for b2 and m */
	assert_true(f->reason[0] != '\0');
	/* 27 leaves the 1-CPU minimum; widening to 28 would not. */
	shield_ok(f, "b1", 27);
	assert_int_equal(ncpus(f, "b1"), 27);
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 1);
	assert_true(cpus_equal(f, "b2", &st.shared));
}

/*
 * prefer_same_numa = false makes the whole machine the only candidate subtree; on a
 * one-node machine that subtree equals the node, and the shield must still be found.
 */
static void test_alloc_shield_without_prefer_same_numa(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;

	topology_free(f->t);
	fx_topo(f, SPEC(1, 1, 1, 2, 4, 2, 0)); /* 16 CPUs, core k = {k, k+8} */
	f->cfg.prefer_same_numa = false;
	fx_state(f);
	burstable(f, "b", 100);
	burstable(f, "b2", 100);
	shield_ok(f, "b", 2);
	assert_int_equal(ncpus(f, "b"), 2);
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 14);
	assert_true(cpus_equal(f, "b2", &st.shared));
}

static void test_alloc_shield_rejects(void **state)
{
	struct fx *f = *state;
	struct alloc_request ks = req("ks", "kube-system", QOS_BURSTABLE, 100);
	struct alloc_request wide = req("wide", "default", QOS_BURSTABLE, 100);
	struct alloc_request b1 = req("b1", "default", QOS_BURSTABLE, 500);

	f->cfg.reserved_count = 2; /* core 0 = 0,16 */
	f->cfg.burstable_unlimited_wide = true;
	fx_state(f);
	b1.cpu_limit_mcpu = 1000; /* a limit: not wide */
	create_ok(f, &b1);
	wide.cpu_limit_mcpu = 0;
	create_ok(f, &wide);
	create_ok(f, &ks);
	assert_int_equal(get_ok(f, "wide").pool, ALLOC_POOL_SHARED);
	assert_int_equal(get_ok(f, "ks").pool, ALLOC_POOL_RESERVED);
	guaranteed(f, "g", 2000);
	guaranteed(f, "m", 2500);
	shield_fails(f, "nope", 1, -ENOENT);
	assert_non_null(strstr(f->reason, "nope"));
	shield_fails(f, "b1", 0, -EINVAL);
	shield_fails(f, "ks", 1, -EINVAL);
	shield_fails(f, "g", 1, -EINVAL);
	shield_fails(f, "m", 1, -EINVAL);
	shield_fails(f, "wide", 1, -EINVAL);
	assert_non_null(strstr(f->reason, "wide"));
	shield_fails(f, NULL, 1, -EINVAL);
	assert_int_equal(alloc_shield(NULL, "b1", 1, NULL, NULL, 0), -EINVAL);
	shield_ok(f, "b1", 1);
	shield_fails(f, "b1", 1, -EALREADY);
	shield_fails(f, "b1", 2, -EALREADY);
}

static void test_alloc_shield_rejects_isolated(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("iso", "default", QOS_GUARANTEED, 1000);
	struct alloc_result b, iso;

	topology_free(f->t);
	fx_topo(f, (struct topo_synth_spec){.packages = 1,
					    .dies_per_package = 1,
					    .nodes_per_die = 1,
					    .l3_per_node = 1,
					    .cores_per_l3 = 8,
					    .threads_per_core = 1,
					    .isolated = set_of("6-7")});
	fx_state(f);
	burstable(f, "b", 100);
	r.prefs.isolated = true;
	create_ok(f, &r);
	assert_int_equal(get_ok(f, "iso").pool, ALLOC_POOL_ISOLATED);
	shield_fails(f, "iso", 1, -EINVAL);
	/* The pool is 0-5 (isolated CPUs are not in it): 5 is the most it can lend. */
	shield_fails(f, "b", 6, -ENOSPC);
	shield_ok(f, "b", 5);
	assert_int_equal(ncpus(f, "b"), 5);
	b = get_ok(f, "b");
	iso = get_ok(f, "iso");
	assert_false(cpuset_intersects(&b.cpus, &iso.cpus));
}

static void test_alloc_shield_exclusive_create_avoids_shield(void **state)
{
	struct fx *f = *state;
	struct alloc_request big = req("big", "default", QOS_GUARANTEED, 27000);
	struct alloc_result res, shield;
	struct alloc_stats st;

	f->cfg.shared_min_cpus = 4;
	fx_state(f);
	burstable(f, "b1", 100);
	burstable(f, "b2", 100);
	shield_ok(f, "b1", 2);
	shield = get_ok(f, "b1");
	assert_set(&shield.cpus, "1,17"); /* not core 0 */
	res = guaranteed(f, "g", 2000);
	assert_false(cpuset_intersects(&res.cpus, &shield.cpus));
	assert_true(changes_has(f, "b2"));
	assert_false(changes_has(f, "b1")); /* its cpus did not move */
	/* The pool is 28 without the shield: 25 leaves 3 < 4 (counting the shield, 5). */
	big.cpu_request_mcpu = big.cpu_limit_mcpu = 25000;
	assert_int_equal(alloc_create(f->s, &big, &res, NULL, f->reason, sizeof(f->reason)),
			 -ENOSPC);
	big.cpu_request_mcpu = big.cpu_limit_mcpu = 24000;
	res = create_ok(f, &big);
	assert_false(cpuset_intersects(&res.cpus, &shield.cpus));
	alloc_stats_get(f->s, &st);
	assert_int_equal(cpuset_count(&st.shared), 4);
	assert_set(&st.shielded, "1,17");
	assert_true(cpus_equal(f, "b1", &shield.cpus));
}

/*
 * A shield on the only shared container: b comes back to the pool on unshield, so
 * whatever an exclusive create is allowed to take meanwhile, the pool b returns to
 * must still hold shared_min_cpus (docs: "never shrink the shared pool below
 * shared_min_cpus while a shared container exists").
 */
static void test_alloc_shield_sole_container_keeps_min_for_unshield(void **state)
{
	struct fx *f = *state;
	struct alloc_request big = req("big", "default", QOS_GUARANTEED, 29000);
	struct alloc_result res;
	struct alloc_stats st;
	int r;

	f->cfg.shared_min_cpus = 4;
	fx_state(f);
	burstable(f, "b", 100);
	shield_ok(f, "b", 2); /* 1,17; pool 30 */
	r = alloc_create(f->s, &big, &res, NULL, f->reason, sizeof(f->reason));
	assert_true(r == 0 || r == -ENOSPC);
	assert_int_equal(alloc_unshield(f->s, "b", NULL), 1);
	alloc_stats_get(f->s, &st);
	if (cpuset_count(&st.shared) < 4)
		fail_msg("create of 29 exclusive CPUs next to shielded b returned %d; after "
			 "unshield b runs on a pool of %u CPUs < shared_min_cpus 4",
			 r, cpuset_count(&st.shared));
	assert_int_equal(st.shared_containers, 1);
}

static void test_alloc_unshield_gives_back(void **state)
{
	struct fx *f = *state;
	struct snap before;

	four(f);
	snap_take(f, &before);
	shield_ok(f, "b1", 3);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_unshield(f->s, "b1", &f->ch), 1);
	snap_equal(f, &before);
	CHANGES_ARE(f, "b1", "b2", "m");
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_unshield(f->s, "b1", &f->ch), 0);
	assert_int_equal(f->ch.n, 0);
	assert_int_equal(alloc_unshield(f->s, "g", &f->ch), 0);
	assert_int_equal(alloc_unshield(f->s, "nope", &f->ch), -ENOENT);
	assert_int_equal(alloc_unshield(f->s, NULL, &f->ch), -EINVAL);
	assert_int_equal(alloc_unshield(NULL, "b1", NULL), -EINVAL);
	assert_int_equal(f->ch.n, 0);
	snap_equal(f, &before);
	/* Shield again after the loan ended: same CPUs; changes and reason are optional. */
	assert_int_equal(alloc_shield(f->s, "b1", 3, NULL, NULL, 0), 0);
	assert_cpus(f, "b1", "4-5,20-21");
	assert_int_equal(alloc_unshield(f->s, "b1", NULL), 1);
	snap_equal(f, &before);
}

static void test_alloc_release_shielded_gives_back(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;

	four(f);
	shield_ok(f, "b1", 2);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_release(f->s, "b1", &f->ch), 1);
	/* b1 is gone: listing it would hand out a dangling id. */
	CHANGES_ARE(f, "b2", "m");
	assert_cpus(f, "b2", "2-15,18-31");
	assert_cpus(f, "m", "1-15,17-31");
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_is_empty(&st.shielded));
	assert_int_equal(st.shielded_containers, 0);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].capacity, 28);
	assert_int_equal(alloc_release(f->s, "b1", &f->ch), 0);
}

static void test_alloc_update_shielded_ends_loan(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("b1", "default", QOS_BURSTABLE, 700);
	struct alloc_result res;
	struct alloc_stats st;

	four(f);
	shield_ok(f, "b1", 2);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_false(res.shielded);
	assert_set(&res.cpus, "2-15,18-31");
	assert_int_equal(res.shares, 716); /* the new request */
	assert_true(changes_has(f, "b2"));
	assert_true(changes_has(f, "m"));
	assert_false(changes_has(f, "g"));
	assert_cpus(f, "b2", "2-15,18-31");
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_is_empty(&st.shielded));
	assert_int_equal(st.shielded_containers, 0);
	assert_int_equal(st.shared_containers, 3);
}

static void test_alloc_update_shielded_enospc_keeps_shield(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("b1", "default", QOS_GUARANTEED, 32000);
	struct alloc_result res;
	struct snap before;

	four(f);
	shield_ok(f, "b1", 2);
	snap_take(f, &before);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)),
			 -ENOSPC);
	snap_equal(f, &before);
	assert_true(get_ok(f, "b1").shielded);
	assert_int_equal(f->ch.n, 0);
	/* Still a loan that can be returned. */
	assert_int_equal(alloc_unshield(f->s, "b1", NULL), 1);
	assert_cpus(f, "b2", "2-15,18-31");
}

static void test_alloc_update_shielded_to_exclusive(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("b1", "default", QOS_GUARANTEED, 2000);
	struct alloc_result res;
	struct alloc_stats st;

	four(f);
	shield_ok(f, "b1", 2);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_false(res.shielded);
	assert_int_equal(cpuset_count(&res.exclusive), 2);
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_is_empty(&st.shielded));
	assert_int_equal(st.shielded_containers, 0);
	assert_true(cpuset_is_subset(&res.exclusive, &st.exclusive));
	/* 32 - g - m - b1 */
	assert_int_equal(cpuset_count(&st.shared), 26);
	assert_true(cpus_equal(f, "b2", &st.shared));
}

static void test_alloc_reconfigure_drops_shields(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_stats st;

	four(f);
	shield_ok(f, "b1", 2);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_reconfigure(f->s, NULL, NULL, &f->ch, f->reason, sizeof(f->reason)),
			 0);
	CHANGES_ARE(f, "b1", "b2", "m");
	res = get_ok(f, "b1");
	assert_false(res.shielded);
	assert_set(&res.cpus, "2-15,18-31");
	assert_cpus(f, "g", "0,16");
	res = get_ok(f, "m");
	assert_set(&res.exclusive, "1,17");
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_is_empty(&st.shielded));
	assert_int_equal(st.shielded_containers, 0);
	assert_int_equal(st.shared_containers, 3);
	/* The loan can be taken again on the new state. */
	shield_ok(f, "b1", 2);
	assert_true(get_ok(f, "b1").shielded);
}

static void test_alloc_explain_shielded(void **state)
{
	struct fx *f = *state;
	char buf[512];

	four(f);
	assert_true(alloc_explain(f->s, "b1", buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "shield"));
	shield_ok(f, "b1", 1);
	assert_true(alloc_explain(f->s, "b1", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "shielded"));
	assert_non_null(strstr(buf, "3,19"));
	assert_true(alloc_explain(f->s, "b2", buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "shield"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_shield_shared_whole_core),
		T(test_alloc_shield_several_cpus_tightest),
		T(test_alloc_shield_avoids_first_core),
		T(test_alloc_shield_fragment_not_widened),
		T(test_alloc_shield_not_widened_at_shared_min),
		T(test_alloc_shield_alone_keeps_one_cpu),
		T(test_alloc_shield_enospc_more_than_pool),
		T(test_alloc_shield_without_prefer_same_numa),
		T(test_alloc_shield_rejects),
		T(test_alloc_shield_rejects_isolated),
		T(test_alloc_shield_exclusive_create_avoids_shield),
		T(test_alloc_shield_sole_container_keeps_min_for_unshield),
		T(test_alloc_unshield_gives_back),
		T(test_alloc_release_shielded_gives_back),
		T(test_alloc_update_shielded_ends_loan),
		T(test_alloc_update_shielded_enospc_keeps_shield),
		T(test_alloc_update_shielded_to_exclusive),
		T(test_alloc_reconfigure_drops_shields),
		T(test_alloc_explain_shielded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
