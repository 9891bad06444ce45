/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy/alloc*.c: placement, resize, release, stats, explain. */
#include "tests/unit/policy/test_alloc_fx.h"

static void test_alloc_config_validate_rejects(void **state)
{
	struct fx *f = *state;
	struct alloc_state *s = NULL;

	f->cfg.shared_min_cpus = 33;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, f->reason, sizeof(f->reason)),
			 -EINVAL);
	assert_non_null(strstr(f->reason, "shared_min_cpus"));
	assert_int_equal(alloc_state_new(f->t, &f->cfg, &s), -EINVAL);
	assert_null(s);
	alloc_config_init(&f->cfg);
	f->cfg.reserved_cpus = set_of("40");
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, NULL, 0), -EINVAL);
	alloc_config_init(&f->cfg);
	f->cfg.reserved_count = 32;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, NULL, 0), -EINVAL);
	alloc_config_init(&f->cfg);
	f->cfg.cfs_period_us = 10;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, NULL, 0), -EINVAL);
	alloc_config_init(&f->cfg);
	f->cfg.reserved_namespaces = NULL;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, NULL, 0), -EINVAL);
	f->cfg.reserved_namespaces = (const char *const[]){""};
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, f->reason, sizeof(f->reason)),
			 -EINVAL);
	assert_non_null(strstr(f->reason, "namespace"));
	assert_int_equal(alloc_config_validate(NULL, &f->cfg, NULL, 0), -EINVAL);
	alloc_config_init(&f->cfg);
	f->cfg.reserved_count = 3;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, NULL, 0), 0);
}

static void test_alloc_create_exclusive_whole_core(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	burstable(f, "b1", 500);
	res = guaranteed(f, "g1", 2000);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.cpus, "0,16");
	assert_set(&res.exclusive, "0,16");
	assert_set(&res.mems, "0");
	assert_int_equal(res.shares, 2048);
	assert_int_equal(res.quota, -1);
	assert_true(changes_has(f, "b1"));
	assert_false(changes_has(f, "g1"));
	res = burstable(f, "b2", 100);
	assert_set(&res.cpus, "1-15,17-31");
	assert_int_equal(res.quota, -1);
	assert_int_equal(f->ch.n, 0);
}

static void test_alloc_create_tightest_l3(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	/* 3 cores of L3 #0 taken: 2 CPUs (one core) still fit there and nowhere tighter. */
	res = guaranteed(f, "g6", 6000);
	assert_set(&res.cpus, "0-2,16-18");
	res = guaranteed(f, "g2", 2000);
	assert_set(&res.cpus, "3,19");
	/* 4 CPUs no longer fit in L3 #0: the next L3 of the same node. */
	res = guaranteed(f, "g4", 4000);
	assert_set(&res.cpus, "4-5,20-21");
}

static void test_alloc_create_odd_count_fills_fragment(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	res = guaranteed(f, "a", 3000);
	assert_set(&res.cpus, "0-1,16"); /* one whole core plus a thread of the next */
	res = guaranteed(f, "b", 1000);
	assert_set(&res.cpus, "17"); /* the free sibling, not a fresh core */
}

static void test_alloc_create_numa_fit(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	res = guaranteed(f, "big", 16000); /* whole node 0 */
	assert_set(&res.mems, "0");
	assert_int_equal(cpuset_count(&res.cpus), 16);
	res = guaranteed(f, "n1", 10000);
	assert_set(&res.mems, "1");
	assert_set(&res.cpus, "8-12,24-28");
}

/* The machine is the only candidate then, also where it equals the one node. */
static void test_alloc_create_without_prefer_same_numa_one_node(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	topology_free(f->t);
	fx_topo(f, SPEC(1, 1, 1, 1, 4, 2, 0)); /* 8 CPUs, core k = {k, k+4} */
	f->cfg.prefer_same_numa = false;
	fx_state(f);
	res = guaranteed(f, "g1", 2000);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.exclusive, "0,4");
}

