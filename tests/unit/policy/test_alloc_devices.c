/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for policy/alloc_devices.c: CPUs and mems next to a container's devices,
 * on multi-node machines built in code (test_alloc_fx.h). The default machine has
 * node 0 = CPUs 0-7,16-23 and node 1 = CPUs 8-15,24-31.
 */
#include "tests/unit/policy/test_alloc_fx.h"

static struct alloc_request dev_req(const char *id, enum qos_class qos, int64_t mcpu,
				    const char *nodes)
{
	struct alloc_request r = req(id, "default", qos, mcpu);

	r.prefs.device_nodes = set_of(nodes);
	return r;
}

static void assert_explains(struct fx *f, const char *id, const char *want)
{
	char buf[2048];

	assert_true(alloc_explain(f->s, id, buf, sizeof(buf)) > 0);
	if (!strstr(buf, want))
		fail_msg("explain \"%s\" lacks \"%s\"", buf, want);
}

/* Node 0 has the most free CPUs and wins best fit's tie on ids; the device says node 1. */
static void test_alloc_device_pick_prefers_device_node(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	struct alloc_result res;

	fx_state(f);
	guaranteed(f, "g0", 2000); /* node 0 now has fewer free: best fit alone picks it */
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.cpus, "8,24");
	assert_set(&res.mems, "1");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
	assert_explains(f, "g1", "devices on node 1 pulled it on their node(s)");
	res = guaranteed(f, "g2", 2000);
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NONE);
	assert_set(&res.mems, "0");
}

static void test_alloc_device_pick_local_cpus(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	struct alloc_result res;

	fx_state(f);
	r.prefs.device_cpus = set_of("12-15,28-31"); /* L3 #3 */
	res = create_ok(f, &r);
	assert_set(&res.cpus, "12,28");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_LOCAL);
	assert_string_equal(alloc_device_fit_name(res.device), "local");
	/* local CPUs outside the device's node do not count (a stale or odd local_cpulist) */
	r = dev_req("g2", QOS_GUARANTEED, 2000, "1");
	r.prefs.device_cpus = set_of("0-3");
	res = create_ok(f, &r);
	assert_set(&res.mems, "1");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
}

/* Devices on nodes 1 and 3 of four: a request larger than a node spans exactly those. */
static void test_alloc_device_pick_several_nodes(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 12000, "1,3");
	struct alloc_result res;

	topology_free(f->t);
	fx_topo(f, SPEC(2, 1, 2, 1, 4, 2, 0)); /* 4 nodes of 8 CPUs */
	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(cpuset_count(&res.cpus), 12);
	assert_set(&res.mems, "1,3");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
	r = dev_req("g2", QOS_GUARANTEED, 2000, "1,3"); /* fits one of them: one node */
	res = create_ok(f, &r);
	assert_int_equal(cpuset_count(&res.mems), 1);
	assert_true(cpuset_test(&res.mems, 1) || cpuset_test(&res.mems, 3));
}

/* Node 1 full: the other node of its package before a fuller node elsewhere. */
static void test_alloc_device_pick_package_before_elsewhere(void **state)
{
	struct fx *f = *state;
	struct alloc_request r;
	struct alloc_result res;

	topology_free(f->t);
	fx_topo(f, SPEC(2, 1, 2, 1, 4, 2, 0));
	fx_state(f);
	r = dev_req("fill", QOS_GUARANTEED, 8000, "1");
	res = create_ok(f, &r);
	assert_set(&res.mems, "1");
	r = dev_req("part", QOS_GUARANTEED, 2000, "2");
	res = create_ok(f, &r);
	assert_set(&res.mems, "2"); /* node 2 now the best fit for anyone else */
	r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	res = create_ok(f, &r);
	assert_set(&res.mems, "0");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_PACKAGE);
	assert_explains(f, "g1", "in the package of their node(s)");
}

static void fill_node1(struct fx *f)
{
	struct alloc_request r = dev_req("fill", QOS_GUARANTEED, 15000, "1");

	burstable(f, "b1", 100);
	create_ok(f, &r);
}

static void test_alloc_device_pick_no_room_goes_elsewhere(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	struct alloc_result res;

	fx_state(f);
	fill_node1(f);
	res = create_ok(f, &r);
	assert_set(&res.mems, "0");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_ELSEWHERE);
	assert_explains(f, "g1", "elsewhere: no room near them");
}

