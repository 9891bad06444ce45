/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's test rig, shared by tests/integration/test_closed_loop.c and
 * bench/isolation.c (header-only: no Makefile change). Real v1 cgroups where the
 * simulator's cgroupfs driver says containers are (/kubepods/<qos>/pod<uid>/<id>
 * under cpu, cpuacct and memory), and the workloads:
 *   - a wakeup-latency probe (cyclictest-like): sleeps 1 ms with an absolute
 *     clock_nanosleep and records how late it woke, in shared memory;
 *   - CPU burners counting their loops in shared memory;
 *   - a memory hog that records when it crossed a watermark.
 * A process is pinned with sched_setaffinity, or runs wherever its cpuset lets it
 * (cpu < 0), and is killed by the caller (PR_SET_PDEATHSIG as a safety net). Functions return 0 / -errno. Include it
 * with _GNU_SOURCE defined (sched_setaffinity).
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RIG_PROBE_MAX 65536
#define RIG_NCTRL     3

static const char *const rig_ctrls[RIG_NCTRL] = {"cpu", "cpuacct", "memory"};

struct rig_sample {
	uint64_t t;    /* CLOCK_MONOTONIC ns of the wakeup */
	uint64_t late; /* ns past the deadline */
};

/* Shared between the test and its children (MAP_SHARED | MAP_ANONYMOUS). */
struct rig_shared {
	volatile uint64_t n; /* probe samples written */
	struct rig_sample s[RIG_PROBE_MAX];
	volatile uint64_t loops[8];   /* per burner */
	volatile uint64_t crossed_ns; /* the hog passed its watermark */
};

static inline uint64_t rig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct rig_shared *rig_shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct rig_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Forget the samples and loops of workloads that are gone. */
static inline void rig_reset(struct rig_shared *sh)
{
	sh->n = 0;
	memset((void *)sh->loops, 0, sizeof(sh->loops));
}

static inline int rig_write(const char *ctrl, const char *rel, const char *file, const char *val)
{
	char p[512];
	int fd, r = 0;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", ctrl, rel, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static inline long long rig_read_ll(const char *ctrl, const char *rel, const char *file)
{
	char p[512];
	long long v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", ctrl, rel, file);
	f = fopen(p, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The first line of /sys/fs/cgroup/ctrl/rel/file into buf (no newline); -errno. */
static inline int rig_read_str(const char *ctrl, const char *rel, const char *file, char *buf,
			       size_t size)
{
	char p[512];
	FILE *f;
	int r = 0;

	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", ctrl, rel, file);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		r = -EIO;
	fclose(f);
	buf[r < 0 ? 0 : strcspn(buf, "\n")] = '\0';
	return r;
}

/* mkdir -p of rel in every controller. */
static inline int rig_mkcg(const char *rel)
{
	for (int c = 0; c < RIG_NCTRL; c++) {
		char p[512];
		size_t base;

		base = (size_t)snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", rig_ctrls[c]);
		snprintf(p + base, sizeof(p) - base, "%s", rel);
		for (char *s = p + base + 1;; s++) {
			char ch = *s;

			if (ch != '/' && ch != '\0')
				continue;
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*s = ch;
			if (!ch)
				break;
		}
	}
	return 0;
}

/* rmdir rel and its parents up to (not including) /kubepods; busy ones stay. */
static inline void rig_rmcg(const char *rel)
{
	for (int c = 0; c < RIG_NCTRL; c++) {
		char p[512];
		char *slash;

		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", rig_ctrls[c], rel);
		for (int i = 0; i < 8; i++) {
			if (strstr(p, "/kubepods") && !strcmp(strstr(p, "/kubepods"), "/kubepods"))
				break;
			rmdir(p);
			slash = strrchr(p, '/');
			if (!slash)
				break;
			*slash = '\0';
		}
	}
}

/* Move process pid into cgroup rel (cpuset where it exists, cpu, cpuacct, memory). */
static inline int rig_move(pid_t who, const char *rel)
{
	char pid[32];
	int r;

	snprintf(pid, sizeof(pid), "%d", (int)who);
	/* the cpuset hierarchy only where a runtime (nri-sim --apply-cgroups) made it */
	r = rig_write("cpuset", rel, "tasks", pid);
	if (r < 0 && r != -ENOENT)
		return r;
	for (int c = 0; c < RIG_NCTRL; c++) {
		r = rig_write(rig_ctrls[c], rel, "tasks", pid);
		/* cpuacct is a separate hierarchy here; nri-sim --apply-cgroups makes
		 * cpuset, cpu and memory only */
		if (r < 0 && !(r == -ENOENT && !strcmp(rig_ctrls[c], "cpuacct")))
			return r;
	}
	return 0;
}

/*
 * A cpuset cgroup rel with the CPUs and memory nodes of cpuset cgroup like (v1 makes a
 * new one empty, and nobody can join it then); 0 without a cpuset hierarchy at like.
 */
static inline int rig_mkcg_cpuset(const char *rel, const char *like)
{
	char p[512], cpus[256], mems[256];

	if (rig_read_str("cpuset", like, "cpuset.cpus", cpus, sizeof(cpus)) < 0)
		return 0;
	if (rig_read_str("cpuset", like, "cpuset.mems", mems, sizeof(mems)) < 0)
		return -EIO;
	snprintf(p, sizeof(p), "/sys/fs/cgroup/cpuset%s", rel);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (rig_write("cpuset", rel, "cpuset.cpus", cpus) < 0 ||
	    rig_write("cpuset", rel, "cpuset.mems", mems) < 0)
		return -EIO;
	return 0;
}

/* Cpus_allowed_list of process who (where the kernel lets it run) into buf; -errno. */
static inline int rig_allowed(pid_t who, char *buf, size_t size)
{
	static const char key[] = "Cpus_allowed_list:";
	char p[64], line[512];
	int r = -ENOENT;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)who);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char *v = line + sizeof(key) - 1;

		if (strncmp(line, key, sizeof(key) - 1))
			continue;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, size, "%s", v);
		r = 0;
	}
	fclose(f);
	return r;
}

