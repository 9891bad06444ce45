/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/daemon/annotations.h"

struct reports {
	int n;
	char last_key[128], last_reason[256];
};

static void collect(void *ud, const char *key, const char *reason)
{
	struct reports *r = ud;

	r->n++;
	snprintf(r->last_key, sizeof(r->last_key), "%s", key);
	snprintf(r->last_reason, sizeof(r->last_reason), "%s", reason);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_annotations_parse_pod_scope_applies_to_all(void **state)
{
	const struct annotations_kv kv[] = {
		{"isolated-cpus.topoguard.io", "true"},
		{"hide-hyperthreads.topoguard.io/pod", "false"},
		{"latency-target-us.topoguard.io", "500"},
		{"example.com/unrelated", "whatever"},
	};
	struct annotations_prefs p;
	struct reports rep = {0};

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "web", true, collect, &rep, &p), 0);
	assert_int_equal(rep.n, 0);
	assert_int_equal(p.value[ANNOTATIONS_ISOLATED], 1);
	assert_int_equal(p.source[ANNOTATIONS_ISOLATED], ANNOTATIONS_SRC_POD);
	assert_int_equal(p.value[ANNOTATIONS_HIDE_HT], 0);
	assert_int_equal(p.value[ANNOTATIONS_LATENCY], 1);
	assert_int_equal(p.latency_target_us, 500);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);
	assert_int_equal(p.source[ANNOTATIONS_EXCLUSIVE], ANNOTATIONS_SRC_NONE);
}

static void test_annotations_parse_container_over_pod(void **state)
{
	const struct annotations_kv kv[] = {
		{"exclusive-cpus.topoguard.io/container.db", "true"},
		{"exclusive-cpus.topoguard.io", "false"},
		{"exclusive-cpus.topoguard.io/container.web", "false"},
	};
	struct annotations_prefs p;

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "db", true, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 1);
	assert_int_equal(p.source[ANNOTATIONS_EXCLUSIVE], ANNOTATIONS_SRC_CONTAINER);
	assert_int_equal(annotations_parse(kv, N(kv), "sidecar", true, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 0);
	assert_int_equal(p.source[ANNOTATIONS_EXCLUSIVE], ANNOTATIONS_SRC_POD);
	/* Pod scope only. */
	assert_int_equal(annotations_parse(kv, N(kv), NULL, true, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 0);
}

static void test_annotations_parse_own_key_over_alias(void **state)
{
	const struct annotations_kv kv[] = {
		{"prefer-isolated-cpus.resource-policy.nri.io/container.app", "true"},
		{"isolated-cpus.topoguard.io/container.app", "false"},
		{"prefer-shared-cpus.resource-policy.nri.io/pod", "true"},
		{"hide-hyperthreads.resource-policy.nri.io", "true"},
		{"cpu.preserve.resource-policy.nri.io/container.app", "true"},
		{"memory.preserve.resource-policy.nri.io/pod", "1"},
		{"prefer-reserved-cpus.resource-policy.nri.io/container.app", "T"},
	};
	struct annotations_prefs p;

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "app", true, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_ISOLATED], 0);
	assert_int_equal(p.source[ANNOTATIONS_ISOLATED], ANNOTATIONS_SRC_CONTAINER);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 0); /* prefer-shared = not exclusive */
	assert_int_equal(p.source[ANNOTATIONS_EXCLUSIVE], ANNOTATIONS_SRC_POD_ALIAS);
	assert_int_equal(p.value[ANNOTATIONS_HIDE_HT], 1);
	assert_int_equal(p.value[ANNOTATIONS_CPU_PRESERVE], 1);
	assert_int_equal(p.source[ANNOTATIONS_CPU_PRESERVE], ANNOTATIONS_SRC_CONTAINER_ALIAS);
	assert_int_equal(p.value[ANNOTATIONS_MEM_PRESERVE], 1);
	assert_int_equal(p.value[ANNOTATIONS_RESERVED], 1);
	/* Aliases off: only own keys count. */
	assert_int_equal(annotations_parse(kv, N(kv), "app", false, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_HIDE_HT], -1);
	assert_int_equal(p.value[ANNOTATIONS_ISOLATED], 0);
}

static void test_annotations_parse_shared_false_asks_nothing(void **state)
{
	const struct annotations_kv kv[] = {{"shared-cpus.topoguard.io", "false"}};
	struct annotations_prefs p;

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "c", true, NULL, NULL, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);
}

static void test_annotations_parse_conflict_is_conservative(void **state)
{
	const struct annotations_kv kv[] = {
		{"exclusive-cpus.topoguard.io", "true"},
		{"shared-cpus.topoguard.io/pod", "true"},
	};
	struct annotations_prefs p;
	struct reports rep = {0};

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "c", true, collect, &rep, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 0);
	assert_int_equal(rep.n, 1);
	assert_non_null(strstr(rep.last_reason, "conflicts"));
}

