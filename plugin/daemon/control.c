/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop in the daemon (docs/closed-loop.md): after every live usage
 * collect, the model + allocation + usage become policy/control.h samples, the
 * controller decides, and this file carries the actions out:
 *   - quota changes as one unsolicited UpdateContainers per tick (the timer runs
 *     outside any handler); a failed one is retried with backoff, and a newer
 *     decision for the same container replaces the one waiting;
 *   - evictions set the NRI eviction field of that request and, with
 *     kubernetes.enabled, go to the Eviction API through plugin/kube/kube.c (which
 *     honours PodDisruptionBudgets); without API access they are recommendations.
 *   - shields (move the neighbours off a latency-sensitive container) are carried
 *     out on the allocation (alloc_shield / alloc_unshield) and the new cpusets go
 *     out as one UpdateContainers; a failed one is re-sent, with backoff, with the
 *     cpusets of every container the shields touch as they are then;
 *   - dry-run actions are only logged and counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "bpf/usage.h"
#include "plugin/daemon/annotations.h"
#include "plugin/daemon/control.h"
#include "plugin/daemon/control_state.h"
#include "plugin/daemon/live.h"
#include "plugin/kube/kube.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"
#include "policy/control.h"

static void control_config_from(const struct config *c, struct control_config *ret)
{
	*ret = (struct control_config){
		.target_us = (uint64_t)c->live_runqueue_p99_target_us,
		.intrusion_percent = (unsigned int)c->live_intrusion_target_percent,
		.hysteresis_percent = (unsigned int)c->live_hysteresis_percent,
		.step_percent = (unsigned int)c->live_throttle_step_percent,
		.min_quota_percent = (unsigned int)c->live_throttle_min_quota_percent,
		.throttle_period_us = (uint64_t)c->live_throttle_period_us,
		.cooldown_ns = (uint64_t)c->live_cooldown_us * 1000,
		.relax_interval_ns = (uint64_t)c->live_relax_interval_us * 1000,
		.step_interval_ns = (uint64_t)c->live_throttle_interval_us * 1000,
		.actions_per_second = (unsigned int)c->live_actions_per_second,
		.dry_run = c->live_dry_run,
		.shield_enabled = c->live_shield,
		.pool_saturation_percent = (unsigned int)c->live_pool_saturation_percent,
		.pool_persist_ns = (uint64_t)c->live_pool_persist_us * 1000,
		.unshield_percent = (unsigned int)c->live_unshield_percent,
		.blame_percent = (unsigned int)c->live_blame_percent,
		.blame_min_waits = (uint64_t)c->live_blame_min_waits,
		.verify_intervals = (unsigned int)c->live_verify_intervals,
		.verify_margin_percent = (unsigned int)c->live_verify_margin_percent,
		.ineffective_ns = (uint64_t)c->live_ineffective_us * 1000,
		.evict_enabled = c->eviction_enabled,
		.evict_dry_run = c->eviction_dry_run,
		.evict_guaranteed = c->eviction_guaranteed,
		.memory_watermark_percent = (unsigned int)c->eviction_memory_watermark_percent,
		.memory_watermark_bytes = (uint64_t)c->eviction_memory_watermark_bytes,
		.psi_threshold_percent = (unsigned int)c->eviction_psi_threshold_percent,
		.pressure_persist_ns = (uint64_t)c->eviction_persist_us * 1000,
		.evict_settle_ns = (uint64_t)c->eviction_settle_us * 1000,
		.latency_evict_after_ns = (uint64_t)c->eviction_latency_after_us * 1000,
		.evictions_per_minute = (unsigned int)c->eviction_rate_limit_per_minute,
	};
}

static int register_metrics(struct daemon_control *dc, struct metrics *m)
{
	static const char *const l_act[] = {"kind", "result"};
	static const char *const l_kind[] = {"kind"};
	static const char *const l_ctr[] = {"namespace", "pod", "container"};
	static const double b[] = {0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5};
	int r;

	r = metrics_family_new(m, METRICS_COUNTER, "topoguard_control_actions_total",
			       "closed-loop actions by kind and result", l_act, 2, NULL, 0,
			       &dc->m_actions);
	if (r >= 0)
		r = metrics_family_new(m, METRICS_HISTOGRAM, "topoguard_control_reaction_seconds",
				       "from the start of the sampling interval in which a trigger "
				       "(latency breach, memory watermark) was seen to the update "
				       "or eviction request sent",
				       l_kind, 1, b, sizeof(b) / sizeof(b[0]), &dc->m_reaction);
	if (r >= 0)
		r = metrics_family_new(m, METRICS_GAUGE, "topoguard_container_cpu_throttle_cores",
				       "CFS quota imposed by the closed loop, in CPUs", l_ctr, 3,
				       NULL, 0, &dc->m_throttle);
	return r;
}