/* The state letter of process who in /proc (R running, S sleeping, T stopped, Z...). */
static inline char rig_state(pid_t who)
{
	char p[64], line[128];
	char st = '?';
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)who);
	f = fopen(p, "re");
	if (!f)
		return st;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:", 6) && sscanf(line + 6, " %c", &st) == 1)
			break;
	fclose(f);
	return st;
}

static inline int rig_join(const char *rel)
{
	return rig_move(getpid(), rel);
}

/* Pin process who (0: this one) to cpu. */
static inline int rig_pin_pid(pid_t who, int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(who, sizeof(s), &s) < 0 ? -errno : 0;
}

static inline int rig_pin(int cpu)
{
	return rig_pin_pid(0, cpu);
}

/* Every online CPU: undo a pin inherited from the parent. */
static inline int rig_unpin(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t s;

	CPU_ZERO(&s);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET((int)i, &s);
	return sched_setaffinity(0, sizeof(s), &s) < 0 ? -errno : 0;
}

/*
 * fork a child in cgroup rel (NULL: stay), pinned to cpu (< 0: free to run on
 * every CPU its cpuset allows); the child runs fn.
 */
static inline pid_t rig_spawn(const char *rel, int cpu, void (*fn)(struct rig_shared *, int),
			      struct rig_shared *sh, int arg)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* unpin before joining: a cpuset join then narrows the mask to the cpuset */
	if ((cpu < 0 && rig_unpin() < 0) || (rel && rig_join(rel) < 0) ||
	    (cpu >= 0 && rig_pin(cpu) < 0))
		_exit(1);
	fn(sh, arg);
	_exit(0);
}

static inline void rig_probe_fn(struct rig_shared *sh, int arg)
{
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1UL); /* the default 50 µs slack would be all we measure */
	for (;;) {
		uint64_t want = rig_now() + 1000000, n = sh->n;
		struct timespec ts = {(time_t)(want / 1000000000), (long)(want % 1000000000)};

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (n < RIG_PROBE_MAX) {
			uint64_t t = rig_now();

			sh->s[n].t = t;
			sh->s[n].late = t > want ? t - want : 0;
			__atomic_store_n(&sh->n, n + 1, __ATOMIC_RELEASE);
		}
	}
}

static inline void rig_burner_fn(struct rig_shared *sh, int idx)
{
	for (;;) {
		for (volatile int i = 0; i < 1000; i++)
			;
		sh->loops[idx]++;
	}
}

/* Touches arg MiB in 4 MiB steps, 20 ms apart; crossed_ns once past 64 MiB. */
static inline void rig_hog_fn(struct rig_shared *sh, int mib)
{
	for (int done = 0; done < mib; done += 4) {
		char *p = malloc(4 << 20);

		if (!p)
			_exit(1);
		memset(p, 1, 4 << 20);
		if (done + 4 >= 64 && !sh->crossed_ns)
			sh->crossed_ns = rig_now();
		usleep(20000);
	}
	pause();
}

