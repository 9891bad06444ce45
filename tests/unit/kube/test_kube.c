/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin/kube/kube.c against a local HTTPS API stand-in (tests/integration/kube_server.h):
 * self-signed CA made with the openssl CLI at test time, bearer token checked,
 * 429 then 201 for the PodDisruptionBudget retry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "plugin/kube/kube.h"
#include "tests/integration/kube_server.h"
#include "tests/lib/skip.h"

#define MS 1000000ull

static char dir[64];
static char token_file[128], bad_token_file[128];
static bool have_tls;

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tg-kube-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(token_file, sizeof(token_file), "%s/token", dir);
	snprintf(bad_token_file, sizeof(bad_token_file), "%s/bad-token", dir);
	write_file(token_file, "s3cr3t-token\n");
	write_file(bad_token_file, "wrong\n");
	have_tls = MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES &&
		   system("openssl version >/dev/null 2>&1") == 0;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Waits (bounded) for one finished request. */
static struct kube_result wait_result(struct kube *k)
{
	struct kube_result r;

	for (int i = 0; i < 1000; i++) {
		if (kube_poll(k, &r, 1) == 1)
			return r;
		usleep(10000);
	}
	fail_msg("no result within 10 s");
	return r;
}

static void start(struct kube_server *ks, unsigned int refuse)
{
	if (!have_tls)
		tg_skip("needs the openssl CLI and libmicrohttpd with TLS (the API stand-in)");
	assert_int_equal(kube_server_start(ks, dir, "s3cr3t-token", refuse), 0);
}

static struct kube *client(const struct kube_server *ks, const char *tok, const char *ca,
			   unsigned int max_attempts)
{
	struct kube_options o = {.server = ks->url,
				 .token_file = tok,
				 .ca_file = ca,
				 .timeout_ms = 3000,
				 .backoff_min_ms = 50,
				 .backoff_max_ms = 1000,
				 .max_attempts = max_attempts};
	struct kube *k = NULL;

	assert_int_equal(kube_new(&o, &k), 0);
	return k;
}

static void test_kube_eviction_body_is_policy_v1(void **state)
{
	json_object *o, *meta;
	char *body = NULL;

	(void)state;
	assert_int_equal(kube_eviction_body("default", "hog-1", &body), 0);
	o = json_tokener_parse(body);
	assert_non_null(o);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "apiVersion")),
			    "policy/v1");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "kind")), "Eviction");
	meta = json_object_object_get(o, "metadata");
	assert_string_equal(json_object_get_string(json_object_object_get(meta, "name")), "hog-1");
	assert_string_equal(json_object_get_string(json_object_object_get(meta, "namespace")),
			    "default");
	json_object_put(o);
	free(body);
}