static void test_alloc_create_mixed(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	res = guaranteed(f, "m", 2500);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.exclusive, "0,16");
	assert_set(&res.cpus, "0-31");
	assert_set(&res.mems, "0-1");
	assert_int_equal(res.quota, 250000); /* the fraction stays bounded */
	res = guaranteed(f, "g", 1000);
	assert_true(changes_has(f, "m"));
	assert_int_equal(alloc_get(f->s, "m", &res), 0);
	assert_set(&res.cpus, "0,2-31"); /* exclusive 0,16 + shared (all but g's CPU 1) */
}

static void test_alloc_create_reserved_namespace(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("ks", "kube-system", QOS_GUARANTEED, 4000);

	f->cfg.reserved_count = 3;
	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_RESERVED);
	assert_set(&res.cpus, "0-1,16"); /* whole core 0, then a thread of core 1 */
	res = burstable(f, "b", 100);
	assert_set(&res.cpus, "2-15,17-31");
	r = req("other", "default", QOS_BESTEFFORT, 0);
	res = create_ok(f, &r);
	assert_false(cpuset_intersects(&res.cpus, &(struct cpuset){.bits = {0x10003}}));
}

static void test_alloc_create_reserved_without_cpus_runs_shared(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("ks", "kube-system", QOS_BURSTABLE, 100);
	struct alloc_result res;

	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_set(&res.cpus, "0-31");
}

static void test_alloc_create_burstable_wide(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("lim", "default", QOS_BURSTABLE, 100);

	f->cfg.reserved_cpus = set_of("0,16");
	f->cfg.burstable_unlimited_wide = true;
	fx_state(f);
	res = burstable(f, "wide", 100);
	assert_set(&res.cpus, "0-31");
	r.cpu_limit_mcpu = 500;
	res = create_ok(f, &r);
	assert_set(&res.cpus, "1-15,17-31");
	assert_int_equal(res.quota, 50000);
}

static void test_alloc_create_shared_min_enospc(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g2", "default", QOS_GUARANTEED, 4000);

	f->cfg.shared_min_cpus = 4;
	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g1", 28000);
	assert_int_equal(alloc_create(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)),
			 -ENOSPC);
	assert_non_null(strstr(f->reason, "shared_min_cpus"));
	assert_int_equal(alloc_get(f->s, "g2", &res), -ENOENT);
	r.prefs.shared_only = true;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_int_equal(cpuset_count(&res.cpus), 4);
}

static void test_alloc_create_drain_without_shared_then_refuse_shared(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("b", "default", QOS_BURSTABLE, 100);

	fx_state(f);
	guaranteed(f, "all", 32000); /* no shared container: may take everything */
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, f->reason, sizeof(f->reason)), -ENOSPC);
	assert_int_equal(alloc_release(f->s, "all", NULL), 1);
	create_ok(f, &r);
}

static void test_alloc_create_hide_hyperthreads(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_stats st;
	struct alloc_request r = req("h", "default", QOS_GUARANTEED, 2000);
	char buf[512];

	fx_state(f);
	r.prefs.hide_hyperthreads = 1;
	res = create_ok(f, &r);
	assert_set(&res.cpus, "0-1");
	alloc_stats_get(f->s, &st);
	assert_set(&st.exclusive, "0-1,16-17");
	assert_set(&st.shared, "2-15,18-31");
	assert_true(alloc_explain(f->s, "h", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "hide_hyperthreads"));
}

static void test_alloc_create_isolated(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("iso", "default", QOS_GUARANTEED, 1500);

	topology_free(f->t);
	fx_topo(f, (struct topo_synth_spec){.packages = 1,
					    .dies_per_package = 1,
					    .nodes_per_die = 1,
					    .l3_per_node = 1,
					    .cores_per_l3 = 8,
					    .threads_per_core = 1,
					    .isolated = set_of("6-7")});
	fx_state(f);
	res = burstable(f, "b", 100);
	assert_set(&res.cpus, "0-5");
	r.prefs.isolated = true;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_ISOLATED);
	assert_set(&res.cpus, "6-7"); /* ceil(1500m) whole CPUs */
	assert_int_equal(f->ch.n, 0);
	r.id = "iso2";
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -ENOSPC);
	res = guaranteed(f, "g", 2000); /* exclusive never takes isolated CPUs */
	assert_set(&res.cpus, "0-1");
	assert_false(res.isolated_fallback);
	assert_int_equal(alloc_get(f->s, "iso", &res), 0);
	assert_false(res.isolated_fallback); /* there are isolated CPUs, just none free */
}

