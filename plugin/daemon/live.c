/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Live usage in the daemon: the BPF collector (bpf/usage.h) follows every running
 * container's cgroup, is sampled on the loop's timer (live.sampling_interval), and
 * its per-container figures go to the metrics and to `topoguard status`.
 *
 * Containers are registered when they start (their cgroup exists only from then
 * on) and after a Synchronize, unregistered when they stop. Where BPF cannot load,
 * the collector polls cgroupfs instead and the daemon says so once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>

#include "bpf/usage.h"
#include "plugin/host/cgroups.h"
#include "plugin/daemon/control.h"
#include "plugin/daemon/live.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

enum live_metric {
	LM_CPU,
	LM_RQ_P50,
	LM_RQ_P99,
	LM_PREEMPT_RECV,
	LM_PREEMPT_INFL,
	LM_INTRUSION,
	LM_THROTTLED,
	LM_MEMORY,
	LM_PSI_MEM,
	LM_COUNT,
};

static const struct {
	enum metrics_type type;
	const char *name, *help;
} live_defs[LM_COUNT] = {
	[LM_CPU] = {METRICS_GAUGE, "topoguard_container_cpu_cores",
		    "CPU time used per second over the last sampling interval"},
	[LM_RQ_P50] = {METRICS_GAUGE, "topoguard_container_runqueue_p50_seconds",
		       "median run-queue wait of the container's woken tasks"},
	[LM_RQ_P99] = {METRICS_GAUGE, "topoguard_container_runqueue_p99_seconds",
		       "99th percentile run-queue wait of the container's woken tasks"},
	[LM_PREEMPT_RECV] = {METRICS_COUNTER, "topoguard_container_preemptions_received_total",
			     "times the container's tasks were preempted by another cgroup"},
	[LM_PREEMPT_INFL] = {METRICS_COUNTER, "topoguard_container_preemptions_inflicted_total",
			     "times the container's tasks preempted another cgroup"},
	[LM_INTRUSION] = {METRICS_COUNTER, "topoguard_container_intrusion_seconds_total",
			  "time other cgroups ran on the container's exclusive CPUs"},
	[LM_THROTTLED] = {METRICS_COUNTER, "topoguard_container_throttled_seconds_total",
			  "time the container was throttled by its CFS quota"},
	[LM_MEMORY] = {METRICS_GAUGE, "topoguard_container_memory_bytes",
		       "memory the container's cgroup uses"},
	[LM_PSI_MEM] = {METRICS_GAUGE, "topoguard_container_memory_pressure_some_avg10",
			"memory PSI 'some' avg10 of the container's cgroup (cgroup v2)"},
};

struct daemon_live {
	struct usage *usage;
	bool attached; /* as last logged */
	struct metrics_family *fam[LM_COUNT];
	struct metrics_family *overhead;
};

static int register_families(struct daemon_live *l, struct metrics *m)
{
	static const char *const labels[] = {"namespace", "pod", "container"};
	static const char *const ovl[] = {"backend"};
	int r = 0;

	for (int i = 0; i < LM_COUNT && r >= 0; i++)
		r = metrics_family_new(m, live_defs[i].type, live_defs[i].name, live_defs[i].help,
				       labels, 3, NULL, 0, &l->fam[i]);
	if (r >= 0)
		r = metrics_family_new(m, METRICS_GAUGE, "topoguard_bpf_ns_per_event",
				       "average cost of one BPF program run (0 when polling)", ovl,
				       1, NULL, 0, &l->overhead);
	return r;
}

