/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconnect: after a runtime restart, how long until the plugin has registered,
 * configured and synchronized again, measured by the runtime (nri-sim's
 * "fault runtime-restart DOWN": listener closed and socket removed, DOWN ms later a
 * new listener; resync_us counts from the new listener to the completed handshake).
 *
 * Two modes of the same daemon in one run: the socket-directory watch (default) and
 * the blind redial backoff alone (TOPOGUARD_NO_SOCKET_WATCH=1, the old behaviour) as
 * the baseline. The blind redials come 0.1, 0.3, 0.7, 1.5, 3.1, 6.3 s after the
 * loss, so what they cost depends on how long the runtime was away: a containerd
 * restart takes about 1.5 s, and its socket comes back a little before or after
 * that. Three downtimes are measured: 800, 1700 and 2500 ms.
 *
 *   usage: reconnect [restarts]   (default 3 per downtime and mode)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/e2e.h"

#define FIXTURE "tests/fixtures/sysfs/skx-4s-smt"

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The "resync_us=N" figures of the report's errors, in order. */
static size_t resyncs(json_object *rep, long *out, size_t max)
{
	json_object *errs = e2e_jget(rep, "errors");
	size_t n = 0;

	for (size_t i = 0; errs && i < json_object_array_length(errs) && n < max; i++) {
		const char *m = json_object_get_string(json_object_array_get_idx(errs, i));
		const char *p = m ? strstr(m, "resync_us=") : NULL;

		if (p)
			out[n++] = strtol(p + strlen("resync_us="), NULL, 10);
	}
	return n;
}

static int run_mode(bool watch, int restarts, int down_ms, long *out, size_t *ret_n)
{
	char sock[256], report[256], log[256], scen[256], fixture[256], line[64], *text;
	const char *sargs[] = {"--listen", sock, "--scenario", scen, "--report", report, NULL};
	const char *dargs[] = {"run",	"--socket",
			       sock,	"--sysfs-root",
			       fixture, "--status-socket",
			       "",	"--metrics-address",
			       "none",	"--checkpoint",
			       "",	"--log-file",
			       log,	NULL};
	struct e2e e;
	json_object *rep;
	pid_t sim, d;
	int r = e2e_setup(&e);

	if (r < 0)
		return r;
	text = calloc((size_t)restarts + 2, 64);
	if (!text)
		return -ENOMEM;
	strcpy(text, "sleep 500\n");
	for (int i = 0; i < restarts; i++) {
		snprintf(line, sizeof(line), "fault runtime-restart %d\nsleep 300\n", down_ms);
		strcat(text, line);
	}
	e2e_path(&e, sock, sizeof(sock), "nri.sock");
	e2e_path(&e, report, sizeof(report), "report.json");
	e2e_path(&e, log, sizeof(log), "daemon.log");
	e2e_path(&e, scen, sizeof(scen), "reconnect.scn");
	e2e_src_path(&e, fixture, sizeof(fixture), FIXTURE);
	r = e2e_write(&e, "reconnect.scn", text);
	free(text);
	sim = r < 0 ? -1 : e2e_spawn(e.sim, sargs, NULL);
	if (sim <= 0 || e2e_wait_path(sock, 5000) < 0)
		return -EIO;
	if (!watch)
		setenv("TOPOGUARD_NO_SOCKET_WATCH", "1", 1);
	d = e2e_spawn(e.topoguard, dargs, log);
	unsetenv("TOPOGUARD_NO_SOCKET_WATCH");
	r = e2e_wait_exit(sim, 120000);
	e2e_stop(d, 3000);
	rep = r == 0 ? e2e_load_json(report) : NULL;
	*ret_n = rep ? resyncs(rep, out, (size_t)restarts) : 0;
	json_object_put(rep);
	e2e_teardown(&e);
	if (*ret_n == 0)
		return -EIO;
	qsort(out, *ret_n, sizeof(*out), cmp_long);
	return 0;
}

static void print_row(const char *mode, int down, const long *v, size_t n)
{
	printf("%-34s %7d %3zu %8.1f %8.1f %8.1f\n", mode, down, n, (double)v[0] / 1e3,
	       (double)v[n / 2] / 1e3, (double)v[n - 1] / 1e3);
}

int main(int argc, char **argv)
{
	static const int downs[] = {800, 1700, 2500};
	int restarts = argc > 1 ? atoi(argv[1]) : 3;
	long w[3][64], b[3][64];
	size_t nw[3] = {0}, nb[3] = {0};
	int r = 0;

	if (restarts < 1 || restarts > 64) {
		fprintf(stderr, "usage: reconnect [restarts 1..64]\n");
		return 2;
	}
	for (int i = 0; r == 0 && i < 3; i++) {
		r = run_mode(true, restarts, downs[i], w[i], &nw[i]);
		r = r ?: run_mode(false, restarts, downs[i], b[i], &nb[i]);
	}
	if (r < 0) {
		fprintf(stderr, "reconnect: a run failed: %s\n", strerror(-r));
		return 1;
	}
	printf("\nruntime restart: new listener -> plugin registered, configured and "
	       "synchronized (ms)\n");
	printf("%-34s %7s %3s %8s %8s %8s\n", "mode", "down_ms", "n", "min", "median", "max");
	for (int i = 0; i < 3; i++) {
		print_row("blind redial backoff (baseline)", downs[i], b[i], nb[i]);
		print_row("socket directory watch (default)", downs[i], w[i], nw[i]);
	}
	printf("goal: registered within 300 ms of the socket reappearing\n");
	return 0;
}
