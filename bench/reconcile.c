/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reconcile: what one reconciliation pass costs (plugin/daemon/reconcile.c): every
 * placed container's cgroup found by the path of its NRI cgroups_path, read (cpuset,
 * CFS quota and period, shares or weight, cgroup.procs) and compared with what
 * topoguard intends. n containers (default 500: one in eight Guaranteed with an
 * exclusive CPU, the rest Burstable) are placed through the real handlers on a
 * synthetic 128-CPU machine; their cgroups are a fake tree on a tmpfs (/dev/shm, else
 * /tmp), first in the cgroup2 layout, then in the v1 one (cpuset/ and cpu/ apart). No
 * cgroup drifted: the common case, where a pass only reads and compares.
 *
 * Reported per layout: median and p99 of ROUNDS passes, per container, and a baseline
 * measured in the same process: the same files read with open/read/close and nothing
 * else, the floor of any pass.
 *
 *   build/rel/bench/reconcile [containers]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plugin/config/config.h"
#include "plugin/daemon/handlers.h"
#include "plugin/daemon/reconcile.h"
#include "plugin/daemon/state.h"
#include "plugin/host/kubepods.h"
#include "plugin/nri/stub_priv.h"
#include "plugin/obs/log.h"
#include "policy/topology.h"
#include "bench/kubelet_fx.h"

#define PB(x)  Nri__Pkg__Api__V1alpha1__##x
#define ROUNDS 200
#define SEC    1000000000ull

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

/* ---- the fake tree ----------------------------------------------------------------- */

static int put(const char *dir, const char *file, const char *text)
{
	char path[512];
	int fd;
	ssize_t len = (ssize_t)strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* mkdir -p */
static int mkdirs(const char *path)
{
	char p[600];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/* Each container's cgroup as topoguard intends it; v2: one dir, v1: cpuset/ and cpu/. */
static int write_tree(struct daemon *d, const char *root, bool v2, struct ctr_mem *m, int n)
{
	char cs[512], cpu[512], buf[4096];
	int r = 0;

	for (int i = 0; i < n && r == 0; i++) {
		struct alloc_result a;

		if (alloc_get(d->alloc, m[i].id, &a) < 0 ||
		    cpuset_format(&a.cpus, buf, sizeof(buf)) < 0)
			return -EINVAL;
		snprintf(cs, sizeof(cs), "%s%s%s", root, v2 ? "" : "/cpuset", m[i].path);
		snprintf(cpu, sizeof(cpu), "%s%s%s", root, v2 ? "" : "/cpu", m[i].path);
		r = mkdirs(cs) ?: mkdirs(cpu) ?: put(cs, "cpuset.cpus", buf) ?: put(cpu, "cgroup.procs", "4242\n");
		if (r == 0 && v2) {
			snprintf(buf, sizeof(buf), "%lld %llu\n", (long long)a.quota,
				 (unsigned long long)a.period);
			r = put(cpu, "cpu.max", a.quota > 0 ? buf : "max 100000\n");
			snprintf(buf, sizeof(buf), "%llu\n",
				 (unsigned long long)kubepods_shares_to_weight(a.shares));
			r = r ?: put(cpu, "cpu.weight", buf);
		} else if (r == 0) {
			snprintf(buf, sizeof(buf), "%lld\n",
				 (long long)(a.quota > 0 ? a.quota : -1));
			r = put(cpu, "cpu.cfs_quota_us", buf);
			snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)a.period);
			r = r ?: put(cpu, "cpu.cfs_period_us", buf);
			snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)a.shares);
			r = r ?: put(cpu, "cpu.shares", buf);
		}
	}
	if (r == 0 && v2)
		r = put(root, "cgroup.controllers", "cpuset cpu memory\n");
	return r;
}

