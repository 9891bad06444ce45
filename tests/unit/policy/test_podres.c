/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy/podres.c: sizing containers of pods with pod-level resources. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/podres.h"

#define GIB (1ll << 30)

/* Resources as the kubelet writes them from requests/limits (mcpu, bytes); 0 = unset. */
static struct qos_input input(int64_t req_mcpu, int64_t lim_mcpu, int64_t mem)
{
	struct qos_input in = {0};

	if (req_mcpu > 0) {
		in.has_shares = true;
		in.shares = qos_shares_from_mcpu(req_mcpu);
	}
	if (lim_mcpu > 0) {
		in.has_quota = in.has_period = true;
		in.period = 100000;
		in.quota = qos_quota_from_mcpu(lim_mcpu, in.period);
	}
	if (mem > 0) {
		in.has_mem_limit = true;
		in.mem_limit = mem;
	}
	return in;
}

/* A container without resources of its own: shares 2, no limits. */
static struct qos_input bare(const char *parent)
{
	struct qos_input in = {.has_shares = true, .shares = 2, .cgroup_parent = parent};

	return in;
}

static struct podres_decision decide(const struct qos_input *ctr, const struct qos_input *pod,
				     const struct podres_siblings *sib)
{
	struct podres_decision d;

	assert_int_equal(podres_decide(ctr, pod, sib, &d), 0);
	return d;
}

static void test_podres_has_own(void **state)
{
	struct qos_input none = bare(NULL), empty = {0};
	struct qos_input req = input(100, 0, 0), lim = input(0, 500, 0), mem = input(0, 0, GIB);

	(void)state;
	assert_false(podres_has_own(&none));
	assert_false(podres_has_own(&empty));
	assert_false(podres_has_own(NULL));
	assert_true(podres_has_own(&req));
	assert_true(podres_has_own(&lim));
	assert_true(podres_has_own(&mem));
}

static void test_podres_decide_own_resources_kept(void **state)
{
	struct qos_input ctr = input(1000, 1000, GIB), pod = input(2000, 2000, 2 * GIB);
	struct podres_decision d;

	(void)state;
	ctr.cgroup_parent = "/kubepods/pod1";
	d = decide(&ctr, &pod, NULL);
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.info.cls, QOS_GUARANTEED);
	assert_int_equal(d.info.request_mcpu, 1000);
	assert_int_equal(d.info.limit_mcpu, 1000);
	assert_int_equal(d.info.mem_limit, GIB);
}

static void test_podres_decide_single_takes_pod(void **state)
{
	struct qos_input ctr = bare("/kubepods/pod1"), pod = input(2000, 2000, GIB);
	struct podres_siblings sib = {.n_without = 1};
	struct podres_decision d = decide(&ctr, &pod, &sib);

	(void)state;
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.pod_cls, QOS_GUARANTEED);
	assert_int_equal(d.info.cls, QOS_GUARANTEED);
	assert_int_equal(d.info.source, QOS_SRC_CGROUP_PARENT);
	assert_int_equal(d.info.request_mcpu, 2000);
	assert_int_equal(d.info.limit_mcpu, 2000);
	assert_int_equal(d.info.mem_limit, GIB);
	/* No siblings given at all: the same. */
	d = decide(&ctr, &pod, NULL);
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.info.request_mcpu, 2000);
}

/* Without a cgroup parent the pod's class comes from its own resources. */
static void test_podres_decide_pod_class_from_resources(void **state)
{
	struct qos_input ctr = bare(NULL), guar = input(3000, 3000, GIB);
	struct qos_input burst = input(1000, 3000, GIB), no_mem = input(3000, 3000, 0);
	struct podres_decision d;

	(void)state;
	d = decide(&ctr, &guar, NULL);
	assert_int_equal(d.pod_cls, QOS_GUARANTEED);
	assert_int_equal(d.info.source, QOS_SRC_RESOURCES);
	assert_int_equal(d.info.cls, QOS_GUARANTEED);
	assert_int_equal(d.info.request_mcpu, 3000);
	d = decide(&ctr, &burst, NULL);
	assert_int_equal(d.pod_cls, QOS_BURSTABLE);
	assert_int_equal(d.source, PODRES_OWN);
	d = decide(&ctr, &no_mem, NULL);
	assert_int_equal(d.pod_cls, QOS_BURSTABLE);
	assert_int_equal(d.source, PODRES_OWN);
}

/* A Burstable pod's resources may be its containers' sum: the container keeps its own. */
static void test_podres_decide_burstable_pod_ambiguous(void **state)
{
	struct qos_input ctr = bare("/kubepods/burstable/pod1"), pod = input(2000, 2000, GIB);
	struct podres_decision d = decide(&ctr, &pod, NULL);

	(void)state;
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.pod_cls, QOS_BURSTABLE);
	assert_int_equal(d.info.cls, QOS_BURSTABLE);
	assert_int_equal(d.info.request_mcpu, 0);
	assert_int_equal(d.info.limit_mcpu, 0);
}

static void test_podres_decide_no_pod_resources(void **state)
{
	struct qos_input ctr = bare("/kubepods/besteffort/pod1"), pod = bare(NULL);
	struct podres_decision d;

	(void)state;
	d = decide(&ctr, &pod, NULL);
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.info.cls, QOS_BESTEFFORT);
	d = decide(&ctr, NULL, NULL);
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.info.cls, QOS_BESTEFFORT);
}

