/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NRI event handlers: translate a pod/container into a policy request, ask the
 * policy, and turn its answer into an adjustment plus updates of the containers
 * whose shared cpuset changed.
 *
 * Safety rule: a pod never fails because of us. Every handler returns 0; when
 * something goes wrong inside, the container is left as the runtime made it and
 * the error is logged and counted (topoguard_nri_requests_total{result="error"}).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "plugin/daemon/annotations.h"
#include "plugin/daemon/handlers.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/state.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"
#include "policy/qos.h"

static double now_seconds(void)
{
	return (double)daemon_now_ns() / 1e9;
}

static void qos_input_from_nri(const NriLinuxResources *r, struct qos_input *in)
{
	memset(in, 0, sizeof(*in));
	if (!r)
		return;
	if (r->cpu && r->cpu->shares) {
		in->has_shares = true;
		in->shares = r->cpu->shares->value;
	}
	if (r->cpu && r->cpu->quota) {
		in->has_quota = true;
		in->quota = r->cpu->quota->value;
	}
	if (r->cpu && r->cpu->period) {
		in->has_period = true;
		in->period = r->cpu->period->value;
	}
	if (r->memory && r->memory->limit) {
		in->has_mem_limit = true;
		in->mem_limit = r->memory->limit->value;
	}
}

struct refusal_ctx {
	struct daemon *d;
	const char *ctr;
};

static void report_refused(void *ud, const char *key, const char *reason)
{
	struct refusal_ctx *rc = ud;

	log_warn("annotation refused: container=%s key=%s reason=\"%s\"", rc->ctr, key, reason);
	metrics_tg_annotation_refused(rc->d->metrics);
}

static void refuse(struct daemon *d, const struct model_container *c, const char *what,
		   const char *why)
{
	log_warn("annotation refused: container=%s pref=%s reason=\"%s\"", c->id, what, why);
	metrics_tg_annotation_refused(d->metrics);
}

static bool namespace_in(const struct config_namespaces *l, const char *ns)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], ns))
			return true;
	return false;
}

static void parse_prefs(struct daemon *d, const struct model_pod *pod,
			const struct model_container *c, struct annotations_prefs *ret)
{
	struct annotations_kv kv[256];
	struct refusal_ctx rc = {.d = d, .ctr = c->id};
	size_t n = 0;

	annotations_prefs_init(ret);
	if (!d->cfg.annotations_enabled || !pod)
		return;
	for (size_t i = 0; i < pod->n_annotations && n < 256; i++, n++) {
		kv[n].key = pod->annotations[i].key;
		kv[n].value = pod->annotations[i].value;
	}
	if (annotations_parse(kv, n, c->name, d->cfg.annotations_allow_aliases, report_refused, &rc,
			      ret) < 0)
		annotations_prefs_init(ret);
}

/* Entitlement: annotations ask, QoS and namespace decide (docs/annotations.md). */
static void prefs_to_request(struct daemon *d, const struct model_pod *pod,
			     const struct model_container *c, const struct annotations_prefs *ap,
			     struct alloc_request *req)
{
	const int8_t *v = ap->value;

	if (v[ANNOTATIONS_EXCLUSIVE] == 0)
		req->prefs.shared_only = true;
	else if (v[ANNOTATIONS_EXCLUSIVE] == 1 && req->qos != QOS_GUARANTEED)
		refuse(d, c, "exclusive", "exclusive CPUs need Guaranteed QoS");
	if (v[ANNOTATIONS_ISOLATED] == 1) {
		if (req->qos == QOS_GUARANTEED)
			req->prefs.isolated = true;
		else
			refuse(d, c, "isolated", "isolated CPUs need Guaranteed QoS");
	}
	if (v[ANNOTATIONS_HIDE_HT] >= 0)
		req->prefs.hide_hyperthreads = v[ANNOTATIONS_HIDE_HT];
	if (v[ANNOTATIONS_RESERVED] == 1) {
		const char *ns = pod ? pod->namespace : "";

		if (namespace_in(&d->cfg.annotations_allow_reserved_namespaces, ns) ||
		    namespace_in(&d->cfg.reserved_namespaces, ns))
			req->prefs.reserved = true;
		else
			refuse(d, c, "reserved", "namespace not allowed to use reserved CPUs");
	}
}

