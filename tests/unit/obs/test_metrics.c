/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "plugin/obs/httpd.h"
#include "plugin/obs/metrics.h"

#define L(...) ((const char *const[]){__VA_ARGS__})

struct body {
	char *buf;
	size_t len;
};

static size_t body_write(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	char *nb = realloc(b->buf, b->len + size * n + 1);

	if (!nb)
		return 0;
	memcpy(nb + b->len, p, size * n);
	b->len += size * n;
	nb[b->len] = '\0';
	b->buf = nb;
	return size * n;
}

/* GET url; returns the HTTP status (or -1) and the body in *b (caller frees b->buf). */
static long http_get(uint16_t port, const char *path, struct body *b, char *ctype, size_t csize)
{
	char url[128];
	long status = -1;
	char *ct = NULL;
	CURL *c = curl_easy_init();

	if (!c)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (ctype && curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
			snprintf(ctype, csize, "%s", ct);
	}
	curl_easy_cleanup(c);
	return status;
}

static void test_metrics_render_escapes_labels_and_help(void **state)
{
	struct metrics *m = NULL;
	struct metrics_family *f = NULL;
	char *text = NULL;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family_new(m, METRICS_GAUGE, "t_gauge", "a \\ help\nline",
					    L("a", "b"), 2, NULL, 0, &f),
			 0);
	assert_int_equal(metrics_set(f, L("q\"uote", "back\\slash\nnl"), 1.5), 0);
	assert_int_equal(metrics_render(m, &text, NULL), 0);
	assert_non_null(strstr(text, "# HELP t_gauge a \\\\ help\\nline\n# TYPE t_gauge gauge\n"));
	assert_non_null(strstr(text, "t_gauge{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 1.5\n"));
	free(text);
	metrics_free(m);
}

static void test_metrics_family_new_rejects_bad_names(void **state)
{
	struct metrics *m = NULL;
	struct metrics_family *f = NULL;
	const double bad_buckets[] = {2, 1};

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family_new(m, METRICS_GAUGE, "1bad", "", NULL, 0, NULL, 0, &f),
			 -EINVAL);
	assert_int_equal(
		metrics_family_new(m, METRICS_GAUGE, "ok", "", L("bad-label"), 1, NULL, 0, &f),
		-EINVAL);
	assert_int_equal(metrics_family_new(m, METRICS_HISTOGRAM, "h", "", L("le"), 1, NULL, 0, &f),
			 -EINVAL);
	assert_int_equal(
		metrics_family_new(m, METRICS_HISTOGRAM, "h", "", NULL, 0, bad_buckets, 2, &f),
		-EINVAL);
	assert_int_equal(
		metrics_family_new(m, METRICS_GAUGE, "topoguard_ready", "", NULL, 0, NULL, 0, &f),
		-EEXIST);
	assert_null(f);
	metrics_free(m);
}

static void test_metrics_counter_rejects_negative(void **state)
{
	struct metrics *m = NULL;
	struct metrics_family *f = NULL;
	double v = 0;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(
		metrics_family_new(m, METRICS_COUNTER, "c_total", "", NULL, 0, NULL, 0, &f), 0);
	assert_int_equal(metrics_add(f, NULL, 2), 0);
	assert_int_equal(metrics_add(f, NULL, -1), -EINVAL);
	assert_int_equal(metrics_observe(f, NULL, 1), -EINVAL);
	assert_int_equal(metrics_add(f, NULL, NAN), -EINVAL);
	assert_int_equal(metrics_get(f, NULL, &v), 0);
	assert_true(v == 2);
	metrics_free(m);
}

/* Thousands of series (one per container), found through the index after growth and
 * after removals; label boundaries matter ("a","bc" is not "ab","c"). */
static void test_metrics_many_series_found_after_grow_and_remove(void **state)
{
	static const char *const labels[] = {"ns", "pod"};
	struct metrics *m = NULL;
	struct metrics_family *f = NULL;
	char ns[16], pod[16];
	double v = 0;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family_new(m, METRICS_GAUGE, "g_many", "", labels, 2, NULL, 0, &f),
			 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i % 3);
		snprintf(pod, sizeof(pod), "p%d", i);
		assert_int_equal(metrics_set(f, L(ns, pod), i), 0);
	}
	assert_int_equal(metrics_remove(f, L("ns1"), 1), 1000);
	for (int i = 0; i < 3000; i++) {
		snprintf(ns, sizeof(ns), "ns%d", i % 3);
		snprintf(pod, sizeof(pod), "p%d", i);
		if (i % 3 == 1) {
			assert_int_equal(metrics_get(f, L(ns, pod), &v), -ENOENT);
			continue;
		}
		assert_int_equal(metrics_get(f, L(ns, pod), &v), 0);
		assert_true(v == i);
	}
	assert_int_equal(metrics_set(f, L("a", "bc"), 1), 0);
	assert_int_equal(metrics_get(f, L("ab", "c"), &v), -ENOENT);
	assert_int_equal(metrics_set(f, L("ns1", "p1"), 7), 0); /* back after the removal */
	assert_int_equal(metrics_get(f, L("ns1", "p1"), &v), 0);
	assert_true(v == 7);
	metrics_free(m);
}

