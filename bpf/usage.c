/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-container usage collector; see usage.h. Cumulative counters are read on
 * every usage_collect() and turned into deltas against the previous collect,
 * so nothing here depends on when the BPF side last reset anything except a
 * slot reuse, which usageprog_slot_set() zeroes before the slot is mapped.
 */
#define _GNU_SOURCE /* O_PATH, reallocarray */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf/cgstat.h"
#include "bpf/statwin.h"
#include "bpf/usage.h"
#include "bpf/usage_hist.h"
#include "bpf/usageprog.h"

#define USAGE_DEFAULT_ROOT "/sys/fs/cgroup"
#define USAGE_WORDS(bits)  (((bits) + 63) / 64)

/* Cumulative values at one collect. */
struct usage_raw {
	struct usage_slot_stats bpf;
	__u64 cpu_ns; /* poll backend */
	struct cgstat_cpu cpu_stat;
	bool has_cpu_ns;
	bool has_cpu_stat;
};

struct usage_ctr {
	char *id;
	__u32 slot;  /* 0 with the poll backend */
	int cpu_fd;  /* v1 cpu dir, or the v2 dir */
	int acct_fd; /* v1 cpuacct dir, -1 if absent or v2 */
	int mem_fd;  /* v1 memory dir, or the v2 dir (dup) */
	__u64 cgid;
	__u64 memcgid;
	__u64 owned[USAGE_WORDS(USAGE_MAX_CPUS)];
	__u64 oom_kills;
	__u64 oom_base; /* poll backend: oom_kill counter at registration */
	struct usage_raw prev;
	__u64 prev_ts;
	bool have_prev;
	bool have_sample;
	bool live; /* usage_set_live() */
	struct usage_sample sample;
};

struct usage {
	enum usage_backend backend;
	enum usage_hierarchy hier;
	int bpf_err;
	int cpu_root_fd;  /* v1 cpu hierarchy or the v2 root */
	int acct_root_fd; /* v1 cpuacct hierarchy, -1 on v2 */
	int mem_root_fd;  /* v1 memory hierarchy or the v2 root */
	struct usageprog *prog;
	bool on_demand; /* opts.attach_on_demand */
	bool attached;
	size_t n_live; /* containers marked live */
	int nr_cpus;
	struct usage_ctr **ctrs;
	size_t n_ctrs;
	size_t cap_ctrs;
	__u64 slots_used[USAGE_WORDS(USAGE_MAX_SLOTS)];
	__u64 *intr_prev; /* per-CPU cumulative intrusion at the previous collect */
	__u64 *intr_now;
	struct statwin oh_win;		 /* when the run-time statistics are on */
	struct usageprog_stats oh_begin; /* counters when the current window opened */
	struct usage_overhead oh_last;	 /* the last completed window */
};

static bool bit_test(const __u64 *words, unsigned int bit)
{
	return words[bit / 64] & (1ULL << (bit % 64));
}

