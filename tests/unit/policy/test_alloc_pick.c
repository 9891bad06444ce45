/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the picker (policy/alloc_pick*.c, alloc_tree.c) on the machine shapes
 * of issue 16 (tests/lib/shapes.c): the tightest subtree at every tier, whole cores not
 * shared with another pool, one core kind, reserved CPUs in one place, and explain.
 */
#include "plugin/host/sysfs.h"
#include "tests/lib/shapes.h"
#include "tests/unit/policy/test_alloc_fx.h"

static void fx_shape(struct fx *f, const char *name)
{
	struct shape *sh = malloc(sizeof(*sh));
	int r;

	assert_non_null(sh);
	r = shape_by_name(name, sh);
	if (r >= 0) {
		topology_free(f->t);
		f->t = NULL;
		r = shape_load(sh, &f->t);
	}
	free(sh);
	if (r < 0)
		fail_msg("shape %s: %s", name, strerror(-r));
	alloc_config_init(&f->cfg);
}

/* How many domains of d (n of them) the set touches. */
static unsigned int spans(const struct topo_domain *d, int n, const struct cpuset *set)
{
	unsigned int k = 0;

	for (int i = 0; i < n; i++)
		k += cpuset_intersects(&d[i].cpus, set);
	return k;
}

static unsigned int spans_nodes(const struct topology *t, const struct cpuset *set)
{
	unsigned int k = 0;

	for (int i = 0; i < t->n_nodes; i++)
		k += cpuset_intersects(&t->nodes[i].cpus, set);
	return k;
}

/* Cores the set holds only part of. */
static unsigned int split_cores(const struct topology *t, const struct cpuset *set)
{
	unsigned int k = 0;

	for (int i = 0; i < t->n_cores; i++)
		k += cpuset_intersects(&t->cores[i].cpus, set) &&
		     !cpuset_is_subset(&t->cores[i].cpus, set);
	return k;
}

static unsigned int in_package(const struct topology *t, int pkg, const struct cpuset *set)
{
	struct cpuset x;

	cpuset_and(&x, &t->packages[pkg].cpus, set);
	return cpuset_count(&x);
}

/* POWER LPAR: 4-thread cores are whole, an 8-CPU request takes the two cores of one L2. */
static void test_alloc_pick_power_whole_cores(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_shape(f, "power-lpar");
	fx_state(f);
	res = guaranteed(f, "g4", 4000);
	assert_int_equal(split_cores(f->t, &res.cpus), 0);
	assert_int_equal(spans(f->t->cores, f->t->n_cores, &res.cpus), 1);
	res = guaranteed(f, "g8", 8000);
	assert_int_equal(split_cores(f->t, &res.cpus), 0);
	assert_int_equal(spans(f->t->l2s, f->t->n_l2s, &res.cpus), 1);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 1);
}

/* Reserved CPUs take part of a core: an exclusive container gets a core of its own. */
static void test_alloc_pick_power_not_next_to_reserved(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_stats st;
	char buf[1024];

	fx_shape(f, "power-lpar");
	f->cfg.reserved_count = 2;
	fx_state(f);
	alloc_stats_get(f->s, &st);
	assert_set(&st.reserved, "0-1");
	res = guaranteed(f, "g", 2000);
	assert_false(cpuset_intersects(&res.cpus, &f->t->cores[0].cpus));
	assert_int_equal(spans(f->t->cores, f->t->n_cores, &res.cpus), 1);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "not shared with another pool"));
	/* once no other core has room, the threads next to the reserved ones are used */
	res = guaranteed(f, "all", 252000 - 2000);
	res = guaranteed(f, "last", 2000);
	assert_set(&res.cpus, "2-3");
}

/* 16 sockets, 4 per node: 7 CPUs fit in 2 sockets of one node (lowest ids would take 3+). */
static void test_alloc_pick_16s_seven_in_two_sockets(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_shape(f, "x86-16s");
	fx_state(f);
	res = guaranteed(f, "g", 7000);
	assert_int_equal(spans_nodes(f->t, &res.cpus), 1);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 2);
	assert_int_equal(spans(f->t->l2s, f->t->n_l2s, &res.cpus), 4); /* 3 + 1 */
}

