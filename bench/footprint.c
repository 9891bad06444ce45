/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Footprint: what the real daemon holds in memory with 500 running containers, and how
 * long a Synchronize of 2000 restored containers takes, against baselines run beside
 * them in the same process (issue #17).
 *
 * Memory: the daemon on the 144-CPU fixture with every feature that needs no cluster
 * on (live usage, metrics HTTP on 127.0.0.1, status socket, checkpoint), once idle (a
 * runtime with no container: the baseline) and once with 500 running containers
 * handed over by Synchronize. Read from /proc/PID/status (VmRSS, RssAnon, RssFile,
 * VmHWM) and /proc/PID/smaps_rollup (Pss) once the daemon logged "synchronized:" and
 * had a second to settle (a live sampling interval or more).
 *
 * Sync: nri-sim's latency_us of the Synchronize call(s) (request sent -> answer
 * applied), 2000 pre-existing containers restored, beside the same daemon answering
 * an empty Synchronize; reported per 1000 containers above that baseline.
 *
 *   usage: footprint [containers] [sync-containers]   (default 500 2000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/e2e.h"

#define FIXTURE "tests/fixtures/sysfs/skx-4s-smt"

struct mem {
	long rss_kb, anon_kb, file_kb, hwm_kb, pss_kb;
};

struct run {
	struct mem mem;
	long sync_us; /* sum of the Synchronize calls' latency_us */
	int sync_calls;
};

/* n pre-existing pods of every QoS class; one in excl_every Guaranteed exclusive. */
static char *existing_scenario(int n, int excl_every, int settle_ms)
{
	size_t cap = (size_t)n * 200 + 64, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		static const char *const qos[] = {"guaranteed", "guaranteed", "burstable",
						  "besteffort"};
		static const char *const res[] = {
			"cpu-request=1000 cpu-limit=1000 mem-limit=1073741824 exclusive",
			"cpu-request=500 cpu-limit=500 mem-limit=1073741824",
			"cpu-request=250 cpu-limit=2000", ""};
		int k = i % excl_every == 0 ? 0 : 1 + i % 3;

		len += (size_t)snprintf(buf + len, cap - len,
					"existing pod p%d default/a%d uid=u%d qos=%s\n"
					"existing create c%d pod=p%d name=c %s\n",
					i, i, i, qos[k], i, i, res[k]);
	}
	snprintf(buf + len, cap - len, "sleep %d\n", settle_ms);
	return buf;
}

static long status_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

static int read_mem(pid_t pid, struct mem *m)
{
	char path[64], buf[4096];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((r = read_text(path, buf, sizeof(buf))) < 0)
		return r;
	m->rss_kb = status_kb(buf, "VmRSS:");
	m->anon_kb = status_kb(buf, "RssAnon:");
	m->file_kb = status_kb(buf, "RssFile:");
	m->hwm_kb = status_kb(buf, "VmHWM:");
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((r = read_text(path, buf, sizeof(buf))) < 0)
		return r;
	m->pss_kb = status_kb(buf, "\nPss:");
	return 0;
}

/* Until the daemon logged its Synchronize (or timeout_ms passed). */
static int wait_synchronized(const char *log, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (e2e_file_count(log, "synchronized:") > 0)
			return 0;
		usleep(20 * 1000);
	}
	return -ETIMEDOUT;
}

static void sync_latency(const char *report, struct run *out)
{
	json_object *rep = e2e_load_json(report);
	json_object *reqs = rep ? e2e_jget(rep, "requests") : NULL;

	for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);

		if (strcmp(e2e_jstr(q, "method"), "Synchronize"))
			continue;
		out->sync_us += json_object_get_int64(e2e_jget(q, "latency_us"));
		out->sync_calls++;
	}
	json_object_put(rep);
}