/* No isolated CPUs on the machine: a Guaranteed pod that asks for them gets what it
 * would get without asking (exclusive CPUs, no quota), and the result says so. */
static void test_alloc_create_isolated_none_on_machine(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("iso", "default", QOS_GUARANTEED, 2000);
	char buf[512];

	fx_state(f);
	burstable(f, "b", 100);
	r.prefs.isolated = true;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_true(res.isolated_fallback);
	assert_int_equal(cpuset_count(&res.exclusive), 2);
	assert_int_equal(res.quota, -1);
	assert_true(changes_has(f, "b"));
	assert_true(alloc_explain(f->s, "iso", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "this machine has none"));
	r = req("small", "default", QOS_GUARANTEED, 500);
	r.prefs.isolated = true;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_true(res.isolated_fallback);
	res = guaranteed(f, "plain", 1000);
	assert_false(res.isolated_fallback);
}

static void test_alloc_create_exclusive_disabled(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	f->cfg.exclusive_enabled = false;
	f->cfg.exclusive_no_quota = false;
	fx_state(f);
	res = guaranteed(f, "g", 2000);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_set(&res.cpus, "0-31");
	assert_int_equal(res.quota, 200000);
}

static void test_alloc_create_rejects_bad_requests(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("", "default", QOS_BURSTABLE, 100);
	char longid[ALLOC_ID_MAX + 2];

	fx_state(f);
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -EINVAL);
	r.id = NULL;
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -EINVAL);
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	r.id = longid;
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -EINVAL);
	r = req("neg", "default", QOS_BURSTABLE, -5);
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -EINVAL);
	assert_int_equal(alloc_create(NULL, &r, &res, NULL, NULL, 0), -EINVAL);
	burstable(f, "dup", 100);
	r = req("dup", "default", QOS_BURSTABLE, 100);
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -EEXIST);
	assert_int_equal(alloc_count(f->s), 1);
}

static void test_alloc_update_grow_keeps_cpus(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 4000);

	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 2000);
	guaranteed(f, "x", 2000); /* 1,17 */
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_set(&res.cpus, "0,2,16,18"); /* kept 0,16; grew in the same L3 */
	assert_true(changes_has(f, "b"));
	assert_false(changes_has(f, "g"));
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 1000;
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, NULL, 0), 0);
	assert_int_equal(cpuset_count(&res.cpus), 1);
	assert_true(cpuset_is_subset(&res.cpus, &(struct cpuset){.bits = {0x50005}}));
}

static void test_alloc_update_to_shared_and_back(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 500);

	fx_state(f);
	guaranteed(f, "g", 2000);
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_set(&res.cpus, "0-31");
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 3000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_int_equal(cpuset_count(&res.cpus), 3);
	r.id = "nope";
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), -ENOENT);
}

/* The owner generation moves with owned CPUs only: what a checkpoint must follow. */
static void test_alloc_owned_gen_follows_owners(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 3000);
	uint64_t g;

	fx_state(f);
	g = alloc_owned_gen(f->s);
	burstable(f, "b", 100);
	assert_true(alloc_owned_gen(f->s) == g); /* a shared container owns nothing */
	guaranteed(f, "g", 2000);
	assert_true(alloc_owned_gen(f->s) != g);
	g = alloc_owned_gen(f->s);
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, NULL, 0), 0); /* grown */
	assert_true(alloc_owned_gen(f->s) != g);
	g = alloc_owned_gen(f->s);
	assert_int_equal(alloc_release(f->s, "b", NULL), 1);
	assert_true(alloc_owned_gen(f->s) == g);
	assert_int_equal(alloc_release(f->s, "g", NULL), 1);
	assert_true(alloc_owned_gen(f->s) != g);
	assert_true(alloc_owned_gen(NULL) == 0);
}

