/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixture of tests/unit/daemon/test_handlers.c and test_reconcile.c (header-only, so
 * each test stays one binary): a daemon without a runtime (daemon_new_offline) on a synthetic machine,
 * NRI pods and containers as the kubelet makes them, the daemon's handlers called
 * directly with real struct nri_reply objects, and each reply packed and decoded
 * again, so a test sees exactly the protobuf the runtime would receive.
 *
 * Everything allocated here hangs off struct hx and is freed by hx_teardown().
 */
#pragma once

/* Shared by the daemon room's test files; each uses a part of it. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "plugin/config/config.h"
#include "plugin/daemon/daemon.h"
#include "plugin/daemon/handlers.h"
#include "plugin/daemon/reconcile.h"
#include "plugin/daemon/state.h"
#include "plugin/nri/stub_priv.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"
#include "policy/topology.h"

#define PB(x)	  Nri__Pkg__Api__V1alpha1__##x
#define HX_MAX_KV 6
#define HX_GIB	  (1ll << 30)

struct hx {
	struct daemon *d;
	void **mem; /* everything the builders allocated */
	size_t n_mem;
};

static void *hx_alloc(struct hx *h, size_t size)
{
	void **m = realloc(h->mem, (h->n_mem + 1) * sizeof(*m));
	void *p = calloc(1, size);

	assert_non_null(m);
	assert_non_null(p);
	h->mem = m;
	h->mem[h->n_mem++] = p;
	return p;
}

/*
 * The machine: 1 package, 1 node, 1 L3, 8 cores of 1 thread (CPUs 0-7, node 0), so
 * every CPU is a whole core and the numbers in the tests stay small.
 */
static void hx_start(struct hx *h, const char *config_yaml)
{
	struct topo_synth_spec spec = {.packages = 1,
				       .dies_per_package = 1,
				       .nodes_per_die = 1,
				       .l3_per_node = 1,
				       .cores_per_l3 = 8,
				       .threads_per_core = 1};
	struct config_errors errs = {0};
	struct topology *t = NULL;
	struct config cfg;
	int r;

	log_set_level(LOG_LEVEL_ERROR);
	r = config_parse("test", config_yaml, strlen(config_yaml), &cfg, &errs);
	if (r < 0)
		fail_msg("config: %s", errs.n ? errs.msg[0] : strerror(-r));
	config_errors_done(&errs);
	r = topology_synthetic(&spec, &t);
	if (r < 0)
		fail_msg("topology_synthetic: %s", strerror(-r));
	r = daemon_new_offline(&cfg, t, &h->d);
	if (r < 0) {
		topology_free(t);
		fail_msg("daemon_new_offline: %s", strerror(-r));
	}
}

/* A test that needs another config: a fresh daemon (nothing built so far survives). */
static void hx_restart(struct hx *h, const char *config_yaml)
{
	daemon_free(h->d);
	h->d = NULL;
	hx_start(h, config_yaml);
}

static int hx_teardown(void **state)
{
	struct hx *h = *state;

	daemon_free(h->d);
	for (size_t i = 0; i < h->n_mem; i++)
		free(h->mem[i]);
	free(h->mem);
	free(h);
	return 0;
}

static int hx_setup(void **state)
{
	struct hx *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	hx_start(h, "");
	*state = h;
	return 0;
}

/* ---- NRI objects ------------------------------------------------------------------ */

/* "key=value" strings into map entries of type T (both map-entry types look alike). */
#define HX_KV(h, T, INIT, kvs, ret_arr, ret_n)                                 \
	do {                                                                   \
		size_t _n = 0;                                                 \
		T **_arr = hx_alloc((h), HX_MAX_KV * sizeof(*_arr));           \
		for (size_t _i = 0; _i < HX_MAX_KV && (kvs)[_i]; _i++, _n++) { \
			const char *_eq = strchr((kvs)[_i], '=');              \
			T *_e = hx_alloc((h), sizeof(*_e));                    \
			char *_k = hx_alloc((h), strlen((kvs)[_i]) + 1);       \
			assert_non_null(_eq);                                  \
			strcpy(_k, (kvs)[_i]);                                 \
			_k[_eq - (kvs)[_i]] = '\0';                            \
			*_e = (T)INIT;                                         \
			_e->key = _k;                                          \
			_e->value = _k + (_eq - (kvs)[_i]) + 1;                \
			_arr[_i] = _e;                                         \
		}                                                              \
		(ret_arr) = _arr;                                              \
		(ret_n) = _n;                                                  \
	} while (0)

