/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's shared operations (state.h): the bottom of the daemon room. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "plugin/daemon/state.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/resannot.h"
#include "plugin/daemon/restore.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

uint64_t daemon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t daemon_track_now(const struct daemon *d)
{
	return d->clock_ns ? d->clock_ns : daemon_now_ns();
}

const char *daemon_checkpoint_path(const struct daemon *d)
{
	return d->opt.checkpoint_path ? d->opt.checkpoint_path : d->cfg.checkpoint_path;
}

int daemon_new_alloc(struct daemon *d, struct alloc_state **ret)
{
	const char *ns[CONFIG_LIST_MAX];
	struct alloc_config ac;
	char reason[256] = "";
	int r;

	config_to_alloc(&d->cfg, &ac, ns);
	r = alloc_config_validate(d->topo, &ac, reason, sizeof(reason));
	if (r < 0)
		return log_error_errno(r, "the configuration does not fit this node: %s", reason);
	return alloc_state_new(d->topo, &ac, ret);
}

void daemon_update_pool_metrics(struct daemon *d)
{
	struct alloc_stats st;

	d->checkpoint_dirty = true;
	d->pool_dirty = false;
	if (!d->metrics || !d->alloc)
		return;
	/* A walk over every placement: off the request path (daemon_pool_metrics_later()). */
	alloc_stats_get(d->alloc, &st);
	for (int p = 0; p < ALLOC_POOL_COUNT; p++)
		metrics_tg_pool(d->metrics, alloc_pool_name(p), st.pool[p].capacity,
				st.pool[p].assigned, st.pool[p].free, st.pool[p].containers);
}

void daemon_pool_metrics_later(struct daemon *d)
{
	d->checkpoint_dirty = true;
	d->pool_dirty = true;
	daemon_checkpoint_owners(d);
}

static void created_done(struct daemon *d)
{
	const struct model_container *c = model_container_by_id(d->model, d->created.id);
	const struct model_pod *pod = c ? model_container_pod(d->model, c) : NULL;
	struct alloc_result r;

	d->created.pending = false;
	if (!c || !pod || alloc_get(d->alloc, c->id, &r) < 0)
		return;
	daemon_publish_info(d, pod, c, d->created.cls);
	log_info("create: container=%s pod=%s/%s qos=%s pool=%s cpus=%s others=%zu%s%s", c->id,
		 pod->namespace, pod->name, qos_class_name(d->created.cls), alloc_pool_name(r.pool),
		 cpuset_format(&r.cpus, d->scratch_cpus, DAEMON_CPULIST_MAX) >= 0 ? d->scratch_cpus
										  : "?",
		 d->created.others, r.device ? " devices=" : "",
		 r.device ? alloc_device_fit_name(r.device) : "");
}

void daemon_after_reply(struct nri_stub *s, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (d->resync_old) {
		daemon_live_resync(d, d->resync_old);
		model_free(d->resync_old);
		d->resync_old = NULL;
	}
	if (d->created.pending)
		created_done(d);
	if (d->pool_dirty)
		daemon_update_pool_metrics(d);
}

static void changes_sent(struct nri_stub *s, int code, void *ud)
{
	(void)s;
	(void)ud;
	if (code != 0)
		log_warn("unsolicited update failed: code=%d", code);
}

/* Direct actuation: nothing unsolicited (containerd#13733); see actuate.c. */
static int defer_changes(struct daemon *d, const char *why)
{
	int r = daemon_direct_changes(d);

	log_info("changes written to cgroups, the runtime told in its next reply: reason=%s "
		 "containers=%zu%s",
		 why, d->changes.n, r < 0 ? " (some cgroup writes failed)" : "");
	return 0;
}