static inline void rig_kill(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static inline int rig_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Lateness (ns) of the probe samples with from <= t < to, sorted, into out. */
static inline size_t rig_lateness(const struct rig_shared *sh, uint64_t from, uint64_t to,
				  uint64_t *out, size_t max)
{
	uint64_t n = __atomic_load_n(&sh->n, __ATOMIC_ACQUIRE);
	size_t k = 0;

	for (uint64_t i = 0; i < n && k < max; i++)
		if (sh->s[i].t >= from && sh->s[i].t < to)
			out[k++] = sh->s[i].late;
	qsort(out, k, sizeof(*out), rig_cmp_u64);
	return k;
}

/* The pct percentile (0..100) of n sorted values, 0 if none. */
static inline uint64_t rig_pct(const uint64_t *v, size_t n, double pct)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(pct / 100.0 * (double)n);
	return v[i < n ? i : n - 1];
}

/*
 * When the probe's p99 first exceeded target_ns, as the probe saw it: the first
 * sample at or after from whose trailing window (window_ns) has a p99 over the
 * target (at least 20 samples). 0 if never. One late wakeup is not a breach.
 */
static inline uint64_t rig_first_breach(const struct rig_shared *sh, uint64_t from,
					uint64_t window_ns, uint64_t target_ns)
{
	static uint64_t w[4096];
	uint64_t n = __atomic_load_n(&sh->n, __ATOMIC_ACQUIRE);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t t = sh->s[i].t;
		size_t k = 0;

		if (t < from)
			continue;
		for (uint64_t j = i + 1; j-- > 0 && sh->s[j].t + window_ns > t && k < 4096;)
			w[k++] = sh->s[j].late;
		if (k < 20)
			continue;
		qsort(w, k, sizeof(w[0]), rig_cmp_u64);
		if (rig_pct(w, k, 99) > target_ns)
			return t;
	}
	return 0;
}

#define RIG_WINDOW 100 /* wakeups per window of rig_stats.late_med */

/* What the probe saw over [from, to). */
struct rig_stats {
	uint64_t from, to;	/* the time measured */
	size_t n;		/* wakeups */
	uint64_t p50, p90, p99; /* lateness, ns */
	double late;		/* share of wakeups later than the threshold given */
	double late_med;	/* the same share in each RIG_WINDOW wakeups: the median */
};

/*
 * The median over consecutive windows of RIG_WINDOW wakeups (the last, partial one
 * left out) of the share later than late_ns; 0 without a whole window.
 */
static inline double rig_late_median(const struct rig_shared *sh, uint64_t from, uint64_t to,
				     uint64_t late_ns)
{
	static uint64_t per[RIG_PROBE_MAX / RIG_WINDOW];
	uint64_t n = __atomic_load_n(&sh->n, __ATOMIC_ACQUIRE);
	size_t k = 0, over = 0, nw = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (sh->s[i].t < from || sh->s[i].t >= to)
			continue;
		over += sh->s[i].late > late_ns;
		if (++k < RIG_WINDOW)
			continue;
		per[nw++] = over;
		k = over = 0;
	}
	qsort(per, nw, sizeof(per[0]), rig_cmp_u64);
	return nw ? (double)per[nw / 2] / RIG_WINDOW : 0;
}

static inline void rig_stats_of(const struct rig_shared *sh, uint64_t from, uint64_t to,
				uint64_t late_ns, struct rig_stats *st)
{
	static uint64_t v[RIG_PROBE_MAX];
	size_t over = 0;

	st->from = from;
	st->to = to;
	st->n = rig_lateness(sh, from, to, v, RIG_PROBE_MAX);
	st->p50 = rig_pct(v, st->n, 50);
	st->p90 = rig_pct(v, st->n, 90);
	st->p99 = rig_pct(v, st->n, 99);
	while (over < st->n && v[st->n - 1 - over] > late_ns)
		over++;
	st->late = st->n ? (double)over / (double)st->n : 0;
	st->late_med = rig_late_median(sh, from, to, late_ns);
}

/* Wakeups of the probe at or after from. */
static inline size_t rig_count(const struct rig_shared *sh, uint64_t from)
{
	uint64_t n = __atomic_load_n(&sh->n, __ATOMIC_ACQUIRE);
	size_t k = 0;

	for (uint64_t i = n; i-- > 0 && sh->s[i].t >= from;)
		k++;
	return k;
}