static void bit_set(__u64 *words, unsigned int bit, bool on)
{
	if (on)
		words[bit / 64] |= 1ULL << (bit % 64);
	else
		words[bit / 64] &= ~(1ULL << (bit % 64));
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int open_dir(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static bool has_file(int dirfd, const char *path)
{
	return faccessat(dirfd, path, F_OK, 0) == 0;
}

/* Opens the hierarchy roots below root_fd; see enum usage_hierarchy. */
static int usage_open_roots(struct usage *u, int root_fd, enum usage_hierarchy want)
{
	const char *v2 = has_file(root_fd, "cgroup.controllers")	   ? "."
			 : has_file(root_fd, "unified/cgroup.controllers") ? "unified"
									   : NULL;
	bool v1 = has_file(root_fd, "cpu/tasks");

	if (want == USAGE_HIER_AUTO)
		want = v1 ? USAGE_HIER_V1 : USAGE_HIER_V2;
	if ((want == USAGE_HIER_V1 && !v1) || (want == USAGE_HIER_V2 && !v2))
		return -ENOENT;
	u->hier = want;
	if (want == USAGE_HIER_V2) {
		u->cpu_root_fd = open_dir(root_fd, v2);
		u->mem_root_fd = open_dir(root_fd, v2);
		return u->cpu_root_fd < 0   ? u->cpu_root_fd
		       : u->mem_root_fd < 0 ? u->mem_root_fd
					    : 0;
	}
	u->cpu_root_fd = open_dir(root_fd, "cpu");
	if (u->cpu_root_fd < 0)
		return u->cpu_root_fd;
	u->acct_root_fd = open_dir(root_fd, "cpuacct"); /* optional */
	u->mem_root_fd = open_dir(root_fd, "memory");	/* optional */
	return 0;
}

static int usage_start_bpf(struct usage *u, const struct usage_opts *opts)
{
	bool rq_from_wakeups = opts->rq_from_wakeups || access("/proc/self/schedstat", R_OK) != 0;
	unsigned int oh_window_ms = opts->overhead_window_ms;
	unsigned int oh_period_ms = opts->overhead_period_ms;
	struct usageprog_opts po = {
		.no_stats = true, /* usage_overhead_step() turns them on per window */
		.cgroup_mode = u->hier == USAGE_HIER_V1 ? USAGE_CGROUP_V1 : USAGE_CGROUP_V2,
		.rq_source = rq_from_wakeups		? USAGE_RQ_WAKEUP
			     : opts->rq_migration_waits ? USAGE_RQ_SCHEDSTAT_TASK
							: USAGE_RQ_SCHEDSTAT,
		.no_tick_pin = opts->no_tick_pin,
		.no_attach = opts->attach_on_demand,
	};
	int r = usageprog_open(&po, &u->prog);

	if (r < 0)
		return r;
	u->on_demand = opts->attach_on_demand;
	u->attached = !opts->attach_on_demand;
	statwin_init(&u->oh_win, (__u64)oh_window_ms * 1000000, (__u64)oh_period_ms * 1000000);
	u->nr_cpus = usageprog_nr_cpus(u->prog);
	u->intr_prev = calloc((size_t)u->nr_cpus, sizeof(__u64));
	u->intr_now = calloc((size_t)u->nr_cpus, sizeof(__u64));
	if (!u->intr_prev || !u->intr_now)
		return -ENOMEM;
	u->backend = USAGE_BACKEND_BPF;
	return 0;
}

static int usage_init(struct usage *u, const struct usage_opts *opts)
{
	const char *root = opts->cgroup_root ? opts->cgroup_root : USAGE_DEFAULT_ROOT;
	int root_fd, r;

	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	r = usage_open_roots(u, root_fd, opts->hierarchy);
	close(root_fd);
	if (r < 0)
		return r;
	bit_set(u->slots_used, 0, true); /* slot 0 is "other" */
	if (opts->backend == USAGE_BACKEND_POLL) {
		u->backend = USAGE_BACKEND_POLL;
		return 0;
	}
	r = usage_start_bpf(u, opts);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		u->bpf_err = r;
		usageprog_free(u->prog);
		u->prog = NULL;
		if (opts->backend == USAGE_BACKEND_BPF)
			return USAGE_E_NOBPF;
		u->backend = USAGE_BACKEND_POLL;
		return 1;
	}
	return 0;
}

int usage_new(const struct usage_opts *opts, struct usage **ret)
{
	struct usage_opts defaults = {0};
	struct usage *u;
	int r;

	if (!ret)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->cpu_root_fd = u->acct_root_fd = u->mem_root_fd = -1;
	r = usage_init(u, opts ? opts : &defaults);
	if (r < 0) {
		usage_free(u);
		return r;
	}
	*ret = u;
	return r;
}

static void usage_ctr_free(struct usage_ctr *c)
{
	if (!c)
		return;
	close_fd(&c->cpu_fd);
	close_fd(&c->acct_fd);
	close_fd(&c->mem_fd);
	free(c->id);
	free(c);
}

void usage_free(struct usage *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_ctrs; i++)
		usage_ctr_free(u->ctrs[i]);
	free(u->ctrs);
	usageprog_free(u->prog);
	free(u->intr_prev);
	free(u->intr_now);
	close_fd(&u->cpu_root_fd);
	close_fd(&u->acct_root_fd);
	close_fd(&u->mem_root_fd);
	free(u);
}

