/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CreateContainer decision time of the allocation policy (policy/alloc*.c).
 *
 * One sample = alloc_create() of one container, including the list of running
 * containers whose cpuset changed (every shared container when an exclusive
 * allocation shrinks the shared pool), timed with CLOCK_MONOTONIC; the container is
 * then released (not timed) so every sample sees the same state. Reported: p50 and
 * p99 in microseconds, and the ratio to a baseline measured in the same process
 * (alloc_get() of one container: a hash lookup plus building one result), so runs
 * on different machines can be compared.
 *
 *   policy_bench [samples]        default 2000 samples per cell
 *
 * Targets (docs/policy.md): p99 <= 20 us at 256 CPUs with 500 containers,
 * p99 <= 100 us at 1024 CPUs with 2000 containers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin/host/sysfs.h"
#include "policy/alloc.h"

#define DEFAULT_SAMPLES 2000

struct cell {
	double p50, p99;
	size_t changes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(uint64_t *v, size_t n, struct cell *c)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	c->p50 = (double)v[n / 2] / 1000.0;
	c->p99 = (double)v[(n * 99) / 100] / 1000.0;
}

static struct alloc_request request(const char *id, enum qos_class qos, int64_t mcpu)
{
	struct alloc_request r;

	alloc_request_init(&r);
	r.id = id;
	r.pod_namespace = "default";
	r.qos = qos;
	r.cpu_request_mcpu = mcpu;
	r.cpu_limit_mcpu = qos == QOS_GUARANTEED ? mcpu : 0;
	return r;
}

/*
 * n running containers: one in eight is Guaranteed with one exclusive CPU while a
 * quarter of the machine is still free for them, the rest share the pool.
 */
static int populate(struct alloc_state *s, unsigned int cpus, size_t n)
{
	unsigned int exclusive = 0;
	char id[32];

	for (size_t i = 0; i < n; i++) {
		bool g = i % 8 == 0 && exclusive < cpus / 4;
		struct alloc_request r = request(id, g ? QOS_GUARANTEED : QOS_BURSTABLE,
						 g ? 1000 : 100 + (int64_t)(i % 10) * 50);
		int rc;

		snprintf(id, sizeof(id), "run-%zu", i);
		rc = alloc_create(s, &r, NULL, NULL, NULL, 0);
		if (rc < 0)
			return rc;
		exclusive += g;
	}
	return 0;
}

/* Timed creates of one container of mcpu / qos, each released again. */
static int measure(struct alloc_state *s, enum qos_class qos, int64_t mcpu, size_t samples,
		   struct cell *ret)
{
	struct alloc_request r = request("bench", qos, mcpu);
	struct alloc_changes ch = {0};
	struct alloc_result res;
	uint64_t *t = calloc(samples, sizeof(*t));
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < samples && rc >= 0; i++) {
		uint64_t t0;

		alloc_changes_reset(&ch);
		t0 = now_ns();
		rc = alloc_create(s, &r, &res, &ch, NULL, 0);
		t[i] = now_ns() - t0;
		ret->changes = ch.n;
		alloc_release(s, "bench", NULL);
	}
	if (rc >= 0)
		percentiles(t, samples, ret);
	alloc_changes_done(&ch);
	free(t);
	return rc;
}

/* Baseline: alloc_get() of one running container. */
static double baseline_us(struct alloc_state *s, size_t samples)
{
	struct alloc_result res;
	uint64_t *t = calloc(samples, sizeof(*t));
	struct cell c = {0};

	if (!t)
		return 0;
	for (size_t i = 0; i < samples; i++) {
		uint64_t t0 = now_ns();

		alloc_get(s, "run-1", &res);
		t[i] = now_ns() - t0;
	}
	percentiles(t, samples, &c);
	free(t);
	return c.p50;
}

static struct topo_synth_spec spec_for(unsigned int cpus)
{
	struct topo_synth_spec s = {.packages = 1,
				    .dies_per_package = 1,
				    .nodes_per_die = 1,
				    .l3_per_node = 1,
				    .cores_per_l3 = 1,
				    .threads_per_core = 1};
	unsigned int cores = cpus;

	if (cpus >= 4) {
		s.threads_per_core = 2;
		cores = cpus / 2;
	}
	if (cores >= 64) { /* 2 packages x 2 nodes x L3s of 8 cores, like a 2S server */
		s.packages = 2;
		s.nodes_per_die = 2;
		s.cores_per_l3 = 8;
		s.l3_per_node = (int)(cores / 4 / 8);
	} else if (cores >= 16) {
		s.l3_per_node = 2;
		s.cores_per_l3 = (int)(cores / 2);
	} else {
		s.cores_per_l3 = (int)cores;
	}
	return s;
}

static int run_cell(const struct topology *t, size_t n, size_t samples, struct cell *excl,
		    struct cell *shared, double *base)
{
	struct alloc_config cfg;
	struct alloc_state *s = NULL;
	unsigned int cpus = cpuset_count(&t->online);
	int rc;

