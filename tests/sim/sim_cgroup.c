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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sim/sim.h"
#include "tests/sim/sim_cgroup.h"

#define RMDIR_TRIES 100 /* x 10 ms: a killed task leaves its cgroup asynchronously */

static const char *const ctrl_names[CG_N] = {"cpuset", "cpu", "memory"};

struct sim_cgroups *sim_cgroup_state;
static volatile sig_atomic_t sig_watch_fd = -1;
static volatile pid_t sig_watchdog = -1;

int sim_cgroup_path(char *buf, size_t len, const char *dir, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sim_cgroup_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r;

	r = sim_cgroup_path(path, sizeof(path), dir, file);
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
int sim_cgroup_read(const char *dir, const char *file, char **ret)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n;
	int fd, r;

	r = sim_cgroup_path(path, sizeof(path), dir, file);
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
	int r = sim_cgroup_read(from, file, &v);

	if (r == 0)
		r = sim_cgroup_write(to, file, v);
	free(v);
	return r;
}

static void kill_procs(const char *dir)
{
	char path[PATH_MAX];
	FILE *f;
	int pid;

	if (sim_cgroup_path(path, sizeof(path), dir, "cgroup.procs") < 0 ||
	    !(f = fopen(path, "re")))
		return;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	fclose(f);
}

int sim_cgroup_rmdir(const char *dir)
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
		if (sim_cgroup_path(path, sizeof(path), base, d->d_name) == 0)
			tree_remove(path, depth + 1);
	}
	closedir(dir);
	kill_procs(base);
	if (sim_cgroup_rmdir(base) < 0)
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
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* the container processes the watchdog killed: leave no zombie to init */
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
		fprintf(stderr,
			"nri-sim: --apply-cgroups needs root (it creates cgroups under "
			"%s)\n",
			CG_FS);
		return -EPERM;
	}
	if (v2 &&
	    (sim_cgroup_read(CG_FS, "cgroup.controllers", &ctrls) < 0 || !strstr(ctrls, "cpuset")))
		v2 = false;
	free(ctrls);
	if (!v2 && access(CG_FS "/cpuset/cpuset.cpus", F_OK) < 0) {
		fprintf(stderr,
			"nri-sim: --apply-cgroups: no cpuset controller (neither %s/cpuset "
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
		const char *slice = g->systemd ? ".slice" : "";
		int n = g->v2 ? asprintf(&g->base[i], "%s/%s%s", CG_FS, g->name, slice)
			      : asprintf(&g->base[i], "%s/%s/%s%s", CG_FS, ctrl_names[i], g->name,
					 slice);

		if (n < 0) {
			g->base[i] = NULL;
			return -ENOMEM;
		}
		if (access(g->base[i], F_OK) == 0) {
			fprintf(stderr, "nri-sim: --apply-cgroups: %s already exists\n",
				g->base[i]);
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
			r = sim_cgroup_write(root, "cgroup.subtree_control",
					     "+cpuset +cpu +memory");
		else if (i == CG_CPUSET)
			r = cg_copy(root, g->base[i], "cpuset.cpus")
				    ?: cg_copy(root, g->base[i], "cpuset.mems");
		if (r == 0 && g->v2)
			r = sim_cgroup_write(g->base[i], "cgroup.subtree_control",
					     "+cpuset +cpu +memory");
		if (r < 0)
			fprintf(stderr, "nri-sim: --apply-cgroups: cannot set up %s: %s\n",
				g->base[i], strerror(-r));
	}
	return r;
}

void sim_cgroup_ent_free(struct cg_ent *e)
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
		sim_cgroup_ent_free(g->ents[i]);
	}
	watchdog_finish(g);
	free(g->ents);
	for (int i = 0; i < n_hier(g); i++)
		free(g->base[i]);
	free(g->name);
	free(g);
}

int sim_cgroups_setup(const char *name, bool systemd)
{
	struct sim_cgroups *g;
	bool v2 = false;
	int r;

	if (!name_ok(name)) {
		fprintf(stderr, "nri-sim: --apply-cgroups: bad cgroup name \"%s\"\n", name);
		return -EINVAL;
	}
	if (systemd && strchr(name, '-')) { /* systemd nests a-b.slice in a.slice */
		fprintf(stderr,
			"nri-sim: --apply-cgroups \"%s\" with --cgroup-driver systemd: the "
			"name becomes a slice, and a '-' in a slice name nests it; use one "
			"without\n",
			name);
		return -EINVAL;
	}
	r = probe(&v2);
	if (r < 0)
		return r;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (struct sim_cgroups){.v2 = v2, .systemd = systemd, .watchdog = -1, .watch_fd = -1};
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
	sim_cgroup_state = g;
	return 0;
}

void sim_cgroups_teardown(void)
{
	struct sim_cgroups *g = sim_cgroup_state;

	sim_cgroup_state = NULL;
	cgroups_free(g);
}