enum usage_backend usage_backend(const struct usage *u)
{
	return u->backend;
}

int usage_bpf_error(const struct usage *u)
{
	return u->bpf_err;
}

enum usage_hierarchy usage_hierarchy(const struct usage *u)
{
	return u->hier;
}

size_t usage_notes(const struct usage *u, const char **ret, size_t max)
{
	size_t n = 0;

	if (u->backend == USAGE_BACKEND_BPF && usageprog_tick_unpinned(u->prog)) {
		if (n < max)
			ret[n] = "progress timer not CPU-pinned (kernel before 6.7): a run is "
				 "charged at switch-out if timer migration moves its tick";
		n++;
	}
	return n;
}

static struct usage_ctr *usage_find(const struct usage *u, const char *id, size_t *ret_idx)
{
	for (size_t i = 0; id && i < u->n_ctrs; i++) {
		if (strcmp(u->ctrs[i]->id, id) == 0) {
			if (ret_idx)
				*ret_idx = i;
			return u->ctrs[i];
		}
	}
	return NULL;
}

/* Relative form of a cgroup path; rejects ".." so a path cannot leave the root. */
static int usage_rel_path(const char *path, const char **ret)
{
	const char *p = path;

	if (!path)
		return -EINVAL;
	while (*p == '/')
		p++;
	for (const char *s = p; *s;) {
		size_t len = strcspn(s, "/");

		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EINVAL;
		s += len;
		s += strspn(s, "/");
	}
	*ret = *p ? p : ".";
	return 0;
}

static int usage_ctr_open_dirs(struct usage *u, struct usage_ctr *c, const char *rel)
{
	struct stat st;
	int r;

	r = open_dir(u->cpu_root_fd, rel);
	if (r < 0)
		return r;
	c->cpu_fd = r;
	if (fstat(c->cpu_fd, &st) < 0)
		return -errno;
	c->cgid = st.st_ino; /* kn->id == inode number of the cgroup directory */
	c->memcgid = c->cgid;
	if (u->acct_root_fd >= 0)
		c->acct_fd = open_dir(u->acct_root_fd, rel); /* optional: < 0 is absent */
	if (u->mem_root_fd >= 0 && u->hier == USAGE_HIER_V1) {
		c->mem_fd = open_dir(u->mem_root_fd, rel);
		if (c->mem_fd >= 0 && fstat(c->mem_fd, &st) == 0)
			c->memcgid = st.st_ino;
	} else if (u->hier == USAGE_HIER_V2) {
		c->mem_fd = open_dir(u->cpu_root_fd, rel);
	}
	return 0;
}

static int usage_alloc_slot(struct usage *u, __u32 *ret)
{
	for (__u32 s = 1; s < USAGE_MAX_SLOTS; s++) {
		if (!bit_test(u->slots_used, s)) {
			bit_set(u->slots_used, s, true);
			*ret = s;
			return 0;
		}
	}
	return -ENOSPC;
}

static int usage_ctr_oom_base(struct usage *u, struct usage_ctr *c)
{
	const char *file = u->hier == USAGE_HIER_V1 ? "memory.oom_control" : "memory.events";

	if (c->mem_fd < 0 || cgstat_read_key(c->mem_fd, file, "oom_kill", &c->oom_base) < 0)
		c->oom_base = 0;
	return 0;
}