static int run_daemon(int n, int excl_every, bool measure_mem, struct run *out)
{
	char sock[256], report[256], log[256], scen[256], fixture[256], status[256], ckpt[256];
	char maddr[64];
	const char *sargs[] = {"--listen", sock, "--scenario", scen, "--report", report, NULL};
	const char *dargs[] = {"run",	"--socket",
			       sock,	"--sysfs-root",
			       fixture, "--status-socket",
			       status,	"--metrics-address",
			       maddr,	"--checkpoint",
			       ckpt,	"--log-file",
			       log,	NULL};
	char *text = existing_scenario(n, excl_every, measure_mem ? 2500 : 300);
	struct e2e e;
	pid_t sim, d;
	int r = text ? e2e_setup(&e) : -ENOMEM;

	if (r < 0) {
		free(text);
		return r;
	}
	e2e_path(&e, sock, sizeof(sock), "nri.sock");
	e2e_path(&e, report, sizeof(report), "report.json");
	e2e_path(&e, log, sizeof(log), "daemon.log");
	e2e_path(&e, scen, sizeof(scen), "footprint.scn");
	e2e_path(&e, status, sizeof(status), "status.sock");
	e2e_path(&e, ckpt, sizeof(ckpt), "checkpoint.json");
	e2e_src_path(&e, fixture, sizeof(fixture), FIXTURE);
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", e2e_free_port());
	r = e2e_write(&e, "footprint.scn", text);
	free(text);
	sim = r < 0 ? -1 : e2e_spawn(e.sim, sargs, NULL);
	if (sim <= 0 || e2e_wait_path(sock, 5000) < 0) {
		e2e_teardown(&e);
		return -EIO;
	}
	d = e2e_spawn(e.topoguard, dargs, log);
	r = d > 0 ? wait_synchronized(log, 30000) : -EIO;
	if (r == 0 && measure_mem) {
		usleep(1000 * 1000);
		r = read_mem(d, &out->mem);
	}
	if (e2e_wait_exit(sim, 60000) != 0 && r == 0)
		r = -EIO;
	e2e_stop(d, 3000);
	if (r == 0)
		sync_latency(report, out);
	if (r < 0)
		e2e_print_tail(log, 10);
	e2e_teardown(&e);
	return r;
}

static void print_mem(const char *label, const struct mem *m, const struct mem *base)
{
	printf("%-30s %8.1f %8.1f %8.1f %8.1f %8.1f", label, m->rss_kb / 1024.0,
	       m->anon_kb / 1024.0, m->file_kb / 1024.0, m->pss_kb / 1024.0, m->hwm_kb / 1024.0);
	if (base)
		printf("   +%.1f MiB RSS", (m->rss_kb - base->rss_kb) / 1024.0);
	printf("\n");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 500, ns = argc > 2 ? atoi(argv[2]) : 2000;
	struct run idle = {0}, loaded = {0}, empty = {0}, big = {0};
	char label[64];
	int r;

	if (n < 1 || n > 5000 || ns < 1 || ns > 5000) {
		fprintf(stderr,
			"usage: footprint [containers 1..5000] [sync-containers 1..5000]\n");
		return 2;
	}
	r = run_daemon(0, 8, true, &idle);
	r = r ?: run_daemon(n, 8, true, &loaded);
	r = r ?: run_daemon(0, 32, false, &empty);
	r = r ?: run_daemon(ns, 32, false, &big);
	if (r < 0) {
		fprintf(stderr, "footprint: a run failed: %s\n", strerror(-r));
		return 1;
	}
	printf("\ndaemon memory, 144-CPU fixture, live usage + metrics + status + checkpoint on "
	       "(MiB)\n");
	printf("%-30s %8s %8s %8s %8s %8s\n", "daemon", "VmRSS", "RssAnon", "RssFile", "Pss",
	       "VmHWM");
	print_mem("idle, no container (baseline)", &idle.mem, NULL);
	snprintf(label, sizeof(label), "%d running containers", n);
	print_mem(label, &loaded.mem, &idle.mem);
	printf("goal: VmRSS <= 8 MiB, VmHWM <= 12 MiB at 500 containers\n");
	printf("\nSynchronize, runtime's latency (request sent -> answer applied), ms\n");
	printf("%-30s %8s %8s %12s\n", "restored containers", "calls", "total", "per 1000");
	printf("%-30s %8d %8.2f %12s\n", "0 (baseline)", empty.sync_calls, empty.sync_us / 1e3,
	       "-");
	printf("%-30d %8d %8.2f %12.2f\n", ns, big.sync_calls, big.sync_us / 1e3,
	       (double)(big.sync_us - empty.sync_us) / 1e3 * 1000.0 / ns);
	printf("goal: 2000 restored and answered in <= 50 ms\n");
	return 0;
}
