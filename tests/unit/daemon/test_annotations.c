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

/* A key of exactly `len` bytes: prefix, then 'a' up to len. */
static void key_of_len(char *buf, size_t size, const char *prefix, size_t len)
{
	size_t n = strlen(prefix);

	assert_true(len < size && n <= len);
	memcpy(buf, prefix, n);
	memset(buf + n, 'a', len - n);
	buf[len] = '\0';
}

/* Container names are DNS labels: 63 characters are a name, 64 are not. */
static void test_annotations_parse_container_name_limit(void **state)
{
	char key[160], name[80];
	struct annotations_kv kv = {key, "true"};
	struct annotations_prefs p;
	struct reports rep = {0};

	(void)state;
	key_of_len(name, sizeof(name), "", 63);
	snprintf(key, sizeof(key), "exclusive-cpus.topoguard.io/container.%s", name);
	assert_int_equal(annotations_parse(&kv, 1, name, true, collect, &rep, &p), 0);
	assert_int_equal(rep.n, 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], 1);
	assert_int_equal(p.source[ANNOTATIONS_EXCLUSIVE], ANNOTATIONS_SRC_CONTAINER);
	/* ... and it is matched whole: one character less is another container */
	name[62] = '\0';
	assert_int_equal(annotations_parse(&kv, 1, name, true, collect, &rep, &p), 0);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);

	key_of_len(name, sizeof(name), "", 64);
	snprintf(key, sizeof(key), "exclusive-cpus.topoguard.io/container.%s", name);
	assert_int_equal(annotations_parse(&kv, 1, name, true, collect, &rep, &p), 1);
	assert_int_equal(rep.n, 1);
	assert_non_null(strstr(rep.last_reason, "invalid container name"));
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);
}

/*
 * 253 bytes is the longest key judged on its content, 254 is refused for its length.
 * No key of ours that long is valid (container names stop at 63), so the one at the
 * limit is refused too, but for what it says, not for its length.
 */
static void test_annotations_parse_key_length_limit(void **state)
{
	static const char *const prefix = "exclusive-cpus.topoguard.io/container.";
	char key[300];
	struct annotations_kv kv = {key, "true"};
	struct annotations_prefs p;
	struct reports rep = {0};

	(void)state;
	key_of_len(key, sizeof(key), prefix, ANNOTATIONS_KEY_MAX);
	assert_int_equal(strlen(key), 253);
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 1);
	assert_non_null(strstr(rep.last_reason, "invalid container name"));

	key_of_len(key, sizeof(key), prefix, ANNOTATIONS_KEY_MAX + 1);
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 1);
	assert_non_null(strstr(rep.last_reason, "key longer than 253"));
	assert_int_equal(rep.n, 2);
	assert_int_equal(p.value[ANNOTATIONS_EXCLUSIVE], -1);

	/* Other domains' keys are never judged, at or over the limit. */
	rep.n = 0;
	key_of_len(key, sizeof(key), "example.com/", ANNOTATIONS_KEY_MAX);
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 0);
	key_of_len(key, sizeof(key), "example.com/", ANNOTATIONS_KEY_MAX + 1);
	assert_int_equal(annotations_parse(&kv, 1, "c", true, collect, &rep, &p), 0);
	assert_int_equal(rep.n, 0);
}

/* latency-target-us: 1..1000000 (1 s), the same bound as live.runqueue_p99_target_us. */
static void test_annotations_parse_latency_limit(void **state)
{
	static const struct {
		const char *value;
		int refused;
		int64_t want;
	} cases[] = {
		{"1", 0, 1},
		{"1000000", 0, 1000000},
		{"0001000000", 0, 1000000},
		{"0", 1, 0},
		{"1000001", 1, 0},
		{"10000000", 1, 0},
		{"4294967297", 1, 0},
		{"18446744073709551617", 1, 0},
	};
	struct annotations_prefs p;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct annotations_kv kv = {"latency-target-us.topoguard.io", cases[i].value};
		struct reports rep = {0};
		int r = annotations_parse(&kv, 1, "c", true, collect, &rep, &p);

		if (r != cases[i].refused)
			fail_msg("latency %s: refused %d, want %d", cases[i].value, r,
				 cases[i].refused);
		assert_int_equal(rep.n, cases[i].refused);
		if (cases[i].refused) {
			assert_non_null(strstr(rep.last_reason, "1..1000000"));
			assert_int_equal(p.value[ANNOTATIONS_LATENCY], -1);
			continue;
		}
		assert_int_equal(p.value[ANNOTATIONS_LATENCY], 1);
		assert_int_equal(p.latency_target_us, cases[i].want);
	}
}

