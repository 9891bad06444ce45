/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for policy/alloc_restore.c and the picker options of policy/alloc_pick.c:
 * restore claims and fallbacks, reconfiguration, whole-core / same-NUMA switches,
 * growing next to existing CPUs and hide-hyperthreads resizes.
 */
#include "tests/unit/policy/test_alloc_fx.h"

static void test_alloc_restore_hide_ht_claim(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[2] = {0};
	struct alloc_result res;
	struct alloc_stats st;

	fx_state(f);
	e[0].req = req("h", "default", QOS_GUARANTEED, 2000);
	e[0].req.prefs.hide_hyperthreads = 1;
	e[0].cpus = set_of("4-5");
	/* Two threads of one core cannot be a hide-hyperthreads claim: re-allocated. */
	e[1].req = e[0].req;
	e[1].req.id = "bad";
	e[1].cpus = set_of("6,22");
	assert_int_equal(alloc_restore(f->s, e, 2, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "h", &res), 0);
	assert_set(&res.cpus, "4-5");
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_is_subset(&(struct cpuset){.bits = {0x300030}}, &st.exclusive));
	assert_true(changes_has(f, "bad"));
	assert_false(changes_has(f, "h"));
	assert_int_equal(alloc_get(f->s, "bad", &res), 0);
	assert_int_equal(cpuset_count(&res.cpus), 2);
	assert_int_equal(cpuset_count(&st.exclusive), 8);
}

static void test_alloc_restore_stale_persisted_part_after_resize(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[2] = {0};
	struct alloc_result res;

	fx_state(f);
	e[0].req = req("g", "default", QOS_GUARANTEED, 3000); /* resized from 2000m */
	e[0].cpus = set_of("0-1,16");
	e[0].has_exclusive = true;
	e[0].exclusive = set_of("0,16"); /* persisted at create, stale now */
	e[1].req = req("m", "default", QOS_GUARANTEED, 1500);
	e[1].cpus = set_of("2-15,17-31"); /* mixed: exclusive 2 + the shared pool */
	e[1].has_exclusive = true;
	e[1].exclusive = set_of("2");
	assert_int_equal(alloc_restore(f->s, e, 2, &f->ch, NULL, 0), 0);
	assert_int_equal(f->ch.n, 0);
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_set(&res.exclusive, "0-1,16");
	assert_int_equal(alloc_get(f->s, "m", &res), 0);
	assert_set(&res.exclusive, "2");
}

static void test_alloc_restore_persisted_fallback_stays_shared(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e = {0};
	struct alloc_result res;
	char buf[512];

	fx_state(f);
	e.req = req("g", "default", QOS_GUARANTEED, 2000);
	e.cpus = set_of("0-31");
	e.has_exclusive = true; /* ran shared after a fallback */
	assert_int_equal(alloc_restore(f->s, &e, 1, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_int_equal(f->ch.n, 0);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "fell back"));
}

static void test_alloc_restore_no_room_falls_back(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[3] = {0};
	struct alloc_result res;

	fx_state(f);
	e[0].req = req("big", "default", QOS_GUARANTEED, 30000);
	e[0].cpus = set_of("0-14,16-30");
	e[1].req = req("b", "default", QOS_BURSTABLE, 100);
	e[1].cpus = set_of("15,31");
	/* Claims CPUs big already owns, and no 4 CPUs are left: shared, never refused. */
	e[2].req = req("late", "default", QOS_GUARANTEED, 4000);
	e[2].cpus = set_of("0-3");
	assert_int_equal(alloc_restore(f->s, e, 3, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "late", &res), 0);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_set(&res.cpus, "15,31");
	assert_true(changes_has(f, "late"));
	assert_false(changes_has(f, "big"));
	assert_false(changes_has(f, "b"));
}

static void test_alloc_restore_never_leaves_fallback_on_nothing(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[3] = {0};
	struct alloc_result res;
	struct alloc_stats st;

	fx_state(f);
	e[0].req = req("all", "default", QOS_GUARANTEED, 24000);
	e[0].cpus = set_of("0-11,16-27");
	e[1].req = req("rest", "default", QOS_GUARANTEED, 8000);
	e[1].cpus = set_of("12-15,28-31"); /* valid: the shared pool is now empty */
	e[2].req = req("late", "default", QOS_GUARANTEED, 2000);
	e[2].cpus = set_of("0,16"); /* taken: must fall back to shared */
	assert_int_equal(alloc_restore(f->s, e, 3, &f->ch, NULL, 0), 0);
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_count(&st.shared) >= 1);
	assert_int_equal(alloc_get(f->s, "late", &res), 0);
	assert_false(cpuset_is_empty(&res.cpus));
	assert_int_equal(alloc_get(f->s, "all", &res), 0);
	assert_set(&res.cpus, "0-11,16-27"); /* first come keeps */
	assert_false(changes_has(f, "all"));
	assert_true(changes_has(f, "rest"));
}