/* Identity = the first n_key labels: removal by identity, only before any series. */
static void test_metrics_family_set_key_identity(void **state)
{
	static const char *const labels[] = {"pod", "cpus"};
	struct metrics *m = NULL;
	struct metrics_family *f = NULL;
	double v = 0;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(metrics_family_new(m, METRICS_GAUGE, "g_key", "", labels, 2, NULL, 0, &f),
			 0);
	assert_int_equal(metrics_family_set_key(f, 3), -EINVAL);
	assert_int_equal(metrics_family_set_key(NULL, 1), -EINVAL);
	assert_int_equal(metrics_family_set_key(f, 1), 0);
	for (int i = 0; i < 100; i++) {
		char pod[16];

		snprintf(pod, sizeof(pod), "p%d", i);
		assert_int_equal(metrics_set(f, L(pod, "0-3"), i), 0);
	}
	assert_int_equal(metrics_set(f, L("p7", "4-5"), 70), 0); /* a second series of p7 */
	assert_int_equal(metrics_family_set_key(f, 2), -EBUSY);
	assert_int_equal(metrics_remove(f, L("p7"), 1), 2);
	assert_int_equal(metrics_get(f, L("p7", "0-3"), &v), -ENOENT);
	assert_int_equal(metrics_get(f, L("p7", "4-5"), &v), -ENOENT);
	assert_int_equal(metrics_remove(f, L("p8", "9"), 2), 0); /* full match, none */
	assert_int_equal(metrics_remove(f, L("p8", "0-3"), 2), 1);
	for (int i = 0; i < 100; i++) {
		char pod[16];

		snprintf(pod, sizeof(pod), "p%d", i);
		assert_int_equal(metrics_get(f, L(pod, "0-3"), &v), i == 7 || i == 8 ? -ENOENT : 0);
		if (i != 7 && i != 8)
			assert_true(v == i);
	}
	assert_int_equal(metrics_remove(f, NULL, 0), 98); /* n_match 0: everything, by scan */
	metrics_free(m);
}

static void test_metrics_histogram_cumulative_buckets(void **state)
{
	struct metrics *m = NULL;
	char *text = NULL;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	metrics_tg_decision(m, "CreateContainer", 0.00002); /* <= 25us */
	metrics_tg_decision(m, "CreateContainer", 0.0003);  /* <= 500us */
	metrics_tg_decision(m, "CreateContainer", 5);	    /* +Inf only */
	assert_int_equal(metrics_render(m, &text, NULL), 0);
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_bucket{method="
				     "\"CreateContainer\",le=\"1e-05\"} 0\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_bucket{method="
				     "\"CreateContainer\",le=\"2.5e-05\"} 1\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_bucket{method="
				     "\"CreateContainer\",le=\"0.0005\"} 2\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_bucket{method="
				     "\"CreateContainer\",le=\"2\"} 2\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_bucket{method="
				     "\"CreateContainer\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_count{method="
				     "\"CreateContainer\"} 3\n"));
	assert_non_null(strstr(text, "topoguard_decision_duration_seconds_sum{method="
				     "\"CreateContainer\"} 5.00032\n"));
	free(text);
	metrics_free(m);
}

static void test_metrics_tg_container_set_replaces_series(void **state)
{
	struct metrics *m = NULL;
	char *text = NULL;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	metrics_tg_container_set(m, "default", "web", "app", "Guaranteed", "exclusive", "2-3");
	metrics_tg_container_set(m, "default", "web", "app", "Guaranteed", "exclusive", "4-5");
	metrics_tg_container_set(m, "default", "db", "app", "Burstable", "shared", "0-1,6-7");
	assert_int_equal(metrics_render(m, &text, NULL), 0);
	assert_null(strstr(text, "cpus=\"2-3\""));
	assert_non_null(strstr(text, "topoguard_container_info{namespace=\"default\",pod=\"web\","
				     "container=\"app\",qos=\"Guaranteed\",pool=\"exclusive\","
				     "cpus=\"4-5\"} 1\n"));
	free(text);
	metrics_tg_container_remove(m, "default", "web", "app");
	assert_int_equal(metrics_render(m, &text, NULL), 0);
	assert_null(strstr(text, "pod=\"web\""));
	assert_non_null(strstr(text, "pod=\"db\""));
	free(text);
	metrics_tg_container_set(NULL, "a", "b", "c", "d", "e", "f"); /* NULL-safe */
	metrics_free(m);
}

struct render_loop {
	struct metrics *m;
	atomic_bool stop;
	int renders;
	bool torn; /* a render showed a histogram whose _count and +Inf bucket disagree */
};