struct hx_pod_spec {
	const char *id, *ns, *name;
	const char *label_ns;		/* io.kubernetes.pod.namespace; NULL: ns */
	const char *ann[HX_MAX_KV + 1]; /* pod annotations, "k=v", NULL-terminated */
};

static NriPodSandbox *hx_pod(struct hx *h, const struct hx_pod_spec *s)
{
	NriPodSandbox *p = hx_alloc(h, sizeof(*p));
	char *name = hx_alloc(h, 300), *ns = hx_alloc(h, 300), *uid = hx_alloc(h, 300);
	const char *labels[4] = {name, ns, uid, NULL};

	*p = (NriPodSandbox)NRI__PKG__API__V1ALPHA1__POD_SANDBOX__INIT;
	p->id = (char *)s->id;
	p->name = (char *)s->name;
	p->namespace_ = (char *)s->ns;
	p->uid = uid + strlen("io.kubernetes.pod.uid=");
	snprintf(name, 300, "io.kubernetes.pod.name=%s", s->name);
	snprintf(ns, 300, "io.kubernetes.pod.namespace=%s", s->label_ns ? s->label_ns : s->ns);
	snprintf(uid, 300, "io.kubernetes.pod.uid=uid-%s", s->id);
	HX_KV(h, PB(PodSandbox__LabelsEntry),
	      NRI__PKG__API__V1ALPHA1__POD_SANDBOX__LABELS_ENTRY__INIT, labels, p->labels,
	      p->n_labels);
	HX_KV(h, PB(PodSandbox__AnnotationsEntry),
	      NRI__PKG__API__V1ALPHA1__POD_SANDBOX__ANNOTATIONS_ENTRY__INIT, s->ann, p->annotations,
	      p->n_annotations);
	return p;
}

/* Resources the kubelet derives from a pod spec (millicores, bytes; 0 = unset). */
struct hx_res {
	int64_t req_m, lim_m, mem;
	const char *cpus; /* the current cpuset.cpus (Synchronize), NULL: unset */
};