static int start_kube(struct daemon *d, struct daemon_control *dc)
{
	const struct config *c = &d->cfg;
	struct kube_options o = {
		.server = c->kubernetes_api_server,
		.token_file = c->kubernetes_token_file,
		.ca_file = c->kubernetes_ca_file,
		.timeout_ms = (unsigned int)(c->kubernetes_timeout_us / 1000),
	};

	if (!c->kubernetes_enabled)
		return 0;
	return kube_new(&o, &dc->kube);
}

int daemon_control_start(struct daemon *d)
{
	struct daemon_control *dc = calloc(1, sizeof(*dc));
	struct control_config cc;
	int r;

	if (!dc)
		return -ENOMEM;
	control_config_from(&d->cfg, &cc);
	r = control_new(&cc, &dc->ctl);
	if (r < 0) {
		free(dc);
		return r;
	}
	r = start_kube(d, dc);
	if (r == -ELIBACC)
		log_warn_errno(r,
			       "closed loop: no Kubernetes API, evictions are recommendations: %s",
			       kube_library_error());
	else if (r < 0)
		log_warn_errno(r, "closed loop: no Kubernetes API, evictions are recommendations");
	if (d->metrics && register_metrics(dc, d->metrics) < 0)
		log_warn("closed loop: metrics unavailable");
	d->control = dc;
	return 0;
}

void daemon_control_free(struct daemon *d)
{
	struct daemon_control *dc = d->control;

	if (!dc)
		return;
	kube_free(dc->kube);
	control_free(dc->ctl);
	free(dc->s);
	free(dc->w);
	free(dc->stat_busy);
	free(dc->stat_total);
	free(dc->stat_steal);
	free(dc->ev);
	free(dc);
	d->control = NULL;
}

/* ---- samples ------------------------------------------------------------------ */

static bool latency_sensitive(struct daemon *d, const struct model_pod *pod,
			      const struct model_container *c, bool guaranteed_exclusive,
			      uint64_t *ret_target)
{
	struct annotations_kv kv[DC_ANNOTATIONS_MAX];
	struct annotations_prefs ap;
	size_t n = 0;

	*ret_target = 0;
	if (d->cfg.annotations_enabled && pod) {
		for (; n < pod->n_annotations && n < DC_ANNOTATIONS_MAX; n++)
			kv[n] = (struct annotations_kv){pod->annotations[n].key,
							pod->annotations[n].value};
		if (annotations_parse(kv, n, c->name, d->cfg.annotations_allow_aliases, NULL, NULL,
				      &ap) >= 0 &&
		    ap.value[ANNOTATIONS_LATENCY] == 1) {
			*ret_target = (uint64_t)ap.latency_target_us;
			return true;
		}
	}
	return d->cfg.live_protect_exclusive && guaranteed_exclusive;
}

bool daemon_control_latency_sensitive(struct daemon *d, const struct model_container *c,
				      bool exclusive)
{
	const struct model_pod *pod = model_container_pod(d->model, c);
	uint64_t target;

	return latency_sensitive(
		d, pod, c, exclusive && daemon_container_qos(d, pod, c) == QOS_GUARANTEED, &target);
}

static void cpu_of(const struct model_container *c, struct control_sample *s)
{
	const struct model_resources *r = &c->resources;
	struct qos_input in = {.has_shares = r->has_shares,
			       .shares = r->shares,
			       .has_quota = r->has_quota,
			       .quota = r->quota,
			       .has_period = r->has_period,
			       .period = r->period,
			       .has_mem_limit = r->has_mem_limit,
			       .mem_limit = r->mem_limit};
	struct qos_info qi;

	s->quota = r->has_quota ? r->quota : 0;
	s->period = r->has_period ? r->period : 0;
	if (qos_classify(&in, &qi) == 0) {
		s->request_mcpu = qi.request_mcpu;
		s->limit_mcpu = qi.limit_mcpu;
	}
}