static void *render_thread(void *ud)
{
	struct render_loop *rl = ud;

	while (!atomic_load(&rl->stop)) {
		char *text = NULL, *inf, *cnt;

		if (metrics_render(rl->m, &text, NULL) < 0)
			continue;
		inf = strstr(text, "le=\"+Inf\"} ");
		cnt = strstr(text, "topoguard_decision_duration_seconds_count{method=\"x\"} ");
		if (inf && cnt &&
		    strtoull(inf + 10, NULL, 10) != strtoull(strchr(cnt, '}') + 2, NULL, 10))
			rl->torn = true;
		free(text);
		rl->renders++;
	}
	return NULL;
}

/* Updates from the loop while the HTTP thread renders: no lost update, no torn series. */
static void test_metrics_render_concurrent_with_updates(void **state)
{
	struct render_loop rl = {0};
	pthread_t th;
	double v = 0;
	struct metrics_family *f = NULL;

	(void)state;
	assert_int_equal(metrics_new(&rl.m), 0);
	assert_int_equal(
		metrics_family_new(rl.m, METRICS_COUNTER, "t_total", "", L("k"), 1, NULL, 0, &f),
		0);
	atomic_init(&rl.stop, false);
	assert_int_equal(pthread_create(&th, NULL, render_thread, &rl), 0);
	for (int i = 0; i < 20000; i++) {
		assert_int_equal(metrics_add(f, L(i % 2 ? "odd" : "even"), 1), 0);
		metrics_tg_decision(rl.m, "x", 0.001);
	}
	atomic_store(&rl.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(metrics_get(f, L("odd"), &v), 0);
	assert_true(v == 10000);
	assert_int_equal(metrics_get(f, L("even"), &v), 0);
	assert_true(v == 10000);
	assert_false(rl.torn);
	metrics_free(rl.m);
}

static void test_httpd_start_serves_metrics_and_probes(void **state)
{
	struct metrics *m = NULL;
	struct httpd *h = NULL;
	struct body b = {0};
	char ctype[128] = "";

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(httpd_start("127.0.0.1:0", m, &h), 0);
	assert_true(httpd_port(h) > 0);
	metrics_tg_pool(m, "shared", 6, 2, 4, 3);
	metrics_tg_request(m, "CreateContainer", true);
	metrics_tg_request(m, "CreateContainer", false);

	assert_int_equal(http_get(httpd_port(h), "/metrics", &b, ctype, sizeof(ctype)), 200);
	assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(b.buf, "# TYPE topoguard_pool_free_cpus gauge\n"));
	assert_non_null(strstr(b.buf, "topoguard_pool_free_cpus{pool=\"shared\"} 4\n"));
	assert_non_null(strstr(b.buf, "topoguard_nri_requests_total{method=\"CreateContainer\","
				      "result=\"error\"} 1\n"));
	assert_non_null(strstr(b.buf, "topoguard_ready 0\n"));
	free(b.buf);
	b = (struct body){0};

	assert_int_equal(http_get(httpd_port(h), "/healthz", &b, NULL, 0), 200);
	free(b.buf);
	b = (struct body){0};
	assert_int_equal(http_get(httpd_port(h), "/readyz", &b, NULL, 0), 503);
	free(b.buf);
	b = (struct body){0};
	httpd_set_ready(h, true);
	assert_int_equal(http_get(httpd_port(h), "/readyz", &b, NULL, 0), 200);
	free(b.buf);
	b = (struct body){0};
	assert_int_equal(http_get(httpd_port(h), "/metrics", &b, NULL, 0), 200);
	assert_non_null(strstr(b.buf, "topoguard_ready 1\n"));
	free(b.buf);
	b = (struct body){0};
	assert_int_equal(http_get(httpd_port(h), "/nope", &b, NULL, 0), 404);
	free(b.buf);
	httpd_free(h);
	metrics_free(m);
}

static void test_httpd_start_rejects_bad_address(void **state)
{
	struct metrics *m = NULL;
	struct httpd *h = NULL;

	(void)state;
	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(httpd_start("localhost:80", m, &h), -EINVAL);
	assert_int_equal(httpd_start("127.0.0.1", m, &h), -EINVAL);
	assert_int_equal(httpd_start("127.0.0.1:70000", m, &h), -EINVAL);
	assert_int_equal(httpd_start("[::1:80", m, &h), -EINVAL);
	assert_null(h);
	httpd_free(NULL);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_render_escapes_labels_and_help),
		cmocka_unit_test(test_metrics_family_new_rejects_bad_names),
		cmocka_unit_test(test_metrics_counter_rejects_negative),
		cmocka_unit_test(test_metrics_histogram_cumulative_buckets),
		cmocka_unit_test(test_metrics_many_series_found_after_grow_and_remove),
		cmocka_unit_test(test_metrics_family_set_key_identity),
		cmocka_unit_test(test_metrics_tg_container_set_replaces_series),
		cmocka_unit_test(test_metrics_render_concurrent_with_updates),
		cmocka_unit_test(test_httpd_start_serves_metrics_and_probes),
		cmocka_unit_test(test_httpd_start_rejects_bad_address),
	};
	int r;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
