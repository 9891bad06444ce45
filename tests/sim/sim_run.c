/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs scenario lines: lifecycle commands become the event sequences containerd
 * produces (doc §6.4: a failed creation is followed by StopContainer + RemoveContainer,
 * a removal of a running container by its stop first), expectations compare against
 * the simulator's own bookkeeping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/sim/sim.h"

#define STATE(x) NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_##x

struct run_ctx {
	struct sim *s;
	const struct sim_line *l;
	const char *path;
};

static void expect_fail(struct run_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void expect_fail(struct run_ctx *c, const char *fmt, ...)
{
	char msg[768], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s:%d: %s: %s", c->path, c->l->lineno, c->l->argv[0], msg);
	fprintf(stderr, "nri-sim: FAIL %s\n", full);
	c->s->expect_failed++;
	json_object_array_add(c->s->expect_failures, json_object_new_string(full));
}

/* Value of "key=value" among the line's words, or NULL. */
static const char *opt(const struct sim_line *l, const char *key)
{
	size_t n = strlen(key);

	for (int i = 1; i < l->argc; i++) {
		if (!strncmp(l->argv[i], key, n) && l->argv[i][n] == '=')
			return l->argv[i] + n + 1;
	}
	return NULL;
}

static bool flag(const struct sim_line *l, const char *word)
{
	for (int i = 1; i < l->argc; i++) {
		if (!strcmp(l->argv[i], word))
			return true;
	}
	return false;
}

static int parse_ll(const char *v, long long *ret)
{
	char *end;

	if (!v || !*v)
		return -EINVAL;
	errno = 0;
	*ret = strtoll(v, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

/* "annotation k=v" / "label k=v" pairs. */
static int kv_pairs(const struct sim_line *l, const char *word, struct sim_kvs *kv)
{
	for (int i = 1; i + 1 < l->argc; i++) {
		char *eq, *copy;
		int r;

		if (strcmp(l->argv[i], word) || !(eq = strchr(l->argv[i + 1], '=')))
			continue;
		copy = strdup(l->argv[i + 1]);
		if (!copy)
			return -ENOMEM;
		copy[eq - l->argv[i + 1]] = '\0';
		r = sim_kvs_set(kv, copy, copy + (eq - l->argv[i + 1]) + 1);
		free(copy);
		if (r < 0)
			return r;
	}
	return 0;
}

/* cpu-request/cpu-limit (millicores), mem-limit (bytes), cpus, mems. */
static int res_opts(const struct sim_line *l, struct sim_res *r, bool *ret_any)
{
	long long req = -1, lim = 0, mem = 0;
	const char *v;
	int ret = 0;

	*ret_any = opt(l, "cpu-request") || opt(l, "cpu-limit") || opt(l, "mem-limit");
	if ((v = opt(l, "cpu-request")))
		ret |= parse_ll(v, &req);
	if ((v = opt(l, "cpu-limit")))
		ret |= parse_ll(v, &lim);
	if ((v = opt(l, "mem-limit")))
		ret |= parse_ll(v, &mem);
	if (ret)
		return -EINVAL;
	if (*ret_any)
		sim_res_from_k8s(r, (long)req, (long)lim, mem);
	if ((v = opt(l, "cpus")) && (ret = sim_res_set_str(&r->cpus, v)) < 0)
		return ret;
	if ((v = opt(l, "mems")) && (ret = sim_res_set_str(&r->mems, v)) < 0)
		return ret;
	*ret_any = *ret_any || opt(l, "cpus") || opt(l, "mems");
	return 0;
}

static int pod_fill(struct sim_pod *p, const struct sim_line *l)
{
	const char *slash = strchr(l->argv[2], '/');
	const char *qos = opt(l, "qos");
	char uid[128];
	bool any;
	int r;

	snprintf(uid, sizeof(uid), "%s", opt(l, "uid") ? opt(l, "uid") : "");
	if (!*uid)
		snprintf(uid, sizeof(uid), "uid-%s", l->argv[1]);
	p->id = strdup(l->argv[1]);
	p->ns = slash ? strndup(l->argv[2], (size_t)(slash - l->argv[2])) : strdup("default");
	p->name = strdup(slash ? slash + 1 : l->argv[2]);
	p->uid = strdup(uid);
	p->qos = strdup(qos ? qos : "burstable");
	if (!p->id || !p->ns || !p->name || !p->uid || !p->qos)
		return -ENOMEM;
	if (strcmp(p->qos, "guaranteed") && strcmp(p->qos, "burstable") &&
	    strcmp(p->qos, "besteffort"))
		return -EINVAL;
	r = sim_kvs_set(&p->labels, "io.kubernetes.pod.name", p->name);
	r = r ?: sim_kvs_set(&p->labels, "io.kubernetes.pod.namespace", p->ns);
	r = r ?: sim_kvs_set(&p->labels, "io.kubernetes.pod.uid", p->uid);
	r = r ?: kv_pairs(l, "label", &p->labels);
	r = r ?: kv_pairs(l, "annotation", &p->annotations);
	return r ?: res_opts(l, &p->res, &any);
}

static int cmd_pod(struct run_ctx *c)
{
	struct sim_pod *p;
	bool failed;
	int r;

	if (c->l->argc < 3 || sim_model_pod(&c->s->model, c->l->argv[1]))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = pod_fill(p, c->l);
	if (r == 0)
		r = sim_model_add_pod(&c->s->model, p);
	if (r < 0) {
		sim_pod_free(p);
		return r;
	}
	if (c->l->existing)
		return 0;
	sim_event(c->s, NRI_EV_RUN_POD_SANDBOX, p, NULL, NULL, &failed);
	if (failed) { /* containerd: StopPodSandbox + RemovePodSandbox after a failed run */
		sim_event(c->s, NRI_EV_STOP_POD_SANDBOX, p, NULL, NULL, &failed);
		sim_event(c->s, NRI_EV_REMOVE_POD_SANDBOX, p, NULL, NULL, &failed);
		p->removed = true;
	}
	return 0;
}

/* Every device=TYPE:MAJ:MIN:PATH (TYPE c, u or b; any numbers, so that a scenario can
 * send what a broken runtime would). */
static int ctr_devices(struct sim_ctr *k, const struct sim_line *l)
{
	for (int i = 1; i < l->argc; i++) {
		const char *v = l->argv[i];
		long long maj, min;
		int off = 0;
		char **grown;

		if (strncmp(v, "device=", 7))
			continue;
		v += 7;
		if (!strchr("cub", v[0]) || v[0] == '\0' || v[1] != ':' ||
		    sscanf(v + 2, "%lld:%lld:%n", &maj, &min, &off) != 2 || !off || !v[2 + off])
			return -EINVAL;
		grown = realloc(k->devices, (k->n_devices + 1) * sizeof(*k->devices));
		if (!grown)
			return -ENOMEM;
		k->devices = grown;
		if (!(k->devices[k->n_devices] = strdup(v)))
			return -ENOMEM;
		k->n_devices++;
	}
	return 0;
}

static int ctr_fill(struct sim_ctr *k, const struct sim_pod *p, const struct sim_line *l)
{
	const char *name = opt(l, "name");
	bool any;
	int r;

	k->id = strdup(l->argv[1]);
	k->pod_id = strdup(p->id);
	k->name = strdup(name ? name : l->argv[1]);
	if (!k->id || !k->pod_id || !k->name)
		return -ENOMEM;
	k->exclusive = flag(l, "exclusive");
	k->state = l->existing ? STATE(RUNNING) : STATE(CREATED);
	r = sim_kvs_set(&k->labels, "io.kubernetes.container.name", k->name);
	r = r ?: sim_kvs_set(&k->labels, "io.kubernetes.pod.name", p->name);
	r = r ?: sim_kvs_set(&k->labels, "io.kubernetes.pod.namespace", p->ns);
	r = r ?: sim_kvs_set(&k->labels, "io.kubernetes.pod.uid", p->uid);
	r = r ?: kv_pairs(l, "label", &k->labels);
	r = r ?: kv_pairs(l, "annotation", &k->annotations);
	r = r ?: ctr_devices(k, l);
	r = r ?: res_opts(l, &k->res, &any);
	k->has_k8s_quota = k->res.has_quota;
	k->k8s_quota = k->res.quota;
	return r;
}

static int cmd_create(struct run_ctx *c)
{
	const char *pod_id = opt(c->l, "pod");
	struct sim_pod *p = pod_id ? sim_model_pod(&c->s->model, pod_id) : NULL;
	struct sim_ctr *k;
	bool failed;
	int r;

	if (c->l->argc < 2 || !p || sim_model_ctr(&c->s->model, c->l->argv[1]))
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	r = ctr_fill(k, p, c->l);
	if (r == 0)
		r = sim_model_add_ctr(&c->s->model, k);
	if (r < 0) {
		sim_ctr_free(k);
		return r;
	}
	if (c->l->existing)
		return sim_res_copy(&k->created, &k->res);
	sim_event(c->s, NRI_EV_CREATE_CONTAINER, p, k, NULL, &failed);
	if (failed) {
		k->failed = true;
		sim_event(c->s, NRI_EV_STOP_CONTAINER, p, k, NULL, &failed);
		k->state = STATE(STOPPED);
		sim_event(c->s, NRI_EV_REMOVE_CONTAINER, p, k, NULL, &failed);
		k->removed = true;
		return 0;
	}
	if (flag(c->l, "fail-after")) {
		/* CRI-O 1.26's undo path after a failure past the NRI call (command not found,
		 * no log directory): no PostCreate, no Stop, no Remove, and the runtime forgets
		 * it, so later updates naming it fail ("ID does not exist") */
		k->failed = true;
		k->ghost = true;
		sim_error(c->s, "creation of %s failed after CreateContainer (fail-after)", k->id);
		return 0;
	}
	sim_event(c->s, NRI_EV_POST_CREATE_CONTAINER, p, k, NULL, &failed);
	return sim_res_copy(&k->created, &k->res);
}

static int ctr_and_pod(struct run_ctx *c, struct sim_ctr **k, struct sim_pod **p)
{
	if (c->l->argc < 2 || !(*k = sim_model_ctr(&c->s->model, c->l->argv[1])))
		return -EINVAL;
	*p = sim_model_pod(&c->s->model, (*k)->pod_id);
	return *p ? 0 : -EINVAL;
}

/* `touch=MIB`: 1..1024 MiB the container's process writes once it is in its cgroups
 * (--apply-cgroups), so that memory.numa_stat shows where its pages went. */
static int start_opts(struct run_ctx *c, struct sim_ctr *k)
{
	for (int i = 2; i < c->l->argc; i++) {
		const char *a = c->l->argv[i];
		char *end;
		unsigned long v;

		if (strncmp(a, "touch=", 6))
			return -EINVAL;
		errno = 0;
		v = strtoul(a + 6, &end, 10);
		if (errno || end == a + 6 || *end || v < 1 || v > 1024)
			return -EINVAL;
		k->touch_mib = (unsigned int)v;
	}
	return 0;
}

static int cmd_start(struct run_ctx *c)
{
	struct sim_ctr *k;
	struct sim_pod *p;
	bool failed;

	if (ctr_and_pod(c, &k, &p) < 0 || k->failed || start_opts(c, k) < 0)
		return -EINVAL;
	sim_event(c->s, NRI_EV_START_CONTAINER, p, k, NULL, &failed);
	if (failed)
		return 0; /* "NRI container start failed": the task never starts */
	k->state = STATE(RUNNING);
	sim_event(c->s, NRI_EV_POST_START_CONTAINER, p, k, NULL, &failed);
	return 0;
}

static int cmd_update(struct run_ctx *c)
{
	struct sim_res req = {0};
	struct sim_ctr *k;
	struct sim_pod *p;
	bool failed, any;
	int r;

	if (ctr_and_pod(c, &k, &p) < 0 || res_opts(c->l, &req, &any) < 0 || !any) {
		sim_res_done(&req);
		return -EINVAL;
	}
	r = sim_event(c->s, NRI_EV_UPDATE_CONTAINER, p, k, &req, &failed);
	if (r >= 0 && !failed && req.has_quota) {
		k->has_k8s_quota = true;
		k->k8s_quota = req.quota;
	}
	if (r >= 0 && !failed)
		sim_event(c->s, NRI_EV_POST_UPDATE_CONTAINER, p, k, NULL, &failed);
	sim_res_done(&req);
	return 0;
}

static void ctr_stop(struct sim *s, struct sim_pod *p, struct sim_ctr *k)
{
	bool failed;

	if (k->state == STATE(STOPPED))
		return;
	sim_event(s, NRI_EV_STOP_CONTAINER, p, k, NULL, &failed);
	k->state = STATE(STOPPED);
}

/* no_stop: RemoveContainer straight away, as runtimes that skip StopContainer do. */
static void ctr_remove(struct sim *s, struct sim_pod *p, struct sim_ctr *k, bool no_stop)
{
	bool failed;

	if (!no_stop)
		ctr_stop(s, p, k);
	sim_event(s, NRI_EV_REMOVE_CONTAINER, p, k, NULL, &failed);
	k->state = STATE(STOPPED);
	k->removed = true;
}

static int cmd_stop(struct run_ctx *c)
{
	struct sim_ctr *k;
	struct sim_pod *p;

	if (ctr_and_pod(c, &k, &p) < 0)
		return -EINVAL;
	ctr_stop(c->s, p, k);
	return 0;
}

static int cmd_remove(struct run_ctx *c)
{
	struct sim_ctr *k;
	struct sim_pod *p;

	if (ctr_and_pod(c, &k, &p) < 0)
		return -EINVAL;
	ctr_remove(c->s, p, k, flag(c->l, "no-stop"));
	return 0;
}

/*
 * The container's process ends on its own: the runtime records the exit and tells the
 * plugins with StopContainer (doc §6.4), the container already stopped and carrying its
 * exit code and finish time, as containerd reports a task exit.
 */
static int cmd_exit(struct run_ctx *c)
{
	const char *code = opt(c->l, "code");
	struct timespec now;
	long long v = 0;
	struct sim_ctr *k;
	struct sim_pod *p;
	bool failed;

	if (ctr_and_pod(c, &k, &p) < 0 || k->removed || k->state != STATE(RUNNING) ||
	    (code && (parse_ll(code, &v) < 0 || v < INT32_MIN || v > INT32_MAX)))
		return -EINVAL;
	k->state = STATE(STOPPED);
	k->exited = true;
	k->exit_code = (int32_t)v;
	clock_gettime(CLOCK_REALTIME, &now);
	k->finished_at = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	sim_event(c->s, NRI_EV_STOP_CONTAINER, p, k, NULL, &failed);
	return 0;
}

static int cmd_pod_end(struct run_ctx *c, bool remove)
{
	struct sim_pod *p = c->l->argc >= 2 ? sim_model_pod(&c->s->model, c->l->argv[1]) : NULL;
	struct sim_model *m = &c->s->model;
	bool failed;

	if (!p)
		return -EINVAL;
	for (size_t i = 0; i < m->n_ctrs; i++) {
		if (!m->ctrs[i]->removed && !strcmp(m->ctrs[i]->pod_id, p->id))
			ctr_stop(c->s, p, m->ctrs[i]);
	}
	if (!p->stopped)
		sim_event(c->s, NRI_EV_STOP_POD_SANDBOX, p, NULL, NULL, &failed);
	p->stopped = true;
	if (!remove)
		return 0;
	for (size_t i = 0; i < m->n_ctrs; i++) {
		if (!m->ctrs[i]->removed && !strcmp(m->ctrs[i]->pod_id, p->id))
			ctr_remove(c->s, p, m->ctrs[i], false);
	}
	sim_event(c->s, NRI_EV_REMOVE_POD_SANDBOX, p, NULL, NULL, &failed);
	p->removed = true;
	return 0;
}

static int cmd_stop_pod(struct run_ctx *c)
{
	return cmd_pod_end(c, false);
}

static int cmd_remove_pod(struct run_ctx *c)
{
	return cmd_pod_end(c, true);
}

static int cmd_update_pod(struct run_ctx *c)
{
	struct sim_pod *p = c->l->argc >= 2 ? sim_model_pod(&c->s->model, c->l->argv[1]) : NULL;
	struct sim_res req = {0};
	bool failed, any;

	if (!p || res_opts(c->l, &req, &any) < 0) {
		sim_res_done(&req);
		return -EINVAL;
	}
	if (sim_nri_at_least(c->s, 10, 0)) { /* no pod updates before v0.10 */
		sim_event(c->s, NRI_EV_UPDATE_POD_SANDBOX, p, NULL, &req, &failed);
		if (!failed)
			sim_event(c->s, NRI_EV_POST_UPDATE_POD_SANDBOX, p, NULL, NULL, &failed);
	}
	sim_res_done(&req);
	return 0;
}

static int cmd_sleep(struct run_ctx *c)
{
	long long ms;

	if (c->l->argc < 2 || parse_ll(c->l->argv[1], &ms) < 0 || ms < 0)
		return -EINVAL;
	sim_pump(c->s, (int)ms);
	return 0;
}

static int cmd_restart(struct run_ctx *c)
{
	sim_disconnect(c->s, "runtime restart");
	if (sim_connect(c->s, c->s->o.accept_timeout_ms) < 0)
		expect_fail(c, "the plugin did not come back within %u ms",
			    c->s->o.accept_timeout_ms);
	return 0;
}

static int cmd_wait_updates(struct run_ctx *c)
{
	long long n, ms = 5000;
	uint64_t end;

	if (c->l->argc < 2 || parse_ll(c->l->argv[1], &n) < 0 ||
	    (c->l->argc > 2 && parse_ll(c->l->argv[2], &ms) < 0))
		return -EINVAL;
	end = sim_now_us() + (uint64_t)ms * 1000;
	while (c->s->unsolicited_calls < (uint64_t)n && sim_now_us() < end)
		sim_pump(c->s, 10);
	if (c->s->unsolicited_calls < (uint64_t)n)
		expect_fail(c, "%" PRIu64 " UpdateContainers calls after %lld ms, want %lld",
			    c->s->unsolicited_calls, ms, n);
	return 0;
}

/*
 * Until the n-th plugin session (counted from the first) completed its handshake,
 * Synchronize included: a scenario that has a plugin killed and restarted goes on
 * once the new one is in, however long a loaded machine took to start it.
 */
static int cmd_wait_sessions(struct run_ctx *c)
{
	long long n, ms = 5000;
	uint64_t end;

	if (c->l->argc < 2 || parse_ll(c->l->argv[1], &n) < 0 || n < 1 ||
	    (c->l->argc > 2 && parse_ll(c->l->argv[2], &ms) < 0))
		return -EINVAL;
	end = sim_now_us() + (uint64_t)ms * 1000;
	while (c->s->sessions < (uint64_t)n && sim_now_us() < end)
		sim_pump(c->s, 10);
	if (c->s->sessions < (uint64_t)n)
		expect_fail(c, "%" PRIu64 " plugin sessions after %lld ms, want %lld",
			    c->s->sessions, ms, n);
	return 0;
}

static struct sim_ctr *ctr_any(const struct sim_model *m, const char *id)
{
	struct sim_ctr *found = NULL;

	for (size_t i = 0; i < m->n_ctrs; i++) {
		if (!strcmp(m->ctrs[i]->id, id))
			found = m->ctrs[i]; /* the newest one of that id */
	}
	return found;
}

static int cmd_expect_set(struct run_ctx *c, bool mems)
{
	uint64_t want[SIM_MAX_CPUS / 64], got[SIM_MAX_CPUS / 64];
	struct sim_ctr *k;
	const char *have;

	if (c->l->argc < 3 || !(k = ctr_any(&c->s->model, c->l->argv[1])))
		return -EINVAL;
	have = mems ? k->res.mems : k->res.cpus;
	if (sim_cpulist_parse(strcmp(c->l->argv[2], "-") ? c->l->argv[2] : "", want) < 0)
		return -EINVAL;
	if (sim_cpulist_parse(have, got) < 0 || memcmp(want, got, sizeof(want)))
		expect_fail(c, "%s: want \"%s\", have \"%s\"", k->id, c->l->argv[2],
			    have ? have : "");
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_cpus(struct run_ctx *c)
{
	return cmd_expect_set(c, false);
}

static int cmd_expect_mems(struct run_ctx *c)
{
	return cmd_expect_set(c, true);
}

static int cmd_expect_mem_limit(struct run_ctx *c)
{
	struct sim_ctr *k;
	long long want;

	if (c->l->argc < 3 || !(k = ctr_any(&c->s->model, c->l->argv[1])) ||
	    parse_ll(c->l->argv[2], &want) < 0)
		return -EINVAL;
	if (!k->res.has_mem_limit || k->res.mem_limit != want)
		expect_fail(c, "%s: want %lld, have %lld", k->id, want,
			    k->res.has_mem_limit ? (long long)k->res.mem_limit : -1LL);
	else
		c->s->expect_passed++;
	return 0;
}

/* expect-quota <ctr> <quota|-> [period]: the CFS quota (-1 unlimited; - unset). */
static int cmd_expect_quota(struct run_ctx *c)
{
	struct sim_ctr *k;
	long long want = 0, period = 0;
	bool unset;

	if (c->l->argc < 3 || !(k = ctr_any(&c->s->model, c->l->argv[1])))
		return -EINVAL;
	unset = !strcmp(c->l->argv[2], "-");
	if ((!unset && parse_ll(c->l->argv[2], &want) < 0) ||
	    (c->l->argc > 3 && parse_ll(c->l->argv[3], &period) < 0))
		return -EINVAL;
	if (unset ? k->res.has_quota
		  : !k->res.has_quota || k->res.quota != want ||
			    (period && (!k->res.has_period || (long long)k->res.period != period)))
		expect_fail(c, "%s: want quota %s period %lld, have %lld period %lld", k->id,
			    c->l->argv[2], period, k->res.has_quota ? (long long)k->res.quota : 0,
			    k->res.has_period ? (long long)k->res.period : 0);
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_annotation(struct run_ctx *c)
{
	struct sim_ctr *k;
	const char *eq, *have;
	char key[256];

	if (c->l->argc < 3 || !(k = ctr_any(&c->s->model, c->l->argv[1])) ||
	    !(eq = strchr(c->l->argv[2], '=')))
		return -EINVAL;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - c->l->argv[2]), c->l->argv[2]);
	have = sim_kvs_get(&k->annotations, key);
	if (!have || strcmp(have, eq + 1))
		expect_fail(c, "%s: want %s, have %s", k->id, c->l->argv[2],
			    have ? have : "(none)");
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_failed(struct run_ctx *c)
{
	struct sim_ctr *k;

	if (c->l->argc < 2 || !(k = ctr_any(&c->s->model, c->l->argv[1])))
		return -EINVAL;
	if (!k->failed)
		expect_fail(c, "%s was created", k->id);
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_state(struct run_ctx *c)
{
	static const char *const names[] = {"unknown", "created", "paused", "running", "stopped"};
	struct sim_ctr *k;
	const char *have;

	if (c->l->argc < 3 || !(k = ctr_any(&c->s->model, c->l->argv[1])))
		return -EINVAL;
	have = k->removed ? "removed" : names[k->state >= 0 && k->state <= 4 ? k->state : 0];
	if (strcmp(have, c->l->argv[2]))
		expect_fail(c, "%s: want %s, have %s", k->id, c->l->argv[2], have);
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_events(struct run_ctx *c)
{
	long long want;

	if (c->l->argc < 2 || parse_ll(c->l->argv[1], &want) < 0)
		return -EINVAL;
	if ((long long)c->s->events != want)
		expect_fail(c, "want 0x%llx, have 0x%x", want, c->s->events);
	else
		c->s->expect_passed++;
	return 0;
}

static int cmd_expect_connected(struct run_ctx *c)
{
	bool want;

	sim_pump(c->s, 0); /* notice an EOF that is already there */
	if (c->l->argc < 2 || (strcmp(c->l->argv[1], "yes") && strcmp(c->l->argv[1], "no")))
		return -EINVAL;
	want = !strcmp(c->l->argv[1], "yes");
	if (c->s->connected != want)
		expect_fail(c, "plugin is %sconnected", c->s->connected ? "" : "not ");
	else
		c->s->expect_passed++;
	return 0;
}

/* Like a runtime whose plugin is restarting: serve nothing else until it is back. */
static int cmd_wait_connected(struct run_ctx *c)
{
	long ms = c->l->argc > 1 ? strtol(c->l->argv[1], NULL, 10) : 0;
	uint64_t end = sim_now_us() + (uint64_t)(ms > 0 ? ms : 0) * 1000;

	if (ms <= 0)
		return -EINVAL;
	sim_pump(c->s, 0);
	while (!c->s->connected && sim_now_us() < end)
		sim_pump(c->s, 50);
	return 0;
}

static int cmd_fault(struct run_ctx *c)
{
	return sim_fault_command(c->s, c->l->argc, c->l->argv);
}

static const struct {
	const char *verb;
	int (*fn)(struct run_ctx *c);
} commands[] = {
	{"pod", cmd_pod},
	{"create", cmd_create},
	{"start", cmd_start},
	{"update", cmd_update},
	{"stop", cmd_stop},
	{"remove", cmd_remove},
	{"exit", cmd_exit},
	{"stop-pod", cmd_stop_pod},
	{"remove-pod", cmd_remove_pod},
	{"update-pod", cmd_update_pod},
	{"sleep", cmd_sleep},
	{"restart", cmd_restart},
	{"wait-updates", cmd_wait_updates},
	{"wait-sessions", cmd_wait_sessions},
	{"expect-cpus", cmd_expect_cpus},
	{"expect-mems", cmd_expect_mems},
	{"expect-mem-limit", cmd_expect_mem_limit},
	{"expect-quota", cmd_expect_quota},
	{"expect-annotation", cmd_expect_annotation},
	{"expect-failed", cmd_expect_failed},
	{"expect-events", cmd_expect_events},
	{"expect-state", cmd_expect_state},
	{"expect-connected", cmd_expect_connected},
	{"wait-connected", cmd_wait_connected},
	{"fault", cmd_fault},
};

static int run_line(struct sim *s, const struct sim_scenario *sc, const struct sim_line *l)
{
	struct run_ctx c = {.s = s, .l = l, .path = sc->path};

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int r;

		if (strcmp(commands[i].verb, l->argv[0]))
			continue;
		r = commands[i].fn(&c);
		if (r == -EINVAL)
			expect_fail(&c, "bad arguments or unknown pod/container");
		return r == -EINVAL ? 0 : r;
	}
	expect_fail(&c, "unknown command");
	return 0;
}

int sim_apply_existing(struct sim *s, const struct sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_lines; i++) {
		int r = sc->lines[i].existing ? run_line(s, sc, &sc->lines[i]) : 0;

		if (r < 0)
			return r;
	}
	sim_cgroups_sync(s); /* existing containers are running: cgroups and processes */
	return 0;
}

int sim_run_scenario(struct sim *s, const struct sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_lines; i++) {
		int r;

		if (sc->lines[i].existing)
			continue;
		sim_pump(s, 0); /* serve what arrived meanwhile; notice EOF and reconnects */
		r = run_line(s, sc, &sc->lines[i]);
		if (r < 0)
			return r;
		sim_cgroups_sync(s);
		sim_fault_check(s, sc->lines[i].argv[0]);
	}
	sim_pump(s, 0);
	sim_cgroups_sync(s);
	return 0;
}

/* A cpulist into bits; an unset (empty) one is every CPU when unset_is_all. */
static int cpus_bits(const char *list, bool unset_is_all, uint64_t bits[SIM_MAX_CPUS / 64])
{
	if (unset_is_all && (!list || !*list)) {
		memset(bits, 0xff, SIM_MAX_CPUS / 8);
		return 0;
	}
	return sim_cpulist_parse(list, bits);
}

static bool bits_overlap(const uint64_t *x, const uint64_t *y)
{
	for (size_t i = 0; i < SIM_MAX_CPUS / 64; i++) {
		if (x[i] & y[i])
			return true;
	}
	return false;
}

static bool cpus_overlap(const struct sim_ctr *a, const struct sim_ctr *b)
{
	uint64_t x[SIM_MAX_CPUS / 64], y[SIM_MAX_CPUS / 64];

	if (sim_cpulist_parse(a->res.cpus, x) < 0 || sim_cpulist_parse(b->res.cpus, y) < 0)
		return true;
	return bits_overlap(x, y);
}

/* Still running on its CPUs: not removed, not failed, not stopped (or exited). */
static bool ctr_live(const struct sim_ctr *c)
{
	return !c->removed && !c->failed && c->state != STATE(STOPPED);
}

static void exclusive_fail(struct sim *s, const struct sim_ctr *a, const struct sim_ctr *b,
			   const char *owned)
{
	char msg[512];

	if (a == b)
		snprintf(msg, sizeof(msg), "%s: the exclusive CPUs \"%s\" are not a cpulist", a->id,
			 owned);
	else if (owned)
		snprintf(msg, sizeof(msg), "exclusive CPUs %s of %s are in the cpuset of %s (%s)",
			 owned, a->id, b->id, b->res.cpus && *b->res.cpus ? b->res.cpus : "unset");
	else
		snprintf(msg, sizeof(msg), "exclusive containers %s (%s) and %s (%s) share CPUs",
			 a->id, a->res.cpus ? a->res.cpus : "", b->id,
			 b->res.cpus ? b->res.cpus : "");
	fprintf(stderr, "nri-sim: FAIL %s\n", msg);
	s->expect_failed++;
	json_object_array_add(s->expect_failures, json_object_new_string(msg));
}

/*
 * With --exclusive-annotation KEY: what a container owns is what its KEY annotation
 * (set by the plugin's adjustment) lists, or, for a marked container without it, its
 * whole cpuset. No other live container may run there; an unset cpuset (the
 * runtime's default) runs everywhere and so overlaps everything.
 */
static void check_owned(struct sim *s, const char *key)
{
	const struct sim_model *m = &s->model;
	uint64_t own[SIM_MAX_CPUS / 64], other[SIM_MAX_CPUS / 64];

	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct sim_ctr *a = m->ctrs[i];
		const char *claim = sim_kvs_get(&a->annotations, key);

		if (!ctr_live(a) || (!claim && !a->exclusive))
			continue;
		if (cpus_bits(claim ? claim : a->res.cpus, false, own) < 0) {
			exclusive_fail(s, a, a, claim ? claim : a->res.cpus);
			continue;
		}
		for (size_t j = 0; j < m->n_ctrs; j++) {
			const struct sim_ctr *b = m->ctrs[j];

			if (j == i || !ctr_live(b))
				continue;
			if (cpus_bits(b->res.cpus, true, other) < 0 || bits_overlap(own, other))
				exclusive_fail(s, a, b, claim ? claim : a->res.cpus);
		}
	}
}

/* --check-exclusive: live containers marked "exclusive" must have disjoint cpusets. */
void sim_check_exclusive(struct sim *s)
{
	const struct sim_model *m = &s->model;

	if (s->o.exclusive_annotation) {
		check_owned(s, s->o.exclusive_annotation);
		return;
	}
	for (size_t i = 0; i < m->n_ctrs; i++) {
		const struct sim_ctr *a = m->ctrs[i];

		if (!ctr_live(a) || !a->exclusive)
			continue;
		for (size_t j = i + 1; j < m->n_ctrs; j++) {
			const struct sim_ctr *b = m->ctrs[j];

			if (ctr_live(b) && b->exclusive && cpus_overlap(a, b))
				exclusive_fail(s, a, b, NULL);
		}
	}
}
