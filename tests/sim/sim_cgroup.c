/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --apply-cgroups NAME: the runtime's cgroup side, for real (docs/simulator.md).
 *
 * Every container gets NAME/<id> in the cpuset, cpu and memory hierarchies (cgroup v1,
 * as these machines mount it) or in the unified hierarchy when /sys/fs/cgroup is a
 * cgroup2 mount; its effective resources are written whenever the model changes them,
 * and from `start` to `stop` a real process (a forked child in pause()) lives inside.
 *
 * The kernel is reconciled with the model (sim_cgroups_sync() after every scenario line,
 * handshake and UpdateContainers call) rather than hooked into every event, so the
 * adjustment, solicited and unsolicited updates all take one path and only changed
 * fields are written.
 *
 * Nothing may be left behind: a watchdog child, forked before any cgroup exists, blocks
 * on a pipe whose write end only nri-sim holds. However nri-sim ends (return, SIGTERM,
 * SIGINT, a crash, SIGKILL) the pipe closes and the watchdog kills what is left in NAME
 * and removes the tree. The normal exit and the SIGTERM/SIGINT handler wait for it, so
 * NAME is gone once nri-sim's exit status is visible.
 *
 * State is file-static: one simulator per process (the signal handler needs it too).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sim/sim.h"

#define CG_FS	    "/sys/fs/cgroup"
#define RUNNING	    NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING
#define RMDIR_TRIES 100 /* x 10 ms: a killed task leaves its cgroup asynchronously */

enum { CG_CPUSET, CG_CPU, CG_MEMORY, CG_N };

static const char *const ctrl_names[CG_N] = {"cpuset", "cpu", "memory"};

/* What is read back for the report: {controller, v1 file, cgroup2 file}. */
static const struct {
	int ctrl;
	const char *v1, *v2;
} readback[] = {
	{CG_CPU, "cpu.shares", "cpu.weight"},
	{CG_CPU, "cpu.cfs_period_us", "cpu.max"},
	{CG_CPU, "cpu.cfs_quota_us", "cpu.max"},
	{CG_MEMORY, "memory.limit_in_bytes", "memory.max"},
};

struct cg_ent {
	const struct sim_ctr *ctr; /* identity: the model never frees a container early */
	char *dir[CG_N];
	struct sim_res done; /* what was last written (or tried) */
	bool written, started, gone, dirty;
	pid_t pid;
	char *cpus, *mems, *allowed; /* read back from the kernel */
	json_object *files;
};

struct sim_cgroups {
	char *name;
	bool v2;
	char *base[CG_N]; /* <ctrl root>/NAME; on cgroup2 all three are CG_FS/NAME */
	pid_t watchdog;
	int watch_fd;
	struct cg_ent **ents;
	size_t n;
};

static struct sim_cgroups *cg;
static volatile sig_atomic_t sig_watch_fd = -1;
static volatile pid_t sig_watchdog = -1;

static int n_hier(const struct sim_cgroups *g)
{
	return g->v2 ? 1 : CG_N;
}

static int hier(const struct sim_cgroups *g, int ctrl)
{
	return g->v2 ? 0 : ctrl;
}

static int path_join(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r;

	r = path_join(path, sizeof(path), dir, file);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	r = n < 0 ? -errno : 0;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* The first line of dir/file, without its newline; *ret malloc'd. */
static int cg_read(const char *dir, const char *file, char **ret)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n;
	int fd, r;

	r = path_join(path, sizeof(path), dir, file);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int cg_copy(const char *from, const char *to, const char *file)
{
	char *v = NULL;
	int r = cg_read(from, file, &v);

	if (r == 0)
		r = cg_write(to, file, v);
	free(v);
	return r;
}

static void kill_procs(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	int pid;

	if (path_join(path, sizeof(path), dir, "cgroup.procs") < 0 || !(f = fopen(path, "re")))
		return;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
}

static int rmdir_retry(const char *dir)
{
	for (int i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		kill_procs(dir);
		usleep(10000);
	}
	return -EBUSY;
}

/* Kill everything in base and below and remove the tree (children first). */
static void tree_remove(const char *base, int depth)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if (depth > 8 || !(dir = opendir(base)))
		return;
	while ((d = readdir(dir))) {
		if (d->d_type != DT_DIR || !strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (path_join(path, sizeof(path), base, d->d_name) == 0)
			tree_remove(path, depth + 1);
	}
	closedir(dir);
	kill_procs(base);
	if (rmdir_retry(base) < 0)
		fprintf(stderr, "nri-sim: cannot remove cgroup %s: %m\n", base);
}

static void __attribute__((noreturn)) watchdog_main(const struct sim_cgroups *g, int rfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	char c;

	signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole process group */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	if (rfd > 3)
		close_range(3, (unsigned int)rfd - 1, 0);
	close_range((unsigned int)rfd + 1, ~0U, 0);
	while (read(rfd, &c, 1) != 0 && errno == EINTR)
		;
	for (int i = 0; i < n_hier(g); i++)
		tree_remove(g->base[i], 0);
	_exit(0);
}

static int watchdog_start(struct sim_cgroups *g)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0)
		watchdog_main(g, p[0]);
	close(p[0]);
	g->watchdog = pid;
	g->watch_fd = p[1];
	return 0;
}