/* A container sized from its pod's budget: its request is the share topoguard gave it. */
static void pod_budget_of(const struct daemon *d, const struct model_container *c,
			  struct control_sample *s)
{
	struct alloc_request req;

	if (!c->track.pod_budget || alloc_get_request(d->alloc, c->id, &req) < 0)
		return;
	s->request_mcpu = req.cpu_request_mcpu;
	s->limit_mcpu = req.cpu_limit_mcpu;
}

static void usage_of(const struct usage_sample *u, struct control_sample *s)
{
	s->interval_ns = u->interval_ns;
	s->has_rq = u->valid & USAGE_F_RQ_LATENCY;
	s->rq_samples = u->rq_samples;
	s->rq_p99_us = u->rq_p99_us;
	s->rq_wait_ns = u->valid & USAGE_F_RQ_LATENCY ? u->rq_wait_ns : 0;
	s->has_intrusion = u->valid & USAGE_F_INTRUSION;
	s->intrusion_ns = u->intrusion_ns;
	s->preempt_inflicted = u->preempt_inflicted;
	s->cpu_cores = u->valid & USAGE_F_CPU ? u->cpu_cores : 0;
	s->throttled_ns = u->valid & USAGE_F_THROTTLE ? u->throttled_ns : 0;
	s->has_memory = u->valid & USAGE_F_MEMORY;
	s->memory_bytes = u->memory_bytes;
}

static int add_sample(struct model_container *c, void *ud)
{
	struct daemon *d = ud;
	struct daemon_control *dc = d->control;
	const struct model_pod *pod = model_container_pod(d->model, c);
	struct control_sample *s;
	struct usage_sample u;
	struct alloc_result ar;

	if (c->sandbox || c->state != MODEL_STATE_RUNNING ||
	    usage_get(daemon_live_usage(d), c->id, &u) < 0 || strlen(c->id) >= CONTROL_ID_MAX)
		return 0;
	if (dc->n_s == dc->cap_s) {
		size_t cap = dc->cap_s ? 2 * dc->cap_s : 16;
		struct control_sample *n = realloc(dc->s, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dc->s = n;
		dc->cap_s = cap;
	}
	s = &dc->s[dc->n_s++];
	*s = (struct control_sample){.id = c->id, .qos = daemon_container_qos(d, pod, c)};
	if (alloc_get(d->alloc, c->id, &ar) == 0) {
		s->exclusive = !cpuset_is_empty(&ar.exclusive);
		s->shared = ar.pool == ALLOC_POOL_SHARED;
		s->shielded = ar.shielded;
	}
	s->latency_sensitive = latency_sensitive(
		d, pod, c, s->qos == QOS_GUARANTEED && s->exclusive, &s->target_us);
	cpu_of(c, s);
	pod_budget_of(d, c, s);
	usage_of(&u, s);
	return 0;
}

/* Node memory from /proc/meminfo and PSI from /proc/pressure/memory (if present). */
static void read_node(struct control_node *n)
{
	char line[256];
	uint64_t total = 0, avail = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	memset(n, 0, sizeof(*n));
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			total = v * 1024;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			avail = v * 1024;
	}
	if (f)
		fclose(f);
	if (total && avail <= total) {
		n->mem_total_bytes = total;
		n->mem_used_bytes = total - avail;
	}
	f = fopen("/proc/pressure/memory", "re");
	if (f && fgets(line, sizeof(line), f) &&
	    sscanf(line, "some avg10=%lf", &n->psi_mem_some_avg10) == 1)
		n->has_psi = true;
	if (f)
		fclose(f);
}

/* ---- execution ----------------------------------------------------------------- */

static void pod_names(struct daemon *d, const char *id, const char **ns, const char **pod,
		      const char **name)
{
	const struct model_container *c = model_container_by_id(d->model, id);
	const struct model_pod *p = c ? model_container_pod(d->model, c) : NULL;

	*ns = p && p->namespace ? p->namespace : "";
	*pod = p && p->name ? p->name : "";
	*name = c && c->name ? c->name : id;
}