static int usage_add(struct usage *u, struct usage_ctr *c)
{
	struct usage_ctr **n;

	if (u->n_ctrs == u->cap_ctrs) {
		size_t cap = u->cap_ctrs ? u->cap_ctrs * 2 : 16;

		n = reallocarray(u->ctrs, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		u->ctrs = n;
		u->cap_ctrs = cap;
	}
	u->ctrs[u->n_ctrs++] = c;
	return 0;
}

static int usage_ctr_new(struct usage *u, const char *id, const char *rel, struct usage_ctr **ret)
{
	struct usage_ctr *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->cpu_fd = c->acct_fd = c->mem_fd = -1;
	c->id = strdup(id);
	if (!c->id) {
		usage_ctr_free(c);
		return -ENOMEM;
	}
	r = usage_ctr_open_dirs(u, c, rel);
	if (r < 0) {
		usage_ctr_free(c);
		return r;
	}
	usage_ctr_oom_base(u, c);
	*ret = c;
	return 0;
}

int usage_register(struct usage *u, const char *container_id, const char *cgroup_path)
{
	struct usage_ctr *c;
	const char *rel;
	int r;

	if (!container_id || !*container_id)
		return -EINVAL;
	r = usage_rel_path(cgroup_path, &rel);
	if (r < 0)
		return r;
	if (usage_find(u, container_id, NULL))
		return -EEXIST;
	r = usage_ctr_new(u, container_id, rel, &c);
	if (r < 0)
		return r;
	/* One cgroup, one slot: a second owner would steal the first one's mapping. */
	for (size_t i = 0; i < u->n_ctrs; i++) {
		if (u->ctrs[i]->cgid == c->cgid) {
			usage_ctr_free(c);
			return -EEXIST;
		}
	}
	if (u->prog) {
		r = usage_alloc_slot(u, &c->slot);
		if (r == 0)
			r = usageprog_slot_set(u->prog, c->cgid, c->slot);
		if (r < 0)
			goto fail;
	}
	r = usage_add(u, c);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (u->prog && c->slot) {
		usageprog_slot_clear(u->prog, c->cgid);
		bit_set(u->slots_used, c->slot, false);
	}
	usage_ctr_free(c);
	return r;
}

static void usage_release_cpus(struct usage *u, struct usage_ctr *c)
{
	for (unsigned int cpu = 0; cpu < USAGE_MAX_CPUS; cpu++) {
		if (!bit_test(c->owned, cpu))
			continue;
		bit_set(c->owned, cpu, false);
		if (u->prog)
			usageprog_owner_set(u->prog, cpu, 0);
	}
}

int usage_unregister(struct usage *u, const char *container_id)
{
	struct usage_ctr *c;
	size_t idx;

	c = usage_find(u, container_id, &idx);
	if (!c)
		return -ENOENT;
	usage_release_cpus(u, c);
	if (c->live)
		u->n_live--;
	if (u->prog) {
		usageprog_slot_clear(u->prog, c->cgid);
		bit_set(u->slots_used, c->slot, false);
	}
	u->ctrs[idx] = u->ctrs[--u->n_ctrs];
	usage_ctr_free(c);
	return 0;
}

int usage_set_exclusive(struct usage *u, const char *container_id, const unsigned int *cpus,
			size_t n)
{
	unsigned int max = u->prog ? (unsigned int)u->nr_cpus : USAGE_MAX_CPUS;
	struct usage_ctr *c;
	int r;

	c = usage_find(u, container_id, NULL);
	if (!c)
		return -ENOENT;
	if (n && !cpus)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (cpus[i] >= max)
			return -EINVAL;
	}
	usage_release_cpus(u, c);
	for (size_t i = 0; i < n; i++) {
		bit_set(c->owned, cpus[i], true);
		if (!u->prog)
			continue;
		r = usageprog_owner_set(u->prog, cpus[i], c->slot);
		if (r < 0)
			return r;
	}
	return 0;
}

int usage_cgroup_id(const struct usage *u, const char *container_id, __u64 *ret)
{
	const struct usage_ctr *c = usage_find(u, container_id, NULL);

	if (!c)
		return -ENOENT;
	*ret = c->cgid;
	return 0;
}

int usage_get(const struct usage *u, const char *container_id, struct usage_sample *ret)
{
	const struct usage_ctr *c = usage_find(u, container_id, NULL);

	if (!c)
		return -ENOENT;
	if (!c->have_sample)
		return -EAGAIN;
	*ret = c->sample;
	return 0;
}