/* The floor: the same files read with open/read/close, nothing else. */
static uint64_t read_floor(const char *root, bool v2, const struct ctr_mem *m, int n)
{
	static const char *const f2[] = {"cpuset.cpus", "cpu.max", "cpu.weight", "cgroup.procs"};
	static const char *const f1[] = {"cpuset.cpus", "cpu.cfs_quota_us", "cpu.cfs_period_us",
					 "cpu.shares", "cgroup.procs"};
	const char *const *f = v2 ? f2 : f1;
	char path[600], buf[4096];
	uint64_t t0 = now_ns();

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < (v2 ? 4 : 5); k++) {
			int fd;

			snprintf(path, sizeof(path), "%s%s%s/%s", root,
				 v2 ? "" : (k == 0 ? "/cpuset" : "/cpu"), m[i].path, f[k]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (read(fd, buf, sizeof(buf)) < 0)
					buf[0] = '\0';
				close(fd);
			}
		}
	}
	return now_ns() - t0;
}

static int run_layout(struct daemon *d, const char *root, bool v2, struct ctr_mem *m, int n)
{
	uint64_t *t = calloc(ROUNDS, sizeof(*t)), *fl = calloc(ROUNDS, sizeof(*fl));
	uint64_t now = daemon_now_ns(), passes0 = d->rc.passes;
	uint64_t drift0 = d->rc.drift[0] + d->rc.drift[1] + d->rc.drift[2] + d->rc.drift[3];
	char cmd[300];
	int r = t && fl ? write_tree(d, root, v2, m, n) : -ENOMEM;

	kubepods_root_free(d->rc.kroot); /* found again: this tree has the other layout */
	d->rc.kroot = NULL;

	for (int i = 0; r == 0 && i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		now += 10 * SEC; /* a pass is due at every tick */
		daemon_reconcile_tick(d, now);
		t[i] = now_ns() - t0;
		fl[i] = read_floor(root, v2, m, n);
	}
	if (r == 0 && (d->rc.passes - passes0 != ROUNDS || d->rc.ghosts ||
		       d->rc.drift[0] + d->rc.drift[1] + d->rc.drift[2] + d->rc.drift[3] != drift0))
		r = -EPROTO; /* every tick a pass, nothing released, nothing drifted */
	if (r == 0) {
		qsort(t, ROUNDS, sizeof(*t), cmp_u64);
		qsort(fl, ROUNDS, sizeof(*fl), cmp_u64);
		printf("%s, %d containers: pass median %.2f ms, p99 %.2f ms (%.1f us per "
		       "container); "
		       "reading the same files alone: median %.2f ms; ratio %.2f\n",
		       v2 ? "cgroup v2" : "cgroup v1", n, (double)t[ROUNDS / 2] / 1e6,
		       (double)t[ROUNDS * 99 / 100] / 1e6, (double)t[ROUNDS / 2] / 1e3 / n,
		       (double)fl[ROUNDS / 2] / 1e6,
		       (double)t[ROUNDS / 2] / (double)fl[ROUNDS / 2]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", root);
	if (system(cmd) != 0 && r == 0)
		r = -EIO;
	free(t);
	free(fl);
	return r;
}

static int bench(int n, const char *root)
{
	struct topo_synth_spec spec = {.packages = 2,
				       .dies_per_package = 1,
				       .nodes_per_die = 1,
				       .l3_per_node = 1,
				       .cores_per_l3 = 32,
				       .threads_per_core = 2};
	struct ctr_mem *m = calloc((size_t)n, sizeof(*m));
	struct topology *topo = NULL;
	struct daemon *d = NULL;
	struct config cfg;
	int r = m ? topology_synthetic(&spec, &topo) : -ENOMEM;

	config_init(&cfg);
	if (r == 0 && (r = daemon_new_offline(&cfg, topo, &d)) < 0)
		topology_free(topo);
	if (r == 0) {
		d->opt.cgroup_root = root;
		r = place_all(d, m, n);
	}
	if (r == 0)
		r = run_layout(d, root, true, m, n);
	if (r == 0)
		r = run_layout(d, root, false, m, n);
	daemon_free(d);
	free(m);
	return r;
}

int main(int argc, char **argv)
{
	char root[64];
	int n = argc > 1 ? atoi(argv[1]) : 500, r;

	if (n <= 0 || n > 100000) {
		fprintf(stderr, "usage: reconcile [containers > 0]\n");
		return 2;
	}
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(root, sizeof(root), "%s/tg-reconcile-bench.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	r = bench(n, root);
	rmdir(root);
	if (r < 0)
		fprintf(stderr, "reconcile bench: %s\n", strerror(-r));
	return r < 0;
}