static void test_kube_eviction_path_rejects_bad_names(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(kube_eviction_path("default", "web", buf, sizeof(buf)),
			 (int)strlen("/api/v1/namespaces/default/pods/web/eviction"));
	assert_string_equal(buf, "/api/v1/namespaces/default/pods/web/eviction");
	assert_int_equal(kube_eviction_path("default", "../x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kube_eviction_path("", "web", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kube_eviction_path("a/b", "web", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kube_eviction_path("default", "Web", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kube_eviction_path("default", "web", buf, 10), -ENOSPC);
}

static void test_kube_evict_posts_with_token_and_ca(void **state)
{
	struct kube_server_req req[KUBE_SERVER_MAX_REQ];
	struct kube_server ks;
	struct kube_result r;
	struct kube *k;

	(void)state;
	start(&ks, 0);
	k = client(&ks, token_file, ks.ca_file, 3);
	assert_int_equal(kube_evict(k, "default", "hog", 42), 0);
	r = wait_result(k);
	assert_int_equal(r.http_status, 201);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.since_ns, 42);
	assert_string_equal(r.pod, "hog");
	assert_true(r.first_sent_ns > 0 && r.done_ns >= r.first_sent_ns);
	assert_int_equal(kube_server_requests(&ks, req), 1);
	assert_true(req[0].token_ok);
	assert_string_equal(req[0].path, "/api/v1/namespaces/default/pods/hog/eviction");
	assert_non_null(strstr(req[0].body, "\"policy/v1\""));
	kube_free(k);
	kube_server_stop(&ks);
}

static void test_kube_evict_retries_429_with_backoff(void **state)
{
	struct kube_server_req req[KUBE_SERVER_MAX_REQ];
	struct kube_server ks;
	struct kube_result r;
	struct kube *k;

	(void)state;
	start(&ks, 2);
	k = client(&ks, token_file, ks.ca_file, 5);
	assert_int_equal(kube_evict(k, "default", "hog", 1), 0);
	r = wait_result(k);
	assert_int_equal(r.http_status, 201);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(kube_server_requests(&ks, req), 3);
	assert_int_equal(req[0].status, 429);
	assert_int_equal(req[1].status, 429);
	assert_int_equal(req[2].status, 201);
	/* exponential: at least 50 ms, then at least 100 ms between the attempts */
	assert_true(req[1].at_ns - req[0].at_ns >= 50 * MS);
	assert_true(req[2].at_ns - req[1].at_ns >= 100 * MS);
	kube_free(k);
	kube_server_stop(&ks);
}

static void test_kube_evict_gives_up_after_max_attempts(void **state)
{
	struct kube_server ks;
	struct kube_result r;
	struct kube *k;

	(void)state;
	start(&ks, 100);
	k = client(&ks, token_file, ks.ca_file, 2);
	assert_int_equal(kube_evict(k, "default", "hog", 1), 0);
	r = wait_result(k);
	assert_int_equal(r.http_status, 429);
	assert_int_equal(r.attempts, 2);
	kube_free(k);
	kube_server_stop(&ks);
}

static void test_kube_evict_wrong_token_is_final(void **state)
{
	struct kube_server ks;
	struct kube_result r;
	struct kube *k;

	(void)state;
	start(&ks, 0);
	k = client(&ks, bad_token_file, ks.ca_file, 5);
	assert_int_equal(kube_evict(k, "default", "hog", 1), 0);
	r = wait_result(k);
	assert_int_equal(r.http_status, 401);
	assert_int_equal(r.attempts, 1);
	kube_free(k);
	kube_server_stop(&ks);
}

static void test_kube_evict_untrusted_server_fails(void **state)
{
	struct kube_server_req req[KUBE_SERVER_MAX_REQ];
	struct kube_server ks;
	struct kube_result r;
	struct kube *k;

	(void)state;
	start(&ks, 0);
	/* the system store does not know our self-signed CA */
	k = client(&ks, token_file, NULL, 2);
	assert_int_equal(kube_evict(k, "default", "hog", 1), 0);
	r = wait_result(k);
	assert_int_equal(r.http_status, 0);
	assert_int_equal(r.error, -EIO);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(kube_server_requests(&ks, req), 0);
	kube_free(k);
	kube_server_stop(&ks);
}

static void test_kube_free_interrupts_a_backoff(void **state)
{
	struct kube_server ks;
	struct kube_options o = {.token_file = token_file, .backoff_min_ms = 60000};
	struct kube *k;

	(void)state;
	start(&ks, 100);
	o.server = ks.url;
	o.ca_file = ks.ca_file;
	assert_int_equal(kube_new(&o, &k), 0);
	assert_int_equal(kube_evict(k, "default", "hog", 1), 0);
	assert_int_equal(kube_evict(k, "default", "other", 1), 0);
	usleep(300000);
	kube_free(k); /* would hang a minute if the backoff were not interrupted */
	kube_server_stop(&ks);
}

static void test_kube_new_and_evict_bad_input(void **state)
{
	struct kube_options o = {0};
	struct kube *k = (struct kube *)0x1;

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_new(&o, &k), -EINVAL);
	assert_ptr_equal(k, (struct kube *)0x1);
	assert_int_equal(kube_new(NULL, &k), -EINVAL);
	o.server = "https://127.0.0.1:1";
	assert_int_equal(kube_new(&o, &k), 0);
	assert_int_equal(kube_evict(k, "default", "", 1), -EINVAL);
	assert_int_equal(kube_evict(k, "default", "a b", 1), -EINVAL);
	assert_int_equal(kube_evict(NULL, "default", "x", 1), -EINVAL);
	kube_free(k);
	kube_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_eviction_body_is_policy_v1),
		cmocka_unit_test(test_kube_eviction_path_rejects_bad_names),
		cmocka_unit_test(test_kube_evict_posts_with_token_and_ca),
		cmocka_unit_test(test_kube_evict_retries_429_with_backoff),
		cmocka_unit_test(test_kube_evict_gives_up_after_max_attempts),
		cmocka_unit_test(test_kube_evict_wrong_token_is_final),
		cmocka_unit_test(test_kube_evict_untrusted_server_fails),
		cmocka_unit_test(test_kube_free_interrupts_a_backoff),
		cmocka_unit_test(test_kube_new_and_evict_bad_input),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