static NriLinuxResources *hx_res(struct hx *h, const struct hx_res *s)
{
	NriLinuxResources *r = hx_alloc(h, sizeof(*r));
	PB(LinuxCPU) *cpu = hx_alloc(h, sizeof(*cpu));
	PB(OptionalUInt64) *shares = hx_alloc(h, sizeof(*shares)), *period;
	PB(OptionalInt64) * quota, *limit;

	*r = (NriLinuxResources)NRI__PKG__API__V1ALPHA1__LINUX_RESOURCES__INIT;
	*cpu = (PB(LinuxCPU))NRI__PKG__API__V1ALPHA1__LINUX_CPU__INIT;
	*shares = (PB(OptionalUInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT;
	shares->value = qos_shares_from_mcpu(s->req_m);
	cpu->shares = shares;
	if (s->lim_m > 0) {
		quota = hx_alloc(h, sizeof(*quota));
		period = hx_alloc(h, sizeof(*period));
		*quota = (PB(OptionalInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT;
		*period = (PB(OptionalUInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT;
		quota->value = s->lim_m * 100;
		period->value = 100000;
		cpu->quota = quota;
		cpu->period = period;
	}
	if (s->cpus)
		cpu->cpus = (char *)s->cpus;
	r->cpu = cpu;
	if (s->mem > 0) {
		PB(LinuxMemory) *mem = hx_alloc(h, sizeof(*mem));

		limit = hx_alloc(h, sizeof(*limit));
		*mem = (PB(LinuxMemory))NRI__PKG__API__V1ALPHA1__LINUX_MEMORY__INIT;
		*limit = (PB(OptionalInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT;
		limit->value = s->mem;
		mem->limit = limit;
		r->memory = mem;
	}
	return r;
}

struct hx_ctr_spec {
	const char *id;
	const NriPodSandbox *pod;
	struct hx_res res;
	const char *ann[HX_MAX_KV + 1]; /* container annotations, "k=v" (a persisted
					 * topoguard.io/exclusive-cpus goes here) */
	bool running;			/* Synchronize: a running container */
};

static NriContainer *hx_ctr(struct hx *h, const struct hx_ctr_spec *s)
{
	NriContainer *c = hx_alloc(h, sizeof(*c));
	PB(LinuxContainer) *lx = hx_alloc(h, sizeof(*lx));
	char *name = hx_alloc(h, 300);
	const char *labels[2] = {name, NULL};

	*c = (NriContainer)NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	*lx = (PB(LinuxContainer))NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER__INIT;
	c->id = (char *)s->id;
	c->name = (char *)s->id;
	c->pod_sandbox_id = s->pod->id;
	c->state = s->running ? NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING
			      : NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_CREATED;
	snprintf(name, 300, "io.kubernetes.container.name=%s", s->id);
	HX_KV(h, PB(Container__LabelsEntry), NRI__PKG__API__V1ALPHA1__CONTAINER__LABELS_ENTRY__INIT,
	      labels, c->labels, c->n_labels);
	HX_KV(h, PB(Container__AnnotationsEntry),
	      NRI__PKG__API__V1ALPHA1__CONTAINER__ANNOTATIONS_ENTRY__INIT, s->ann, c->annotations,
	      c->n_annotations);
	lx->resources = hx_res(h, &s->res);
	c->linux_ = lx;
	return c;
}

/* ---- replies, as the runtime receives them ------------------------------------------- */

struct view {
	ProtobufCMessage *msg;
	PB(ContainerAdjustment) * adjust; /* CreateContainer only */
	PB(ContainerUpdate) * *update;
	size_t n_update;
};

static void view_of(struct nri_reply *r, struct view *v)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(v, 0, sizeof(*v));
	assert_int_equal(stub_reply_pack(r, false, &buf, &len), 0);
	switch (r->kind) {
	case STUB_REPLY_CREATE: {
		PB(CreateContainerResponse) *m =
			nri__pkg__api__v1alpha1__create_container_response__unpack(NULL, len, buf);

		assert_non_null(m);
		*v = (struct view){&m->base, m->adjust, m->update, m->n_update};
		break;
	}
	case STUB_REPLY_UPDATE: {
		PB(UpdateContainerResponse) *m =
			nri__pkg__api__v1alpha1__update_container_response__unpack(NULL, len, buf);

		assert_non_null(m);
		*v = (struct view){&m->base, NULL, m->update, m->n_update};
		break;
	}
	case STUB_REPLY_STOP: {
		PB(StopContainerResponse) *m =
			nri__pkg__api__v1alpha1__stop_container_response__unpack(NULL, len, buf);

		assert_non_null(m);
		*v = (struct view){&m->base, NULL, m->update, m->n_update};
		break;
	}
	case STUB_REPLY_SYNC: {
		PB(SynchronizeResponse) *m =
			nri__pkg__api__v1alpha1__synchronize_response__unpack(NULL, len, buf);

		assert_non_null(m);
		*v = (struct view){&m->base, NULL, m->update, m->n_update};
		break;
	}
	case STUB_REPLY_UPDATES: {
		PB(UpdateContainersRequest) *m =
			nri__pkg__api__v1alpha1__update_containers_request__unpack(NULL, len, buf);

		assert_non_null(m);
		*v = (struct view){&m->base, NULL, m->update, m->n_update};
		break;
	}
	}
	free(buf);
}

static void view_done(struct view *v)
{
	if (v->msg)
		protobuf_c_message_free_unpacked(v->msg, NULL);
	memset(v, 0, sizeof(*v));
}

static struct nri_reply *hx_reply(enum stub_reply_kind kind, const char *self)
{
	struct nri_reply *r = NULL;

	assert_int_equal(stub_reply_new(kind, self, &r), 0);
	return r;
}

/*
 * The daemon's handlers, each answer decoded into v (view_done() it), then the stub's
 * after_reply hook, as the stub runs it once the answer went out.
 */
static void hx_create(struct hx *h, const NriPodSandbox *pod, const NriContainer *c, struct view *v)
{
	struct nri_reply *r = hx_reply(STUB_REPLY_CREATE, c->id);

	assert_int_equal(daemon_handlers.create_container(NULL, pod, c, r, h->d), 0);
	view_of(r, v);
	stub_reply_free(r);
	daemon_handlers.after_reply(NULL, h->d);
}

static void hx_update(struct hx *h, const NriPodSandbox *pod, const NriContainer *c,
		      const struct hx_res *want, struct view *v)
{
	struct nri_reply *r = hx_reply(STUB_REPLY_UPDATE, NULL);

	assert_int_equal(daemon_handlers.update_container(NULL, pod, c, hx_res(h, want), r, h->d),
			 0);
	view_of(r, v);
	stub_reply_free(r);
	daemon_handlers.after_reply(NULL, h->d);
}

static void hx_stop(struct hx *h, const NriPodSandbox *pod, const NriContainer *c, struct view *v)
{
	struct nri_reply *r = hx_reply(STUB_REPLY_STOP, NULL);

	assert_int_equal(daemon_handlers.stop_container(NULL, pod, c, r, h->d), 0);
	view_of(r, v);
	stub_reply_free(r);
	daemon_handlers.after_reply(NULL, h->d);
}

static void hx_remove(struct hx *h, const NriPodSandbox *pod, const NriContainer *c)
{
	assert_int_equal(daemon_handlers.remove_container(NULL, pod, c, h->d), 0);
	daemon_handlers.after_reply(NULL, h->d);
}

static void hx_sync(struct hx *h, NriPodSandbox *const *pods, size_t n_pods,
		    NriContainer *const *ctrs, size_t n_ctrs, struct view *v)
{
	struct nri_reply *r = hx_reply(STUB_REPLY_SYNC, NULL);

	assert_int_equal(daemon_handlers.synchronize(NULL, pods, n_pods, ctrs, n_ctrs, r, h->d), 0);
	view_of(r, v);
	stub_reply_free(r);
	daemon_handlers.after_reply(NULL, h->d);
}

/* ---- looking into a view ---------------------------------------------------------- */

static struct cpuset set_of(const char *list)
{
	struct cpuset s;

	if (cpuset_parse(list, strlen(list), &s) < 0)
		fail_msg("bad cpulist \"%s\"", list);
	return s;
}

static void assert_set(const struct cpuset *s, const char *want)
{
	char buf[256];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	if (strcmp(buf, want))
		fail_msg("cpuset is \"%s\", want \"%s\"", buf, want);
}

/* The CPU part of the adjustment; fails the test when there is none. */
static const PB(LinuxCPU) * adj_cpu(const struct view *v)
{
	if (!v->adjust || !v->adjust->linux_ || !v->adjust->linux_->resources ||
	    !v->adjust->linux_->resources->cpu)
		fail_msg("the reply carries no CPU adjustment");
	return v->adjust->linux_->resources->cpu;
}

static struct cpuset adj_cpus(const struct view *v)
{
	return set_of(adj_cpu(v)->cpus);
}

/* An annotation the adjustment sets, NULL if none. */
static const char *adj_annotation(const struct view *v, const char *key)
{
	for (size_t i = 0; v->adjust && i < v->adjust->n_annotations; i++)
		if (!strcmp(v->adjust->annotations[i]->key, key))
			return v->adjust->annotations[i]->value;
	return NULL;
}

/* The update of container id in v, NULL if none. */
static const PB(LinuxCPU) * upd_cpu(const struct view *v, const char *id)
{
	for (size_t i = 0; i < v->n_update; i++) {
		const PB(ContainerUpdate) *u = v->update[i];

		if (strcmp(u->container_id, id))
			continue;
		if (!u->linux_ || !u->linux_->resources || !u->linux_->resources->cpu)
			fail_msg("the update of %s carries no CPU part", id);
		return u->linux_->resources->cpu;
	}
	return NULL;
}

static struct cpuset upd_cpus(const struct view *v, const char *id)
{
	const PB(LinuxCPU) *c = upd_cpu(v, id);

	if (!c)
		fail_msg("no update of container %s in the reply (%zu updates)", id, v->n_update);
	return set_of(c->cpus);
}

/* The value of one sample of the daemon's /metrics text, -1 if there is none. */
static double hx_metric(struct hx *h, const char *series)
{
	char *text = NULL, *p;
	size_t len = 0, n = strlen(series);
	double v = -1;

	assert_int_equal(metrics_render(h->d->metrics, &text, &len), 0);
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ') {
			v = strtod(p + n + 1, NULL);
			break;
		}
	free(text);
	return v;
}

/* How many sample lines of the daemon's /metrics text start with prefix. */
static int hx_series(struct hx *h, const char *prefix)
{
	char *text = NULL, *p;
	size_t len = 0;
	int n = 0;

	assert_int_equal(metrics_render(h->d->metrics, &text, &len), 0);
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	free(text);
	return n;
}

/* Guaranteed: request = limit, with a memory limit. */
#define GUARANTEED(m) ((struct hx_res){.req_m = (m), .lim_m = (m), .mem = HX_GIB})

/* ---- a runtime for the unsolicited updates ------------------------------------------ */

/*
 * The runtime end of a socketpair whose other end is the daemon's real stub: it
 * answers RegisterPlugin, calls Configure (on a thread, while nri_stub_start() waits on
 * the main one) and records every UpdateContainers the daemon sends on its own.
 */
struct hx_runtime {
	struct nri_trunk *t;
	bool registered, configured;
	int calls;			    /* UpdateContainers received */
	PB(UpdateContainersRequest) * last; /* the last of them */
	/* Optional: applies each UpdateContainers as a runtime would, and marks in failed[]
	 * (n_update entries) the updates it fails; the answer lists them, as CRI-O does. */
	void (*apply)(const PB(UpdateContainersRequest) * m, bool *failed, void *ud);
	void *apply_ud;
};

/* Success, with the updates apply() failed as the failed list. */
static int rt_answer_updates(struct hx_runtime *rt, uint32_t id)
{
	PB(UpdateContainersResponse)
	rsp = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINERS_RESPONSE__INIT;
	size_t n = rt->last ? rt->last->n_update : 0;
	PB(ContainerUpdate) **fl = calloc(n + 1, sizeof(*fl));
	bool *failed = calloc(n + 1, sizeof(*failed));
	uint8_t *buf;
	size_t len;
	int r;

	assert_non_null(fl);
	assert_non_null(failed);
	if (rt->apply && rt->last)
		rt->apply(rt->last, failed, rt->apply_ud);
	for (size_t i = 0; i < n; i++)
		if (failed[i])
			fl[rsp.n_failed++] = rt->last->update[i];
	rsp.failed = fl;
	len = nri__pkg__api__v1alpha1__update_containers_response__get_packed_size(&rsp);
	buf = malloc(len + 1);
	assert_non_null(buf);
	nri__pkg__api__v1alpha1__update_containers_response__pack(&rsp, buf);
	r = nri_trunk_reply(rt->t, id, buf, len);
	free(buf);
	free(fl);
	free(failed);
	return r;
}

static int rt_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	struct hx_runtime *rt = ud;

	if (!strcmp(req->method, "RegisterPlugin")) {
		rt->registered = true;
		return nri_trunk_reply(t, req->stream_id, NULL, 0);
	}
	if (!strcmp(req->method, "UpdateContainers")) {
		if (rt->last)
			nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(rt->last,
											  NULL);
		rt->last = nri__pkg__api__v1alpha1__update_containers_request__unpack(
			NULL, req->payload_len, req->payload);
		rt->calls++;
		return rt_answer_updates(rt, req->stream_id);
	}
	return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, "not here");
}

/* The daemon's own wiring (daemon.c): failed updates go to reconciliation. */
static void hx_updates_failed(struct nri_stub *s, const char *const *ids, size_t n, int code,
			      void *ud)
{
	(void)s;
	daemon_reconcile_updates_failed(ud, ids, n, code, daemon_track_now(ud));
}

static void rt_configured(struct nri_trunk *t, int code, const char *msg, const uint8_t *payload,
			  size_t len, void *ud)
{
	struct hx_runtime *rt = ud;

	(void)t, (void)msg, (void)payload, (void)len;
	rt->configured = code == 0;
	if (code != 0)
		fprintf(stderr, "Configure failed: %d %s\n", code, msg ? msg : "");
}

/* Bounded waits (iterations of at most 100 ms): a safety net against hangs. */
static void *rt_handshake(void *arg)
{
	PB(ConfigureRequest) c = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
	struct hx_runtime *rt = arg;
	uint8_t buf[256];
	size_t len;

	for (int i = 0; i < 100 && !rt->registered; i++)
		nri_trunk_run_once(rt->t, 100);
	c.runtime_name = (char *)"unit";
	c.runtime_version = (char *)"v0";
	c.nri_version = (char *)"v0.12.2";
	len = nri__pkg__api__v1alpha1__configure_request__pack(&c, buf);
	if (nri_trunk_call(rt->t, "nri.pkg.api.v1alpha1.Plugin", "Configure", buf, len,
			   5000000000ll, rt_configured, rt) < 0)
		return NULL;
	for (int i = 0; i < 100 && !rt->configured; i++)
		nri_trunk_run_once(rt->t, 100);
	return NULL;
}

static void stop_loop(struct nri_stub *s, void *ud)
{
	(void)ud;
	nri_stub_stop(s);
}

/* Connect the daemon's own stub to rt: from now on it can send updates on its own. */
static void hx_connect(struct hx *h, struct hx_runtime *rt)
{
	struct nri_stub_options o;
	pthread_t th;
	int sv[2];

	memset(rt, 0, sizeof(*rt));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(
		nri_trunk_new(sv[0], NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, rt_serve, rt, &rt->t), 0);
	nri_stub_options_init(&o);
	o.name = "unit";
	o.idx = "42";
	o.fd = sv[1];
	o.on_updates_failed = hx_updates_failed;
	assert_int_equal(nri_stub_new(&daemon_handlers, &o, h->d, &h->d->stub), 0);
	assert_int_equal(pthread_create(&th, NULL, rt_handshake, rt), 0);
	assert_int_equal(nri_stub_start(h->d->stub), 0);
	pthread_join(th, NULL);
	assert_true(rt->configured);
	/* the loop sends what the handlers queued; a 1 ms timer ends the turn */
	assert_int_equal(nri_stub_add_timer(h->d->stub, 1, stop_loop, NULL), 0);
}

/* Let the daemon's loop run one turn (it sends what is queued), then receive it. */
static void hx_exchange(struct hx *h, struct hx_runtime *rt, int want_calls)
{
	assert_int_equal(nri_stub_wait(h->d->stub), 0);
	for (int i = 0; i < 50 && rt->calls < want_calls; i++)
		nri_trunk_run_once(rt->t, 100);
}

/* Before hx_teardown: the daemon's stub goes with the daemon, the runtime end here. */
static void hx_runtime_done(struct hx_runtime *rt)
{
	if (rt->last)
		nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(rt->last, NULL);
	nri_trunk_free(rt->t);
	memset(rt, 0, sizeof(*rt));
}