	alloc_config_init(&cfg);
	rc = alloc_state_new(t, &cfg, &s);
	if (rc >= 0)
		rc = populate(s, cpus, n);
	if (rc >= 0)
		rc = measure(s, QOS_GUARANTEED, cpus >= 8 ? 2000 : 1000, samples, excl);
	if (rc >= 0)
		rc = measure(s, QOS_BURSTABLE, 250, samples, shared);
	if (rc >= 0 && base)
		*base = n ? baseline_us(s, samples) : 0;
	alloc_state_free(s);
	return rc;
}

static void print_row(const char *label, size_t n, const struct cell *e, const struct cell *sh,
		      double base)
{
	printf("%-14s %6zu | %8.2f %8.2f %7zu | %8.2f %8.2f", label, n, e->p50, e->p99, e->changes,
	       sh->p50, sh->p99);
	if (base > 0)
		printf(" | %6.3f %7.1fx", base, e->p99 / base);
	printf("\n");
}

static void header(const char *first)
{
	printf("%-14s %6s | %8s %8s %7s | %8s %8s | %6s %8s\n", first, "ctrs", "excl p50",
	       "excl p99", "changes", "shr p50", "shr p99", "base", "p99/base");
}

static int table_256(size_t samples)
{
	static const size_t ns[] = {0, 100, 500, 2000};
	struct topo_synth_spec spec = spec_for(256);
	struct topology *t = NULL;
	int rc = topology_synthetic(&spec, &t);

	if (rc < 0)
		return rc;
	printf("\nCreateContainer decision time, synthetic 256 CPUs (2 packages, 4 nodes, "
	       "16 L3, SMT2), microseconds, %zu samples\n",
	       samples);
	header("machine");
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]) && rc >= 0; i++) {
		struct cell e = {0}, sh = {0};
		double base = 0;

		rc = run_cell(t, ns[i], samples, &e, &sh, &base);
		if (rc >= 0)
			print_row("synthetic-256", ns[i], &e, &sh, base);
		if (rc >= 0 && ns[i] == 500)
			printf("  target p99 <= 20 us at 256 CPUs / 500 containers: %s\n",
			       e.p99 <= 20.0 ? "met" : "MISSED");
	}
	topology_free(t);
	return rc;
}

static int table_scaling(size_t samples)
{
	struct cell e, sh;
	double base;
	int rc = 0;

	printf("\nScaling over machine size (synthetic), 2000 running containers, microseconds\n");
	header("CPUs");
	for (unsigned int cpus = 2; cpus <= 1024 && rc >= 0; cpus *= 2) {
		struct topo_synth_spec spec = spec_for(cpus);
		struct topology *t = NULL;
		char label[32];

		rc = topology_synthetic(&spec, &t);
		if (rc >= 0)
			rc = run_cell(t, 2000, samples, &e, &sh, &base);
		snprintf(label, sizeof(label), "%u", cpus);
		if (rc >= 0)
			print_row(label, 2000, &e, &sh, base);
		if (rc >= 0 && cpus == 1024)
			printf("  target p99 <= 100 us at 1024 CPUs / 2000 containers: %s\n",
			       e.p99 <= 100.0 ? "met" : "MISSED");
		topology_free(t);
	}
	return rc;
}

/* The largest real fixture, when the source tree is around. */
static void table_fixture(size_t samples)
{
	const char *src = getenv("TOPOGUARD_SRC");
	char root[4096];
	struct topology *t = NULL;
	struct cell e, sh;
	double base;

	snprintf(root, sizeof(root), "%s/tests/fixtures/sysfs/skx-4s-smt", src ? src : ".");
	if (sysfs_topology_load(root, &t) < 0) {
		printf("\n(fixture skx-4s-smt not found under %s: skipped)\n", root);
		return;
	}
	printf("\nReal fixture skx-4s-smt (%u CPUs), microseconds\n", cpuset_count(&t->online));
	header("fixture");
	for (size_t n = 100; n <= 2000; n = n == 100 ? 500 : n * 4) {
		if (run_cell(t, n, samples, &e, &sh, &base) >= 0)
			print_row("skx-4s-smt", n, &e, &sh, base);
	}
	topology_free(t);
}

int main(int argc, char **argv)
{
	size_t samples = DEFAULT_SAMPLES;
	int rc;

	if (argc > 1) {
		long v = strtol(argv[1], NULL, 10);

		if (v < 100 || v > 1000000) {
			fprintf(stderr, "usage: %s [samples 100..1000000]\n", argv[0]);
			return 2;
		}
		samples = (size_t)v;
	}
	printf("policy_bench: alloc_create() incl. the changed-containers list; each sample is\n"
	       "released untimed. excl = Guaranteed 2 CPUs (1 on machines < 8 CPUs), shr = "
	       "Burstable 250m;\nchanges = containers reported as needing a new cpuset; base = "
	       "alloc_get() p50 in us.\n");
	rc = table_256(samples);
	if (rc >= 0)
		rc = table_scaling(samples);
	if (rc >= 0)
		table_fixture(samples);
	if (rc < 0) {
		fprintf(stderr, "policy_bench: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