static void test_alloc_restore_offline_claim_moves(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e = {0};
	struct alloc_result res;

	f->cfg.reserved_cpus = set_of("0,16");
	fx_state(f);
	e.req = req("g", "default", QOS_GUARANTEED, 2000);
	e.cpus = set_of("0,16"); /* now reserved */
	assert_int_equal(alloc_restore(f->s, &e, 1, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_false(cpuset_intersects(&res.cpus, &f->cfg.reserved_cpus));
	assert_true(changes_has(f, "g"));
}

static void test_alloc_restore_bad_entry_leaves_empty(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[2] = {0};

	fx_state(f);
	e[0].req = req("ok", "default", QOS_GUARANTEED, 2000);
	e[0].cpus = set_of("0,16");
	e[1].req = req("neg", "default", QOS_BURSTABLE, -1);
	assert_int_equal(alloc_restore(f->s, e, 2, &f->ch, f->reason, sizeof(f->reason)), -EINVAL);
	assert_int_equal(alloc_count(f->s), 0);
	guaranteed(f, "after", 2000); /* the pools are intact */
	assert_int_equal(alloc_restore(NULL, e, 1, NULL, NULL, 0), -EINVAL);
	assert_int_equal(alloc_restore(f->s, NULL, 1, NULL, NULL, 0), -EINVAL);
}

static void test_alloc_reconfigure_enable_exclusive(void **state)
{
	struct fx *f = *state;
	struct alloc_config cfg;
	struct alloc_result res;

	f->cfg.exclusive_enabled = false;
	fx_state(f);
	guaranteed(f, "g", 2000);
	burstable(f, "b", 100);
	cfg = f->cfg;
	cfg.exclusive_enabled = true;
	assert_int_equal(alloc_reconfigure(f->s, NULL, &cfg, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.cpus, "0,16");
	assert_true(changes_has(f, "g"));
	assert_true(changes_has(f, "b"));
}

static void test_alloc_reconfigure_new_topology(void **state)
{
	struct fx *f = *state;
	struct topo_synth_spec spec = SPEC(1, 1, 1, 1, 8, 1, 0);
	struct topology *t2 = NULL;
	struct alloc_result res;

	fx_state(f);
	guaranteed(f, "g", 2000);
	guaranteed(f, "far", 2000);
	burstable(f, "b", 100);
	assert_int_equal(topology_synthetic(&spec, &t2), 0);
	assert_int_equal(alloc_reconfigure(f->s, t2, NULL, &f->ch, NULL, 0), 0);
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_int_equal(cpuset_count(&res.cpus), 2);
	assert_true(cpuset_is_subset(&res.cpus, &t2->online));
	assert_int_equal(alloc_get(f->s, "b", &res), 0);
	assert_int_equal(cpuset_count(&res.cpus), 4);
	/* The state now borrows t2; the fixture's topology is no longer used. */
	alloc_state_free(f->s);
	f->s = NULL;
	topology_free(t2);
}

static void test_alloc_pick_no_whole_cores(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	f->cfg.prefer_whole_cores = false;
	fx_state(f);
	res = guaranteed(f, "g", 2000);
	assert_set(&res.cpus, "0-1"); /* lowest ids, splitting two cores */
}

static void fill_two_l3(struct fx *f)
{
	guaranteed(f, "fill", 4000);  /* cores 0-1: L3 #0 keeps cores 2-3 */
	guaranteed(f, "fill2", 6000); /* cores 4-6: L3 #1 keeps core 7 */
}

static void test_alloc_pick_machine_wide(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	fill_two_l3(f);
	res = guaranteed(f, "g", 2000);
	assert_set(&res.cpus, "7,23"); /* best fit: the L3 with the fewest free CPUs */
	alloc_state_free(f->s);
	f->s = NULL;
	f->cfg.prefer_same_numa = false;
	fx_state(f);
	guaranteed(f, "fill", 4000);
	res = guaranteed(f, "fill2", 6000);
	assert_set(&res.cpus, "2-4,18-20"); /* machine-wide: lowest free whole cores */
	res = guaranteed(f, "g", 2000);
	assert_set(&res.cpus, "5,21");
}

static void test_alloc_pick_snc_never_straddles(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	topology_free(f->t);
	/* 1 package, 2 SNC nodes of 4 cores, SMT2: CPUs 0-7, siblings 8-15. */
	fx_topo(f, SPEC(1, 1, 2, 1, 4, 2, 0));
	fx_state(f);
	guaranteed(f, "a", 6000); /* node 0: 3 cores */
	res = guaranteed(f, "b", 4000);
	assert_set(&res.mems, "1");
	assert_int_equal(cpuset_count(&res.cpus), 4);
}

static void test_alloc_update_grow_prefers_siblings(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 2000);
	struct alloc_result res;

	fx_state(f);
	guaranteed(f, "g", 1000); /* CPU 0 */
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0,16");
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 3000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0-1,16");
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 2000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0,16"); /* the fragment went first */
}

static void test_alloc_update_shrink_consolidates(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 6000);
	struct alloc_result res;

	fx_state(f);
	guaranteed(f, "g", 2000);    /* core 0, L3 #0 */
	guaranteed(f, "fill", 6000); /* cores 1-3: L3 #0 is full */
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0,4-5,16,20-21"); /* grew into the same node's next L3 */
	assert_int_equal(alloc_release(f->s, "fill", NULL), 1);
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 4000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "4-5,20-21"); /* gave up the lone core, kept the L3 with most */
}

