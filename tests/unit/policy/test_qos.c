/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for policy/qos.c: classification and the kubelet's CPU conversions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/qos.h"

/* A container as the kubelet would create it from requests/limits (mcpu, bytes). */
static struct qos_input input(int64_t req_mcpu, int64_t lim_mcpu, int64_t mem)
{
	struct qos_input in = {0};

	in.has_shares = true;
	in.shares = qos_shares_from_mcpu(req_mcpu);
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

static struct qos_info classify(const struct qos_input *in)
{
	struct qos_info info;

	assert_int_equal(qos_classify(in, &info), 0);
	return info;
}

static void test_qos_classify_guaranteed_from_resources(void **state)
{
	struct qos_input in = input(2000, 2000, 1 << 30);
	struct qos_info i = classify(&in);

	(void)state;
	assert_int_equal(i.cls, QOS_GUARANTEED);
	assert_int_equal(i.source, QOS_SRC_RESOURCES);
	assert_int_equal(i.request_mcpu, 2000);
	assert_int_equal(i.limit_mcpu, 2000);
	assert_false(i.conflict);
}

static void test_qos_classify_guaranteed_fractional(void **state)
{
	struct qos_input in = input(2500, 2500, 1 << 30);
	struct qos_info i = classify(&in);

	(void)state;
	assert_int_equal(i.cls, QOS_GUARANTEED);
	assert_int_equal(i.request_mcpu, 2500);
}

static void test_qos_classify_burstable_cases(void **state)
{
	struct qos_input no_mem = input(2000, 2000, 0);
	struct qos_input lim_gt_req = input(1000, 2000, 1 << 30);
	struct qos_input req_only = input(500, 0, 0);
	struct qos_input mem_only = input(0, 0, 1 << 20);

	(void)state;
	assert_int_equal(classify(&no_mem).cls, QOS_BURSTABLE);
	assert_int_equal(classify(&lim_gt_req).cls, QOS_BURSTABLE);
	assert_int_equal(classify(&req_only).cls, QOS_BURSTABLE);
	assert_int_equal(classify(&mem_only).cls, QOS_BURSTABLE);
}

static void test_qos_classify_besteffort(void **state)
{
	struct qos_input in = input(0, 0, 0);
	struct qos_input empty = {0};

	(void)state;
	assert_int_equal(in.shares, 2);
	assert_int_equal(classify(&in).cls, QOS_BESTEFFORT);
	assert_int_equal(classify(&empty).cls, QOS_BESTEFFORT);
}

static void test_qos_classify_cgroup_parent_wins(void **state)
{
	struct qos_input in = input(2000, 2000, 1 << 30);
	struct qos_info i;

	(void)state;
	in.cgroup_parent = "/kubepods/burstable/pod1234";
	i = classify(&in);
	assert_int_equal(i.cls, QOS_BURSTABLE);
	assert_int_equal(i.source, QOS_SRC_CGROUP_PARENT);
	assert_true(i.conflict);
}

static void test_qos_classify_hint(void **state)
{
	struct qos_input in = input(500, 0, 0);
	struct qos_input bad = input(500, 0, 0);
	struct qos_info i;

	(void)state;
	in.qos_hint = "guaranteed";
	i = classify(&in);
	assert_int_equal(i.cls, QOS_GUARANTEED);
	assert_int_equal(i.source, QOS_SRC_HINT);
	bad.qos_hint = "Platinum";
	assert_int_equal(qos_classify(&bad, &i), -EINVAL);
	assert_int_equal(qos_classify(NULL, &i), -EINVAL);
}

static void test_qos_class_from_cgroup_drivers(void **state)
{
	static const struct {
		const char *path;
		int r;
		enum qos_class cls;
	} cases[] = {
		{"/kubepods/pod1", 0, QOS_GUARANTEED},
		{"/kubepods/burstable/pod1/abc", 0, QOS_BURSTABLE},
		{"/kubepods/besteffort/pod1", 0, QOS_BESTEFFORT},
		{"kubepods.slice", 0, QOS_GUARANTEED},
		{"kubepods-pod1.slice", 0, QOS_GUARANTEED},
		{"kubepods-burstable-pod1.slice", 0, QOS_BURSTABLE},
		{"kubepods-besteffort-pod1.slice:cri-containerd:abc", 0, QOS_BESTEFFORT},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice", 0,
		 QOS_BURSTABLE},
		{"/system.slice/containerd.service", -ENOENT, QOS_BESTEFFORT},
		{"/mykubepodsx/burstable", -ENOENT, QOS_BESTEFFORT},
		{"", -ENOENT, QOS_BESTEFFORT},
	};
	enum qos_class c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = QOS_BESTEFFORT;
		assert_int_equal(qos_class_from_cgroup(cases[i].path, &c), cases[i].r);
		if (cases[i].r == 0 && c != cases[i].cls)
			fail_msg("%s: got %s", cases[i].path, qos_class_name(c));
	}
	assert_int_equal(qos_class_from_cgroup(NULL, &c), -ENOENT);
}