static void test_alloc_update_enospc_keeps_old(void **state)
{
	struct fx *f = *state;
	struct alloc_result before, after;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 32000);

	fx_state(f);
	burstable(f, "b", 100);
	before = guaranteed(f, "g", 2000);
	assert_int_equal(alloc_update(f->s, &r, &after, NULL, NULL, 0), -ENOSPC);
	assert_int_equal(alloc_get(f->s, "g", &after), 0);
	assert_true(cpuset_equal(&before.cpus, &after.cpus));
}

static void test_alloc_release_idempotent(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 4000);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_release(f->s, "g", &f->ch), 1);
	assert_true(changes_has(f, "b"));
	assert_int_equal(alloc_get(f->s, "b", &res), 0);
	assert_set(&res.cpus, "0-31");
	assert_int_equal(alloc_release(f->s, "g", &f->ch), 0);
	assert_int_equal(alloc_release(f->s, "never", NULL), 0);
	assert_int_equal(alloc_release(f->s, NULL, NULL), 0);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_release(f->s, "b", &f->ch), 1);
	assert_int_equal(f->ch.n, 0);
	assert_int_equal(alloc_count(f->s), 0);
}

/* alloc_changes_all names every container once, appended after what is there. */
static void test_alloc_changes_all(void **state)
{
	struct fx *f = *state;

	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 4000);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_changes_push(&f->ch, "x"), 0);
	assert_int_equal(alloc_changes_all(f->s, &f->ch), 0);
	assert_int_equal(f->ch.n, 3);
	assert_string_equal(f->ch.ids[0], "x");
	assert_true(changes_has(f, "b"));
	assert_true(changes_has(f, "g"));
	assert_int_equal(alloc_changes_all(NULL, &f->ch), -EINVAL);
	assert_int_equal(alloc_changes_all(f->s, NULL), 0);
}

/* The request a container holds is the one it was placed with, namespace included. */
static void test_alloc_get_request(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = req("g", "prod", QOS_GUARANTEED, 2000), got;

	fx_state(f);
	r.prefs.hide_hyperthreads = 1;
	create_ok(f, &r);
	assert_int_equal(alloc_get_request(f->s, "g", &got), 0);
	assert_string_equal(got.id, "g");
	assert_string_equal(got.pod_namespace, "prod");
	assert_int_equal(got.qos, QOS_GUARANTEED);
	assert_int_equal(got.cpu_request_mcpu, 2000);
	assert_int_equal(got.prefs.hide_hyperthreads, 1);
	assert_int_equal(alloc_get_request(f->s, "never", &got), -ENOENT);
	assert_int_equal(alloc_get_request(f->s, "g", NULL), -ENOENT);
	alloc_release(f->s, "g", NULL);
	assert_int_equal(alloc_get_request(f->s, "g", &got), -ENOENT);
}