/* 16 CPUs: 6 + 6 + 4, not 4 from each of four sockets. */
static void test_alloc_pick_16s_sixteen_as_6_6_4(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	unsigned int six = 0, four = 0;

	fx_shape(f, "x86-16s");
	fx_state(f);
	res = guaranteed(f, "g", 16000);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 3);
	for (int p = 0; p < f->t->n_packages; p++) {
		six += in_package(f->t, p, &res.cpus) == 6;
		four += in_package(f->t, p, &res.cpus) == 4;
	}
	assert_int_equal(six, 2);
	assert_int_equal(four, 1);
}

/*
 * One node has 8 free CPUs, 2 in each of its four sockets; another has two whole free
 * sockets. Best fit by the node's free count took the first (4 sockets); the request
 * needs only 2 sockets of the second.
 */
static void test_alloc_pick_16s_node_with_whole_sockets(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	char buf[1024];

	fx_shape(f, "x86-16s");
	fx_state(f);
	guaranteed(f, "n2", 24000);
	guaranteed(f, "n3", 24000);
	for (int i = 0; i < 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "q%d", i);
		res = guaranteed(f, id, 4000);
		assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 1);
	}
	res = guaranteed(f, "s1", 6000);
	res = guaranteed(f, "s2", 6000);
	/* node 0: 2 free in each of 4 sockets; node 1: 2 wholly free sockets */
	res = guaranteed(f, "g", 8000);
	assert_int_equal(spans_nodes(f->t, &res.cpus), 1);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 2);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "spread over 2 packages"));
	assert_non_null(strstr(buf, "fewest subtrees"));
}

/* reserved.count on interleaved sockets: whole cores in one place, not CPUs 0 and 1. */
static void test_alloc_pick_reserved_one_socket(void **state)
{
	struct fx *f = *state;
	struct alloc_stats st;

	fx_shape(f, "x86-2s-interleaved");
	f->cfg.reserved_count = 2;
	fx_state(f);
	alloc_stats_get(f->s, &st);
	assert_set(&st.reserved, "0,2");
	alloc_state_free(f->s);
	f->s = NULL;
	f->cfg.reserved_count = 3;
	fx_state(f);
	alloc_stats_get(f->s, &st);
	assert_set(&st.reserved, "0,2,4");
}

/* Hybrid without the kind files: P cores for exclusive CPUs, never mixed with E cores
 * while one kind has room. P: CPUs 0-11 (6 SMT2 cores), E: 12-19. */
static void test_alloc_pick_hybrid_one_kind(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct cpuset p = set_of("0-11"), e = set_of("12-19");
	char buf[1024];

	fx_shape(f, "hybrid-nokind");
	fx_state(f);
	res = guaranteed(f, "a", 4000);
	assert_true(cpuset_is_subset(&res.cpus, &p));
	assert_int_equal(split_cores(f->t, &res.cpus), 0);
	assert_true(alloc_explain(f->s, "a", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "P cores (the preferred kind"));
	res = guaranteed(f, "b", 5000);
	assert_true(cpuset_is_subset(&res.cpus, &p));
	/* 3 P threads left: 4 CPUs go to the E cores, all of one L2 */
	res = guaranteed(f, "c", 4000);
	assert_true(cpuset_is_subset(&res.cpus, &e));
	assert_int_equal(spans(f->t->l2s, f->t->n_l2s, &res.cpus), 1);
	assert_true(alloc_explain(f->s, "c", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "E cores (the preferred kind had no room"));
	/* 3 P + 4 E free: 6 cannot be had from one kind */
	res = guaranteed(f, "d", 6000);
	assert_true(cpuset_intersects(&res.cpus, &p) && cpuset_intersects(&res.cpus, &e));
	assert_true(alloc_explain(f->s, "d", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "mixed"));
}