static void build_request(struct daemon *d, const struct model_pod *pod,
			  const struct model_container *c, const struct qos_info *qi,
			  const struct annotations_prefs *ap, struct alloc_request *req)
{
	alloc_request_init(req);
	req->id = c->id;
	req->pod_namespace = pod ? pod->namespace : "";
	req->qos = qi->cls;
	req->cpu_request_mcpu = qi->request_mcpu;
	req->cpu_limit_mcpu = qi->limit_mcpu;
	req->mem_limit = qi->mem_limit;
	prefs_to_request(d, pod, c, ap, req);
}

/* Place c; on -ENOSPC fall back to the shared pool rather than fail the pod. */
static int place(struct daemon *d, struct alloc_request *req, bool update, struct alloc_result *r)
{
	char reason[256] = "";
	int ret;

	ret = update ? alloc_update(d->alloc, req, r, &d->changes, reason, sizeof(reason))
		     : alloc_create(d->alloc, req, r, &d->changes, reason, sizeof(reason));
	if (ret == -ENOENT && update)
		ret = alloc_create(d->alloc, req, r, &d->changes, reason, sizeof(reason));
	if (ret == -ENOSPC && update && alloc_get(d->alloc, req->id, r) == 0) {
		/* a resize that does not fit keeps what the container has */
		log_warn(
			"resize does not fit, keeping the current CPUs: container=%s reason=\"%s\"",
			req->id, reason);
		return 0;
	}
	if (ret == -ENOSPC && !req->prefs.shared_only) {
		log_warn("no room for exclusive CPUs, using the shared pool: container=%s "
			 "reason=\"%s\"",
			 req->id, reason);
		req->prefs.shared_only = true;
		req->prefs.isolated = false;
		ret = alloc_create(d->alloc, req, r, &d->changes, reason, sizeof(reason));
	}
	if (ret == -EEXIST)
		ret = alloc_get(d->alloc, req->id, r);
	if (ret < 0)
		log_error_errno(ret, "policy refused container %s: %s", req->id, reason);
	else if (r->isolated_fallback)
		log_warn("isolated CPUs asked for, this node has none (isolcpus=): "
			 "container=%s gets %s CPUs instead",
			 req->id, alloc_pool_name(r->pool));
	return ret;
}