static void test_annotations_parse_refuses_malformed(void **state)
{
	static const struct {
		const char *key, *value, *reason;
	} bad[] = {
		{"exclusive-cpus.topoguard.io", "maybe", "expected true or false"},
		{"latency-target-us.topoguard.io", "0", "expected microseconds"},
		{"latency-target-us.topoguard.io", "-5", "expected microseconds"},
		{"latency-target-us.topoguard.io", "99999999999999999999", "expected microseconds"},
		{"exclusive-cpus.topoguard.io/container.", "true", "invalid container name"},
		{"exclusive-cpus.topoguard.io/container.Bad_Name", "true",
		 "invalid container name"},
		{"exclusive-cpus.topoguard.io/node", "true", "unknown scope"},
		{"turbo.topoguard.io", "true", "unknown topoguard annotation"},
		{"gpu.topoguard.io/x", "1", "unknown topoguard annotation"},
		{"exclusive-cpus.topoguard.io", NULL, "missing key or value"},
	};
	struct annotations_prefs p;

	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct annotations_kv kv = {bad[i].key, bad[i].value};
		struct reports rep = {0};

		assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 1);
		assert_int_equal(rep.n, 1);
		if (!strstr(rep.last_reason, bad[i].reason))
			fail_msg("%s=%s: got '%s'", bad[i].key,
				 bad[i].value ? bad[i].value : "NULL", rep.last_reason);
		assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);
	}
}

static void test_annotations_parse_refuses_oversized(void **state)
{
	char *value = malloc(ANNOTATIONS_VALUE_MAX + 2), key[300];
	struct annotations_prefs p;
	struct reports rep = {0};

	(void)state;
	assert_non_null(value);
	memset(value, '1', ANNOTATIONS_VALUE_MAX + 1);
	value[ANNOTATIONS_VALUE_MAX + 1] = '\0';
	struct annotations_kv kv = {"latency-target-us.topoguard.io", value};
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 1);
	assert_non_null(strstr(rep.last_reason, "longer than 4096"));
	memset(key, 'x', 280);
	memcpy(key, "exclusive-cpus.topoguard.io/container.", 37);
	key[280] = '\0';
	kv.key = key;
	kv.value = "true";
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 1);
	assert_non_null(strstr(rep.last_reason, "key longer than 253"));
	assert_true(strlen(rep.last_key) <= 67); /* the report never echoes a huge key */
	/* Oversized keys of other domains are not ours to judge. */
	memcpy(key, "example.com/xxxxxxxxxxxxxxxxxxxxxxxxx", 37);
	rep.n = 0;
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 0);
	assert_int_equal(rep.n, 0);
	free(value);
}

static void test_annotations_parse_bad_arguments(void **state)
{
	struct annotations_prefs p;

	(void)state;
	assert_int_equal(annotations_parse(NULL, 1, "c", true, NULL, NULL, &p), -EINVAL);
	assert_int_equal(annotations_parse(NULL, 0, "c", true, NULL, NULL, &p), 0);
	assert_int_equal(annotations_parse(NULL, 0, "c", true, NULL, NULL, NULL), -EINVAL);
}

static void test_annotations_to_alloc_prefs_maps(void **state)
{
	const struct annotations_kv kv[] = {
		{"isolated-cpus.topoguard.io", "true"},
		{"shared-cpus.topoguard.io", "true"},
	};
	struct annotations_prefs p;
	struct alloc_prefs ap = {.hide_hyperthreads = 1};

	(void)state;
	assert_int_equal(annotations_parse(kv, N(kv), "c", true, NULL, NULL, &p), 0);
	annotations_to_alloc_prefs(&p, &ap);
	assert_int_equal(ap.hide_hyperthreads, -1);
	assert_true(ap.isolated);
	assert_true(ap.shared_only);
	assert_string_equal(annotations_pref_name(ANNOTATIONS_LATENCY), "latency");
	assert_string_equal(annotations_source_name(ANNOTATIONS_SRC_POD_ALIAS), "pod-alias");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_annotations_parse_pod_scope_applies_to_all),
		cmocka_unit_test(test_annotations_parse_container_over_pod),
		cmocka_unit_test(test_annotations_parse_own_key_over_alias),
		cmocka_unit_test(test_annotations_parse_shared_false_asks_nothing),
		cmocka_unit_test(test_annotations_parse_conflict_is_conservative),
		cmocka_unit_test(test_annotations_parse_refuses_malformed),
		cmocka_unit_test(test_annotations_parse_refuses_oversized),
		cmocka_unit_test(test_annotations_parse_bad_arguments),
		cmocka_unit_test(test_annotations_to_alloc_prefs_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
