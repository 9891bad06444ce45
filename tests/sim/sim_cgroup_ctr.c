/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --apply-cgroups, one container at a time: NAME/<id> created when the model first has
 * the container, changed fields of its effective resources written, a process started
 * at `start` and killed at `stop`, the directories removed at `remove`. Write errors go
 * to the report's `errors` and never stop the scenario.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_cgroup.h"

#define RUNNING NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING

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

static bool id_ok(const char *id)
{
	return id && *id && id[0] != '.' && !strchr(id, '/') && strlen(id) < 256;
}

static struct cg_ent *ent_find(const struct sim_ctr *c)
{
	for (size_t i = 0; sim_cgroup_state && i < sim_cgroup_state->n; i++) {
		if (sim_cgroup_state->ents[i]->ctr == c)
			return sim_cgroup_state->ents[i];
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
	for (int i = 0; i < n_hier(sim_cgroup_state); i++) {
		int n = sim_cgroup_state->systemd
				? asprintf(&e->dir[i], "%s/cri-containerd-%s.scope",
					   sim_cgroup_state->base[i], id)
				: asprintf(&e->dir[i], "%s/%s", sim_cgroup_state->base[i], id);

		if (n < 0) {
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
	struct cg_ent **arr =
		realloc(sim_cgroup_state->ents, (sim_cgroup_state->n + 1) * sizeof(*arr));
	struct cg_ent *e;

	if (!arr)
		return NULL;
	sim_cgroup_state->ents = arr;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->ctr = c;
	arr[sim_cgroup_state->n++] = e;
	e->gone = ent_mkdirs(s, e) < 0;
	return e;
}

static const char *dir_of(const struct cg_ent *e, int ctrl)
{
	return e->dir[hier(sim_cgroup_state, ctrl)];
}

static void knob_write(struct sim *s, struct cg_ent *e, int ctrl, const char *file, const char *val)
{
	int r = sim_cgroup_write(dir_of(e, ctrl), file, val);

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
	} else if (!sim_cgroup_state->v2) {
		if (sim_cgroup_read(sim_cgroup_state->base[CG_CPUSET], file, &parent) == 0)
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
		 (unsigned long long)(sim_cgroup_state->v2 ? shares_to_weight(r->shares)
							   : r->shares));
	knob_write(s, e, CG_CPU, sim_cgroup_state->v2 ? "cpu.weight" : "cpu.shares", v);
	e->done.has_shares = true;
	e->done.shares = r->shares;
}

static void write_cfs_v1(struct sim *s, struct cg_ent *e, const struct sim_res *r)
{
	char v[32];

	/* period before quota: the kernel checks the quota against the current period */
	if (r->has_period && r->period && (!e->done.has_period || e->done.period != r->period)) {
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
	if (sim_cgroup_state->v2)
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
		snprintf(v, sizeof(v), sim_cgroup_state->v2 ? "max" : "-1");
	else
		snprintf(v, sizeof(v), "%lld", (long long)r->mem_limit);
	knob_write(s, e, CG_MEMORY, sim_cgroup_state->v2 ? "memory.max" : "memory.limit_in_bytes",
		   v);
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

	/* v2: cpuset.cpus is empty until written (the parent's apply): read what applies */
	bool v2 = sim_cgroup_state->v2;

	if (sim_cgroup_read(dir_of(e, CG_CPUSET), v2 ? "cpuset.cpus.effective" : "cpuset.cpus",
			    &v) == 0)
		replace(&e->cpus, v);
	v = NULL;
	if (sim_cgroup_read(dir_of(e, CG_CPUSET), v2 ? "cpuset.mems.effective" : "cpuset.mems",
			    &v) == 0)
		replace(&e->mems, v);
	v = NULL;
	if (e->pid > 0 && read_allowed(e->pid, &v) == 0)
		replace(&e->allowed, v);
	for (size_t i = 0; files && i < sizeof(readback) / sizeof(readback[0]); i++) {
		const char *file = sim_cgroup_state->v2 ? readback[i].v2 : readback[i].v1;

		v = NULL;
		if (sim_cgroup_read(dir_of(e, readback[i].ctrl), file, &v) == 0)
			json_object_object_add(files, file, json_object_new_string(v));
		free(v);
	}
	if (files) {
		json_object_put(e->files);
		e->files = files;
	}
	e->dirty = false;
}

/* ---- the container's process -------------------------------------------------- */

/* Writes mib MiB of private anonymous memory, kept until the process dies; 0 or errno. */
static int touch_memory(unsigned int mib)
{
	size_t len = (size_t)mib << 20;
	void *p;

	if (!mib)
		return 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	memset(p, 0x5a, len); /* its pages land where the cgroup's cpuset.mems allow */
	return 0;
}

/*
 * The child joins the cgroups itself, as runc's init does, writes the memory it was
 * asked to (`touch=`), then reports and waits.
 */
static void __attribute__((noreturn))
child_main(char (*procs)[PATH_MAX], int n, int status_fd, unsigned int touch_mib)
{
	int err = 0, len, null;
	char pid[24];

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	len = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	for (int i = 0; i < n && !err; i++) {
		int fd = open(procs[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, pid, (size_t)len) != len)
			err = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
	}
	if (!err)
		err = touch_memory(touch_mib);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) { /* hold no pipe of whoever reads nri-sim's output */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (write(status_fd, &err, sizeof(err)) != sizeof(err))
		_exit(1);
	close_range(3, ~0U, 0);
	for (;;)
		pause();
}

static int proc_spawn(char (*procs)[PATH_MAX], int n, unsigned int touch_mib, pid_t *ret)
{
	int p[2], err = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_main(procs, n, p[1], touch_mib);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &err, sizeof(err)) != sizeof(err))
		err = pid < 0 ? errno : EIO;
	close(p[0]);
	if (err && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (err)
		return -err;
	*ret = pid;
	return 0;
}

static void ent_start(struct sim *s, struct cg_ent *e)
{
	char procs[CG_N][PATH_MAX];
	int r = 0;

	e->started = true;
	for (int i = 0; i < n_hier(sim_cgroup_state) && r == 0; i++)
		r = sim_cgroup_path(procs[i], sizeof(procs[i]), e->dir[i], "cgroup.procs");
	if (r == 0)
		r = proc_spawn(procs, n_hier(sim_cgroup_state), e->ctr->touch_mib, &e->pid);
	if (r < 0)
		sim_error(s, "cgroup %s: start a process in it: %s", e->ctr->id, strerror(-r));
	e->dirty = true;
}

/* Read what the process was allowed just before it goes, then kill it. */
static void ent_stop(struct cg_ent *e)
{
	if (e->pid <= 0)
		return;
	ent_readback(e);
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
}

static void ent_remove(struct sim *s, struct cg_ent *e)
{
	ent_stop(e);
	ent_readback(e);
	for (int i = 0; i < n_hier(sim_cgroup_state); i++) {
		int r = e->dir[i] ? sim_cgroup_rmdir(e->dir[i]) : 0;

		if (r < 0)
			sim_error(s, "cgroup %s: rmdir %s: %s", e->ctr->id, e->dir[i],
				  strerror(-r));
	}
	e->gone = true;
}

static void ent_sync(struct sim *s, struct cg_ent *e)
{
	const struct sim_ctr *c = e->ctr;

	if (e->gone)
		return;
	if (c->removed || c->failed) {
		ent_remove(s, e);
		return;
	}
	ent_write(s, e);
	if (c->state == RUNNING && !e->started)
		ent_start(s, e);
	else if (c->state != RUNNING && e->pid > 0)
		ent_stop(e);
	if (e->dirty)
		ent_readback(e);
}

void sim_cgroups_sync(struct sim *s)
{
	if (!sim_cgroup_state)
		return;
	for (size_t i = 0; i < s->model.n_ctrs; i++) {
		const struct sim_ctr *c = s->model.ctrs[i];
		struct cg_ent *e = ent_find(c);

		if (!e && (c->removed || c->failed))
			continue; /* never got a cgroup: a creation the plugin failed */
		if (!e && !(e = ent_add(s, c))) {
			sim_error(s, "cgroup %s: out of memory", c->id);
			continue;
		}
		ent_sync(s, e);
	}
}

void sim_cgroups_touch(const struct sim_ctr *c)
{
	struct cg_ent *e = ent_find(c);

	if (!e)
		return;
	sim_res_done(&e->done); /* all of it is written again at the next sync */
	e->written = false;
}

int sim_cgroups_rewrite_cpuset(struct sim *s, const struct sim_ctr *c, const char *cpus)
{
	struct cg_ent *e = ent_find(c);
	int r;

	if (!e || e->gone)
		return -ENOENT;
	r = sim_cgroup_write(dir_of(e, CG_CPUSET), "cpuset.cpus", cpus);
	if (r < 0) {
		sim_error(s, "cgroup %s: rewrite cpuset.cpus=\"%s\": %s", c->id, cpus,
			  strerror(-r));
		return r;
	}
	ent_readback(e);
	return 0;
}

void sim_cgroups_refresh(void)
{
	for (size_t i = 0; sim_cgroup_state && i < sim_cgroup_state->n; i++) {
		if (!sim_cgroup_state->ents[i]->gone)
			ent_readback(sim_cgroup_state->ents[i]);
	}
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

json_object *sim_cgroups_json(const struct sim_ctr *c)
{
	const struct cg_ent *e = ent_find(c);
	json_object *o;
	char path[PATH_MAX];

	if (!e || !e->dir[0] || !(o = json_object_new_object()))
		return NULL;
	if (sim_cgroup_state->systemd)
		snprintf(path, sizeof(path), "/%s.slice/cri-containerd-%s.scope",
			 sim_cgroup_state->name, c->id);
	else
		snprintf(path, sizeof(path), "/%s/%s", sim_cgroup_state->name, c->id);
	add_str(o, "path", path);
	add_str(o, "dir", e->dir[hier(sim_cgroup_state, CG_CPUSET)]);
	add_str(o, "cpus", e->cpus);
	add_str(o, "mems", e->mems);
	add_str(o, "allowed", e->allowed);
	json_object_object_add(o, "running", json_object_new_boolean(e->pid > 0));
	json_object_object_add(o, "removed", json_object_new_boolean(e->gone));
	if (e->files)
		json_object_object_add(o, "files", json_object_get(e->files));
	return o;
}