int daemon_send_changes(struct daemon *d, const char *why)
{
	struct nri_reply *upd;
	int r, n;

	if (d->changes.n == 0)
		return 0;
	if (daemon_actuation(d) == DAEMON_ACTUATION_DIRECT)
		return defer_changes(d, why);
	upd = nri_stub_new_updates(d->stub);
	if (!upd)
		return log_warn_errno(-ENOTCONN, "cannot send updates (%s): not connected", why);
	n = daemon_add_change_updates(d, upd);
	r = nri_stub_update_containers(d->stub, upd, changes_sent, d);
	if (r < 0)
		return log_warn_errno(r, "cannot queue unsolicited updates (%s)", why);
	log_info("unsolicited updates queued: reason=%s containers=%d", why, n);
	return 0;
}

void daemon_qos_input(const struct model_resources *r, struct qos_input *in)
{
	memset(in, 0, sizeof(*in));
	in->has_shares = r->has_shares;
	in->shares = r->shares;
	in->has_quota = r->has_quota;
	in->quota = r->quota;
	in->has_period = r->has_period;
	in->period = r->period;
	in->has_mem_limit = r->has_mem_limit;
	in->mem_limit = r->mem_limit;
}

static const char *cgroup_hint(const struct model_pod *pod, const struct model_container *c)
{
	if (pod && pod->cgroup_parent && *pod->cgroup_parent)
		return pod->cgroup_parent;
	return c->cgroups_path;
}

/* What c reports of its own: none when topoguard sized it from its pod's budget. */
static void own_input(const struct model_container *c, const struct qos_input *base,
		      struct qos_input *in)
{
	*in = *base;
	if (!c->track.pod_budget)
		return;
	in->has_shares = in->has_quota = in->has_mem_limit = false;
}

static bool sibling_is_live(const struct model_container *c)
{
	return !c->sandbox && c->state != MODEL_STATE_STOPPED && c->state != MODEL_STATE_EXITED;
}

struct siblings_ctx {
	const struct daemon *d;
	const char *id;
	struct podres_siblings sib;
};

/*
 * What sibling c holds of its own: the request topoguard placed (what c reports since
 * includes topoguard's adjustment, an unlimited quota on exclusive CPUs), else its
 * resources. false when it has none.
 */
static bool sibling_own(const struct daemon *d, const struct model_container *c,
			struct qos_info *ret)
{
	struct alloc_request req;
	struct qos_input in, own;

	daemon_qos_input(&c->resources, &in);
	own_input(c, &in, &own);
	if (!podres_has_own(&own))
		return false;
	if (alloc_get_request(d->alloc, c->id, &req) < 0)
		return qos_classify(&own, ret) == 0;
	ret->request_mcpu = req.cpu_request_mcpu;
	ret->limit_mcpu = req.cpu_limit_mcpu;
	ret->mem_limit = req.mem_limit;
	return true;
}

