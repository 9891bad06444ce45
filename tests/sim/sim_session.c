/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime end of one plugin connection, behaving like containerd where the
 * protocol document says so: stale socket removed and parent made 0700; launched
 * plugins get fd 3 and exactly three environment variables; RegisterPlugin within the
 * registration timeout; Configure and Synchronize failures close the plugin; a request
 * timeout closes it (and kills a launched one); UpdateContainers waits while an event
 * is in flight, as containerd's NRI lock makes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/sim.h"

uint64_t sim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

void sim_error(struct sim *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nri-sim: %s\n", buf);
	json_object_array_add(s->errors, json_object_new_string(buf));
}

static int mkdir_parents(const char *path)
{
	char *dir = strdup(path), *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1; r == 0 && p && *p; p = strchr(p + 1, '/')) {
			char c = *p;
			if (c != '/')
				continue;
			*p = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				r = -errno;
			*p = c;
		}
		if (r == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	free(dir);
	return r;
}

/*
 * Bound under a temporary name and renamed once listening, so a plugin that sees the
 * path never gets ECONNREFUSED from the window between bind() and listen().
 */
static int listen_setup(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path, (int)getpid()) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	r = mkdir_parents(path);
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT) /* a stale socket from a previous run */
		return -errno;
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    rename(sa.sun_path, path) < 0) {
		r = -errno;
		unlink(sa.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

static int read_file(const char *path, char **ret)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	if (!f)
		return -errno;
	FILE *m = open_memstream(&buf, &len);
	if (!m) {
		fclose(f);
		return -ENOMEM;
	}
	for (int c; (c = fgetc(f)) != EOF;)
		fputc(c, m);
	if (ferror(f))
		r = -EIO;
	fclose(f);
	fclose(m);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

int sim_init(struct sim *s, const struct sim_opts *o)
{
	int r = 0;

	*s = (struct sim){.o = *o, .listen_fd = -1, .child = -1, .t0_us = sim_now_us()};
	s->nri = sim_nri_lookup(o->nri_version);
	if (!s->nri)
		return -EINVAL;
	s->model.systemd = o->systemd;
	if (o->report_real_cgroups)
		s->model.real_cgroups = o->apply_cgroups;
	s->requests = json_object_new_array();
	s->errors = json_object_new_array();
	s->unsolicited = json_object_new_array();
	s->expect_failures = json_object_new_array();
	s->sessions_log = json_object_new_array();
	s->plugin_exits = json_object_new_array();
	if (!s->requests || !s->errors || !s->unsolicited || !s->expect_failures ||
	    !s->sessions_log || !s->plugin_exits)
		return -ENOMEM;
	if (o->plugin_config_path)
		r = read_file(o->plugin_config_path, &s->plugin_config);
	if (r == 0 && o->listen_path) {
		s->listen_fd = listen_setup(o->listen_path);
		r = s->listen_fd < 0 ? s->listen_fd : 0;
	}
	return r;
}

/* For the report: "exit N", "signal N", or "killed (why)" when nri-sim SIGKILLed it. */
static void child_record(struct sim *s, int status, const char *killed_why)
{
	char buf[128];

	if (killed_why && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		snprintf(buf, sizeof(buf), "killed (%s)", killed_why);
	else if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, sizeof(buf), "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	json_object_array_add(s->plugin_exits, json_object_new_string(buf));
}

/* Without kill_why, a launched plugin gets 3 s to exit on EOF by itself. */
static void child_reap(struct sim *s, const char *kill_why)
{
	pid_t r = 0;
	int status = 0;

	if (s->child <= 0)
		return;
	if (kill_why)
		kill(s->child, SIGKILL);
	for (int i = 0; i < 300 && (r = waitpid(s->child, &status, WNOHANG)) == 0; i++)
		usleep(10000);
	if (r == 0) {
		kill(s->child, SIGKILL);
		waitpid(s->child, &status, 0);
		kill_why = "still running 3 s after EOF";
	}
	child_record(s, status, kill_why);
	s->child = -1;
}

void sim_end(struct sim *s)
{
	nri_trunk_free(s->t);
	s->t = NULL;
	child_reap(s, NULL); /* the plugin sees EOF and should exit by itself */
}

void sim_done(struct sim *s)
{
	sim_cgroups_teardown(); /* before the model: entries point at its containers */
	sim_end(s);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->o.listen_path);
	}
	for (size_t i = 0; i < s->n_deferred; i++)
		free(s->deferred[i].payload);
	free(s->deferred);
	free(s->plugin_config);
	free(s->plugin_name);
	free(s->plugin_idx);
	free(s->plugin_nri_version);
	sim_model_done(&s->model);
	json_object_put(s->requests);
	json_object_put(s->errors);
	json_object_put(s->unsolicited);
	json_object_put(s->expect_failures);
	json_object_put(s->sessions_log);
	json_object_put(s->plugin_exits);
}

void sim_disconnect(struct sim *s, const char *why)
{
	if (!s->t)
		return;
	nri_trunk_free(s->t);
	s->t = NULL;
	if (s->connected)
		s->disconnects++;
	s->connected = s->registered = s->register_failed = false;
	for (size_t i = 0; i < s->n_deferred; i++)
		free(s->deferred[i].payload);
	s->n_deferred = 0;
	sim_error(s, "plugin %s-%s closed: %s", s->plugin_idx ? s->plugin_idx : "??",
		  s->plugin_name ? s->plugin_name : "?", why);
	if (s->child > 0)
		child_reap(s, why); /* launched plugins are killed, never restarted */
}

/* The name/index the file name "NN-name" gives a launched plugin. */
static void launch_identity(const struct sim *s, char *idx, char *name, size_t len)
{
	const char *base = s->o.launch_name;

	if (!base) {
		base = strrchr(s->o.launch_path, '/');
		base = base ? base + 1 : s->o.launch_path;
	}
	snprintf(idx, 3, "%.2s", base);
	snprintf(name, len, "%s", strlen(base) > 3 ? base + 3 : "");
}

static void child_exec(const struct sim *s, int fd)
{
	char idx[3], name[256], env_name[300], env_idx[32];
	char *envp[] = {env_name, env_idx, (char *)"NRI_PLUGIN_SOCKET=3", NULL};
	char *argv[] = {(char *)s->o.launch_path, NULL};
	int null = open("/dev/null", O_RDWR);
	int err = s->o.plugin_stderr ? open(s->o.plugin_stderr, O_WRONLY | O_CREAT | O_APPEND, 0600)
				     : null;

	launch_identity(s, idx, name, sizeof(name));
	snprintf(env_name, sizeof(env_name), "NRI_PLUGIN_NAME=%s", name);
	snprintf(env_idx, sizeof(env_idx), "NRI_PLUGIN_IDX=%s", idx);
	if (null < 0 || err < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (fd == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(fd, 3) < 0)
		_exit(127);
	for (int i = 4; i < 1024; i++)
		close(i);
	execve(s->o.launch_path, argv, envp);
	_exit(127);
}

static int launch_plugin(struct sim *s)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0)
		child_exec(s, sv[1]);
	close(sv[1]);
	s->child = pid;
	return sv[0];
}

