/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault injection for the simulator: the scenario command
 *
 *   fault drop-after-send <Method> [n]   the next n calls of Method (default 1) are
 *                                        sent, then the connection is closed before
 *                                        the reply, as a crashing runtime would do
 *   fault check-exclusive always         from now on, after every scenario line and
 *                                        every UpdateContainers call, live containers
 *                                        marked `exclusive` and not stopped must have
 *                                        disjoint cpusets
 *   fault check-quota always             likewise: every live container with a CPU
 *                                        limit has the CFS quota of that limit, and
 *                                        one marked `exclusive` none (-1): topoguard's
 *                                        default (exclusive CPUs are not throttled);
 *                                        a value left from before a move is stale
 *   fault runtime-restart <down-ms> [stale-specs] [lose=<ctr>]...
 *                                        the runtime goes away: listener closed, socket
 *                                        removed, plugin dropped; down-ms later a new
 *                                        listener appears and the time until the
 *                                        plugin completed the new handshake is logged
 *                                        ("fault: runtime-restart: resync_us=N").
 *                                        stale-specs: from then on the runtime reports
 *                                        each container's creation-time resources
 *                                        (plus later updates) while the kernel keeps
 *                                        what it had (CRI-O 1.26); lose=<ctr>: that
 *                                        running container's process ends while the
 *                                        runtime is away (no event reaches the plugin)
 *   fault rewrite-cpuset <ctr> <cpus>    a third party writes the container's real
 *                                        cpuset.cpus (--apply-cgroups), behind the
 *                                        runtime's back: the model keeps its value
 *
 * The continuous check is here rather than as generated `expect-` lines because the
 * daemon's unsolicited UpdateContainers land between lines: only the simulator sees
 * every moment at which the runtime's state changed.
 *
 * State is file-static: one simulator per process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/sim.h"

#define FAULT_MAX_REPORTS 8 /* overlaps reported before the check goes quiet */

static struct {
	char drop_method[64];
	unsigned long drop_left;
	bool check_always, check_quota;
	unsigned int reports;
} fault;

/* A stopped container runs nothing: its CPUs may already serve someone else. */
bool sim_ctr_live_exclusive(const struct sim_ctr *c)
{
	return c->exclusive && !c->removed && !c->failed &&
	       c->state != NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
}

static bool sets_overlap(const char *a, const char *b)
{
	uint64_t x[SIM_MAX_CPUS / 64], y[SIM_MAX_CPUS / 64];

	if (sim_cpulist_parse(a, x) < 0 || sim_cpulist_parse(b, y) < 0)
		return true; /* an unparsable cpuset is as bad as a shared one */
	for (size_t i = 0; i < SIM_MAX_CPUS / 64; i++) {
		if (x[i] & y[i])
			return true;
	}
	return false;
}

static void fault_fail(struct sim *s, const char *msg)
{
	fprintf(stderr, "nri-sim: FAIL %s\n", msg);
	s->expect_failed++;
	json_object_array_add(s->expect_failures, json_object_new_string(msg));
}

static void check_exclusive(struct sim *s, const char *where)
{
	const struct sim_model *m = &s->model;
	char msg[512];

	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct sim_ctr *a = m->ctrs[i];

		if (!sim_ctr_live_exclusive(a))
			continue;
		for (size_t j = i + 1; j < m->n_ctrs; j++) {
			const struct sim_ctr *b = m->ctrs[j];

			if (!sim_ctr_live_exclusive(b) || !sets_overlap(a->res.cpus, b->res.cpus) ||
			    fault.reports++ >= FAULT_MAX_REPORTS)
				continue;
			snprintf(msg, sizeof(msg),
				 "continuous check after %s: exclusive %s (%s) and %s (%s) share "
				 "CPUs",
				 where, a->id, a->res.cpus ? a->res.cpus : "", b->id,
				 b->res.cpus ? b->res.cpus : "");
			fault_fail(s, msg);
		}
	}
}

/* The quota c must have: none when exclusive, else its limit's over its period. */
static int64_t quota_wanted(const struct sim_ctr *c)
{
	uint64_t period = c->res.has_period && c->res.period ? c->res.period : 100000;

	return c->exclusive ? -1 : (int64_t)((uint64_t)c->k8s_quota * period / 100000);
}

static void check_quota(struct sim *s, const char *where)
{
	const struct sim_model *m = &s->model;
	char msg[512];

	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct sim_ctr *c = m->ctrs[i];
		int64_t want;

		if (c->removed || c->failed ||
		    c->state == NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED ||
		    !c->has_k8s_quota || c->k8s_quota <= 0)
			continue;
		want = quota_wanted(c);
		if ((c->res.has_quota && c->res.quota == want) ||
		    fault.reports++ >= FAULT_MAX_REPORTS)
			continue;
		snprintf(msg, sizeof(msg),
			 "continuous check after %s: %s%s on %s has quota %s%" PRId64
			 ", want %" PRId64,
			 where, c->exclusive ? "exclusive " : "", c->id,
			 c->res.cpus ? c->res.cpus : "", c->res.has_quota ? "" : "unset ",
			 c->res.has_quota ? c->res.quota : 0, want);
		fault_fail(s, msg);
	}
}