static int add_sibling(struct model_container *c, void *ud)
{
	struct siblings_ctx *sc = ud;
	struct qos_info qi = {0};

	if (!strcmp(c->id, sc->id) || !sibling_is_live(c))
		return 0;
	if (!sibling_own(sc->d, c, &qi)) {
		sc->sib.n_without++;
		return 0;
	}
	sc->sib.request_mcpu += qi.request_mcpu;
	sc->sib.limit_mcpu += qi.limit_mcpu;
	sc->sib.mem_limit += qi.mem_limit;
	return 0;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Whether an annotated container has resources the runtime would show: a CPU request
 * of 2m or less is 2 shares, as no request at all. */
static bool annotated_own(const struct resannot_res *r)
{
	return r->request_mcpu > 2 || r->limit_mcpu > 0 || r->mem_limit > 0;
}

/*
 * Read the pod's resources annotation for c; -errno as resannot_parse(), -ENOENT absent
 * or c not listed, -EPROTO it contradicts the runtime (c has resources of its own in one
 * and not in the other; own: what the runtime shows of c).
 */
static int annotation_of(const struct model_pod *pod, const struct model_container *c,
			 const struct qos_input *own, struct resannot *ret, char *err, size_t len)
{
	const char *v = model_kv_get(pod->annotations, pod->n_annotations, RESANNOT_KEY);
	int r;

	if (!v)
		return -ENOENT;
	r = resannot_parse(v, c->name, ret, err, len);
	if (r < 0)
		return r;
	if (!ret->found)
		return -ENOENT;
	return annotated_own(&ret->self) == podres_has_own(own) ? 0 : -EPROTO;
}

/*
 * The annotation's word on c's siblings, into sib: it knows the containers not created
 * yet. It may add to what the live siblings show, never hide one (each figure is the
 * larger of the two). false when it is unusable (annotation_of()), or the pod holds no
 * more than its containers' sum (or its largest init container): no pod level then.
 */
static bool annotated_siblings(const struct model_pod *pod, const struct model_container *c,
			       const struct qos_input *own, const struct qos_input *pin,
			       struct podres_siblings *sib)
{
	struct resannot a;
	struct qos_info pi;
	int64_t req = 0, lim = 0, mem = 0;

	if (annotation_of(pod, c, own, &a, NULL, 0) < 0 || qos_classify(pin, &pi) < 0)
		return false;
	if (pi.request_mcpu <= max64(a.sum.request_mcpu, a.init_max.request_mcpu) &&
	    pi.limit_mcpu <= max64(a.sum.limit_mcpu, a.init_max.limit_mcpu))
		return false;
	if (!a.init) { /* an init container runs alone, before the others */
		req = a.sum.request_mcpu - a.self.request_mcpu;
		lim = a.sum.limit_mcpu - a.self.limit_mcpu;
		mem = a.sum.mem_limit - a.self.mem_limit;
	}
	sib->request_mcpu = max64(sib->request_mcpu, req);
	sib->limit_mcpu = max64(sib->limit_mcpu, lim);
	sib->mem_limit = max64(sib->mem_limit, mem);
	if (!a.init && a.n_without > sib->n_without)
		sib->n_without = a.n_without;
	sib->complete = true;
	return true;
}

int daemon_classify(const struct daemon *d, const struct model_pod *pod,
		    const struct model_container *c, const struct qos_input *base,
		    struct podres_decision *ret)
{
	struct siblings_ctx sc = {.d = d, .id = c->id, .sib = {.n_without = 1}};
	struct qos_input in, pin;

	own_input(c, base, &in);
	in.cgroup_parent = cgroup_hint(pod, c);
	if (!pod)
		return podres_decide(&in, NULL, NULL, ret);
	daemon_qos_input(&pod->resources, &pin);
	if (podres_has_own(&pin) && !podres_has_own(&in)) {
		model_foreach_container(d->model, pod->id, add_sibling, &sc);
		if (d->cfg.annotations_enabled)
			annotated_siblings(pod, c, &in, &pin, &sc.sib);
	}
	return podres_decide(&in, &pin, &sc.sib, ret);
}

void daemon_check_resources_annotation(struct daemon *d, const struct model_pod *pod,
				       const struct model_container *c,
				       const struct qos_input *base)
{
	struct resannot a;
	struct qos_input in;
	char err[192] = "";
	int r;

	if (!pod || !d->cfg.annotations_enabled)
		return;
	own_input(c, base, &in);
	r = annotation_of(pod, c, &in, &a, err, sizeof(err));
	if (r == 0 || r == -ENOENT)
		return;
	if (r == -EPROTO)
		snprintf(err, sizeof(err), "it gives the container %s, the runtime %s",
			 annotated_own(&a.self) ? "resources of its own" : "none of its own",
			 annotated_own(&a.self) ? "none" : "some");
	log_warn("annotation refused: container=%s key=%s reason=\"%s\"", c->id, RESANNOT_KEY, err);
	metrics_tg_annotation_refused(d->metrics);
}

enum qos_class daemon_container_qos(const struct daemon *d, const struct model_pod *pod,
				    const struct model_container *c)
{
	struct qos_input in;
	struct podres_decision pd;

	daemon_qos_input(&c->resources, &in);
	if (daemon_classify(d, pod, c, &in, &pd) < 0)
		return QOS_BURSTABLE;
	return pd.info.cls;
}

struct resize_ctx {
	struct daemon *d;
	const struct model_pod *pod;
	const char *except;
	int n;
};

static bool same_size(const struct alloc_request *r, const struct qos_info *qi)
{
	return r->qos == qi->cls && r->cpu_request_mcpu == qi->request_mcpu &&
	       r->cpu_limit_mcpu == qi->limit_mcpu && r->mem_limit == qi->mem_limit;
}

/* Resize one container of the pod whose share of the pod's budget changed. */
static int resize_one(struct model_container *c, void *ud)
{
	struct resize_ctx *rc = ud;
	struct alloc_request req;
	struct alloc_result r;
	struct podres_decision pd;
	struct qos_input in;
	char reason[256] = "";

	if ((rc->except && !strcmp(c->id, rc->except)) || !sibling_is_live(c) ||
	    alloc_get_request(rc->d->alloc, c->id, &req) < 0)
		return 0;
	daemon_qos_input(&c->resources, &in);
	if (daemon_classify(rc->d, rc->pod, c, &in, &pd) < 0 ||
	    (pd.source == PODRES_OWN && !c->track.pod_budget))
		return 0;
	c->track.pod_budget = pd.source != PODRES_OWN;
	if (same_size(&req, &pd.info))
		return 0;
	req.id = c->id;
	req.pod_namespace = rc->pod->namespace;
	req.qos = pd.info.cls;
	req.cpu_request_mcpu = pd.info.request_mcpu;
	req.cpu_limit_mcpu = pd.info.limit_mcpu;
	req.mem_limit = pd.info.mem_limit;
	if (alloc_update(rc->d->alloc, &req, &r, &rc->d->changes, reason, sizeof(reason)) < 0) {
		log_warn("pod resize: container=%s keeps its CPUs: reason=\"%s\"", c->id, reason);
		return 0;
	}
	(void)alloc_changes_push(&rc->d->changes, c->id);
	log_info("pod resize: container=%s qos=%s sizing=%s request=%lldm limit=%lldm pool=%s",
		 c->id, qos_class_name(pd.info.cls), podres_source_name(pd.source),
		 (long long)pd.info.request_mcpu, (long long)pd.info.limit_mcpu,
		 alloc_pool_name(r.pool));
	rc->n++;
	return 0;
}

int daemon_pod_resize(struct daemon *d, const struct model_pod *pod, const char *except)
{
	struct resize_ctx rc = {.d = d, .pod = pod, .except = except};

	if (!pod)
		return 0;
	model_foreach_container(d->model, pod->id, resize_one, &rc);
	return rc.n;
}

/* Shares, quota and period; a quota the closed loop imposes on c wins. */
static void cpu_limits(const struct model_container *c, uint64_t shares, int64_t quota,
		       uint64_t period, struct nri_resources *res)
{
	res->has_shares = shares > 0;
	res->shares = shares;
	res->has_quota = true;
	res->quota = quota;
	res->has_period = period > 0;
	res->period = period;
	if (c && c->ctl_quota) {
		res->quota = c->ctl_quota;
		res->has_period = c->ctl_period > 0;
		res->period = c->ctl_period;
	}
}

static void result_to_resources(struct daemon *d, const struct model_container *c,
				const struct alloc_result *r, struct nri_resources *res)
{
	memset(res, 0, sizeof(*res));
	if (cpuset_format(&r->cpus, d->scratch_cpus, DAEMON_CPULIST_MAX) > 0)
		res->cpus = d->scratch_cpus;
	if (d->cfg.memory_pin_mems &&
	    cpuset_format(&r->mems, d->scratch_mems, DAEMON_CPULIST_MAX) > 0)
		res->mems = d->scratch_mems;
	cpu_limits(c, r->shares, r->quota, r->period, res);
}

void daemon_result_to_resources(struct daemon *d, const char *id, const struct alloc_result *r,
				struct nri_resources *res)
{
	result_to_resources(d, id ? model_container_by_id(d->model, id) : NULL, r, res);
}

/* The shared pool's sets, formatted by the first plain shared container of a batch. */
static int batch_pool_sets(struct daemon *d, struct daemon_batch *b, const char *id)
{
	struct alloc_result r;

	if (alloc_get(d->alloc, id, &r) < 0)
		return -ENOENT;
	b->cpus = cpuset_format(&r.cpus, d->scratch_pool_cpus, DAEMON_CPULIST_MAX) > 0
			  ? d->scratch_pool_cpus
			  : NULL;
	b->mems = d->cfg.memory_pin_mems && cpuset_format(&r.mems, d->scratch_pool_mems,
							  DAEMON_CPULIST_MAX) > 0
			  ? d->scratch_pool_mems
			  : NULL;
	b->have_pool = true;
	return 0;
}

int daemon_batch_resources(struct daemon *d, struct daemon_batch *b, const char *id,
			   const struct model_container *c, struct nri_resources *res)
{
	struct alloc_cpu_side side;
	struct alloc_result r;

	if (alloc_get_cpu_side(d->alloc, id, &side) < 0)
		return -ENOENT;
	if (!side.plain_shared) {
		if (alloc_get(d->alloc, id, &r) < 0)
			return -ENOENT;
		result_to_resources(d, c, &r, res);
	} else {
		if (!b->have_pool && batch_pool_sets(d, b, id) < 0)
			return -ENOENT;
		memset(res, 0, sizeof(*res));
		res->cpus = b->cpus;
		res->mems = b->mems;
		cpu_limits(c, side.shares, side.quota, side.period, res);
	}
	if (c && c->track.mem_preserve)
		res->mems = NULL;
	return 0;
}

void daemon_publish_info(struct daemon *d, const struct model_pod *pod,
			 const struct model_container *c, enum qos_class cls)
{
	struct alloc_result r;

	if (!d->metrics || alloc_get(d->alloc, c->id, &r) < 0)
		return;
	if (cpuset_format(&r.cpus, d->scratch_info, DAEMON_CPULIST_MAX) < 0)
		return;
	metrics_tg_container_set(d->metrics, pod ? pod->namespace : "", pod ? pod->name : "",
				 c->name, qos_class_name(cls), alloc_pool_name(r.pool),
				 d->scratch_info);
}

void daemon_publish_container(struct daemon *d, const char *id)
{
	struct model_container *c = model_container_by_id(d->model, id);
	struct model_pod *pod;

	if (!c)
		return;
	pod = model_container_pod(d->model, c);
	daemon_publish_info(d, pod, c, daemon_container_qos(d, pod, c));
}

void daemon_note_told(struct daemon *d, const char *id)
{
	struct model_container *c = model_container_by_id(d->model, id);

	if (c)
		c->track.told_ns = daemon_track_now(d);
}

int daemon_add_change_updates(struct daemon *d, struct nri_reply *reply)
{
	struct daemon_batch b = {0};
	uint64_t now = d->changes.n ? daemon_track_now(d) : 0;
	int n = 0;

	for (size_t i = 0; i < d->changes.n; i++) {
		const char *id = d->changes.ids[i];
		struct model_container *c = model_container_by_id(d->model, id);
		struct nri_resources res;

		/* every update carries the whole CPU side: a move that left the quota to the
		 * runtime kept a stale one (unlimited on the shared pool, or capped on
		 * exclusive CPUs) */
		if (daemon_batch_resources(d, &b, id, c, &res) < 0)
			continue;
		if (nri_reply_update(reply, id, &res, false) < 0) {
			log_warn("cannot queue update of container %s", id);
			continue;
		}
		n++;
		if (c)
			c->track.told_ns = now;
	}
	/* their topoguard_container_info is refreshed by the daemon's 1 s timer: a series
	 * update per moved container would make every create O(containers^2) */
	d->info_dirty = d->info_dirty || d->changes.n > 0;
	return n + daemon_add_owed_updates(d, reply);
}

int daemon_add_update(struct daemon *d, struct nri_reply *reply, const char *id)
{
	struct model_container *c = model_container_by_id(d->model, id);
	struct daemon_batch b = {0};
	struct nri_resources res;
	int e;

	if (daemon_batch_resources(d, &b, id, c, &res) < 0)
		return -ENOENT;
	e = nri_reply_update(reply, id, &res, false);
	if (e < 0)
		return e;
	if (c)
		c->track.told_ns = daemon_track_now(d);
	return 0;
}