/* libbpf talks on stderr by default; route it to our log at debug level. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_debug("libbpf: %s", line);
	return 0;
}

int daemon_live_start(struct daemon *d)
{
	struct usage_opts o = {.cgroup_root = d->opt.cgroup_root, .attach_on_demand = true};
	struct daemon_live *l;
	int r;

	if (!d->cfg.live_enabled)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	libbpf_set_print(libbpf_log);
	r = usage_new(&o, &l->usage);
	if (r < 0) {
		free(l);
		return log_warn_errno(r, "live usage disabled: no BPF and no cgroupfs to poll");
	}
	if (r == 1)
		log_warn_errno(usage_bpf_error(l->usage),
			       "BPF cannot be used, live usage falls back to cgroupfs polling "
			       "(CPU and memory only)");
	else
		log_info("live usage: BPF programs loaded, attached while an exclusive or "
			 "latency-sensitive container runs");
	if (d->metrics && register_families(l, d->metrics) < 0)
		log_warn("live usage metrics unavailable");
	d->live = l;
	return 0;
}

void daemon_live_free(struct daemon *d)
{
	if (!d->live)
		return;
	usage_free(d->live->usage);
	free(d->live);
	d->live = NULL;
}

/*
 * Only exclusive and latency-sensitive containers need what the BPF programs see
 * (intrusion, run-queue latency, preemptions); while none runs, the programs are
 * detached and cost nothing on sched_switch (issue #17).
 */
bool daemon_live_wants_bpf(struct daemon *d, const struct model_container *c, bool exclusive)
{
	return exclusive || daemon_control_latency_sensitive(d, c, exclusive);
}

static void set_exclusive(struct daemon *d, const char *id)
{
	unsigned int cpus[CPUSET_MAX];
	const struct model_container *mc = model_container_by_id(d->model, id);
	struct alloc_result r;
	size_t n = 0;
	int c, e;

	if (alloc_get(d->alloc, id, &r) < 0)
		return;
	cpuset_foreach (c, &r.exclusive)
		cpus[n++] = (unsigned int)c;
	usage_set_exclusive(d->live->usage, id, cpus, n);
	e = usage_set_live(d->live->usage, id, mc && daemon_live_wants_bpf(d, mc, n > 0));
	if (e < 0 && e != -ENOENT)
		log_warn_errno(e, "live usage: cannot attach the BPF programs");
}

void daemon_live_track(struct daemon *d, const struct model_container *c)
{
	int r;

	if (!d->live || !c->cgroups_path || !*c->cgroups_path)
		return;
	r = cgroups_register(d->live->usage, c->id, c->cgroups_path, CGROUPS_DRIVER_AUTO);
	if (r < 0 && r != -EEXIST) {
		log_debug_errno(r, "live usage: not following container %s (%s)", c->id,
				c->cgroups_path);
		return;
	}
	set_exclusive(d, c->id);
}

void daemon_live_exclusive_changed(struct daemon *d, const char *id)
{
	if (d->live)
		set_exclusive(d, id);
}

void daemon_live_untrack(struct daemon *d, const char *id)
{
	if (d->live)
		usage_unregister(d->live->usage, id);
}

static void publish(struct daemon *d, const struct model_container *c, const struct usage_sample *s)
{
	struct daemon_live *l = d->live;
	const struct model_pod *pod = model_container_pod(d->model, c);
	const char *v[3] = {pod ? pod->namespace : "", pod ? pod->name : "", c->name};

	if (!l->fam[0])
		return;
	if (s->valid & USAGE_F_CPU)
		metrics_set(l->fam[LM_CPU], v, s->cpu_cores);
	if (s->valid & USAGE_F_RQ_LATENCY) {
		metrics_set(l->fam[LM_RQ_P50], v, s->rq_p50_us / 1e6);
		metrics_set(l->fam[LM_RQ_P99], v, s->rq_p99_us / 1e6);
	}
	if (s->valid & USAGE_F_PREEMPT) {
		metrics_add(l->fam[LM_PREEMPT_RECV], v, (double)s->preempt_received);
		metrics_add(l->fam[LM_PREEMPT_INFL], v, (double)s->preempt_inflicted);
	}
	if (s->valid & USAGE_F_INTRUSION)
		metrics_add(l->fam[LM_INTRUSION], v, (double)s->intrusion_ns / 1e9);
	if (s->valid & USAGE_F_THROTTLE)
		metrics_add(l->fam[LM_THROTTLED], v, (double)s->throttled_ns / 1e9);
	if (s->valid & USAGE_F_MEMORY)
		metrics_set(l->fam[LM_MEMORY], v, (double)s->memory_bytes);
	if (s->valid & USAGE_F_PSI_MEMORY)
		metrics_set(l->fam[LM_PSI_MEM], v, s->psi_mem_some_avg10);
}