/* A pre-launched plugin's config arrives here; it replaces the defaults whole. */
static void configure_from_payload(struct daemon *d, const char *config)
{
	struct config_errors errs = {};
	struct alloc_state *fresh = NULL;
	struct config c, old = d->cfg;

	if (config_parse("nri-config", config, strlen(config), &c, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		metrics_tg_config_reload(d->metrics, "refused", (unsigned int)errs.n);
		log_warn("keeping the built-in defaults");
		config_errors_done(&errs);
		return;
	}
	d->cfg = c;
	if (daemon_new_alloc(d, &fresh) < 0) {
		d->cfg = old;
		metrics_tg_config_reload(d->metrics, "refused", 1);
		return;
	}
	alloc_state_free(d->alloc);
	d->alloc = fresh;
	log_set_level((enum log_level)d->cfg.log_level);
	metrics_tg_config_reload(d->metrics, "applied", 0);
	log_info("config applied: origin=nri-config");
}

static int on_configure(struct nri_stub *s, const char *config, const char *runtime_name,
			const char *runtime_version, void *ud, uint32_t *ret_events)
{
	struct daemon *d = ud;

	log_info("configured by runtime: runtime=%s version=%s nri=%s", runtime_name,
		 runtime_version, nri_stub_nri_version(s));
	*ret_events = 0;
	if (config && *config && !d->config_path)
		configure_from_payload(d, config);
	return 0;
}

static bool container_is_live(const struct model_container *c)
{
	return !c->sandbox && c->state != MODEL_STATE_STOPPED && c->state != MODEL_STATE_EXITED;
}

static int restore_entry(struct daemon *d, const struct model_container *c,
			 struct alloc_restore_entry *e)
{
	const struct model_pod *pod = model_container_pod(d->model, c);
	const char *excl =
		model_kv_get(c->annotations, c->n_annotations, DAEMON_EXCLUSIVE_ANNOTATION);
	struct annotations_prefs ap;
	struct qos_input in;
	struct qos_info qi;

	daemon_qos_input(&c->resources, &in);
	if (daemon_classify(pod, c, &in, &qi) < 0)
		return -EINVAL;
	parse_prefs(d, pod, c, &ap);
	memset(e, 0, sizeof(*e));
	build_request(d, pod, c, &qi, &ap, &e->req);
	if (cpuset_parse(c->resources.cpus, strlen(c->resources.cpus), &e->cpus) < 0)
		cpuset_zero(&e->cpus);
	if (excl && cpuset_parse(excl, strlen(excl), &e->exclusive) >= 0)
		e->has_exclusive = true;
	return 0;
}

struct sync_ctx {
	struct daemon *d;
	struct alloc_restore_entry *entries;
	size_t n, cap;
};

static int collect_entry(struct model_container *c, void *ud)
{
	struct sync_ctx *sc = ud;

	if (!container_is_live(c) || sc->n >= sc->cap)
		return 0;
	if (restore_entry(sc->d, c, &sc->entries[sc->n]) == 0)
		sc->n++;
	return 0;
}

static int rebuild_model(struct daemon *d, NriPodSandbox *const *pods, size_t n_pods,
			 NriContainer *const *ctrs, size_t n_ctrs, struct model **ret)
{
	struct model *m;
	int r = model_new(&m);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n_pods; i++)
		if (model_pod_put(m, pods[i], NULL) < 0)
			log_warn("synchronize: skipping pod %s", pods[i]->id);
	for (size_t i = 0; i < n_ctrs; i++) {
		const NriPodSandbox *pod = NULL;

		for (size_t j = 0; j < n_pods && !pod; j++)
			if (!strcmp(pods[j]->id, ctrs[i]->pod_sandbox_id))
				pod = pods[j];
		if (model_container_put(m, pod, ctrs[i], NULL) < 0)
			log_warn("synchronize: skipping container %s", ctrs[i]->id);
	}
	*ret = d->model;
	d->model = m;
	return 0;
}

static int on_synchronize(struct nri_stub *s, NriPodSandbox *const *pods, size_t n_pods,
			  NriContainer *const *ctrs, size_t n_ctrs, struct nri_reply *reply,
			  void *ud)
{
	struct daemon *d = ud;
	struct sync_ctx sc = {.d = d};
	struct alloc_state *fresh = NULL;
	struct model *old = NULL;
	char reason[256] = "";
	double t0 = now_seconds();
	int r;

	(void)s;
	r = rebuild_model(d, pods, n_pods, ctrs, n_ctrs, &old);
	if (r >= 0)
		r = daemon_new_alloc(d, &fresh);
	sc.cap = n_ctrs;
	sc.entries = calloc(n_ctrs ? n_ctrs : 1, sizeof(*sc.entries));
	if (r >= 0 && !sc.entries)
		r = -ENOMEM;
	if (r >= 0)
		model_foreach_container(d->model, NULL, collect_entry, &sc);
	alloc_changes_reset(&d->changes);
	if (r >= 0)
		r = alloc_restore(fresh, sc.entries, sc.n, &d->changes, reason, sizeof(reason));
	free(sc.entries);
	if (r < 0) {
		log_error_errno(r, "synchronize: cannot restore state: %s", reason);
		alloc_state_free(fresh);
		daemon_live_resync(d, old);
		model_free(old);
		metrics_tg_request(d->metrics, "Synchronize", false);
		return 0;
	}
	alloc_state_free(d->alloc);
	d->alloc = fresh;
	daemon_live_resync(d, old);
	model_free(old);
	daemon_add_change_updates(d, reply);
	log_info("synchronized: pods=%zu containers=%zu restored=%zu updates=%zu", n_pods, n_ctrs,
		 sc.n, d->changes.n);
	d->synchronized = true;
	metrics_tg_decision(d->metrics, "Synchronize", now_seconds() - t0);
	metrics_tg_request(d->metrics, "Synchronize", true);
	daemon_update_pool_metrics(d);
	metrics_tg_ready(d->metrics, true);
	return 0;
}

/*
 * The adjustment of a created container. Guaranteed containers also carry their
 * exclusive CPUs (possibly none, after a fallback to the shared pool) as an
 * annotation, so that a restarted daemon restores exactly this assignment.
 */