static void test_qos_shares_round_trip(void **state)
{
	(void)state;
	assert_int_equal(qos_shares_from_mcpu(0), 2);
	assert_int_equal(qos_shares_from_mcpu(1), 2);
	assert_int_equal(qos_shares_from_mcpu(1000), 1024);
	assert_int_equal(qos_shares_from_mcpu(INT64_MAX), 262144);
	for (int64_t m = 3; m <= 256000; m++)
		if (qos_mcpu_from_shares(qos_shares_from_mcpu(m)) != m)
			fail_msg("round trip of %lld mcpu", (long long)m);
	assert_int_equal(qos_mcpu_from_shares(2), 0);
}

static void test_qos_quota_round_trip(void **state)
{
	(void)state;
	assert_int_equal(qos_quota_from_mcpu(0, 100000), -1);
	assert_int_equal(qos_quota_from_mcpu(1, 100000), 1000);
	assert_int_equal(qos_quota_from_mcpu(2500, 100000), 250000);
	assert_int_equal(qos_quota_from_mcpu(2500, 0), 250000);
	assert_int_equal(qos_mcpu_from_quota(-1, 100000), 0);
	for (int64_t m = 10; m <= 64000; m++)
		if (qos_mcpu_from_quota(qos_quota_from_mcpu(m, 100000), 100000) != m)
			fail_msg("round trip of %lld mcpu", (long long)m);
}

static void test_qos_combine_pod(void **state)
{
	(void)state;
	assert_int_equal(qos_combine(QOS_GUARANTEED, QOS_GUARANTEED), QOS_GUARANTEED);
	assert_int_equal(qos_combine(QOS_GUARANTEED, QOS_BESTEFFORT), QOS_BURSTABLE);
	assert_int_equal(qos_combine(QOS_BESTEFFORT, QOS_BESTEFFORT), QOS_BESTEFFORT);
	assert_int_equal(qos_combine(QOS_BURSTABLE, QOS_GUARANTEED), QOS_BURSTABLE);
}

static void test_qos_class_parse_names(void **state)
{
	enum qos_class c;

	(void)state;
	for (int i = QOS_BESTEFFORT; i <= QOS_GUARANTEED; i++) {
		assert_int_equal(qos_class_parse(qos_class_name((enum qos_class)i), &c), 0);
		assert_int_equal(c, i);
	}
	assert_int_equal(qos_class_parse("BESTEFFORT", &c), 0);
	assert_int_equal(c, QOS_BESTEFFORT);
	assert_int_equal(qos_class_parse("", &c), -EINVAL);
	assert_int_equal(qos_class_parse(NULL, &c), -EINVAL);
	assert_string_equal(qos_class_name((enum qos_class)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qos_classify_guaranteed_from_resources),
		cmocka_unit_test(test_qos_classify_guaranteed_fractional),
		cmocka_unit_test(test_qos_classify_burstable_cases),
		cmocka_unit_test(test_qos_classify_besteffort),
		cmocka_unit_test(test_qos_classify_cgroup_parent_wins),
		cmocka_unit_test(test_qos_classify_hint),
		cmocka_unit_test(test_qos_class_from_cgroup_drivers),
		cmocka_unit_test(test_qos_shares_round_trip),
		cmocka_unit_test(test_qos_quota_round_trip),
		cmocka_unit_test(test_qos_combine_pod),
		cmocka_unit_test(test_qos_class_parse_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