/* ---- collection ------------------------------------------------------------ */

static void usage_on_oom(const struct usage_oom_event *ev, void *userdata)
{
	struct usage *u = userdata;

	for (size_t i = 0; i < u->n_ctrs; i++) {
		struct usage_ctr *c = u->ctrs[i];

		if (c->memcgid == ev->mem_cgroup_id || (ev->slot && ev->slot == c->slot)) {
			c->oom_kills++;
			return;
		}
	}
}

static void usage_read_raw(struct usage *u, struct usage_ctr *c, struct usage_raw *raw)
{
	memset(raw, 0, sizeof(*raw));
	if (u->attached && usageprog_read_slot(u->prog, c->slot, &raw->bpf) == 0) {
		raw->cpu_ns = raw->bpf.cpu_ns;
		raw->has_cpu_ns = true;
	}
	raw->has_cpu_stat = cgstat_read_cpu_stat(c->cpu_fd, &raw->cpu_stat) == 0;
	if (raw->has_cpu_ns)
		return;
	if (u->hier == USAGE_HIER_V2 && raw->has_cpu_stat && raw->cpu_stat.has_usage) {
		raw->cpu_ns = raw->cpu_stat.usage_ns;
		raw->has_cpu_ns = true;
	} else if (c->acct_fd >= 0) {
		raw->has_cpu_ns = cgstat_read_u64(c->acct_fd, "cpuacct.usage", &raw->cpu_ns) == 0;
	}
}

static __u64 sub0(__u64 a, __u64 b)
{
	return a >= b ? a - b : 0;
}

static void usage_fill_bpf(const struct usage_raw *now, const struct usage_raw *prev,
			   struct usage_sample *s)
{
	__u64 hist[USAGE_HIST_BUCKETS];

	s->valid |= USAGE_F_RQ_LATENCY | USAGE_F_PREEMPT;
	s->preempt_received = sub0(now->bpf.preempt_received, prev->bpf.preempt_received);
	s->preempt_inflicted = sub0(now->bpf.preempt_inflicted, prev->bpf.preempt_inflicted);
	usage_hist_delta(now->bpf.rq_hist, prev->bpf.rq_hist, hist, USAGE_HIST_BUCKETS);
	s->rq_samples = usage_hist_total(hist, USAGE_HIST_BUCKETS);
	s->rq_wait_ns = sub0(now->bpf.rq_sum_ns, prev->bpf.rq_sum_ns);
	if (usage_hist_percentile(hist, USAGE_HIST_BUCKETS, 0.50, &s->rq_p50_us) < 0)
		s->rq_p50_us = 0;
	if (usage_hist_percentile(hist, USAGE_HIST_BUCKETS, 0.99, &s->rq_p99_us) < 0)
		s->rq_p99_us = 0;
}

static __u64 usage_intrusion(const struct usage *u, const struct usage_ctr *c)
{
	__u64 total = 0;

	for (int cpu = 0; cpu < u->nr_cpus; cpu++) {
		if (bit_test(c->owned, (unsigned int)cpu))
			total += sub0(u->intr_now[cpu], u->intr_prev[cpu]);
	}
	return total;
}