/* Strict: -ENOSPC with a recognisable reason, state untouched; one CPU less fits. */
static void test_alloc_device_pick_strict_refuses(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	struct alloc_result res;

	fx_state(f);
	fill_node1(f);
	r.prefs.device_mode = ALLOC_DEVICE_STRICT;
	assert_int_equal(alloc_create(f->s, &r, &res, &f->ch, f->reason, sizeof(f->reason)),
			 -ENOSPC);
	assert_non_null(strstr(f->reason, ALLOC_REASON_DEVICE_STRICT));
	assert_non_null(strstr(f->reason, "1 free near its devices (node 1)"));
	assert_int_equal(alloc_get(f->s, "g1", &res), -ENOENT);
	r.cpu_request_mcpu = r.cpu_limit_mcpu = 1000;
	res = create_ok(f, &r);
	assert_set(&res.mems, "1");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
}

static void test_alloc_device_pick_off_and_unknown(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("g1", QOS_GUARANTEED, 2000, "1");
	struct alloc_result res;

	fx_state(f);
	r.prefs.device_mode = ALLOC_DEVICE_OFF;
	res = create_ok(f, &r);
	assert_set(&res.mems, "0");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NONE);
	/* every device's node unknown (-1): the daemon leaves device_nodes empty */
	r = dev_req("g2", QOS_GUARANTEED, 2000, "");
	r.prefs.device_mode = ALLOC_DEVICE_STRICT;
	res = create_ok(f, &r);
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NONE);
	/* a node id the machine does not have: nothing is near it */
	r = dev_req("g3", QOS_GUARANTEED, 2000, "7");
	res = create_ok(f, &r);
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_ELSEWHERE);
	r = dev_req("g4", QOS_GUARANTEED, 2000, "7");
	r.prefs.device_mode = ALLOC_DEVICE_STRICT;
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, NULL, 0), -ENOSPC);
	r.prefs.device_mode = ALLOC_DEVICE_MODE_COUNT;
	assert_int_equal(alloc_create(f->s, &r, &res, NULL, f->reason, sizeof(f->reason)), -EINVAL);
	assert_string_equal(alloc_device_fit_name(ALLOC_DEVICE_FIT_ELSEWHERE + 1), "unknown");
}

/* Shared: its cpuset narrows to the shared CPUs of the devices' node while they cover
 * its limit (else its request, else 1 CPU); it widens back when they do not. */
static void test_alloc_device_narrow_shared(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("b1", QOS_BURSTABLE, 500, "1");
	struct alloc_result res;

	fx_state(f);
	r.cpu_limit_mcpu = 4000;
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_SHARED);
	assert_set(&res.cpus, "8-15,24-31");
	assert_set(&res.mems, "1");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
	assert_explains(f, "b1", "pulled its shared CPUs on their node(s)");
	r = dev_req("g1", QOS_GUARANTEED, 13000, "1"); /* leaves node 1 three shared CPUs */
	create_ok(f, &r);
	assert_true(changes_has(f, "b1"));
	assert_int_equal(alloc_get(f->s, "b1", &res), 0);
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_ELSEWHERE);
	assert_int_equal(cpuset_count(&res.cpus), 32 - 13);
	assert_int_equal(alloc_release(f->s, "g1", &f->ch), 1);
	assert_int_equal(alloc_get(f->s, "b1", &res), 0);
	assert_set(&res.cpus, "8-15,24-31");
}

static void test_alloc_device_narrow_mixed(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("m1", QOS_GUARANTEED, 2500, "1");
	struct alloc_result res;

	fx_state(f);
	res = create_ok(f, &r);
	assert_int_equal(res.pool, ALLOC_POOL_EXCLUSIVE);
	assert_set(&res.exclusive, "8,24");
	assert_set(&res.cpus, "8-15,24-31");
	assert_set(&res.mems, "1");
}

/* Wide: the shared part narrows, the reserved CPUs stay whole (they are not shared). */
static void test_alloc_device_narrow_wide(void **state)
{
	struct fx *f = *state;
	struct alloc_request r = dev_req("w1", QOS_BURSTABLE, 500, "1");
	struct alloc_result res;

	f->cfg.reserved_cpus = set_of("0,16");
	f->cfg.burstable_unlimited_wide = true;
	fx_state(f);
	res = create_ok(f, &r);
	assert_set(&res.cpus, "0,8-16,24-31");
	assert_set(&res.mems, "0-1");
	assert_int_equal(res.device, ALLOC_DEVICE_FIT_NODE);
	assert_explains(f, "w1", "burstable_unlimited_wide");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_device_pick_prefers_device_node),
		T(test_alloc_device_pick_local_cpus),
		T(test_alloc_device_pick_several_nodes),
		T(test_alloc_device_pick_package_before_elsewhere),
		T(test_alloc_device_pick_no_room_goes_elsewhere),
		T(test_alloc_device_pick_strict_refuses),
		T(test_alloc_device_pick_off_and_unknown),
		T(test_alloc_device_narrow_shared),
		T(test_alloc_device_narrow_mixed),
		T(test_alloc_device_narrow_wide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