static void test_alloc_restore_keeps_valid_and_fixes_conflicts(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[3] = {0};
	struct alloc_result res;
	char buf[512];

	fx_state(f);
	e[0].req = req("first", "default", QOS_GUARANTEED, 2000);
	e[0].cpus = set_of("5,21");
	e[1].req = req("second", "default", QOS_GUARANTEED, 2000);
	e[1].cpus = set_of("5,21"); /* conflict: first come keeps */
	e[2].req = req("b", "default", QOS_BURSTABLE, 100);
	e[2].cpus = set_of("0-31");
	assert_int_equal(alloc_restore(f->s, e, 3, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(alloc_get(f->s, "first", &res), 0);
	assert_set(&res.cpus, "5,21");
	assert_int_equal(alloc_get(f->s, "second", &res), 0);
	assert_int_equal(cpuset_count(&res.exclusive), 2);
	assert_false(cpuset_intersects(&res.cpus, &e[0].cpus));
	assert_true(changes_has(f, "second"));
	assert_true(changes_has(f, "b"));
	assert_false(changes_has(f, "first"));
	assert_true(alloc_explain(f->s, "second", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "re-allocated"));
	assert_int_equal(alloc_restore(f->s, e, 3, NULL, NULL, 0), -EBUSY);
}

static void test_alloc_restore_rejects_duplicates(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[2] = {0};

	fx_state(f);
	e[0].req = req("x", "default", QOS_BURSTABLE, 100);
	e[1].req = req("x", "default", QOS_BURSTABLE, 100);
	assert_int_equal(alloc_restore(f->s, e, 2, NULL, NULL, 0), -EINVAL);
	assert_int_equal(alloc_count(f->s), 0);
	assert_int_equal(alloc_restore(f->s, e, 1, NULL, NULL, 0), 0);
	assert_int_equal(alloc_count(f->s), 1);
}

static void test_alloc_restore_round_trip(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[5] = {0};
	struct alloc_state *s2 = NULL;
	struct alloc_result a, b;
	size_t n = 0;

	fx_state(f);
	guaranteed(f, "g", 3000);
	guaranteed(f, "m", 2500);
	burstable(f, "b", 100);
	guaranteed(f, "h", 1000);
	for (size_t i = 0; i < alloc_count(f->s); i++, n++) {
		const char *id = alloc_id_at(f->s, i);

		assert_int_equal(alloc_get(f->s, id, &a), 0);
		e[n].req = req(id, "default", id[0] == 'b' ? QOS_BURSTABLE : QOS_GUARANTEED,
			       id[0] == 'g'   ? 3000
			       : id[0] == 'm' ? 2500
			       : id[0] == 'b' ? 100
					      : 1000);
		e[n].cpus = a.cpus;
		/* Mixed without the persisted exclusive part: derived from the shared ones. */
		e[n].has_exclusive = id[0] != 'm';
		e[n].exclusive = a.exclusive;
	}
	assert_int_equal(alloc_state_new(f->t, &f->cfg, &s2), 0);
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_restore(s2, e, n, &f->ch, NULL, 0), 0);
	assert_int_equal(f->ch.n, 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(alloc_get(s2, e[i].req.id, &b), 0);
		assert_int_equal(alloc_get(f->s, e[i].req.id, &a), 0);
		assert_true(cpuset_equal(&a.cpus, &b.cpus));
		assert_true(cpuset_equal(&a.exclusive, &b.exclusive));
	}
	alloc_state_free(s2);
}

static void test_alloc_reconfigure_reserved_moves_conflicts(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_config cfg;

	fx_state(f);
	burstable(f, "b", 100);
	guaranteed(f, "g", 2000); /* 0,16 */
	guaranteed(f, "k", 2000); /* 1,17 */
	cfg = f->cfg;
	cfg.reserved_cpus = set_of("0,16");
	alloc_changes_reset(&f->ch);
	assert_int_equal(alloc_reconfigure(f->s, NULL, &cfg, &f->ch, f->reason, sizeof(f->reason)),
			 0);
	assert_true(changes_has(f, "g"));
	assert_true(changes_has(f, "b"));
	assert_false(changes_has(f, "k"));
	assert_int_equal(alloc_get(f->s, "g", &res), 0);
	assert_false(cpuset_test(&res.cpus, 0));
	assert_int_equal(cpuset_count(&res.cpus), 2);
	assert_int_equal(alloc_get(f->s, "k", &res), 0);
	assert_set(&res.cpus, "1,17");
	cfg.shared_min_cpus = 1000;
	assert_int_equal(alloc_reconfigure(f->s, NULL, &cfg, NULL, NULL, 0), -EINVAL);
	assert_int_equal(alloc_count(f->s), 3);
}

static void test_alloc_stats_pools(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;

	f->cfg.reserved_count = 2;
	fx_state(f);
	burstable(f, "b", 1500);
	guaranteed(f, "g", 4000);
	alloc_stats_get(f->s, &st);
	assert_int_equal(st.pool[ALLOC_POOL_RESERVED].capacity, 2);
	assert_int_equal(st.pool[ALLOC_POOL_EXCLUSIVE].capacity, 30);
	assert_int_equal(st.pool[ALLOC_POOL_EXCLUSIVE].assigned, 4);
	assert_int_equal(st.pool[ALLOC_POOL_EXCLUSIVE].free, 26);
	assert_int_equal(st.pool[ALLOC_POOL_EXCLUSIVE].containers, 1);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].capacity, 26);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].assigned, 2);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].free, 24);
	assert_int_equal(st.pool[ALLOC_POOL_SHARED].requested_mcpu, 1500);
	assert_int_equal(st.shared_containers, 1);
}