static void publish_throttle(struct daemon *d, const struct control_action *a)
{
	const char *v[3];

	if (!d->control->m_throttle)
		return;
	pod_names(d, a->id, &v[0], &v[1], &v[2]);
	if (a->kind == CONTROL_RESTORE || a->quota <= 0 || !a->period)
		metrics_remove(d->control->m_throttle, v, 3);
	else
		metrics_set(d->control->m_throttle, v, (double)a->quota / (double)a->period);
}

static struct dc_want *want_of(struct daemon_control *dc, const char *id, bool create)
{
	struct dc_want *w;

	for (size_t i = 0; i < dc->n_w; i++)
		if (!strcmp(dc->w[i].id, id))
			return &dc->w[i];
	if (!create)
		return NULL;
	if (dc->n_w == dc->cap_w) {
		size_t cap = dc->cap_w ? 2 * dc->cap_w : 8;

		w = realloc(dc->w, cap * sizeof(*w));
		if (!w)
			return NULL;
		dc->w = w;
		dc->cap_w = cap;
	}
	w = &dc->w[dc->n_w++];
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", id);
	return w;
}

static void want_drop(struct daemon_control *dc, struct dc_want *w)
{
	*w = dc->w[--dc->n_w];
}

/* Remember the closed loop's quota on the model, so that every later update of the
 * container (a move, a resync) carries it instead of the policy's. */
static void set_ctl_quota(struct daemon *d, const struct control_action *a)
{
	struct model_container *c = model_container_by_id(d->model, a->id);
	bool restore = a->kind == CONTROL_RESTORE;

	if (!c)
		return;
	c->ctl_quota = restore ? 0 : a->quota;
	c->ctl_period = restore ? 0 : a->period;
}

static void do_quota(struct daemon *d, const struct control_action *a, uint64_t now)
{
	struct daemon_control *dc = d->control;
	struct dc_want *w;

	log_info("closed loop: %s%s container=%s quota=%" PRId64 " period=%" PRIu64
		 " reason=%s protecting=%s",
		 a->dry_run ? "would " : "", control_kind_name(a->kind), a->id, a->quota, a->period,
		 control_reason_name(a->reason), *a->protected_id ? a->protected_id : "-");
	if (a->dry_run) {
		dc_count(dc, a->kind, "recommended");
		return;
	}
	w = want_of(dc, a->id, true);
	if (!w) {
		log_warn("closed loop: out of memory, %s of %s dropped", control_kind_name(a->kind),
			 a->id);
		dc_count(dc, a->kind, "failed");
		return;
	}
	if (!w->attempts && !w->gen)
		w->since_ns = a->since_ns;
	w->quota = a->quota;
	w->period = a->period;
	w->kind = a->kind;
	w->gen = 0; /* a newer value: a reply to an older request no longer settles it */
	w->attempts = 0;
	w->next_try = now;
	dc->n_kind[a->kind]++;
	set_ctl_quota(d, a);
	publish_throttle(d, a);
}

static struct nri_reply *batch(struct daemon *d)
{
	if (!d->control->batch)
		d->control->batch = nri_stub_new_updates(d->stub);
	return d->control->batch;
}

static void do_evict(struct daemon *d, const struct control_action *a, uint64_t now)
{
	struct daemon_control *dc = d->control;
	const char *ns, *pod, *name;
	char why[96];
	int r = -ENOTCONN;

	pod_names(d, a->id, &ns, &pod, &name);
	snprintf(why, sizeof(why), "topoguard: %s", control_reason_name(a->reason));
	if (a->dry_run || !dc->kube) {
		log_warn("closed loop: eviction recommended%s pod=%s/%s container=%s reason=%s",
			 a->dry_run ? " (dry run)" : " (no Kubernetes API)", ns, pod, a->id,
			 control_reason_name(a->reason));
		dc->evictions_recommended++;
		dc_count(dc, CONTROL_EVICT, "recommended");
		dc_observe_reaction(dc, "evict", a->since_ns, now);
	} else {
		r = kube_evict(dc->kube, ns, pod, a->since_ns);
		if (r < 0)
			log_warn_errno(r, "closed loop: cannot request the eviction of pod %s/%s",
				       ns, pod);
	}
	if (!a->dry_run && daemon_actuation(d) == DAEMON_ACTUATION_DIRECT)
		log_warn("closed loop: NRI eviction of %s not sent (direct actuation: no "
			 "unsolicited UpdateContainers)",
			 a->id);
	else if (!a->dry_run && batch(d) && nri_reply_evict(batch(d), a->id, why) < 0)
		log_warn("closed loop: NRI eviction of %s not sent", a->id);
	dc->n_kind[CONTROL_EVICT]++;
}