static void test_annotations_parse_bad_arguments(void **state)
{
	struct annotations_prefs p;

	(void)state;
	assert_int_equal(annotations_parse(NULL, 1, "c", true, NULL, NULL, &p), -EINVAL);
	assert_int_equal(annotations_parse(NULL, 0, "c", true, NULL, NULL, &p), 0);
	assert_int_equal(annotations_parse(NULL, 0, "c", true, NULL, NULL, NULL), -EINVAL);
}

/* Parse one pod's annotations for container "c" and entitle them. */
static int entitle(const struct annotations_kv *kv, size_t n,
		   const struct annotations_entitlement *e, struct alloc_prefs *ret,
		   struct reports *rep)
{
	struct annotations_prefs p;

	assert_int_equal(annotations_parse(kv, n, "c", true, NULL, NULL, &p), 0);
	*rep = (struct reports){0};
	*ret = (struct alloc_prefs){.hide_hyperthreads = -1};
	annotations_entitle(&p, e, collect, rep, ret);
	return rep->n;
}

/* Exclusive and isolated CPUs are for Guaranteed containers only; shared is anybody's. */
static void test_annotations_entitle_qos(void **state)
{
	static const enum qos_class classes[] = {QOS_BESTEFFORT, QOS_BURSTABLE, QOS_GUARANTEED};
	const struct annotations_kv excl[] = {{"exclusive-cpus.topoguard.io", "true"}};
	const struct annotations_kv iso[] = {{"isolated-cpus.topoguard.io", "true"}};
	const struct annotations_kv shared[] = {{"shared-cpus.topoguard.io", "true"}};
	const struct annotations_kv iso_alias[] = {
		{"prefer-isolated-cpus.resource-policy.nri.io/container.c", "true"}};
	struct alloc_prefs ap;
	struct reports rep;

	(void)state;
	for (size_t i = 0; i < N(classes); i++) {
		const struct annotations_entitlement e = {.qos = classes[i],
							  .pod_namespace = "team"};
		bool g = classes[i] == QOS_GUARANTEED;

		/* exclusive: the default for Guaranteed, refused for the others */
		assert_int_equal(entitle(excl, N(excl), &e, &ap, &rep), g ? 0 : 1);
		assert_false(ap.isolated || ap.shared_only || ap.reserved);
		if (!g) {
			assert_string_equal(rep.last_key, "exclusive");
			assert_string_equal(rep.last_reason, "exclusive CPUs need Guaranteed QoS");
		}
		assert_int_equal(entitle(iso, N(iso), &e, &ap, &rep), g ? 0 : 1);
		assert_int_equal(ap.isolated, g);
		if (!g) {
			assert_string_equal(rep.last_key, "isolated");
			assert_string_equal(rep.last_reason, "isolated CPUs need Guaranteed QoS");
		}
		assert_int_equal(entitle(iso_alias, N(iso_alias), &e, &ap, &rep), g ? 0 : 1);
		assert_int_equal(ap.isolated, g);
		assert_int_equal(entitle(shared, N(shared), &e, &ap, &rep), 0);
		assert_true(ap.shared_only);
		assert_false(ap.isolated);
	}
}

/* The reserved CPUs: only for pods of the allowed or the reserved namespaces. */
static void test_annotations_entitle_reserved_namespaces(void **state)
{
	const struct annotations_kv kv[] = {{"reserved-cpus.topoguard.io", "true"}};
	const struct annotations_kv no[] = {{"reserved-cpus.topoguard.io", "false"}};
	struct config_namespaces allow = {.n = 2, .name = {"kube-system", "infra"}};
	struct config_namespaces reserved = {.n = 1, .name = {"monitoring"}};
	static const struct {
		const char *ns;
		bool ok;
	} cases[] = {
		{"kube-system", true}, {"infra", true}, {"monitoring", true}, {"default", false},
		{"infra-x", false},    {"kube", false}, {"", false},	      {NULL, false},
	};
	struct alloc_prefs ap;
	struct reports rep;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		/* any class: the reserved CPUs are about who you are, not what you asked */
		struct annotations_entitlement e = {.qos = (enum qos_class)(i % 3),
						    .pod_namespace = cases[i].ns,
						    .allow_reserved = &allow,
						    .reserved = &reserved};

		assert_int_equal(entitle(kv, N(kv), &e, &ap, &rep), cases[i].ok ? 0 : 1);
		if (ap.reserved != cases[i].ok)
			fail_msg("namespace '%s': reserved %d",
				 cases[i].ns ? cases[i].ns : "(null)", ap.reserved);
		if (!cases[i].ok) {
			assert_string_equal(rep.last_key, "reserved");
			assert_string_equal(rep.last_reason,
					    "namespace not allowed to use reserved CPUs");
		}
		assert_int_equal(entitle(no, N(no), &e, &ap, &rep), 0);
		assert_false(ap.reserved);
	}
	/* no lists: nobody */
	struct annotations_entitlement none = {.qos = QOS_GUARANTEED,
					       .pod_namespace = "kube-system"};
	assert_int_equal(entitle(kv, N(kv), &none, &ap, &rep), 1);
	assert_false(ap.reserved);
}