static int publish_one(struct model_container *c, void *ud)
{
	struct daemon *d = ud;
	struct usage_sample s;

	if (usage_get(d->live->usage, c->id, &s) == 0)
		publish(d, c, &s);
	return 0;
}

int daemon_live_sample(struct daemon *d)
{
	struct usage_overhead ov;
	const char *backend[1];
	int r;

	if (!d->live)
		return -ENODEV;
	r = usage_collect(d->live->usage, daemon_now_ns());
	if (r < 0)
		return log_debug_errno(r, "live usage: collect failed");
	if (usage_bpf_attached(d->live->usage) != d->live->attached) {
		d->live->attached = !d->live->attached;
		log_info("live usage: BPF programs %s",
			 d->live->attached
				 ? "attached: an exclusive or latency-sensitive container runs"
				 : "detached: no container needs them");
	}
	model_foreach_container(d->model, NULL, publish_one, d);
	backend[0] = usage_backend(d->live->usage) == USAGE_BACKEND_BPF ? "bpf" : "poll";
	if (d->live->overhead && usage_overhead(d->live->usage, &ov) == 0)
		metrics_set(d->live->overhead, backend, ov.available ? ov.ns_per_event : 0);
	return 0;
}

static int track_one(struct model_container *c, void *ud)
{
	struct daemon *d = ud;

	if (!c->sandbox && c->state == MODEL_STATE_RUNNING)
		daemon_live_track(d, c);
	return 0;
}

static int untrack_gone(struct model_container *c, void *ud)
{
	struct daemon *d = ud;

	if (!model_container_by_id(d->model, c->id))
		daemon_live_untrack(d, c->id);
	return 0;
}

void daemon_live_resync(struct daemon *d, struct model *old)
{
	if (!d->live)
		return;
	if (old)
		model_foreach_container(old, NULL, untrack_gone, d);
	model_foreach_container(d->model, NULL, track_one, d);
}

struct json_object *daemon_live_json(struct daemon *d, const char *id)
{
	struct usage_sample s;
	json_object *o;

	if (!d->live || usage_get(d->live->usage, id, &s) < 0)
		return NULL;
	o = json_object_new_object();
	if (s.valid & USAGE_F_CPU)
		json_object_object_add(o, "cpu_cores", json_object_new_double(s.cpu_cores));
	if (s.valid & USAGE_F_RQ_LATENCY) {
		json_object_object_add(o, "runqueue_p50_us", json_object_new_double(s.rq_p50_us));
		json_object_object_add(o, "runqueue_p99_us", json_object_new_double(s.rq_p99_us));
	}
	if (s.valid & USAGE_F_PREEMPT) {
		json_object_object_add(o, "preemptions_received",
				       json_object_new_int64((int64_t)s.preempt_received));
		json_object_object_add(o, "preemptions_inflicted",
				       json_object_new_int64((int64_t)s.preempt_inflicted));
	}
	if (s.valid & USAGE_F_INTRUSION)
		json_object_object_add(o, "intrusion_ns",
				       json_object_new_int64((int64_t)s.intrusion_ns));
	if (s.valid & USAGE_F_THROTTLE)
		json_object_object_add(o, "throttled_ns",
				       json_object_new_int64((int64_t)s.throttled_ns));
	if (s.valid & USAGE_F_MEMORY)
		json_object_object_add(o, "memory_bytes",
				       json_object_new_int64((int64_t)s.memory_bytes));
	if (s.valid & USAGE_F_PSI_MEMORY)
		json_object_object_add(o, "memory_psi_some_avg10",
				       json_object_new_double(s.psi_mem_some_avg10));
	return o;
}

struct usage *daemon_live_usage(struct daemon *d)
{
	return d->live ? d->live->usage : NULL;
}

const char *daemon_live_backend(const struct daemon *d)
{
	if (!d->live)
		return "off";
	return usage_backend(d->live->usage) == USAGE_BACKEND_BPF ? "bpf" : "cgroupfs-poll";
}