static void updates_done(struct nri_stub *s, int code, void *ud)
{
	struct dc_done *x = ud;
	struct daemon_control *dc = x->d->control;
	uint64_t now = daemon_now_ns();

	(void)s;
	for (size_t i = 0; dc && i < dc->n_w; i++) {
		struct dc_want *w = &dc->w[i];

		if (w->gen != x->gen)
			continue;
		if (code == 0) {
			dc_count(dc, w->kind, "applied");
			want_drop(dc, w);
			i--;
			continue;
		}
		w->gen = 0;
		w->attempts++;
		dc_count(dc, w->kind, "failed");
		if (w->attempts >= DC_RETRY_ATTEMPTS) {
			log_error(
				"closed loop: giving up on the quota of %s after %u attempts (%d)",
				w->id, w->attempts, code);
			want_drop(dc, w);
			i--;
			continue;
		}
		w->next_try = now + (DC_RETRY_MIN_NS << (w->attempts < 6 ? w->attempts : 6));
		if (w->next_try > now + DC_RETRY_MAX_NS)
			w->next_try = now + DC_RETRY_MAX_NS;
		log_warn("closed loop: quota update of %s failed (%d), retry %u", w->id, code,
			 w->attempts);
	}
	free(x);
}

/*
 * Direct actuation: each due quota into its cgroup now, owed to the runtime's next
 * reply (the container's updates carry its closed-loop quota), and settled at once.
 */
static void flush_direct(struct daemon *d, uint64_t now)
{
	struct daemon_control *dc = d->control;

	for (size_t i = 0; i < dc->n_w; i++) {
		struct dc_want *w = &dc->w[i];
		struct nri_resources res = {.has_quota = true, .quota = w->quota};
		struct dc_done *x;
		size_t before = dc->n_w;

		if (w->gen || w->next_try > now || !(x = malloc(sizeof(*x))))
			continue;
		res.has_period = w->period > 0;
		res.period = w->period;
		daemon_direct_write(d, w->id, &res); /* a failure is counted and warned there */
		daemon_owe(d, w->id);
		w->gen = ++dc->gen;
		if (!w->attempts && w->kind == CONTROL_THROTTLE)
			dc_observe_reaction(dc, "throttle", w->since_ns, now);
		dc_count(dc, w->kind, w->attempts ? "retried" : "sent");
		*x = (struct dc_done){d, w->gen};
		/* settled either way: owed, the runtime's next reply carries it; retrying a
		 * cgroup file that refused it (a read-only mount) would only repeat that */
		updates_done(d->stub, 0, x);
		if (dc->n_w < before)
			i--; /* settled and dropped: the next one moved into its slot */
	}
}

/* Every due quota into this tick's request, then send it. */
static void flush(struct daemon *d, uint64_t now)
{
	struct daemon_control *dc = d->control;
	struct dc_done *x;
	int r;

	if (daemon_actuation(d) == DAEMON_ACTUATION_DIRECT) {
		flush_direct(d, now);
		return;
	}
	dc->gen++;
	for (size_t i = 0; i < dc->n_w; i++) {
		struct dc_want *w = &dc->w[i];
		struct nri_resources res = {.has_quota = true, .quota = w->quota};

		if (w->gen || w->next_try > now || !batch(d))
			continue;
		res.has_period = w->period > 0;
		res.period = w->period;
		if (nri_reply_update(batch(d), w->id, &res, false) < 0)
			continue;
		daemon_note_told(d, w->id);
		w->gen = dc->gen;
		if (!w->attempts && w->kind == CONTROL_THROTTLE)
			dc_observe_reaction(dc, "throttle", w->since_ns, now);
		dc_count(dc, w->kind, w->attempts ? "retried" : "sent");
	}
	if (!dc->batch)
		return;
	x = malloc(sizeof(*x));
	if (x)
		*x = (struct dc_done){d, dc->gen};
	r = nri_stub_update_containers(d->stub, dc->batch, x ? updates_done : NULL, x);
	dc->batch = NULL;
	if (r < 0 && x)
		updates_done(d->stub, r, x);
	else if (r < 0)
		log_warn_errno(r, "closed loop: updates not sent");
}

