/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load, end to end: a burst of 200 CreateContainer calls with no pause from one
 * simulated runtime to the real daemon (a runtime serialises calls to one plugin, so
 * this is what "200 pods created at once" looks like to the plugin), then the same
 * burst from four runtimes, each with its own daemon, at once.
 *
 * Asserted: every call answered with outcome ok (inside the request timeout, or the
 * simulator would have recorded "timeout" and disconnected), every container placed,
 * exclusive sets disjoint after every call. The latencies are printed, never asserted
 * (bench/load.c is the benchmark).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"

#define FIXTURE	 "tests/fixtures/sysfs/skx-4s-smt"
#define CREATES	 200
#define RUNTIMES 4

struct pair {
	struct e2e e;
	char sock[256], report[256], log[256];
	pid_t sim, daemon;
};

static char *scenario(int n)
{
	size_t cap = (size_t)n * 200 + 64, len = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	len += (size_t)snprintf(buf, cap, "fault check-exclusive always\n");
	for (int i = 0; i < n; i++) {
		static const char *const qos[] = {"guaranteed", "guaranteed", "burstable",
						  "besteffort"};
		static const char *const res[] = {
			"cpu-request=1000 cpu-limit=1000 mem-limit=1073741824 exclusive",
			"cpu-request=500 cpu-limit=500 mem-limit=1073741824",
			"cpu-request=250 cpu-limit=2000", ""};
		int k = i % 8 == 0 ? 0 : 1 + i % 3;

		len += (size_t)snprintf(buf + len, cap - len,
					"pod p%d default/a%d qos=%s\ncreate c%d pod=p%d %s\n", i, i,
					qos[k], i, i, res[k]);
	}
	assert_true(len < cap);
	return buf;
}

static void pair_start(struct pair *p, const char *scn)
{
	char path[256], fixture[256];
	const char *sargs[] = {"--listen", p->sock,   "--scenario",	   path,
			       "--report", p->report, "--check-exclusive", NULL};
	const char *dargs[] = {"run",	"--socket",	   p->sock, "--sysfs-root",
			       fixture, "--status-socket", "",	    "--metrics-address",
			       "none",	"--log-file",	   p->log,  NULL};

	assert_int_equal(e2e_setup(&p->e), 0);
	e2e_path(&p->e, p->sock, sizeof(p->sock), "nri.sock");
	e2e_path(&p->e, p->report, sizeof(p->report), "report.json");
	e2e_path(&p->e, p->log, sizeof(p->log), "daemon.log");
	e2e_path(&p->e, path, sizeof(path), "load.scn");
	e2e_src_path(&p->e, fixture, sizeof(fixture), FIXTURE);
	assert_int_equal(e2e_write(&p->e, "load.scn", scn), 0);
	p->sim = e2e_spawn(p->e.sim, sargs, NULL);
	assert_true(p->sim > 0);
	assert_int_equal(e2e_wait_path(p->sock, 5000), 0);
	p->daemon = e2e_spawn(p->e.topoguard, dargs, p->log);
	assert_true(p->daemon > 0);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* Checks one runtime's report; appends its CreateContainer latencies to lat. */
static void pair_check(struct pair *p, int creates, long *lat, size_t *n_lat)
{
	int rc = e2e_wait_exit(p->sim, 60000);
	json_object *rep = e2e_load_json(p->report), *reqs;

	assert_int_equal(e2e_stop_daemon(p->daemon, p->log, 5000), 0);
	assert_non_null(rep);
	if (rc != 0)
		fail_msg("nri-sim exit %d: %s", rc,
			 json_object_to_json_string(e2e_jget(rep, "expectations_failed")));
	assert_int_equal(e2e_count_requests(rep, "CreateContainer", "ok"), creates);
	assert_int_equal(e2e_count_requests(rep, "CreateContainer", NULL), creates);
	assert_int_equal(json_object_get_int(e2e_jget(rep, "disconnects")), 0);
	for (int i = 0; i < creates; i++) {
		char id[16];
		const char *cpus;

		snprintf(id, sizeof(id), "c%d", i);
		cpus = e2e_report_cpus(rep, id);
		assert_non_null(cpus);
		assert_true(*cpus != '\0');
	}
	reqs = e2e_jget(rep, "requests");
	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);

		if (!strcmp(e2e_jstr(q, "method"), "CreateContainer"))
			lat[(*n_lat)++] = json_object_get_int64(e2e_jget(q, "latency_us"));
	}
	json_object_put(rep);
	e2e_teardown(&p->e);
}

static void print_lat(const char *what, long *lat, size_t n)
{
	qsort(lat, n, sizeof(*lat), cmp_long);
	fprintf(stderr, "%s: %zu CreateContainer, p50 %ld us, p99 %ld us, max %ld us\n", what, n,
		lat[n / 2], lat[(n - 1) * 99 / 100], lat[n - 1]);
}

static void run_load(int runtimes, int creates, const char *what)
{
	struct pair p[RUNTIMES] = {0};
	long lat[CREATES * RUNTIMES];
	char *scn = scenario(creates);
	size_t n = 0;

	for (int i = 0; i < runtimes; i++)
		pair_start(&p[i], scn);
	free(scn);
	for (int i = 0; i < runtimes; i++)
		pair_check(&p[i], creates, lat, &n);
	assert_int_equal(n, (size_t)(runtimes * creates));
	print_lat(what, lat, n);
}

static void test_load_burst_one_runtime(void **state)
{
	(void)state;
	run_load(1, CREATES, "one runtime, burst");
}

static void test_load_burst_four_runtimes(void **state)
{
	(void)state;
	run_load(RUNTIMES, CREATES / RUNTIMES, "four runtimes+daemons at once");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_burst_one_runtime),
		cmocka_unit_test(test_load_burst_four_runtimes),
	};
	const char *sim = getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim";
	const char *tg = getenv("TOPOGUARD_BIN") ? getenv("TOPOGUARD_BIN") : "build/rel/topoguard";

	if (access(sim, X_OK) || access(tg, X_OK)) {
		fprintf(stderr, "nri-sim or topoguard not built (%s, %s)\n", sim, tg);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