static void adjust_created(struct daemon *d, const struct alloc_result *r, enum qos_class cls,
			   bool mem_preserve, struct nri_reply *reply)
{
	struct nri_resources res;

	daemon_result_to_resources(d, r, true, &res);
	if (mem_preserve)
		res.mems = NULL;
	if (nri_reply_adjust(reply, &res) < 0)
		log_warn("cannot build the adjustment");
	if (cls != QOS_GUARANTEED)
		return;
	if (cpuset_format(&r->exclusive, d->scratch_cpus, DAEMON_CPULIST_MAX) >= 0)
		nri_reply_adjust_annotation(reply, DAEMON_EXCLUSIVE_ANNOTATION, d->scratch_cpus);
}

static int on_create_container(struct nri_stub *s, const NriPodSandbox *npod,
			       const NriContainer *nctr, struct nri_reply *reply, void *ud)
{
	struct daemon *d = ud;
	struct model_pod *pod = NULL;
	struct model_container *c;
	struct annotations_prefs ap;
	struct alloc_request req;
	struct alloc_result r;
	struct qos_input in;
	struct qos_info qi;
	double t0 = now_seconds();

	(void)s;
	if (model_pod_put(d->model, npod, &pod) < 0 ||
	    model_container_put(d->model, npod, nctr, &c) < 0) {
		log_error("create: cannot record container %s", nctr ? nctr->id : "(none)");
		metrics_tg_request(d->metrics, "CreateContainer", false);
		return 0;
	}
	daemon_qos_input(&c->resources, &in);
	parse_prefs(d, pod, c, &ap);
	if (ap.value[ANNOTATIONS_CPU_PRESERVE] == 1 || daemon_classify(pod, c, &in, &qi) < 0) {
		log_info("create: leaving container %s alone (cpu.preserve or unknown QoS)", c->id);
		metrics_tg_request(d->metrics, "CreateContainer", true);
		return 0;
	}
	build_request(d, pod, c, &qi, &ap, &req);
	alloc_changes_reset(&d->changes);
	if (place(d, &req, false, &r) < 0) {
		metrics_tg_request(d->metrics, "CreateContainer", false);
		return 0;
	}
	adjust_created(d, &r, qi.cls, ap.value[ANNOTATIONS_MEM_PRESERVE] == 1, reply);
	daemon_add_change_updates(d, reply);
	metrics_tg_decision(d->metrics, "CreateContainer", now_seconds() - t0);
	metrics_tg_request(d->metrics, "CreateContainer", true);
	daemon_publish_info(d, pod, c, qi.cls);
	daemon_update_pool_metrics(d);
	log_info("create: container=%s pod=%s/%s qos=%s pool=%s cpus=%s others=%zu", c->id,
		 pod->namespace, pod->name, qos_class_name(qi.cls), alloc_pool_name(r.pool),
		 cpuset_format(&r.cpus, d->scratch_cpus, DAEMON_CPULIST_MAX) >= 0 ? d->scratch_cpus
										  : "?",
		 d->changes.n);
	return 0;
}

static int on_update_container(struct nri_stub *s, const NriPodSandbox *npod,
			       const NriContainer *nctr, const NriLinuxResources *res,
			       struct nri_reply *reply, void *ud)
{
	struct daemon *d = ud;
	struct model_pod *pod = NULL;
	struct model_container *c;
	struct annotations_prefs ap;
	struct alloc_request req;
	struct alloc_result r;
	struct nri_resources out;
	struct qos_input in;
	struct qos_info qi;
	double t0 = now_seconds();