static int accept_one(struct sim *s, int timeout_ms)
{
	struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
	int fd;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sim_connect(struct sim *s, unsigned int timeout_ms)
{
	int fd, r;

	if (s->t)
		return -EALREADY;
	fd = s->o.launch_path ? launch_plugin(s) : accept_one(s, (int)timeout_ms);
	if (fd < 0)
		return fd;
	r = nri_trunk_new(fd, NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, sim_serve, s, &s->t);
	if (r < 0)
		return r;
	r = sim_handshake(s);
	if (r < 0) {
		sim_disconnect(s, "handshake failed");
		return -ECONNABORTED; /* -ETIMEDOUT stays "nobody connected" */
	}
	s->connected = true;
	if (s->sessions++ > 0)
		s->reconnects++;
	sim_cgroups_sync(s); /* Synchronize's updates */
	return 0;
}

void sim_pump(struct sim *s, int timeout_ms)
{
	uint64_t end = sim_now_us() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000;

	do {
		uint64_t now = sim_now_us();
		int left = now >= end ? 0 : (int)((end - now + 999) / 1000);

		if (s->t) {
			int r = nri_trunk_run_once(s->t, left);
			if (r < 0)
				sim_disconnect(s, r == -ECONNRESET ? "connection closed by plugin"
								   : strerror(-r));
			sim_run_deferred(s);
		} else if (s->listen_fd >= 0) {
			/* External plugins may come back at any time, as with a real runtime. */
			sim_connect(s, (unsigned int)left);
		} else if (left > 0) {
			usleep((useconds_t)left * 1000);
		}
	} while (sim_now_us() < end);
}
