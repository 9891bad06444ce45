/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the BPF integration tests: a unique throw-away cgroup tree in
 * every v1 controller the tests use (cpu, cpuacct, cpuset, memory) and in the
 * cgroup2 mount when there is one, plus forked workloads moved into it. On a
 * pure cgroup v2 host (cgroup2 at /sys/fs/cgroup, as `make vmtest`'s v2 guest)
 * the tree is made once there with the cpu, cpuset and memory controllers
 * enabled, and every "hierarchy" name maps to it; cgt_cpu_usage_ns(),
 * cgt_set_quota() and cgt_set_mem_limit() speak the mode's file names.
 * Everything is static inline so each test binary stays self-contained.
 * Include it first: it defines _GNU_SOURCE.
 *
 * Ownership: cgt_init() fills a caller-owned struct cgt; cgt_cleanup() kills
 * the children it spawned and removes every directory it made, and is safe to
 * call more than once (also from failure paths).
 */
#ifndef TOPOGUARD_TESTS_BPF_CGTEST_H
#define TOPOGUARD_TESTS_BPF_CGTEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpf/usage.h"

#define CGT_ROOT "/sys/fs/cgroup"
#define CGT_MAX	 8
#define CGT_NS	 1000000000ULL

static const char *const cgt_hier[] = {"cpu", "cpuacct", "cpuset", "memory", "unified"};
#define CGT_NR_HIER (sizeof(cgt_hier) / sizeof(cgt_hier[0]))

struct cgt {
	char top[64]; /* "tg-h5-test-<pid>" below every hierarchy */
	bool has_v2;
	int nr_leaves;
	char leaves[CGT_MAX][32];
	int nr_children;
	pid_t children[CGT_MAX];
};

/* cgroup2 mounted at CGT_ROOT itself: no v1 controller anywhere. */
static inline bool cgt_v2_only(void)
{
	static int v2 = -1;

	if (v2 < 0)
		v2 = access(CGT_ROOT "/cgroup.controllers", F_OK) == 0;
	return v2;
}

/* The hierarchy usage_new() should follow here: v1 where the controllers are. */
static inline enum usage_hierarchy cgt_usage_hier(void)
{
	return cgt_v2_only() ? USAGE_HIER_V2 : USAGE_HIER_V1;
}

static inline int cgt_read(const char *path, char *buf, size_t size);

/* Returns NULL when the tests can run here, else why not (for the exit-77 line). */
static inline const char *cgt_skip_reason(void)
{
	char ctl[256];

	if (geteuid() != 0)
		return "needs root (real cgroups and BPF)";
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return "no kernel BTF at /sys/kernel/btf/vmlinux";
	if (cgt_v2_only()) {
		if (cgt_read(CGT_ROOT "/cgroup.subtree_control", ctl, sizeof(ctl)) < 0 ||
		    !strstr(ctl, "cpu") || !strstr(ctl, "cpuset") || !strstr(ctl, "memory"))
			return "cgroup v2: cpu, cpuset and memory not in " CGT_ROOT
			       "/cgroup.subtree_control";
		return NULL;
	}
	if (access(CGT_ROOT "/cpu/tasks", F_OK) != 0 ||
	    access(CGT_ROOT "/cpuacct/tasks", F_OK) != 0 ||
	    access(CGT_ROOT "/cpuset/tasks", F_OK) != 0 ||
	    access(CGT_ROOT "/memory/tasks", F_OK) != 0)
		return "cgroup v1 cpu/cpuacct/cpuset/memory not mounted at " CGT_ROOT;
	return NULL;
}

static inline __u64 cgt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * CGT_NS + (__u64)ts.tv_nsec;
}

