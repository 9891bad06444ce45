/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics_bench: what the daemon's 1 s refresh of topoguard_container_info costs
 * with n containers (metrics_tg_container_set for each, nothing changed: the
 * common case), against a baseline in the same process: the same n label tuples
 * found by a linear scan with strcmp, the way the registry looked series up
 * before it had an index. Also one container moving (its cpus change), and all
 * of them (the shared pool changed).
 *
 *   build/rel/bench/metrics_bench [containers]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plugin/obs/metrics.h"

#define ROUNDS 20

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void names(int i, char *pod, char *ctr)
{
	sprintf(pod, "pod-%05d", i);
	sprintf(ctr, "ctr-%05d", i);
}

static double refresh(struct metrics *m, int n, const char *cpus)
{
	char pod[32], ctr[32];
	double t0 = now_s();

	for (int i = 0; i < n; i++) {
		names(i, pod, ctr);
		metrics_tg_container_set(m, "default", pod, ctr, "Burstable", "shared", cpus);
	}
	return now_s() - t0;
}

/* The old lookup: every refresh compares against every series. */
static double linear(char (*keys)[80], int n)
{
	char key[80], pod[32], ctr[32];
	volatile int found = 0;
	double t0 = now_s();

	for (int i = 0; i < n; i++) {
		names(i, pod, ctr);
		snprintf(key, sizeof(key), "default/%s/%s", pod, ctr);
		for (int j = 0; j < n; j++)
			if (!strcmp(keys[j], key)) {
				found++;
				break;
			}
	}
	return now_s() - t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	double t_idx[ROUNDS], t_lin[ROUNDS], t_move, t_all;
	char(*keys)[80], pod[32], ctr[32];
	struct metrics *m = NULL;

	keys = calloc((size_t)(n > 0 ? n : 1), sizeof(*keys));
	if (n <= 0 || !keys || metrics_new(&m) < 0) {
		fprintf(stderr, "usage: metrics_bench [containers > 0]\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		names(i, pod, ctr);
		snprintf(keys[i], sizeof(keys[i]), "default/%s/%s", pod, ctr);
	}
	refresh(m, n, "0-63"); /* the series exist, as after the first second */
	for (int r = 0; r < ROUNDS; r++) {
		t_idx[r] = refresh(m, n, "0-63");
		t_lin[r] = linear(keys, n);
	}
	qsort(t_idx, ROUNDS, sizeof(double), cmp);
	qsort(t_lin, ROUNDS, sizeof(double), cmp);
	t_move = now_s();
	metrics_tg_container_set(m, "default", "pod-00000", "ctr-00000", "Burstable", "shared",
				 "0-31");
	t_move = now_s() - t_move;
	t_all = refresh(m, n, "2-63"); /* an exclusive allocation shrank the shared pool */
	printf("container_info refresh, %d containers unchanged: median %.3f ms (%.0f ns each)\n",
	       n, t_idx[ROUNDS / 2] * 1e3, t_idx[ROUNDS / 2] * 1e9 / n);
	printf("baseline, linear strcmp lookup of the same keys: median %.3f ms; ratio %.3f\n",
	       t_lin[ROUNDS / 2] * 1e3, t_idx[ROUNDS / 2] / t_lin[ROUNDS / 2]);
	printf("one container moved (its series replaced): %.1f us\n", t_move * 1e6);
	printf("all %d moved (the shared pool changed): %.3f ms\n", n, t_all * 1e3);
	metrics_free(m);
	free(keys);
	return 0;
}