static void test_alloc_memory_only_nearest(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	topology_free(f->t);
	fx_topo(f, SPEC(2, 1, 1, 1, 4, 1, 2));
	f->cfg.memory_only_nodes = ALLOC_MEMORY_ONLY_NEAREST;
	fx_state(f);
	res = guaranteed(f, "g", 2000);
	assert_set(&res.cpus, "0-1");
	/* Without a distance table every memory-only node is equally near. */
	assert_true(cpuset_test(&res.mems, 0));
	assert_false(cpuset_test(&res.mems, 1));
	assert_true(cpuset_count(&res.mems) >= 2);
	alloc_state_free(f->s);
	f->s = NULL;
	f->cfg.memory_only_nodes = ALLOC_MEMORY_ONLY_NONE;
	fx_state(f);
	res = guaranteed(f, "g", 2000);
	assert_set(&res.mems, "0");
	alloc_state_free(f->s);
	f->s = NULL;
	f->cfg.pin_mems = false;
	fx_state(f);
	res = guaranteed(f, "g", 2000);
	assert_true(cpuset_is_empty(&res.mems));
}

static void test_alloc_explain_texts(void **state)
{
	struct fx *f = *state;
	char buf[512], tiny[8];

	fx_state(f);
	guaranteed(f, "g", 2000);
	burstable(f, "b", 100);
	guaranteed(f, "small", 500);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "exclusive cpus=0,16"));
	assert_non_null(strstr(buf, "L3 #0"));
	assert_true(alloc_explain(f->s, "b", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "Burstable"));
	assert_true(alloc_explain(f->s, "small", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "500m"));
	assert_int_equal(alloc_explain(f->s, "g", tiny, sizeof(tiny)), -ENOSPC);
	assert_int_equal(strlen(tiny), 7);
	assert_int_equal(alloc_explain(f->s, "zz", buf, sizeof(buf)), -ENOENT);
}

static struct alloc_result create_burstable(struct fx *f, const char *id, int64_t limit,
					    const char *dev_nodes)
{
	struct alloc_request r = req(id, "default", QOS_BURSTABLE, 100);

	r.cpu_limit_mcpu = limit;
	if (dev_nodes)
		r.prefs.device_nodes = set_of(dev_nodes);
	return create_ok(f, &r);
}

/*
 * alloc_get_cpu_side() stands in for alloc_get() when a reply moves every shared
 * container: its numbers must be alloc_get()'s, and plain_shared must hold exactly for
 * the containers whose sets are the shared pool's. Each kind that is not plain has
 * sets of its own here, so a flag set too widely would hand it the pool's.
 */