static void test_alloc_update_hide_ht_resize(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("h", "default", QOS_GUARANTEED, 2000);
	struct alloc_result res;
	struct alloc_stats st;

	f->cfg.hide_hyperthreads = true;
	fx_state(f);
	res = create_ok(f, &r);
	assert_set(&res.cpus, "0-1");
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 3000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0-2");
	alloc_stats_get(f->s, &st);
	assert_set(&st.exclusive, "0-2,16-18");
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 1000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_set(&res.cpus, "0");
	alloc_stats_get(f->s, &st);
	assert_set(&st.exclusive, "0,16");
}

static void test_alloc_create_prefs_reserved(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("agent", "monitoring", QOS_BURSTABLE, 100);
	struct alloc_result res;

	f->cfg.reserved_cpus = set_of("0,16");
	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	r.id = "agent2";
	r.prefs.reserved = true;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_RESERVED);
	assert_set(&res.cpus, "0,16");
}

static void test_alloc_create_besteffort_shares(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("be", "default", QOS_BESTEFFORT, 0);
	struct alloc_result res;

	f->cfg.memory_only_nodes = ALLOC_MEMORY_ONLY_ALL;
	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(res.shares, 2);
	assert_int_equal(res.quota, -1);
	assert_int_equal(res.period, 100000);
	assert_set(&res.mems, "0-1");
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Random junk from a confused runtime: any CPU ids, sizes and classes. */
static void junk_entry(struct alloc_restore_entry *e, char *id, size_t n, uint64_t *x)
{
	snprintf(id, 16, "j%zu", n);
	e->req = req(id, xorshift(x) % 3 ? "default" : "kube-system",
		     (enum qos_class)(xorshift(x) % 3), (int64_t)(xorshift(x) % 9000));
	e->req.prefs.hide_hyperthreads = (int)(xorshift(x) % 3) - 1;
	e->req.prefs.isolated = xorshift(x) % 5 == 0;
	cpuset_zero(&e->cpus);
	for (int k = (int)(xorshift(x) % 12); k > 0; k--)
		cpuset_set(&e->cpus, (unsigned int)(xorshift(x) % (xorshift(x) % 2 ? 40 : 4096)));
	e->has_exclusive = xorshift(x) % 2;
	e->exclusive = e->cpus;
}

static void test_alloc_restore_junk_keeps_invariants(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[24];
	char ids[24][16];
	struct alloc_stats st;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	f->cfg.reserved_count = 2;
	for (int round = 0; round < 200; round++) {
		alloc_state_free(f->s);
		f->s = NULL;
		fx_state(f);
		for (size_t i = 0; i < 24; i++)
			junk_entry(&e[i], ids[i], i, &x);
		alloc_changes_reset(&f->ch);
		assert_int_equal(alloc_restore(f->s, e, 24, &f->ch, NULL, 0), 0);
		alloc_stats_get(f->s, &st);
		assert_false(cpuset_intersects(&st.exclusive, &st.shared));
		assert_false(cpuset_intersects(&st.exclusive, &st.reserved));
		assert_true(cpuset_is_subset(&st.exclusive, &f->t->online));
		if (st.shared_containers)
			assert_true(cpuset_count(&st.shared) >= 1);
		assert_int_equal(alloc_count(f->s), 24);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_restore_hide_ht_claim),
		T(test_alloc_restore_stale_persisted_part_after_resize),
		T(test_alloc_restore_persisted_fallback_stays_shared),
		T(test_alloc_restore_no_room_falls_back),
		T(test_alloc_restore_never_leaves_fallback_on_nothing),
		T(test_alloc_restore_offline_claim_moves),
		T(test_alloc_restore_bad_entry_leaves_empty),
		T(test_alloc_reconfigure_enable_exclusive),
		T(test_alloc_reconfigure_new_topology),
		T(test_alloc_pick_no_whole_cores),
		T(test_alloc_pick_machine_wide),
		T(test_alloc_pick_snc_never_straddles),
		T(test_alloc_update_grow_prefers_siblings),
		T(test_alloc_update_shrink_consolidates),
		T(test_alloc_update_hide_ht_resize),
		T(test_alloc_create_prefs_reserved),
		T(test_alloc_create_besteffort_shares),
		T(test_alloc_restore_junk_keeps_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