static void collect_kube(struct daemon *d)
{
	struct daemon_control *dc = d->control;
	struct kube_result res[8];
	size_t n = kube_poll(dc->kube, res, 8);

	for (size_t i = 0; i < n; i++) {
		struct kube_result *k = &res[i];
		bool ok = k->http_status == 200 || k->http_status == 201;

		dc_observe_reaction(dc, "evict", k->since_ns, k->first_sent_ns);
		if (ok) {
			dc->evictions_requested++;
			log_warn("closed loop: evicted pod %s/%s (HTTP %d, %u attempt(s))", k->ns,
				 k->pod, k->http_status, k->attempts);
		} else {
			dc->evictions_refused++;
			log_warn("closed loop: eviction of pod %s/%s refused: HTTP %d %s after %u "
				 "attempt(s)",
				 k->ns, k->pod, k->http_status, k->error ? strerror(-k->error) : "",
				 k->attempts);
		}
		dc_count(dc, CONTROL_EVICT, ok ? "evicted" : "refused");
	}
}

void daemon_control_tick(struct daemon *d, uint64_t now)
{
	struct daemon_control *dc = d->control;
	struct control_config cc;
	struct control_node node;
	int n;

	if (!dc)
		return;
	control_config_from(&d->cfg, &cc); /* hot reload */
	control_set_config(dc->ctl, &cc);
	dc->n_s = 0;
	if (model_foreach_container(d->model, NULL, add_sample, d) < 0) {
		log_debug("closed loop: out of memory building samples");
		return;
	}
	dc_add_evidence(d);
	read_node(&node);
	dc_pool_node(d, &node);
	n = control_step(dc->ctl, dc->s, dc->n_s, &node, now, dc->act, DC_ACTIONS_MAX);
	if (n < 0)
		log_debug_errno(n, "closed loop: controller refused the samples");
	else
		dc_log_pool(dc);
	if (n >= 0)
		dc_log_blame(dc);
	for (int i = 0; i < n; i++) {
		if (dc->act[i].kind == CONTROL_EVICT)
			do_evict(d, &dc->act[i], now);
		else if (dc->act[i].kind == CONTROL_SHIELD || dc->act[i].kind == CONTROL_UNSHIELD)
			dc_do_shield(d, &dc->act[i], now);
		else
			do_quota(d, &dc->act[i], now);
	}
	dc_resend_cpusets(d, now);
	flush(d, now);
	collect_kube(d);
}

struct dc_json {
	struct daemon *d;
	json_object *t, *sh, *b;
};

static int throttle_json(struct model_container *c, void *ud)
{
	struct dc_json *j = ud;
	uint64_t period;
	json_object *o;
	int64_t q;

	dc_shield_json(j->d, c, j->sh);
	dc_blame_json(j->d->control, c->id, j->b);
	if (control_throttle_of(j->d->control->ctl, c->id, &q, &period) != 1)
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "quota_us", json_object_new_int64(q));
	json_object_object_add(o, "period_us", json_object_new_int64((int64_t)period));
	json_object_object_add(j->t, c->id, o);
	return 0;
}

static void add_count(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

struct json_object *daemon_control_json(struct daemon *d)
{
	struct daemon_control *dc = d->control;
	struct dc_json j = {.d = d};
	json_object *o;

	if (!dc)
		return NULL;
	o = json_object_new_object();
	j.t = json_object_new_object();
	j.sh = json_object_new_object();
	j.b = json_object_new_object();
	model_foreach_container(d->model, NULL, throttle_json, &j);
	json_object_object_add(o, "throttled", j.t);
	json_object_object_add(o, "shielded", j.sh);
	json_object_object_add(o, "breached", j.b);
	json_object_object_add(o, "pool", dc_pool_json(dc));
	for (int k = 0; k < CONTROL_KIND_COUNT; k++) {
		char key[32];

		snprintf(key, sizeof(key), "%s_total", control_kind_name((enum control_kind)k));
		add_count(o, key, dc->n_kind[k]);
	}
	add_count(o, "evictions_recommended", dc->evictions_recommended);
	add_count(o, "evictions_requested", dc->evictions_requested);
	add_count(o, "evictions_refused", dc->evictions_refused);
	json_object_object_add(o, "kubernetes_api", json_object_new_boolean(dc->kube != NULL));
	return o;
}