static void test_alloc_pick_hybrid_prefer_efficient(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_shape(f, "hybrid-nokind");
	f->cfg.prefer_core_kind = ALLOC_CORE_KIND_EFFICIENT;
	fx_state(f);
	res = guaranteed(f, "a", 2000);
	assert_true(cpuset_is_subset(&res.cpus, &(struct cpuset){.bits = {0xff000}}));
	f->cfg.prefer_core_kind = 7;
	assert_int_equal(alloc_config_validate(f->t, &f->cfg, f->reason, sizeof(f->reason)),
			 -EINVAL);
}

/* L2 clusters are a level: 2 CPUs go to the cluster with 2 free, not 1 + 1. */
static void test_alloc_pick_e_cluster_not_straddled(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_shape(f, "hybrid-nokind");
	f->cfg.prefer_core_kind = ALLOC_CORE_KIND_EFFICIENT;
	fx_state(f);
	res = guaranteed(f, "a", 3000);
	assert_set(&res.cpus, "12-14");
	res = guaranteed(f, "b", 2000);
	assert_set(&res.cpus, "16-17"); /* 15 alone is too small: the other cluster */
	res = guaranteed(f, "c", 2000);
	assert_set(&res.cpus, "18-19"); /* not 15 + 18 */
	res = guaranteed(f, "d", 1000);
	assert_set(&res.cpus, "15");
}

/* arm64 big.LITTLE: big cores first, in one cluster. */
static void test_alloc_pick_arm_big_cores(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;

	fx_shape(f, "arm-biglittle");
	fx_state(f);
	res = guaranteed(f, "a", 3000);
	assert_set(&res.cpus, "5-7");
	res = guaranteed(f, "b", 3000);
	assert_set(&res.cpus, "15-17"); /* 2 left in the first cluster: the other has 5 */
}

/* Exact claims through a restore: n entries of (id, CPUs). */
static void claim(struct fx *f, const char *const *ids, const char *const *cpus, size_t n)
{
	struct alloc_restore_entry e[8] = {0};

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		e[i].cpus = set_of(cpus[i]);
		e[i].req = req(ids[i], "default", QOS_GUARANTEED,
			       (int64_t)cpuset_count(&e[i].cpus) * 1000);
	}
	assert_int_equal(alloc_restore(f->s, e, n, NULL, f->reason, sizeof(f->reason)), 0);
}

/* Neither kind alone has room: mixed, but still in one L3 (cluster) where one has room. */
static void test_alloc_pick_arm_mixed_one_cluster(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	char buf[1024];

	fx_shape(f, "arm-biglittle");
	fx_state(f);
	claim(f, (const char *const[]){"p", "e"},
	      (const char *const[]){"5-9,15-17", "0-1,3-4,10-13"}, 2);
	/* free: P 18-19 (cluster 1), E 2 (cluster 0) and 14 (cluster 1) */
	res = guaranteed(f, "m", 3000);
	assert_set(&res.cpus, "14,18-19");
	assert_true(alloc_explain(f->s, "m", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "mixed"));
}

/* A grow that must take the other kind stays in the L3 its CPUs are in. */
static void test_alloc_pick_arm_grow_other_kind_same_cluster(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 2000);

	fx_shape(f, "arm-biglittle");
	fx_state(f);
	claim(f, (const char *const[]){"g", "p", "e"},
	      (const char *const[]){"19", "5-9,15-18", "0-1"}, 3);
	/* free: E 2-4 (cluster 0), 10-14 (cluster 1) */
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(cpuset_count(&res.cpus), 2);
	assert_true(cpuset_is_subset(&res.cpus, &(struct cpuset){.bits = {0xffc00}})); /* 10-19 */
}

static void fx_fixture(struct fx *f, const char *name)
{
	const char *src = getenv("TOPOGUARD_SRC");
	char root[4096];
	int r;

	snprintf(root, sizeof(root), "%s/tests/fixtures/sysfs/%s", src && src[0] ? src : ".", name);
	topology_free(f->t);
	f->t = NULL;
	r = sysfs_topology_load(root, &f->t);
	if (r < 0)
		fail_msg("fixture %s: %s (set TOPOGUARD_SRC)", root, strerror(-r));
	alloc_config_init(&f->cfg);
}

