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

#include "plugin/daemon/affinity.h"
#include "plugin/daemon/annotations.h"
#include "plugin/daemon/handlers.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/restore.h"
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

/* An entitlement refusal: key is the preference's name. */
static void report_not_entitled(void *ud, const char *pref, const char *reason)
{
	struct refusal_ctx *rc = ud;

	log_warn("annotation refused: container=%s pref=%s reason=\"%s\"", rc->ctr, pref, reason);
	metrics_tg_annotation_refused(rc->d->metrics);
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
	const struct annotations_entitlement e = {
		.qos = req->qos,
		.pod_namespace = pod ? pod->namespace : "",
		.allow_reserved = &d->cfg.annotations_allow_reserved_namespaces,
		.reserved = &d->cfg.reserved_namespaces,
	};
	struct refusal_ctx rc = {.d = d, .ctr = c->id};

	annotations_entitle(ap, &e, report_not_entitled, &rc, &req->prefs);
}

static void build_request(struct daemon *d, const struct model_pod *pod, struct model_container *c,
			  const struct qos_info *qi, const struct annotations_prefs *ap,
			  struct alloc_request *req)
{
	alloc_request_init(req);
	req->id = c->id;
	req->pod_namespace = pod ? pod->namespace : "";
	req->qos = qi->cls;
	req->cpu_request_mcpu = qi->request_mcpu;
	req->cpu_limit_mcpu = qi->limit_mcpu;
	req->mem_limit = qi->mem_limit;
	prefs_to_request(d, pod, c, ap, req);
	affinity_resolve(d, c, &req->prefs);
}

/* The policy refused exclusive CPUs away from the container's devices (strict). */
static bool strict_refusal(const char *reason)
{
	return !strncmp(reason, ALLOC_REASON_DEVICE_STRICT, strlen(ALLOC_REASON_DEVICE_STRICT));
}

/* While what runs is unknown, an exclusive CPU could already be someone's. */
static void guard_unknown_state(struct daemon *d, struct alloc_request *req)
{
	if (d->state_known || req->prefs.shared_only)
		return;
	req->prefs.shared_only = true;
	req->prefs.isolated = false;
	log_warn("no Synchronize and no node restore yet: container %s runs on the shared pool",
		 req->id);
}

/*
 * Place c; on -ENOSPC fall back to the shared pool rather than fail the pod. A
 * resize that does not fit is the exception: it keeps what the container has and
 * returns -ENOSPC with the policy's reason, so that the update is refused.
 */