/* Siblings with their own resources take their part first. */
static void test_podres_decide_minus_siblings(void **state)
{
	struct qos_input ctr = bare("/kubepods/pod1"), pod = input(4000, 4000, 4 * GIB);
	struct podres_siblings sib = {
		.request_mcpu = 1000, .limit_mcpu = 1000, .mem_limit = GIB, .n_without = 1};
	struct podres_siblings all = {
		.request_mcpu = 4000, .limit_mcpu = 4000, .mem_limit = 4 * GIB, .n_without = 1};
	struct podres_siblings over = {.request_mcpu = 5000, .limit_mcpu = 3000, .n_without = 1};
	struct podres_decision d;

	(void)state;
	d = decide(&ctr, &pod, &sib);
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.info.cls, QOS_GUARANTEED);
	assert_int_equal(d.info.request_mcpu, 3000);
	assert_int_equal(d.info.limit_mcpu, 3000);
	assert_int_equal(d.info.mem_limit, 3 * GIB);
	/* Nothing left: its own (none) stand. */
	d = decide(&ctr, &pod, &all);
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.info.request_mcpu, 0);
	/* What is left is not Guaranteed-shaped: Burstable, never negative. */
	d = decide(&ctr, &pod, &over);
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.info.cls, QOS_BURSTABLE);
	assert_int_equal(d.info.request_mcpu, 0);
	assert_int_equal(d.info.limit_mcpu, 1000);
}

/* Several containers draw on the budget: they share it, none gets exclusive CPUs. */
static void test_podres_decide_shared_budget(void **state)
{
	struct qos_input ctr = bare("/kubepods/pod1"), pod = input(4000, 4000, 2 * GIB);
	struct podres_siblings sib = {.n_without = 3};
	struct podres_decision d = decide(&ctr, &pod, &sib);

	(void)state;
	assert_int_equal(d.source, PODRES_POD_SHARED);
	assert_int_equal(d.pod_cls, QOS_GUARANTEED);
	assert_int_equal(d.info.cls, QOS_BURSTABLE);
	assert_int_equal(d.info.request_mcpu, 1333);
	assert_int_equal(d.info.limit_mcpu, 4000);
	assert_int_equal(d.info.mem_limit, 2 * GIB);
}

/*
 * Every container known (the resources annotation): a Burstable pod's resources beyond
 * its containers' sum are pod-level, and what is only their sum is left alone.
 */
static void test_podres_decide_complete_siblings(void **state)
{
	struct qos_input ctr = bare("/kubepods/burstable/pod1"), pod = input(3000, 4000, GIB);
	struct podres_siblings part = {.request_mcpu = 1000, .limit_mcpu = 2000, .n_without = 1};
	struct podres_siblings sum = {
		.request_mcpu = 3000, .limit_mcpu = 4000, .mem_limit = GIB, .n_without = 1};
	struct qos_input guar = input(2000, 2000, GIB);
	struct podres_siblings none = {.n_without = 1, .complete = true};
	struct podres_decision d;

	(void)state;
	part.complete = sum.complete = true;
	d = decide(&ctr, &pod, &part);
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.pod_cls, QOS_BURSTABLE);
	assert_int_equal(d.info.cls, QOS_BURSTABLE);
	assert_int_equal(d.info.request_mcpu, 2000);
	assert_int_equal(d.info.limit_mcpu, 2000);
	assert_int_equal(d.info.mem_limit, GIB);
	d = decide(&ctr, &pod, &sum);
	assert_int_equal(d.source, PODRES_OWN);
	assert_int_equal(d.info.request_mcpu, 0);
	/* Request == limit left over in a Burstable pod is still not Guaranteed. */
	d = decide(&ctr, &guar, &none);
	assert_int_equal(d.source, PODRES_POD);
	assert_int_equal(d.info.cls, QOS_BURSTABLE);
	assert_int_equal(d.info.request_mcpu, 2000);
}

static void test_podres_decide_errors(void **state)
{
	struct qos_input ctr = bare(NULL), pod = input(2000, 2000, GIB);
	struct podres_decision d = {.source = PODRES_POD_SHARED};

	(void)state;
	assert_int_equal(podres_decide(NULL, &pod, NULL, &d), -EINVAL);
	assert_int_equal(podres_decide(&ctr, &pod, NULL, NULL), -EINVAL);
	ctr.qos_hint = "Platinum";
	assert_int_equal(podres_decide(&ctr, &pod, NULL, &d), -EINVAL);
	assert_int_equal(d.source, PODRES_POD_SHARED); /* untouched on failure */
	assert_string_equal(podres_source_name(PODRES_OWN), "own");
	assert_string_equal(podres_source_name(PODRES_POD), "pod");
	assert_string_equal(podres_source_name(PODRES_POD_SHARED), "pod-shared");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podres_has_own),
		cmocka_unit_test(test_podres_decide_own_resources_kept),
		cmocka_unit_test(test_podres_decide_single_takes_pod),
		cmocka_unit_test(test_podres_decide_pod_class_from_resources),
		cmocka_unit_test(test_podres_decide_burstable_pod_ambiguous),
		cmocka_unit_test(test_podres_decide_no_pod_resources),
		cmocka_unit_test(test_podres_decide_minus_siblings),
		cmocka_unit_test(test_podres_decide_shared_budget),
		cmocka_unit_test(test_podres_decide_complete_siblings),
		cmocka_unit_test(test_podres_decide_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
