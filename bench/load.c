/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load: how fast the real daemon answers a burst of CreateContainer calls, as the
 * runtime measures it (nri-sim's per-request latency_us: call sent -> answer applied),
 * over a real unix socket on the 144-CPU fixture.
 *
 * A runtime serialises the calls to one plugin (containerd holds its NRI lock per
 * event), so "200 concurrent creates" reach one daemon as a back-to-back queue: the
 * meaningful figure is the latency of each call in a burst with no pause, against
 * the baseline of the same daemon answering paced calls (20 ms apart) in the same run.
 * A third phase runs four simulator+daemon pairs at once (50 creates each) on this
 * machine: not one node's traffic, but the worst reply when the CPUs are contended.
 *
 *   usage: load [creates]   (default 200; $TOPOGUARD_BIN / $NRI_SIM_BIN as for e2e)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/e2e.h"

#define FIXTURE	  "tests/fixtures/sysfs/skx-4s-smt"
#define MAX_PAIRS 4

struct lat {
	long *v;
	size_t n;
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static long pct(const struct lat *l, double p)
{
	return l->n ? l->v[(size_t)(p * (double)(l->n - 1))] : -1;
}

/* Pods of every QoS class; one in eight Guaranteed with an integer CPU (exclusive). */
static char *burst_scenario(int n, int pause_ms)
{
	size_t cap = (size_t)n * 256 + 64, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
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
		if (pause_ms)
			len += (size_t)snprintf(buf + len, cap - len, "sleep %d\n", pause_ms);
	}
	return buf;
}

struct pair {
	struct e2e e;
	char sock[256], report[256], log[256];
	pid_t sim, daemon;
};

static int pair_start(struct pair *p, const char *scenario)
{
	char scen[256], fixture[256];
	const char *sargs[] = {"--listen", p->sock,   "--scenario", scen,
			       "--report", p->report, NULL};
	const char *dargs[] = {"run",	"--socket",	   p->sock, "--sysfs-root",
			       fixture, "--status-socket", "",	    "--metrics-address",
			       "none",	"--log-file",	   p->log,  NULL};
	int r = e2e_setup(&p->e);

	if (r < 0)
		return r;
	e2e_path(&p->e, p->sock, sizeof(p->sock), "nri.sock");
	e2e_path(&p->e, p->report, sizeof(p->report), "report.json");
	e2e_path(&p->e, p->log, sizeof(p->log), "daemon.log");
	e2e_path(&p->e, scen, sizeof(scen), "load.scn");
	e2e_src_path(&p->e, fixture, sizeof(fixture), FIXTURE);
	if ((r = e2e_write(&p->e, "load.scn", scenario)) < 0)
		return r;
	p->sim = e2e_spawn(p->e.sim, sargs, NULL);
	if (p->sim <= 0 || e2e_wait_path(p->sock, 5000) < 0)
		return -EIO;
	p->daemon = e2e_spawn(p->e.topoguard, dargs, p->log);
	return p->daemon > 0 ? 0 : -EIO;
}

/* Wait for the simulator, add its CreateContainer latencies to l; -errno on failure. */
static int pair_finish(struct pair *p, struct lat *l, int *ret_not_ok)
{
	int rc = p->sim > 0 ? e2e_wait_exit(p->sim, 120000) : -1;
	json_object *rep = rc == 0 ? e2e_load_json(p->report) : NULL;
	json_object *reqs = rep ? e2e_jget(rep, "requests") : NULL;

	if (p->daemon > 0)
		e2e_stop(p->daemon, 3000);
	for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);
		long *v;

		if (strcmp(e2e_jstr(q, "method"), "CreateContainer"))
			continue;
		if (strcmp(e2e_jstr(q, "outcome"), "ok"))
			(*ret_not_ok)++;
		v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			break;
		l->v = v;
		l->v[l->n++] = json_object_get_int64(e2e_jget(q, "latency_us"));
	}
	json_object_put(rep);
	e2e_teardown(&p->e);
	return rep ? 0 : -EIO;
}

static int run_phase(int pairs, int creates, int pause_ms, struct lat *l, int *ret_not_ok)
{
	struct pair p[MAX_PAIRS] = {0};
	char *scn = burst_scenario(creates, pause_ms);
	int r = scn ? 0 : -ENOMEM;

	for (int i = 0; r == 0 && i < pairs; i++)
		r = pair_start(&p[i], scn);
	for (int i = 0; i < pairs; i++) {
		int q = pair_finish(&p[i], l, ret_not_ok);

		r = r ?: q;
	}
	free(scn);
	qsort(l->v, l->n, sizeof(*l->v), cmp_long);
	return r;
}

static void print_row(const char *label, const struct lat *l, int not_ok, long base)
{
	printf("%-34s %5zu %9ld %9ld %9ld %6d", label, l->n, pct(l, 0.5), pct(l, 0.99), pct(l, 1.0),
	       not_ok);
	if (base > 0)
		printf(" %8.1fx", (double)pct(l, 0.99) / (double)base);
	printf("\n");
}

int main(int argc, char **argv)
{
	int creates = argc > 1 ? atoi(argv[1]) : 200, bad[3] = {0};
	struct lat paced = {0}, burst = {0}, contended = {0};
	int r;

	if (creates < 8 || creates > 5000) {
		fprintf(stderr, "usage: load [creates 8..5000]\n");
		return 2;
	}
	r = run_phase(1, 40, 20, &paced, &bad[0]);
	r = r ?: run_phase(1, creates, 0, &burst, &bad[1]);
	r = r ?: run_phase(MAX_PAIRS, creates / MAX_PAIRS, 0, &contended, &bad[2]);
	if (r < 0) {
		fprintf(stderr, "load: a run failed: %s\n", strerror(-r));
		return 1;
	}
	printf("\nCreateContainer latency as the runtime sees it (nri-sim latency_us), "
	       "real daemon, 144-CPU fixture, microseconds; timeout is 2000000\n");
	printf("%-34s %5s %9s %9s %9s %6s %9s\n", "phase", "calls", "p50", "p99", "max", "not-ok",
	       "p99/base");
	print_row("paced, 20 ms apart (baseline)", &paced, bad[0], 0);
	print_row("burst, one runtime, back to back", &burst, bad[1], pct(&paced, 0.5));
	print_row("4 runtimes+daemons at once", &contended, bad[2], pct(&paced, 0.5));
	printf("worst reply: %ld us = %.2f%% of the 2 s timeout\n",
	       pct(&contended, 1.0) > pct(&burst, 1.0) ? pct(&contended, 1.0) : pct(&burst, 1.0),
	       (double)(pct(&contended, 1.0) > pct(&burst, 1.0) ? pct(&contended, 1.0)
								: pct(&burst, 1.0)) /
		       20000.0);
	free(paced.v);
	free(burst.v);
	free(contended.v);
	return bad[0] + bad[1] + bad[2] ? 1 : 0;
}