static int place(struct daemon *d, struct alloc_request *req, bool update, struct alloc_result *r,
		 char *reason, size_t len)
{
	int ret;

	ret = update ? alloc_update(d->alloc, req, r, &d->changes, reason, len)
		     : alloc_create(d->alloc, req, r, &d->changes, reason, len);
	if (ret == -ENOENT && update)
		ret = alloc_create(d->alloc, req, r, &d->changes, reason, len);
	if (ret == -ENOSPC && update && alloc_get(d->alloc, req->id, r) == 0)
		return -ENOSPC;
	if (ret == -ENOSPC && !req->prefs.shared_only && strict_refusal(reason)) {
		log_warn("no room next to its devices (strict), using the shared pool: "
			 "container=%s reason=\"%s\"",
			 req->id, reason);
		metrics_tg_device_placement(d->metrics, "refused");
	} else if (ret == -ENOSPC && !req->prefs.shared_only) {
		log_warn("no room for exclusive CPUs, using the shared pool: container=%s "
			 "reason=\"%s\"",
			 req->id, reason);
	}
	if (ret == -ENOSPC && !req->prefs.shared_only) {
		req->prefs.shared_only = true;
		req->prefs.isolated = false;
		ret = alloc_create(d->alloc, req, r, &d->changes, reason, len);
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

static bool container_is_live(const struct model_container *c)
{
	return !c->sandbox && c->state != MODEL_STATE_STOPPED && c->state != MODEL_STATE_EXITED;
}

static bool same_sizes(const struct alloc_request *a, const struct alloc_request *b)
{
	return a->qos == b->qos && a->cpu_request_mcpu == b->cpu_request_mcpu &&
	       a->cpu_limit_mcpu == b->cpu_limit_mcpu && a->mem_limit == b->mem_limit;
}

/*
 * A resync after a runtime restart, while this daemon ran on: it answered every
 * create and update of the containers it knew, so what it holds is newer than a
 * report that differs (CRI-O 1.26 and the simulator's stale-specs fault report
 * creation-time resources, while the kernel has a later resize). Such a container is
 * restored with the request and the exclusive CPUs the daemon last gave it, not with
 * the report's: otherwise a container resized off its exclusive CPU would claim it
 * again from its creation-time annotation, against the one that has it now, and get
 * its creation-time quota back. Only memory that came from the runtime counts (not a
 * node restore from cgroups, which is an estimate). A resize the kubelet made while
 * the runtime had no plugin connected is the one thing this misses: the runtime
 * restarts with the plugin redialling within milliseconds (docs/architecture.md).
 */
static void prefer_memory(struct daemon *d, const struct model_container *c,
			  struct alloc_restore_entry *e)
{
	struct alloc_request old;
	struct alloc_result res;

	if (!d->state_source || strcmp(d->state_source, "synchronize") != 0 ||
	    alloc_get_request(d->alloc, c->id, &old) < 0 || alloc_get(d->alloc, c->id, &res) < 0)
		return;
	e->exclusive = res.exclusive;
	e->has_exclusive = true;
	if (same_sizes(&old, &e->req))
		return;
	log_warn("synchronize: container=%s: the runtime reports cpu request %lldm limit %lldm, "
		 "but its last create or update gave %lldm limit %lldm: keeping those (stale "
		 "report)",
		 c->id, (long long)e->req.cpu_request_mcpu, (long long)e->req.cpu_limit_mcpu,
		 (long long)old.cpu_request_mcpu, (long long)old.cpu_limit_mcpu);
	old.id = e->req.id;
	old.pod_namespace = e->req.pod_namespace;
	e->req = old;
}

static int restore_entry(struct daemon *d, struct model_container *c, struct alloc_restore_entry *e)
{
	const struct model_pod *pod = model_container_pod(d->model, c);
	const char *excl =
		model_kv_get(c->annotations, c->n_annotations, DAEMON_EXCLUSIVE_ANNOTATION);
	struct annotations_prefs ap;
	struct qos_input in;
	struct podres_decision pd;

	daemon_qos_input(&c->resources, &in);
	if (daemon_classify(d, pod, c, &in, &pd) < 0)
		return -EINVAL;
	parse_prefs(d, pod, c, &ap);
	c->track.mem_preserve = ap.value[ANNOTATIONS_MEM_PRESERVE] == 1;
	memset(e, 0, sizeof(*e));
	build_request(d, pod, c, &pd.info, &ap, &e->req);
	if (cpuset_parse(c->resources.cpus, strlen(c->resources.cpus), &e->cpus) < 0)
		cpuset_zero(&e->cpus);
	if (excl && cpuset_parse(excl, strlen(excl), &e->exclusive) >= 0)
		e->has_exclusive = true;
	prefer_memory(d, c, e);
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

/*
 * What an event or a Synchronize tells of c's existence (reconcile.h): running or
 * paused confirms it; one created but not started starts the ghost clock, unless a
 * CreateContainer started it already.
 */
static void note_alive(struct model_container *c, uint64_t now)
{
	if (c->state == MODEL_STATE_RUNNING || c->state == MODEL_STATE_PAUSED)
		c->track.confirmed = true;
	else if (!c->track.confirmed && !c->track.created_ns)
		c->track.created_ns = now;
}

static int pod_cmp(const void *a, const void *b)
{
	const NriPodSandbox *x = *(NriPodSandbox *const *)a, *y = *(NriPodSandbox *const *)b;

	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

/* pods sorted by id (malloc'd, NULL when n is 0), for pod_of(). */
static NriPodSandbox **pods_by_id(NriPodSandbox *const *pods, size_t n)
{
	NriPodSandbox **s = n ? malloc(n * sizeof(*s)) : NULL;

	if (!s)
		return NULL;
	memcpy(s, pods, n * sizeof(*s));
	qsort(s, n, sizeof(*s), pod_cmp);
	return s;
}

/*
 * The pod of ctr by binary search: the linear scan it replaces made a Synchronize of
 * 2000 containers spend most of its time in strcmp (issue #17). Without the index (no
 * memory for it) the scan is still right.
 */
static const NriPodSandbox *pod_of(NriPodSandbox *const *sorted, NriPodSandbox *const *pods,
				   size_t n, const NriContainer *ctr)
{
	NriPodSandbox key = {.id = ctr->pod_sandbox_id}, *kp = &key, *const * hit;

	if (!ctr->pod_sandbox_id)
		return NULL;
	if (sorted) {
		hit = bsearch(&kp, sorted, n, sizeof(*sorted), pod_cmp);
		return hit ? *hit : NULL;
	}
	for (size_t j = 0; j < n; j++)
		if (pods[j]->id && !strcmp(pods[j]->id, ctr->pod_sandbox_id))
			return pods[j];
	return NULL;
}

static int rebuild_model(struct daemon *d, NriPodSandbox *const *pods, size_t n_pods,
			 NriContainer *const *ctrs, size_t n_ctrs, struct model **ret)
{
	uint64_t now = daemon_track_now(d);
	NriPodSandbox **sorted;
	struct model *m;
	int r = model_new(&m);

	if (r < 0)
		return r;
	sorted = pods_by_id(pods, n_pods);
	for (size_t i = 0; i < n_pods; i++)
		if (model_pod_put(m, pods[i], NULL) < 0)
			log_warn("synchronize: skipping pod %s", pods[i]->id);
	for (size_t i = 0; i < n_ctrs; i++) {
		const struct model_container *known;
		const NriPodSandbox *pod = pod_of(sorted, pods, n_pods, ctrs[i]);
		struct model_container *c;

		if (model_container_put(m, pod, ctrs[i], &c) < 0) {
			log_warn("synchronize: skipping container %s", ctrs[i]->id);
			continue;
		}
		known = model_container_by_id(d->model, c->id);
		if (known)
			c->track = known->track;
		note_alive(c, now);
	}
	free(sorted);
	*ret = d->model;
	d->model = m;
	return 0;
}

/*
 * After a Synchronize every container gets its whole intent once, not only the ones
 * whose reported resources differ: the report can be stale (CRI-O 1.26 reports
 * creation-time resources after its restart, while the kernel holds later updates),
 * and a cpuset the report shows as right may not be what the kernel has. On -ENOMEM
 * the restore's own moves still go out.
 */
static void reassert_all(struct daemon *d)
{
	struct alloc_changes all = {0}, tmp;

	if (alloc_changes_all(d->alloc, &all) < 0) {
		log_warn("synchronize: out of memory, only moved containers are updated");
	} else {
		tmp = d->changes;
		d->changes = all;
		all = tmp;
	}
	alloc_changes_done(&all);
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
	size_t moved;
	int r;

	(void)s;
	daemon_after_reply(s, d); /* a previous Synchronize's, without the stub's hook */
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
	d->ck_alloc = NULL; /* a new allocation: its owners are not checkpointed yet */
	/* Following 2000 containers' cgroups (opens, BPF map updates) need not delay it. */
	d->resync_old = old;
	moved = d->changes.n;
	reassert_all(d);
	daemon_add_change_updates(d, reply);
	log_info("synchronized: pods=%zu containers=%zu restored=%zu moved=%zu updates=%zu", n_pods,
		 n_ctrs, sc.n, moved, d->changes.n);
	d->synchronized = true;
	d->state_known = true;
	d->state_source = "synchronize";
	d->rc.due_ns =
		daemon_track_now(d) + DAEMON_RECONCILE_AFTER_SYNC_NS; /* trust, then verify */
	metrics_tg_decision(d->metrics, "Synchronize", now_seconds() - t0);
	metrics_tg_request(d->metrics, "Synchronize", true);
	daemon_pool_metrics_later(d);
	metrics_tg_ready(d->metrics, true);
	return 0;
}

/*
 * An unsolicited update not yet answered can reach the runtime after this reply: the
 * runtime holds it until the event in flight is done (its NRI lock, doc §7), so it
 * would put back the cpusets this reply moves (an exclusive CPU handed out twice until
 * the next reconciliation). The moved containers' intent goes out once more, after it.
 */
static void outrun_pending(struct daemon *d)
{
	if (d->changes.n && d->stub && nri_stub_updates_pending(d->stub))
		daemon_send_changes(d, "after an update still in flight");
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

	daemon_result_to_resources(d, NULL, r, &res);
	if (mem_preserve)
		res.mems = NULL;
	if (nri_reply_adjust(reply, &res) < 0)
		log_warn("cannot build the adjustment");
	if (cls != QOS_GUARANTEED)
		return;
	if (cpuset_format(&r->exclusive, d->scratch_cpus, DAEMON_CPULIST_MAX) >= 0)
		nri_reply_adjust_annotation(reply, DAEMON_EXCLUSIVE_ANNOTATION, d->scratch_cpus);
}

/*
 * The create's info series and log line wait until the answer went out
 * (daemon_after_reply()): formatting and writing them was a third of the handler's time
 * (bench/handler_time, issue #17).
 */
static void note_created(struct daemon *d, const struct model_container *c, enum qos_class cls)
{
	size_t n = strlen(c->id);

	if (d->created.pending) /* a caller without the stub's hook: nothing is lost */
		daemon_after_reply(d->stub, d);
	if (n >= sizeof(d->created.id)) { /* not a runtime's id; no reason to defer it */
		daemon_publish_info(d, model_container_pod(d->model, c), c, cls);
		return;
	}
	memcpy(d->created.id, c->id, n + 1);
	d->created.cls = cls;
	d->created.others = d->changes.n;
	d->created.pending = true;
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
	struct podres_decision pd;
	char reason[256] = "";
	double t0 = now_seconds();

	(void)s;
	if (!d->state_known && !d->node_restore_tried) {
		d->node_restore_tried = true;
		daemon_restore_from_node(d, "a container event before any Synchronize");
	}
	if (model_pod_put(d->model, npod, &pod) < 0 ||
	    model_container_put(d->model, npod, nctr, &c) < 0) {
		log_error("create: cannot record container %s", nctr ? nctr->id : "(none)");
		metrics_tg_request(d->metrics, "CreateContainer", false);
		return 0;
	}
	if (!c->track.created_ns)
		c->track.created_ns = daemon_track_now(d); /* it must start within ghost_after */
	daemon_qos_input(&c->resources, &in);
	parse_prefs(d, pod, c, &ap);
	daemon_check_resources_annotation(d, pod, c, &in);
	if (ap.value[ANNOTATIONS_CPU_PRESERVE] == 1 || daemon_classify(d, pod, c, &in, &pd) < 0) {
		log_info("create: leaving container %s alone (cpu.preserve or unknown QoS)", c->id);
		metrics_tg_request(d->metrics, "CreateContainer", true);
		return 0;
	}
	build_request(d, pod, c, &pd.info, &ap, &req);
	guard_unknown_state(d, &req);
	alloc_changes_reset(&d->changes);
	/* Siblings sharing the pod's budget with it get their new share first: its CPUs
	 * may be theirs now. */
	c->track.pod_budget = pd.source != PODRES_OWN;
	if (c->track.pod_budget)
		daemon_pod_resize(d, pod, c->id);
	if (place(d, &req, false, &r, reason, sizeof(reason)) < 0) {
		metrics_tg_request(d->metrics, "CreateContainer", false);
		return 0;
	}
	if (!strict_refusal(reason))
		affinity_count(d, &r);
	c->track.mem_preserve = ap.value[ANNOTATIONS_MEM_PRESERVE] == 1;
	adjust_created(d, &r, pd.info.cls, c->track.mem_preserve, reply);
	if (c->track.pod_budget)
		nri_reply_adjust_annotation(reply, MODEL_POD_BUDGET_ANNOTATION, "true");
	c->track.told_ns = daemon_track_now(d);
	daemon_add_change_updates(d, reply);
	outrun_pending(d);
	metrics_tg_decision(d->metrics, "CreateContainer", now_seconds() - t0);
	metrics_tg_request(d->metrics, "CreateContainer", true);
	note_created(d, c, pd.info.cls);
	daemon_pool_metrics_later(d);
	return 0;
}

/*
 * A resize that does not fit: the container keeps its CPUs and the runtime is told
 * the update failed, so that the kubelet does not believe it was applied (in-place
 * resize reports it and retries; docs/policy.md "Resizes").
 */
static int refuse_resize(struct daemon *d, const struct model_container *c,
			 const struct alloc_result *r, const char *reason, struct nri_reply *reply)
{
	const char *cpus = cpuset_format(&r->cpus, d->scratch_cpus, DAEMON_CPULIST_MAX) >= 0
				   ? d->scratch_cpus
				   : "?";

	log_warn("resize refused, the container keeps its CPUs: container=%s cpus=%s "
		 "reason=\"%s\"",
		 c->id, cpus, reason);
	nri_reply_set_error(reply,
			    "topoguard: the resize of container %s does not fit (%s); "
			    "it keeps CPUs %s",
			    c->id, reason, cpus);
	metrics_tg_request(d->metrics, "UpdateContainer", false);
	return -ENOSPC;
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
	struct podres_decision pd;
	char reason[256] = "";
	double t0 = now_seconds();
	size_t others;
	int rc;

	(void)s;
	if (model_pod_put(d->model, npod, &pod) < 0 ||
	    model_container_put(d->model, npod, nctr, &c) < 0)
		return 0;
	note_alive(c, daemon_track_now(d));
	qos_input_from_nri(res, &in);
	parse_prefs(d, pod, c, &ap);
	c->track.pod_budget = false; /* the request holds the kubelet's view, not topoguard's */
	if (ap.value[ANNOTATIONS_CPU_PRESERVE] == 1 || daemon_classify(d, pod, c, &in, &pd) < 0)
		return 0;
	c->track.pod_budget = pd.source != PODRES_OWN;
	build_request(d, pod, c, &pd.info, &ap, &req);
	guard_unknown_state(d, &req);
	alloc_changes_reset(&d->changes);
	rc = place(d, &req, true, &r, reason, sizeof(reason));
	if (rc == -ENOSPC)
		return refuse_resize(d, c, &r, reason, reply);
	if (rc < 0) {
		metrics_tg_request(d->metrics, "UpdateContainer", false);
		return 0;
	}
	daemon_add_change_updates(d, reply);
	daemon_result_to_resources(d, c->id, &r, &out);
	c->track.mem_preserve = ap.value[ANNOTATIONS_MEM_PRESERVE] == 1;
	if (c->track.mem_preserve)
		out.mems = NULL;
	nri_reply_update(reply, c->id, &out, false);
	c->track.told_ns = daemon_track_now(d);
	others = d->changes.n;
	(void)alloc_changes_push(&d->changes, c->id); /* it may be in one in flight too */
	outrun_pending(d);
	daemon_live_exclusive_changed(d, c->id);
	metrics_tg_decision(d->metrics, "UpdateContainer", now_seconds() - t0);
	metrics_tg_request(d->metrics, "UpdateContainer", true);
	daemon_publish_info(d, pod, c, pd.info.cls);
	daemon_pool_metrics_later(d);
	log_info("update: container=%s pool=%s others=%zu", c->id, alloc_pool_name(r.pool), others);
	return 0;
}

/*
 * Drop the topoguard_container_info series of ctr under the names it was published
 * with: the model's (labels before NRI fields, daemon_publish_info). Only a container
 * the model never saw falls back to the request's fields.
 */
static void forget_container(struct daemon *d, const NriPodSandbox *pod, const NriContainer *ctr)
{
	const struct model_container *c = model_container_by_id(d->model, ctr->id);
	const struct model_pod *mp = c ? model_container_pod(d->model, c) : NULL;
	const char *ns = pod && *pod->namespace_ ? pod->namespace_ : "";
	const char *pn = pod ? pod->name : "";

	if (c)
		metrics_tg_container_remove(d->metrics, mp ? mp->namespace : "", mp ? mp->name : "",
					    c->name);
	else
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
	/* its reply also carries what direct actuation owes the runtime (actuate.c) */
	if (alloc_release(d->alloc, ctr->id, &d->changes) > 0 || d->n_owed) {
		daemon_add_change_updates(d, reply);
		outrun_pending(d);
	}
	model_container_set_state(d->model, ctr->id, MODEL_STATE_STOPPED);
	daemon_live_untrack(d, ctr->id);
	forget_container(d, pod, ctr);
	daemon_pool_metrics_later(d);
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
	/* No StopContainer seen (runtimes may skip it): the freed CPUs go out unsolicited,
	 * or, in direct actuation, into the cgroups now and the next reply. */
	if (alloc_release(d->alloc, ctr->id, &d->changes) > 0 && d->changes.n > 0)
		daemon_send_changes(d, "remove");
	daemon_live_untrack(d, ctr->id);
	forget_container(d, pod, ctr); /* while the model still knows its names */
	model_container_remove(d->model, ctr->id);
	daemon_pool_metrics_later(d);
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
	c->track.confirmed = true;
	daemon_live_track(d, c);
	return 0;
}

/* The runtime created it for real (its cgroup and init process exist): no ghost. */
static int on_post_create_container(struct nri_stub *s, const NriPodSandbox *pod,
				    const NriContainer *ctr, void *ud)
{
	struct daemon *d = ud;
	struct model_container *c;

	(void)s;
	if (model_container_put(d->model, pod, ctr, &c) == 0)
		c->track.confirmed = true;
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

/*
 * The pod's resources changed (NRI v0.10+; an in-place resize of pod-level resources):
 * the containers drawing on them get their new share as unsolicited updates, sent once
 * this answer went out (nri_stub_update_containers()).
 */
static int on_update_pod(struct nri_stub *s, const NriPodSandbox *npod,
			 const NriLinuxResources *overhead, const NriLinuxResources *res, void *ud)
{
	struct daemon *d = ud;
	struct model_pod *pod = NULL;
	int n;

	(void)s;
	if (model_pod_put(d->model, npod, &pod) < 0 ||
	    model_pod_set_resources(pod, res, overhead) < 0) {
		log_warn("update pod: cannot record pod %s", npod ? npod->id : "(none)");
		return 0;
	}
	alloc_changes_reset(&d->changes);
	n = daemon_pod_resize(d, pod, NULL);
	if (d->changes.n > 0)
		daemon_send_changes(d, "pod resize");
	if (n > 0)
		daemon_pool_metrics_later(d);
	log_info("update pod: pod=%s/%s resized=%d updates=%zu", pod->namespace, pod->name, n,
		 d->changes.n);
	return 0;
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
	.synchronize = on_synchronize,
	.run_pod_sandbox = on_run_pod,
	.update_pod_sandbox = on_update_pod,
	.stop_pod_sandbox = on_stop_pod,
	.remove_pod_sandbox = on_remove_pod,
	.create_container = on_create_container,
	.post_create_container = on_post_create_container,
	.start_container = on_start_container,
	.update_container = on_update_container,
	.stop_container = on_stop_container,
	.remove_container = on_remove_container,
	.after_reply = daemon_after_reply,
};