static inline void cgt_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* hier is a v1 controller's directory or "unified"; on a v2-only host all are the root. */
static inline int cgt_path(char *buf, size_t size, const char *hier, const char *top,
			   const char *leaf, const char *file)
{
	int n = snprintf(buf, size, CGT_ROOT "/%s%s%s%s%s%s%s", cgt_v2_only() ? "" : hier,
			 cgt_v2_only() ? "" : "/", top, leaf ? "/" : "", leaf ? leaf : "",
			 file ? "/" : "", file ? file : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static inline int cgt_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static inline int cgt_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static inline int cgt_set(struct cgt *t, const char *hier, const char *leaf, const char *file,
			  const char *val)
{
	char path[512];
	int r = cgt_path(path, sizeof(path), hier, t->top, leaf, file);

	return r < 0 ? r : cgt_write(path, val);
}

static inline int cgt_get_u64(struct cgt *t, const char *hier, const char *leaf, const char *file,
			      __u64 *ret)
{
	char path[512], buf[64];
	int r = cgt_path(path, sizeof(path), hier, t->top, leaf, file);

	if (r == 0)
		r = cgt_read(path, buf, sizeof(buf));
	if (r == 0)
		*ret = strtoull(buf, NULL, 10);
	return r;
}

/* The kernel's CPU time of a leaf: cpuacct.usage (v1), cpu.stat usage_usec (v2 only). */
static inline int cgt_cpu_usage_ns(struct cgt *t, const char *leaf, __u64 *ret)
{
	char path[512], buf[1024];
	unsigned long long us;
	int r;

	if (!cgt_v2_only())
		return cgt_get_u64(t, "cpuacct", leaf, "cpuacct.usage", ret);
	r = cgt_path(path, sizeof(path), "", t->top, leaf, "cpu.stat");
	if (r == 0)
		r = cgt_read(path, buf, sizeof(buf));
	if (r == 0 && sscanf(buf, "usage_usec %llu", &us) != 1)
		r = -EBADMSG;
	if (r == 0)
		*ret = us * 1000;
	return r;
}

/* A CFS quota: cpu.cfs_quota_us + cpu.cfs_period_us (v1), cpu.max (v2 only). */
static inline int cgt_set_quota(struct cgt *t, const char *leaf, unsigned int quota_us,
				unsigned int period_us)
{
	char q[32], p[32], max[64];
	int r;

	if (cgt_v2_only()) {
		snprintf(max, sizeof(max), "%u %u", quota_us, period_us);
		return cgt_set(t, "cpu", leaf, "cpu.max", max);
	}
	snprintf(q, sizeof(q), "%u", quota_us);
	snprintf(p, sizeof(p), "%u", period_us);
	r = cgt_set(t, "cpu", leaf, "cpu.cfs_period_us", p);
	return r < 0 ? r : cgt_set(t, "cpu", leaf, "cpu.cfs_quota_us", q);
}

/* A hard memory limit without swap: memory.limit_in_bytes (v1), memory.max (v2 only). */
static inline int cgt_set_mem_limit(struct cgt *t, const char *leaf, const char *bytes)
{
	int r;

	if (cgt_v2_only()) {
		r = cgt_set(t, "memory", leaf, "memory.max", bytes);
		cgt_set(t, "memory", leaf, "memory.swap.max", "0"); /* absent without swap */
		return r;
	}
	r = cgt_set(t, "memory", leaf, "memory.limit_in_bytes", bytes);
	cgt_set(t, "memory", leaf, "memory.memsw.limit_in_bytes", bytes); /* absent w/o swap */
	return r;
}

/*
 * A v1 cpuset cgroup accepts tasks only once cpus and mems are set. On v2 an
 * empty cpuset.mems means the parent's, and the top needs no cpus of its own.
 */
static inline int cgt_cpuset_init(struct cgt *t, const char *leaf, const char *cpus)
{
	char mems[64];
	int r;

	if (cgt_v2_only())
		return leaf ? cgt_set(t, "cpuset", leaf, "cpuset.cpus", cpus) : 0;
	r = cgt_read(CGT_ROOT "/cpuset/cpuset.mems", mems, sizeof(mems));

	if (r == 0)
		r = cgt_set(t, "cpuset", leaf, "cpuset.cpus", cpus);
	return r == 0 ? cgt_set(t, "cpuset", leaf, "cpuset.mems", mems) : r;
}

/* The hierarchies the tree lives in: the v1 ones (+ unified), or only the v2 root. */
static inline size_t cgt_nr_hier(const struct cgt *t)
{
	return cgt_v2_only() ? 1 : t->has_v2 ? CGT_NR_HIER : CGT_NR_HIER - 1;
}

static inline int cgt_mkdir_all(struct cgt *t, const char *leaf)
{
	char path[512];

	for (size_t h = 0; h < cgt_nr_hier(t); h++) {
		if (cgt_path(path, sizeof(path), cgt_hier[h], t->top, leaf, NULL) < 0)
			return -ENAMETOOLONG;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	/* v2: the leaves get the controllers only if the top hands them down. */
	if (cgt_v2_only() && !leaf)
		return cgt_set(t, "", NULL, "cgroup.subtree_control", "+cpu +cpuset +memory");
	return 0;
}

static inline void cgt_cleanup(struct cgt *t);

static inline int cgt_init(struct cgt *t)
{
	char cpus[64];
	int r;

	memset(t, 0, sizeof(*t));
	snprintf(t->top, sizeof(t->top), "tg-h5-test-%d", (int)getpid());
	t->has_v2 = cgt_v2_only() || access(CGT_ROOT "/unified/cgroup.controllers", F_OK) == 0;
	r = cgt_mkdir_all(t, NULL);
	if (r == 0)
		r = cgt_read(cgt_v2_only() ? CGT_ROOT "/cpuset.cpus.effective"
					   : CGT_ROOT "/cpuset/cpuset.cpus",
			     cpus, sizeof(cpus));
	if (r == 0)
		r = cgt_cpuset_init(t, NULL, cpus);
	if (r < 0)
		cgt_cleanup(t);
	return r;
}

/* Makes <top>/<leaf> everywhere; cpus restricts its cpuset ("0-1", "1", ...). */
static inline int cgt_leaf(struct cgt *t, const char *leaf, const char *cpus)
{
	int r;

	if (t->nr_leaves == CGT_MAX)
		return -ENOSPC;
	snprintf(t->leaves[t->nr_leaves++], sizeof(t->leaves[0]), "%s", leaf);
	r = cgt_mkdir_all(t, leaf);
	return r < 0 ? r : cgt_cpuset_init(t, leaf, cpus);
}

/* The path usage_register() wants: relative to each hierarchy root. */
static inline void cgt_rel(const struct cgt *t, const char *leaf, char *buf, size_t size)
{
	snprintf(buf, size, "/%s/%s", t->top, leaf);
}

static inline int cgt_join(struct cgt *t, const char *leaf, pid_t pid)
{
	char val[32];
	int r;

	snprintf(val, sizeof(val), "%d\n", (int)pid);
	for (size_t h = 0; h < cgt_nr_hier(t); h++) {
		r = cgt_set(t, cgt_hier[h], leaf, "cgroup.procs", val);
		if (r < 0)
			return r;
	}
	return 0;
}

typedef void (*cgt_work_fn)(void *arg);

/*
 * Forks a child, moves it into leaf (and onto cpu if cpu >= 0) BEFORE it runs
 * fn, so all of fn's time is charged there. Returns the pid or -errno.
 */
static inline pid_t cgt_spawn(struct cgt *t, const char *leaf, int cpu, cgt_work_fn fn, void *arg)
{
	int go[2];
	pid_t pid;
	char c;

	if (t->nr_children == CGT_MAX || pipe2(go, O_CLOEXEC) < 0)
		return -EMFILE;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	t->children[t->nr_children++] = pid;
	if (cgt_join(t, leaf, pid) < 0)
		return -EIO;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(pid, sizeof(set), &set) < 0)
			return -errno;
	}
	if (write(go[1], "g", 1) != 1)
		return -EIO;
	close(go[1]);
	return pid;
}

/*
 * Kills and reaps one child; returns its wait status. ret_cpu_ns (optional): the CPU
 * time the child itself used (user + system, from wait4()), an account independent of
 * any cgroup's.
 */
static inline int cgt_reap_cpu(struct cgt *t, pid_t pid, bool kill_it, __u64 *ret_cpu_ns)
{
	struct rusage ru = {0};
	int status = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	if (ret_cpu_ns)
		*ret_cpu_ns = ((__u64)ru.ru_utime.tv_sec + (__u64)ru.ru_stime.tv_sec) * CGT_NS +
			      ((__u64)ru.ru_utime.tv_usec + (__u64)ru.ru_stime.tv_usec) * 1000;
	for (int i = 0; i < t->nr_children; i++) {
		if (t->children[i] == pid)
			t->children[i] = t->children[--t->nr_children];
	}
	return status;
}

static inline int cgt_reap(struct cgt *t, pid_t pid, bool kill_it)
{
	return cgt_reap_cpu(t, pid, kill_it, NULL);
}

static inline void cgt_cleanup(struct cgt *t)
{
	char path[512];

	while (t->nr_children)
		cgt_reap(t, t->children[0], true);
	if (!t->top[0])
		return;
	/* Leaves first (l >= 0), then the top (l == -1). */
	for (int l = t->nr_leaves - 1; l >= -1; l--) {
		for (size_t h = 0; h < cgt_nr_hier(t); h++) {
			if (cgt_path(path, sizeof(path), cgt_hier[h], t->top,
				     l < 0 ? NULL : t->leaves[l], NULL) == 0)
				rmdir(path);
		}
	}
	t->nr_leaves = 0;
}

/* ---- workloads ---- */

static inline void cgt_burn(void *arg)
{
	volatile unsigned long x = 0;

	(void)arg;
	for (;;)
		x++;
}

/* Sleeps 1 ms in a loop and counts its wakeups in shared memory (arg). */
static inline void cgt_sleeper(void *arg)
{
	volatile unsigned long *wakeups = arg;

	for (;;) {
		cgt_sleep_ms(1);
		(*wakeups)++;
	}
}

static inline void *cgt_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* usage_collect() now, adding the sample into *acc (counters summed). */
static inline int cgt_collect(struct usage *u, const char *id, struct usage_sample *acc)
{
	struct usage_sample s;
	int r = usage_collect(u, cgt_now());

	if (r < 0 || !acc)
		return r;
	r = usage_get(u, id, &s);
	if (r == -EAGAIN)
		return 0;
	if (r < 0)
		return r;
	acc->valid = s.valid;
	acc->interval_ns += s.interval_ns;
	acc->cpu_ns += s.cpu_ns;
	acc->rq_samples += s.rq_samples;
	acc->preempt_received += s.preempt_received;
	acc->preempt_inflicted += s.preempt_inflicted;
	acc->intrusion_ns += s.intrusion_ns;
	acc->oom_kills = s.oom_kills;
	return 0;
}

#endif