/* Levels (memory, PSI, OOM totals) that need no previous value. */
static void usage_fill_levels(struct usage *u, struct usage_ctr *c, struct usage_sample *s)
{
	const char *mem = u->hier == USAGE_HIER_V1 ? "memory.usage_in_bytes" : "memory.current";
	struct cgstat_psi psi;
	__u64 v;

	if (c->mem_fd >= 0 && cgstat_read_u64(c->mem_fd, mem, &s->memory_bytes) == 0)
		s->valid |= USAGE_F_MEMORY;
	/* cgroup v1 has no per-cgroup PSI: leave the bits clear. */
	if (u->hier == USAGE_HIER_V2 && cgstat_read_psi(c->cpu_fd, "cpu.pressure", &psi) == 0) {
		s->psi_cpu_some_avg10 = psi.some_avg10;
		s->valid |= USAGE_F_PSI_CPU;
	}
	if (u->hier == USAGE_HIER_V2 && cgstat_read_psi(c->mem_fd, "memory.pressure", &psi) == 0) {
		s->psi_mem_some_avg10 = psi.some_avg10;
		s->psi_mem_full_avg10 = psi.full_avg10;
		s->valid |= USAGE_F_PSI_MEMORY;
	}
	if (u->prog) {
		s->oom_kills = c->oom_kills;
		s->valid |= USAGE_F_OOM;
		return;
	}
	if (c->mem_fd >= 0 &&
	    cgstat_read_key(c->mem_fd,
			    u->hier == USAGE_HIER_V1 ? "memory.oom_control" : "memory.events",
			    "oom_kill", &v) == 0) {
		s->oom_kills = sub0(v, c->oom_base);
		s->valid |= USAGE_F_OOM;
	}
}

static void usage_fill(struct usage *u, struct usage_ctr *c, const struct usage_raw *now,
		       __u64 interval, struct usage_sample *s)
{
	const struct usage_raw *prev = &c->prev;

	memset(s, 0, sizeof(*s));
	s->interval_ns = interval;
	if (now->has_cpu_ns && prev->has_cpu_ns) {
		s->cpu_ns = sub0(now->cpu_ns, prev->cpu_ns);
		s->cpu_cores = interval ? (double)s->cpu_ns / (double)interval : 0;
		s->valid |= USAGE_F_CPU;
	}
	if (now->has_cpu_stat && prev->has_cpu_stat && now->cpu_stat.has_throttle) {
		s->nr_throttled = sub0(now->cpu_stat.nr_throttled, prev->cpu_stat.nr_throttled);
		s->throttled_ns = sub0(now->cpu_stat.throttled_ns, prev->cpu_stat.throttled_ns);
		s->valid |= USAGE_F_THROTTLE;
	}
	if (u->attached) {
		usage_fill_bpf(now, prev, s);
		s->intrusion_ns = usage_intrusion(u, c);
		s->valid |= USAGE_F_INTRUSION;
	}
	usage_fill_levels(u, c, s);
}