/*
 * EPYC (2 packages of 4 nodes, an L3 per 3 cores): a grow that has to leave its node
 * takes the fewest nodes, then the fewest L3s. A node below its package in the tree
 * counts each package once (found by bench/placement_quality.c: 5 L3s where 4 do).
 */
static void test_alloc_pick_epyc_grow_fewest_l3(void **state)
{
	struct fx *f = *state;
	struct alloc_restore_entry e[2] = {0};
	struct alloc_result res;
	struct alloc_request r;

	fx_fixture(f, "epyc-2s-ccx");
	fx_state(f);
	e[0].req = req("g", "default", QOS_GUARANTEED, 4000);
	e[0].req.prefs.hide_hyperthreads = 1;
	e[0].cpus = set_of("18-21"); /* 4 whole cores of node 3, in 2 L3s */
	/* everything else taken but 2,4-5,7,30-34,45-47,52,54-55,78-81,93-95 */
	e[1].cpus = set_of("0-1,3,6,8-17,22-29,35-44,48-51,53,56-65,70-77,82-92");
	e[1].req = req("o", "default", QOS_GUARANTEED, (int64_t)cpuset_count(&e[1].cpus) * 1000);
	assert_int_equal(alloc_restore(f->s, e, 2, NULL, f->reason, sizeof(f->reason)), 0);
	r = e[0].req;
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 9000;
	assert_int_equal(alloc_update(f->s, &r, &res, NULL, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(cpuset_count(&res.cpus), 9);
	assert_int_equal(spans_nodes(f->t, &res.cpus), 3);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 2);
	assert_int_equal(spans(f->t->l3s, f->t->n_l3s, &res.cpus), 4);
}

/* A grow keeps the CPUs and stays in the subtrees it spans. */
static void test_alloc_pick_grow_in_same_socket(void **state)
{
	struct fx *f = *state;
	struct alloc_result res;
	struct alloc_request r = req("g", "default", QOS_GUARANTEED, 5000);
	char buf[1024];

	fx_shape(f, "x86-16s");
	fx_state(f);
	burstable(f, "b", 100);
	res = guaranteed(f, "g", 3000);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 1);
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(spans(f->t->packages, f->t->n_packages, &res.cpus), 1);
	assert_int_equal(cpuset_count(&res.cpus), 5);
	/* and the shrink keeps the tightest part */
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 2000;
	assert_int_equal(alloc_update(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)), 0);
	assert_int_equal(spans(f->t->l2s, f->t->n_l2s, &res.cpus), 1);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
}

/* explain names each level from the node down and what decided the last one. */
static void test_alloc_pick_explain_levels(void **state)
{
	struct fx *f = *state;
	char buf[1024];

	fx_state(f); /* the default machine: 2 packages, 2 L3 each, SMT2 */
	guaranteed(f, "x", 6000);
	guaranteed(f, "g", 2000);
	assert_true(alloc_explain(f->s, "g", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "node 0 ("));
	assert_non_null(strstr(buf, "L3 #0 ("));
	assert_non_null(strstr(buf, "core #3: the tightest level that holds it"));
	guaranteed(f, "w", 10000);
	assert_true(alloc_explain(f->s, "w", buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "spread over 2 L3s, the fewest possible"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_pick_power_whole_cores),
		T(test_alloc_pick_power_not_next_to_reserved),
		T(test_alloc_pick_16s_seven_in_two_sockets),
		T(test_alloc_pick_16s_sixteen_as_6_6_4),
		T(test_alloc_pick_16s_node_with_whole_sockets),
		T(test_alloc_pick_reserved_one_socket),
		T(test_alloc_pick_hybrid_one_kind),
		T(test_alloc_pick_hybrid_prefer_efficient),
		T(test_alloc_pick_e_cluster_not_straddled),
		T(test_alloc_pick_arm_big_cores),
		T(test_alloc_pick_arm_mixed_one_cluster),
		T(test_alloc_pick_arm_grow_other_kind_same_cluster),
		T(test_alloc_pick_grow_in_same_socket),
		T(test_alloc_pick_epyc_grow_fewest_l3),
		T(test_alloc_pick_explain_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