static void test_alloc_get_cpu_side_matches_alloc_get(void **state)
{
	static const char *const ids[] = {"plain1", "plain2", "wide", "dev",
					  "shd",    "excl",   "mixed"};
	struct fx *f = *state;
	struct alloc_result plain, r;
	struct alloc_request q = req("mixed", "default", QOS_GUARANTEED, 1500);
	struct alloc_cpu_side side;
	struct alloc_stats st;

	f->cfg.reserved_cpus = set_of("0,16");
	f->cfg.burstable_unlimited_wide = true;
	fx_state(f);
	plain = create_burstable(f, "plain1", 500, NULL);
	create_burstable(f, "plain2", 300, NULL);
	create_burstable(f, "wide", 0, NULL);
	create_burstable(f, "dev", 500, "1");
	create_burstable(f, "shd", 1000, NULL);
	assert_int_equal(alloc_shield(f->s, "shd", 2, &f->ch, f->reason, sizeof(f->reason)), 0);
	guaranteed(f, "excl", 2000);
	create_ok(f, &q);
	assert_int_equal(alloc_get(f->s, "plain1", &plain), 0);
	alloc_stats_get(f->s, &st);
	assert_true(cpuset_equal(&plain.cpus, &st.shared));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(alloc_get(f->s, ids[i], &r), 0);
		assert_int_equal(alloc_get_cpu_side(f->s, ids[i], &side), 0);
		assert_int_equal(side.pool, r.pool);
		assert_true(side.shares == r.shares && side.quota == r.quota &&
			    side.period == r.period);
		assert_int_equal(side.plain_shared, i < 2);
		assert_int_equal(cpuset_equal(&r.cpus, &plain.cpus), i < 2);
		if (side.plain_shared)
			assert_true(cpuset_equal(&r.mems, &plain.mems));
	}
	assert_int_equal(alloc_get_cpu_side(f->s, "ghost", &side), -ENOENT);
	assert_int_equal(alloc_get_cpu_side(f->s, NULL, &side), -ENOENT);
	assert_int_equal(alloc_get_cpu_side(NULL, "plain1", &side), -ENOENT);
	assert_int_equal(alloc_get_cpu_side(f->s, "plain1", NULL), -ENOENT);
}

static void test_alloc_state_free_null(void **state)
{
	(void)state;
	alloc_state_free(NULL);
	alloc_changes_done(NULL);
	assert_int_equal(alloc_count(NULL), 0);
	assert_null(alloc_id_at(NULL, 0));
	assert_string_equal(alloc_pool_name(ALLOC_POOL_ISOLATED), "isolated");
	assert_string_equal(alloc_pool_name(ALLOC_POOL_COUNT), "unknown");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_config_validate_rejects),
		T(test_alloc_create_exclusive_whole_core),
		T(test_alloc_create_tightest_l3),
		T(test_alloc_create_odd_count_fills_fragment),
		T(test_alloc_create_numa_fit),
		T(test_alloc_create_without_prefer_same_numa_one_node),
		T(test_alloc_create_mixed),
		T(test_alloc_create_reserved_namespace),
		T(test_alloc_create_reserved_without_cpus_runs_shared),
		T(test_alloc_create_burstable_wide),
		T(test_alloc_create_shared_min_enospc),
		T(test_alloc_create_drain_without_shared_then_refuse_shared),
		T(test_alloc_create_hide_hyperthreads),
		T(test_alloc_create_isolated),
		T(test_alloc_create_isolated_none_on_machine),
		T(test_alloc_create_exclusive_disabled),
		T(test_alloc_create_rejects_bad_requests),
		T(test_alloc_update_grow_keeps_cpus),
		T(test_alloc_update_to_shared_and_back),
		T(test_alloc_owned_gen_follows_owners),
		T(test_alloc_update_enospc_keeps_old),
		T(test_alloc_release_idempotent),
		T(test_alloc_get_request),
		T(test_alloc_get_cpu_side_matches_alloc_get),
		T(test_alloc_changes_all),
		T(test_alloc_restore_keeps_valid_and_fixes_conflicts),
		T(test_alloc_restore_rejects_duplicates),
		T(test_alloc_restore_round_trip),
		T(test_alloc_reconfigure_reserved_moves_conflicts),
		T(test_alloc_stats_pools),
		T(test_alloc_memory_only_nearest),
		T(test_alloc_explain_texts),
		cmocka_unit_test(test_alloc_state_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