/* hide-hyperthreads passes as asked; nothing asked leaves the preferences alone. */
static void test_annotations_entitle_leaves_the_rest(void **state)
{
	const struct annotations_kv ht[] = {{"hide-hyperthreads.topoguard.io", "false"}};
	const struct annotations_kv other[] = {{"example.com/x", "y"}};
	const struct annotations_entitlement e = {.qos = QOS_BESTEFFORT};
	struct annotations_prefs p;
	struct alloc_prefs ap;
	struct reports rep;

	(void)state;
	assert_int_equal(entitle(ht, N(ht), &e, &ap, &rep), 0);
	assert_int_equal(ap.hide_hyperthreads, 0);
	assert_int_equal(entitle(other, N(other), &e, &ap, &rep), 0);
	assert_int_equal(ap.hide_hyperthreads, -1);
	assert_false(ap.isolated || ap.shared_only || ap.reserved);
	/* what the caller set stays unless an annotation speaks to it */
	annotations_prefs_init(&p);
	ap = (struct alloc_prefs){.hide_hyperthreads = 1, .shared_only = true};
	annotations_entitle(&p, &e, NULL, NULL, &ap);
	assert_int_equal(ap.hide_hyperthreads, 1);
	assert_true(ap.shared_only);
	assert_string_equal(annotations_pref_name(ANNOTATIONS_LATENCY), "latency");
	assert_string_equal(annotations_source_name(ANNOTATIONS_SRC_POD_ALIAS), "pod-alias");
}

/* Device affinity: anybody's, per container; off wins over strict; a conflict is
 * resolved to off (the conservative value: nothing forced). */
static void test_annotations_entitle_device_affinity(void **state)
{
	const struct annotations_kv strict[] = {{"device-affinity-strict.topoguard.io", "true"}};
	const struct annotations_kv off[] = {{"device-affinity-strict.topoguard.io", "true"},
					     {"device-affinity.topoguard.io/container.c", "false"}};
	const struct annotations_kv other[] = {
		{"device-affinity.topoguard.io/container.other", "false"},
		{"device-affinity-strict.topoguard.io", "false"}};
	const struct annotations_kv clash[] = {{"device-affinity.topoguard.io", "true"},
					       {"device-affinity.topoguard.io/pod", "false"}};
	const struct annotations_kv bad[] = {{"device-affinity.topoguard.io", "strict"}};
	const struct annotations_entitlement e = {.qos = QOS_BESTEFFORT};
	struct annotations_prefs p;
	struct alloc_prefs ap;
	struct reports rep;

	(void)state;
	assert_int_equal(entitle(strict, N(strict), &e, &ap, &rep), 0);
	assert_int_equal(ap.device_mode, ALLOC_DEVICE_STRICT);
	assert_int_equal(entitle(off, N(off), &e, &ap, &rep), 0);
	assert_int_equal(ap.device_mode, ALLOC_DEVICE_OFF);
	assert_int_equal(entitle(other, N(other), &e, &ap, &rep), 0);
	assert_int_equal(ap.device_mode, ALLOC_DEVICE_PREFER);
	rep = (struct reports){0};
	assert_int_equal(annotations_parse(clash, N(clash), "c", true, collect, &rep, &p), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(p.value[ANNOTATIONS_DEVICE_AFFINITY], 0);
	rep = (struct reports){0};
	assert_int_equal(annotations_parse(bad, N(bad), "c", true, collect, &rep, &p), 1);
	assert_string_equal(rep.last_reason, "expected true or false");
	assert_string_equal(annotations_pref_name(ANNOTATIONS_DEVICE_STRICT), "device-strict");
	assert_string_equal(annotations_pref_name(ANNOTATIONS_PREF_COUNT), "unknown");
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
		cmocka_unit_test(test_annotations_parse_container_name_limit),
		cmocka_unit_test(test_annotations_parse_key_length_limit),
		cmocka_unit_test(test_annotations_parse_latency_limit),
		cmocka_unit_test(test_annotations_parse_bad_arguments),
		cmocka_unit_test(test_annotations_entitle_qos),
		cmocka_unit_test(test_annotations_entitle_reserved_namespaces),
		cmocka_unit_test(test_annotations_entitle_leaves_the_rest),
		cmocka_unit_test(test_annotations_entitle_device_affinity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