void sim_fault_check(struct sim *s, const char *where)
{
	unsigned int before = fault.reports;

	if ((!fault.check_always && !fault.check_quota) || fault.reports >= FAULT_MAX_REPORTS)
		return;
	if (fault.check_always)
		check_exclusive(s, where);
	if (fault.check_quota)
		check_quota(s, where);
	if (fault.reports == before)
		s->expect_passed++; /* each clean check counts, so a report shows how many ran */
}

void sim_fault_after_send(struct sim *s, const char *method)
{
	char why[128];

	if (!fault.drop_left || strcmp(method, fault.drop_method) || !s->t)
		return;
	fault.drop_left--;
	nri_trunk_flush(s->t, 1000); /* the request must really reach the plugin */
	snprintf(why, sizeof(why), "fault: dropped after sending %s", method);
	sim_disconnect(s, why);
}

/* As listen_setup() in sim_session.c: bound under a temporary name, then renamed. */
static int fault_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%d", path, (int)getpid()) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
	    rename(sa.sun_path, path) < 0) {
		int r = -errno;

		unlink(sa.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

/* CRI-O 1.26 restarted: its in-memory specs are the creation-time ones again. */
static int stale_specs(struct sim *s)
{
	for (size_t i = 0; i < s->model.n_ctrs; i++) {
		struct sim_ctr *c = s->model.ctrs[i];
		int r = sim_res_copy(&c->spec, &c->created);

		if (r < 0)
			return r;
		c->has_spec = true;
	}
	return 0;
}

/* The process of a running container ends while nobody tells the plugin. */
static int lose(struct sim *s, const char *id)
{
	struct sim_ctr *c = sim_model_ctr(&s->model, id);
	struct timespec now;

	if (!c || c->removed ||
	    c->state != NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING)
		return -EINVAL;
	c->state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
	c->exited = true;
	clock_gettime(CLOCK_REALTIME, &now);
	c->finished_at = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	sim_cgroups_sync(s); /* its process goes now, not at the next line */
	return 0;
}

/* The options after <down-ms>; applied while the runtime is away. */
static int restart_opts(struct sim *s, int argc, char **argv)
{
	int r = 0;

	for (int i = 3; i < argc && r == 0; i++) {
		if (!strcmp(argv[i], "stale-specs"))
			r = stale_specs(s);
		else if (!strncmp(argv[i], "lose=", 5))
			r = lose(s, argv[i] + 5);
		else
			r = -EINVAL;
	}
	return r;
}

static int fault_runtime_restart(struct sim *s, long down_ms, int argc, char **argv)
{
	uint64_t t0;
	int r;

	if (s->listen_fd < 0 || !s->o.listen_path)
		return -EINVAL; /* only external plugins reconnect by themselves */
	sim_disconnect(s, "fault: runtime restart");
	r = restart_opts(s, argc, argv);
	if (r < 0)
		return r;
	close(s->listen_fd);
	unlink(s->o.listen_path);
	s->listen_fd = -1;
	usleep((useconds_t)down_ms * 1000);
	r = fault_listen(s->o.listen_path);
	if (r < 0)
		return r;
	s->listen_fd = r;
	t0 = sim_now_us();
	r = sim_connect(s, s->o.accept_timeout_ms);
	if (r < 0) {
		sim_error(s, "fault: runtime-restart: no plugin within %u ms",
			  s->o.accept_timeout_ms);
		s->expect_failed++;
		return 0;
	}
	sim_error(s, "fault: runtime-restart: resync_us=%" PRIu64, sim_now_us() - t0);
	return 0;
}

static int parse_count(const char *v, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(v, &end, 10);
	return errno || *end || !*v || *ret > 1000000 ? -EINVAL : 0;
}

int sim_fault_command(struct sim *s, int argc, char **argv)
{
	unsigned long n = 1;

	if (argc >= 3 && !strcmp(argv[1], "drop-after-send")) {
		if (strlen(argv[2]) >= sizeof(fault.drop_method) ||
		    (argc > 3 && parse_count(argv[3], &n) < 0))
			return -EINVAL;
		snprintf(fault.drop_method, sizeof(fault.drop_method), "%s", argv[2]);
		fault.drop_left = n;
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "check-exclusive") && !strcmp(argv[2], "always")) {
		fault.check_always = true;
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "check-quota") && !strcmp(argv[2], "always")) {
		fault.check_quota = true;
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "runtime-restart")) {
		if (parse_count(argv[2], &n) < 0 || n > 60000)
			return -EINVAL;
		return fault_runtime_restart(s, (long)n, argc, argv);
	}
	if (argc == 4 && !strcmp(argv[1], "rewrite-cpuset")) {
		const struct sim_ctr *c = sim_model_ctr(&s->model, argv[2]);

		return c ? sim_cgroups_rewrite_cpuset(s, c, argv[3]) : -EINVAL;
	}
	return -EINVAL;
}