static int usage_collect_bpf(struct usage *u)
{
	__u64 *tmp;
	int r;

	r = usageprog_oom_poll(u->prog, usage_on_oom, u);
	if (r < 0)
		return r;
	tmp = u->intr_prev;
	u->intr_prev = u->intr_now;
	u->intr_now = tmp;
	for (int cpu = 0; cpu < u->nr_cpus; cpu++) {
		r = usageprog_read_intrusion(u->prog, (unsigned int)cpu, &u->intr_now[cpu]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Publishes the window from u->oh_begin to end, len_ns long. */
static void usage_overhead_publish(struct usage *u, const struct usageprog_stats *end, __u64 len_ns)
{
	const struct usageprog_stats *a = &u->oh_begin;
	struct usage_overhead o = {.available = a->enabled && end->enabled};
	__u64 dcnt = sub0(end->run_cnt, a->run_cnt), dns = sub0(end->run_time_ns, a->run_time_ns);

	if (!o.available) {
		u->oh_last = o;
		return;
	}
	o.run_cnt = end->run_cnt;
	o.run_time_ns = end->run_time_ns;
	if (dcnt)
		o.ns_per_event = (double)dns / (double)dcnt;
	else if (end->run_cnt)
		o.ns_per_event = (double)end->run_time_ns / (double)end->run_cnt;
	if (len_ns && u->nr_cpus)
		o.cpu_fraction = (double)dns / ((double)len_ns * u->nr_cpus);
	u->oh_last = o;
}

/* Run-time statistics only inside the sampling window; see statwin.h. */
static int usage_overhead_step(struct usage *u, __u64 now)
{
	enum statwin_action a = statwin_step(&u->oh_win, now);
	struct usageprog_stats end;
	int r;

	if (a == STATWIN_NONE)
		return 0;
	if (a == STATWIN_OPEN) {
		/* Refused (e.g. no CAP_SYS_ADMIN): the window reads as unavailable. */
		usageprog_stats_enable(u->prog, true);
		return usageprog_read_stats(u->prog, &u->oh_begin);
	}
	r = usageprog_read_stats(u->prog, &end);
	if (a == STATWIN_CLOSE)
		usageprog_stats_enable(u->prog, false);
	if (r < 0)
		return r;
	usage_overhead_publish(u, &end, u->oh_win.last_len);
	u->oh_begin = end;
	return 0;
}

/* The samples' sources changed: no delta may span the switch. */
static void usage_restart_samples(struct usage *u)
{
	for (size_t i = 0; i < u->n_ctrs; i++)
		u->ctrs[i]->have_prev = u->ctrs[i]->have_sample = false;
}

static int usage_attach(struct usage *u, bool on)
{
	int r = 0;

	if (!u->prog || u->attached == on)
		return 0;
	if (on)
		r = usageprog_attach(u->prog);
	else
		usageprog_detach(u->prog);
	if (r < 0)
		return r;
	u->attached = on;
	usage_restart_samples(u);
	return 0;
}

int usage_set_live(struct usage *u, const char *container_id, bool on)
{
	struct usage_ctr *c = usage_find(u, container_id, NULL);

	if (!c)
		return -ENOENT;
	if (c->live != on) {
		c->live = on;
		u->n_live = on ? u->n_live + 1 : u->n_live - 1;
	}
	/* Attach at once (within the 100 ms of issue #17); detach lazily, at a collect. */
	return on && u->on_demand ? usage_attach(u, true) : 0;
}

bool usage_bpf_attached(const struct usage *u)
{
	return u->attached;
}

int usage_collect(struct usage *u, __u64 now_ns)
{
	struct usage_raw raw;
	int r;

	if (u->on_demand && (r = usage_attach(u, u->n_live > 0)) < 0)
		return r;
	if (u->prog) {
		r = usage_collect_bpf(u);
		if (r == 0)
			r = usage_overhead_step(u, now_ns);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < u->n_ctrs; i++) {
		struct usage_ctr *c = u->ctrs[i];

		usage_read_raw(u, c, &raw);
		if (c->have_prev && now_ns > c->prev_ts) {
			usage_fill(u, c, &raw, now_ns - c->prev_ts, &c->sample);
			c->have_sample = true;
		}
		c->prev = raw;
		c->prev_ts = now_ns;
		c->have_prev = true;
	}
	return 0;
}

int usage_overhead(const struct usage *u, struct usage_overhead *ret)
{
	struct usage_overhead none = {0};

	*ret = u->prog ? u->oh_last : none;
	return 0;
}

struct usage_pairs_ctx {
	const struct usage *u;
	usage_pair_fn fn;
	void *userdata;
};

static const char *usage_slot_id(const struct usage *u, __u32 slot)
{
	for (size_t i = 0; slot && i < u->n_ctrs; i++) {
		if (u->ctrs[i]->slot == slot)
			return u->ctrs[i]->id;
	}
	return NULL;
}

static void usage_on_pair(__u32 from, __u32 to, __u64 count, void *userdata)
{
	struct usage_pairs_ctx *ctx = userdata;
	const char *f = usage_slot_id(ctx->u, from), *t = usage_slot_id(ctx->u, to);

	/* Pairs of slots since reused for no one (or for others) are stale: skip. */
	if ((from && !f) || (to && !t))
		return;
	ctx->fn(f, t, count, ctx->userdata);
}

int usage_preemption_pairs(struct usage *u, usage_pair_fn fn, void *userdata)
{
	struct usage_pairs_ctx ctx = {.u = u, .fn = fn, .userdata = userdata};

	if (!fn)
		return -EINVAL;
	if (!u->prog)
		return -EOPNOTSUPP;
	return usageprog_pairs_foreach(u->prog, usage_on_pair, &ctx);
}