	(void)s;
	if (model_pod_put(d->model, npod, &pod) < 0 ||
	    model_container_put(d->model, npod, nctr, &c) < 0)
		return 0;
	qos_input_from_nri(res, &in);
	parse_prefs(d, pod, c, &ap);
	if (ap.value[ANNOTATIONS_CPU_PRESERVE] == 1 || daemon_classify(pod, c, &in, &qi) < 0)
		return 0;
	build_request(d, pod, c, &qi, &ap, &req);
	alloc_changes_reset(&d->changes);
	if (place(d, &req, true, &r) < 0) {
		metrics_tg_request(d->metrics, "UpdateContainer", false);
		return 0;
	}
	daemon_add_change_updates(d, reply);
	daemon_result_to_resources(d, &r, true, &out);
	if (ap.value[ANNOTATIONS_MEM_PRESERVE] == 1)
		out.mems = NULL;
	nri_reply_update(reply, c->id, &out, false);
	daemon_live_exclusive_changed(d, c->id);
	metrics_tg_decision(d->metrics, "UpdateContainer", now_seconds() - t0);
	metrics_tg_request(d->metrics, "UpdateContainer", true);
	daemon_publish_info(d, pod, c, qi.cls);
	daemon_update_pool_metrics(d);
	log_info("update: container=%s pool=%s others=%zu", c->id, alloc_pool_name(r.pool),
		 d->changes.n);
	return 0;
}

static void forget_container(struct daemon *d, const NriPodSandbox *pod, const NriContainer *ctr)
{
	const char *ns = pod && *pod->namespace_ ? pod->namespace_ : "";
	const char *pn = pod ? pod->name : "";

	metrics_tg_container_remove(d->metrics, ns, pn, ctr->name);
}

static int on_stop_container(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			     struct nri_reply *reply, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (!ctr) /* the stub passes on what the request held; a runtime always sends one */
		return 0;
	alloc_changes_reset(&d->changes);
	if (alloc_release(d->alloc, ctr->id, &d->changes) > 0)
		daemon_add_change_updates(d, reply);
	model_container_set_state(d->model, ctr->id, MODEL_STATE_STOPPED);
	daemon_live_untrack(d, ctr->id);
	forget_container(d, pod, ctr);
	daemon_update_pool_metrics(d);
	metrics_tg_request(d->metrics, "StopContainer", true);
	log_info("stop: container=%s updates=%zu", ctr->id, d->changes.n);
	return 0;
}

static int on_remove_container(struct nri_stub *s, const NriPodSandbox *pod,
			       const NriContainer *ctr, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (!ctr)
		return 0;
	alloc_changes_reset(&d->changes);
	/* No StopContainer seen (runtimes may skip it): the freed CPUs go out unsolicited. */
	if (alloc_release(d->alloc, ctr->id, &d->changes) > 0 && d->changes.n > 0)
		daemon_send_changes(d, "remove");
	daemon_live_untrack(d, ctr->id);
	model_container_remove(d->model, ctr->id);
	forget_container(d, pod, ctr);
	daemon_update_pool_metrics(d);
	return 0;
}

static int on_start_container(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			      void *ud)
{
	struct daemon *d = ud;
	struct model_container *c;

	(void)s;
	if (model_container_put(d->model, pod, ctr, &c) < 0)
		return 0;
	model_container_set_state(d->model, ctr->id, MODEL_STATE_RUNNING);
	daemon_live_track(d, c);
	return 0;
}

static int on_run_pod(struct nri_stub *s, const NriPodSandbox *pod, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (model_pod_put(d->model, pod, NULL) < 0)
		log_warn("run pod: cannot record pod %s", pod ? pod->id : "(none)");
	return 0;
}

static int on_update_pod(struct nri_stub *s, const NriPodSandbox *pod,
			 const NriLinuxResources *overhead, const NriLinuxResources *res, void *ud)
{
	(void)overhead;
	(void)res;
	return on_run_pod(s, pod, ud);
}

static int on_stop_pod(struct nri_stub *s, const NriPodSandbox *pod, void *ud)
{
	(void)s;
	(void)pod;
	(void)ud;
	return 0;
}

static int on_remove_pod(struct nri_stub *s, const NriPodSandbox *pod, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (pod)
		model_pod_remove(d->model, pod->id);
	return 0;
}

const struct nri_stub_handlers daemon_handlers = {
	.configure = on_configure,
	.synchronize = on_synchronize,
	.run_pod_sandbox = on_run_pod,
	.update_pod_sandbox = on_update_pod,
	.stop_pod_sandbox = on_stop_pod,
	.remove_pod_sandbox = on_remove_pod,
	.create_container = on_create_container,
	.start_container = on_start_container,
	.update_container = on_update_container,
	.stop_container = on_stop_container,
	.remove_container = on_remove_container,
};