/* Closing the pipe starts the watchdog's cleanup; wait until NAME is gone. */
static void watchdog_finish(struct sim_cgroups *g)
{
	sig_watch_fd = -1;
	sig_watchdog = -1;
	if (g->watch_fd >= 0)
		close(g->watch_fd);
	g->watch_fd = -1;
	if (g->watchdog > 0)
		waitpid(g->watchdog, NULL, 0);
	g->watchdog = -1;
}

/* Async-signal-safe: close, waitpid, signal and raise only. */
static void on_signal(int sig)
{
	if (sig_watch_fd >= 0)
		close(sig_watch_fd);
	if (sig_watchdog > 0)
		waitpid(sig_watchdog, NULL, 0);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void signals_install(const struct sim_cgroups *g)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sig_watch_fd = g->watch_fd;
	sig_watchdog = g->watchdog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static bool name_ok(const char *name)
{
	return name && *name && strlen(name) < 128 && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

/* Root, and a cpuset controller we can find; a clear reason on stderr otherwise. */
static int probe(bool *ret_v2)
{
	char *ctrls = NULL;
	bool v2 = access(CG_FS "/cgroup.controllers", F_OK) == 0;

	if (geteuid() != 0) {
		fprintf(stderr, "nri-sim: --apply-cgroups needs root (it creates cgroups under "
				"%s)\n",
			CG_FS);
		return -EPERM;
	}
	if (v2 && (cg_read(CG_FS, "cgroup.controllers", &ctrls) < 0 || !strstr(ctrls, "cpuset")))
		v2 = false;
	free(ctrls);
	if (!v2 && access(CG_FS "/cpuset/cpuset.cpus", F_OK) < 0) {
		fprintf(stderr, "nri-sim: --apply-cgroups: no cpuset controller (neither %s/cpuset "
				"nor a cgroup2 mount at %s with cpuset)\n",
			CG_FS, CG_FS);
		return -ENOENT;
	}
	*ret_v2 = v2;
	return 0;
}

static int bases_fill(struct sim_cgroups *g)
{
	for (int i = 0; i < n_hier(g); i++) {
		int n = g->v2 ? asprintf(&g->base[i], "%s/%s", CG_FS, g->name)
			      : asprintf(&g->base[i], "%s/%s/%s", CG_FS, ctrl_names[i], g->name);

		if (n < 0) {
			g->base[i] = NULL;
			return -ENOMEM;
		}
		if (access(g->base[i], F_OK) == 0) {
			fprintf(stderr, "nri-sim: --apply-cgroups: %s already exists\n", g->base[i]);
			return -EEXIST;
		}
	}
	if (g->v2)
		g->base[CG_CPU] = g->base[CG_MEMORY] = g->base[CG_CPUSET];
	return 0;
}

/* mkdir NAME; a new cpuset is empty and takes no task until cpus and mems are copied in. */
static int bases_create(struct sim_cgroups *g)
{
	char root[PATH_MAX];
	int r = 0;

	for (int i = 0; i < n_hier(g) && r == 0; i++) {
		if (g->v2)
			snprintf(root, sizeof(root), "%s", CG_FS);
		else
			snprintf(root, sizeof(root), "%s/%s", CG_FS, ctrl_names[i]);
		if (mkdir(g->base[i], 0755) < 0)
			r = -errno;
		else if (g->v2)
			r = cg_write(root, "cgroup.subtree_control", "+cpuset +cpu +memory");
		else if (i == CG_CPUSET)
			r = cg_copy(root, g->base[i], "cpuset.cpus") ?:
				    cg_copy(root, g->base[i], "cpuset.mems");
		if (r == 0 && g->v2)
			r = cg_write(g->base[i], "cgroup.subtree_control", "+cpuset +cpu +memory");
		if (r < 0)
			fprintf(stderr, "nri-sim: --apply-cgroups: cannot set up %s: %s\n",
				g->base[i], strerror(-r));
	}
	return r;
}

static void ent_free(struct cg_ent *e)
{
	if (!e)
		return;
	for (int i = 0; i < CG_N; i++)
		free(e->dir[i]);
	sim_res_done(&e->done);
	free(e->cpus);
	free(e->mems);
	free(e->allowed);
	json_object_put(e->files);
	free(e);
}

static void cgroups_free(struct sim_cgroups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		if (g->ents[i]->pid > 0) {
			kill(g->ents[i]->pid, SIGKILL);
			waitpid(g->ents[i]->pid, NULL, 0);
		}
		ent_free(g->ents[i]);
	}
	watchdog_finish(g);
	free(g->ents);
	for (int i = 0; i < n_hier(g); i++)
		free(g->base[i]);
	free(g->name);
	free(g);
}

int sim_cgroups_setup(const char *name)
{
	struct sim_cgroups *g;
	bool v2 = false;
	int r;

	if (!name_ok(name)) {
		fprintf(stderr, "nri-sim: --apply-cgroups: bad cgroup name \"%s\"\n", name);
		return -EINVAL;
	}
	r = probe(&v2);
	if (r < 0)
		return r;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (struct sim_cgroups){.v2 = v2, .watchdog = -1, .watch_fd = -1};
	g->name = strdup(name);
	r = g->name ? bases_fill(g) : -ENOMEM;
	if (r == 0)
		r = watchdog_start(g);
	if (r == 0)
		r = bases_create(g);
	if (r < 0) {
		cgroups_free(g);
		return r;
	}
	signals_install(g);
	cg = g;
	return 0;
}

void sim_cgroups_teardown(void)
{
	struct sim_cgroups *g = cg;

	cg = NULL;
	cgroups_free(g);
}

bool sim_cgroups_enabled(void)
{
	return cg != NULL;
}

/* ---- one container ------------------------------------------------------------ */

static bool id_ok(const char *id)
{
	return name_ok(id) && id[0] != '.';
}

static struct cg_ent *ent_find(const struct sim_ctr *c)
{
	for (size_t i = 0; cg && i < cg->n; i++) {
		if (cg->ents[i]->ctr == c)
			return cg->ents[i];
	}
	return NULL;
}

static int ent_mkdirs(struct sim *s, struct cg_ent *e)
{
	const char *id = e->ctr->id;

	if (!id_ok(id)) {
		sim_error(s, "cgroup: container id \"%s\" cannot name a cgroup", id);
		return -EINVAL;
	}
	for (int i = 0; i < n_hier(cg); i++) {
		if (asprintf(&e->dir[i], "%s/%s", cg->base[i], id) < 0) {
			e->dir[i] = NULL;
			return -ENOMEM;
		}
		if (mkdir(e->dir[i], 0755) < 0 && errno != EEXIST) {
			int r = -errno;
			sim_error(s, "cgroup %s: mkdir %s: %s", id, e->dir[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

/* A new entry; one that cannot get its directories is kept as gone (no retry each sync). */
static struct cg_ent *ent_add(struct sim *s, const struct sim_ctr *c)
{
	struct cg_ent **arr = realloc(cg->ents, (cg->n + 1) * sizeof(*arr));
	struct cg_ent *e;

	if (!arr)
		return NULL;
	cg->ents = arr;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->ctr = c;
	arr[cg->n++] = e;
	e->gone = ent_mkdirs(s, e) < 0;
	return e;
}

static const char *dir_of(const struct cg_ent *e, int ctrl)
{
	return e->dir[hier(cg, ctrl)];
}

static void knob_write(struct sim *s, struct cg_ent *e, int ctrl, const char *file,
		       const char *val)
{
	int r = cg_write(dir_of(e, ctrl), file, val);

	if (r < 0)
		sim_error(s, "cgroup %s: write %s=\"%s\": %s", e->ctr->id, file, val, strerror(-r));
	e->dirty = true;
}

static bool str_changed(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* v1: an empty cpuset takes no task, so "unset" means the parent's (what runc does). */
static void write_set(struct sim *s, struct cg_ent *e, const char *file, const char *want)
{
	char *parent = NULL;

	if (want && *want) {
		knob_write(s, e, CG_CPUSET, file, want);
	} else if (!cg->v2) {
		if (cg_read(cg->base[CG_CPUSET], file, &parent) == 0)
			knob_write(s, e, CG_CPUSET, file, parent);
		free(parent);
	}
}

static void write_cpuset(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	/* mems first: a cpuset needs both before a task may join */
	if (!e->written || str_changed(e->done.mems, r->mems)) {
		write_set(s, e, "cpuset.mems", r->mems);
		sim_res_set_str(&e->done.mems, r->mems);
	}
	if (!e->written || str_changed(e->done.cpus, r->cpus)) {
		write_set(s, e, "cpuset.cpus", r->cpus);
		sim_res_set_str(&e->done.cpus, r->cpus);
	}
}

/* cgroup2's cpu.weight from shares, the conversion runc and the kubelet use. */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static void write_shares(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	char v[32];

	if (!r->has_shares || !r->shares || (e->done.has_shares && e->done.shares == r->shares))
		return;
	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)(cg->v2 ? shares_to_weight(r->shares) : r->shares));
	knob_write(s, e, CG_CPU, cg->v2 ? "cpu.weight" : "cpu.shares", v);
	e->done.has_shares = true;
	e->done.shares = r->shares;
}

static void write_cfs_v1(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	char v[32];

	/* period before quota: the kernel checks the quota against the current period */
	if (r->has_period && r->period &&
	    (!e->done.has_period || e->done.period != r->period)) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)r->period);
		knob_write(s, e, CG_CPU, "cpu.cfs_period_us", v);
	}
	if (r->has_quota && r->quota && (!e->done.has_quota || e->done.quota != r->quota)) {
		snprintf(v, sizeof(v), "%lld", (long long)(r->quota > 0 ? r->quota : -1));
		knob_write(s, e, CG_CPU, "cpu.cfs_quota_us", v);
	}
}

static void write_cfs_v2(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	char v[64], q[24];

	if ((!r->has_period || e->done.period == r->period) &&
	    (!r->has_quota || e->done.quota == r->quota) && e->written)
		return;
	if (r->has_quota && r->quota > 0)
		snprintf(q, sizeof(q), "%lld", (long long)r->quota);
	else
		snprintf(q, sizeof(q), "max");
	snprintf(v, sizeof(v), "%s %llu", q,
		 (unsigned long long)(r->has_period && r->period ? r->period : 100000));
	knob_write(s, e, CG_CPU, "cpu.max", v);
}

static void write_cfs(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	if (cg->v2)
		write_cfs_v2(s, e, r);
	else
		write_cfs_v1(s, e, r);
	e->done.has_period = r->has_period;
	e->done.period = r->period;
	e->done.has_quota = r->has_quota;
	e->done.quota = r->quota;
}

static void write_memory(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	char v[32];

	if (!r->has_mem_limit || !r->mem_limit ||
	    (e->done.has_mem_limit && e->done.mem_limit == r->mem_limit))
		return;
	if (r->mem_limit < 0)
		snprintf(v, sizeof(v), cg->v2 ? "max" : "-1");
	else
		snprintf(v, sizeof(v), "%lld", (long long)r->mem_limit);
	knob_write(s, e, CG_MEMORY, cg->v2 ? "memory.max" : "memory.limit_in_bytes", v);
	e->done.has_mem_limit = true;
	e->done.mem_limit = r->mem_limit;
}

static void ent_write(struct sim *s, struct cg_ent *e)
{
	const struct sim_res *r = &e->ctr->res;

	write_cpuset(s, e, r);
	write_shares(s, e, r);
	write_cfs(s, e, r);
	write_memory(s, e, r);
	e->written = true;
}

/* Cpus_allowed_list of pid from /proc/PID/status. */
static int read_allowed(pid_t pid, char **ret)
{
	char path[64], line[512];
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (r == -ENOENT && fgets(line, sizeof(line), f)) {
		const char *v;

		if (strncmp(line, "Cpus_allowed_list:", 18))
			continue;
		v = line + 18 + strspn(line + 18, " \t");
		line[strcspn(line, "\n")] = '\0';
		*ret = strdup(v);
		r = *ret ? 0 : -ENOMEM;
	}
	fclose(f);
	return r;
}

static void replace(char **dst, char *v)
{
	if (!v)
		return;
	free(*dst);
	*dst = v;
}

static void ent_readback(struct cg_ent *e)
{
	json_object *files = json_object_new_object();
	char *v = NULL;

	if (cg_read(dir_of(e, CG_CPUSET), "cpuset.cpus", &v) == 0)
		replace(&e->cpus, v);
	v = NULL;
	if (cg_read(dir_of(e, CG_CPUSET), "cpuset.mems", &v) == 0)
		replace(&e->mems, v);
	v = NULL;
	if (e->pid > 0 && read_allowed(e->pid, &v) == 0)
		replace(&e->allowed, v);
	for (size_t i = 0; files && i < sizeof(readback) / sizeof(readback[0]); i++) {
		const char *file = cg->v2 ? readback[i].v2 : readback[i].v1;

		v = NULL;
		if (cg_read(dir_of(e, readback[i].ctrl), file, &v) == 0)
			json_object_object_add(files, file, json_object_new_string(v));
		free(v);
	}
	if (files) {
		json_object_put(e->files);
		e->files = files;
	}
	e->dirty = false;
}
