/* SPDX-License-Identifier: Apache-2.0 */
/* topoguard's metric families (docs/metrics.md) and the updaters the daemon calls. */
#include <errno.h>
#include <stdlib.h>

#include "plugin/obs/metrics.h"
#include "plugin/obs/metrics_priv.h"

#ifndef TOPOGUARD_VERSION
#define TOPOGUARD_VERSION "0.1.0"
#endif

#define L(...) ((const char *const[]){__VA_ARGS__})

/* Policy decisions are microseconds to a few milliseconds; NRI's own timeout is 2 s. */
static const double decision_buckets[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
					  0.0005,  0.001,    0.0025,  0.005,  0.01,
					  0.025,   0.1,	     0.5,     2};

struct family_spec {
	struct metrics_family **slot;
	enum metrics_type type;
	const char *name, *help;
	const char *const *labels;
	size_t n_labels;
};

static int metrics_tg_families(struct metrics *m)
{
	struct metrics_tg *t = &m->tg;
	const struct family_spec specs[] = {
		{&t->pool_capacity, METRICS_GAUGE, "topoguard_pool_capacity_cpus",
		 "CPUs a pool can hand out.", L("pool"), 1},
		{&t->pool_assigned, METRICS_GAUGE, "topoguard_pool_assigned_cpus",
		 "CPUs of a pool in use by containers.", L("pool"), 1},
		{&t->pool_free, METRICS_GAUGE, "topoguard_pool_free_cpus",
		 "CPUs of a pool not assigned (shared: its current size).", L("pool"), 1},
		{&t->pool_containers, METRICS_GAUGE, "topoguard_pool_containers",
		 "Containers placed in a pool.", L("pool"), 1},
		{&t->container_info, METRICS_GAUGE, "topoguard_container_info",
		 "Placement of each container (value is always 1).",
		 L("namespace", "pod", "container", "qos", "pool", "cpus"), 6},
		{&t->decision_seconds, METRICS_HISTOGRAM, "topoguard_decision_duration_seconds",
		 "Time an NRI request spent in the allocation policy.", L("method"), 1},
		{&t->requests, METRICS_COUNTER, "topoguard_nri_requests_total",
		 "NRI requests handled, by method and result.", L("method", "result"), 2},
		{&t->config_reloads, METRICS_COUNTER, "topoguard_config_reloads_total",
		 "Configuration reloads by result (applied, unchanged, refused).", L("result"), 1},
		{&t->config_errors, METRICS_GAUGE, "topoguard_config_errors",
		 "Errors in the last configuration that was refused (0 after a good one).", NULL,
		 0},
		{&t->nri_reconnects, METRICS_COUNTER, "topoguard_nri_reconnects_total",
		 "Times the plugin reconnected to the runtime.", NULL, 0},
		{&t->annotations_refused, METRICS_COUNTER, "topoguard_annotations_refused_total",
		 "Pod annotations ignored because they were malformed or not allowed.", NULL, 0},
		{&t->ready, METRICS_GAUGE, "topoguard_ready",
		 "1 once the plugin is registered and synchronized with the runtime.", NULL, 0},
		{&t->build_info, METRICS_GAUGE, "topoguard_build_info",
		 "Build information (value is always 1).", L("version"), 1},
		{&t->ghosts_released, METRICS_COUNTER, "topoguard_ghosts_released_total",
		 "Reservations released because the container does not run (never started, "
		 "cgroup gone, or updates rejected as unknown), by reason.",
		 L("reason"), 1},
		{&t->drift_repaired, METRICS_COUNTER, "topoguard_drift_repaired_total",
		 "Containers whose cgroup held other values than topoguard intends, repaired "
		 "with an update, by field.",
		 L("field"), 1},
		{&t->device_placements, METRICS_COUNTER, "topoguard_device_placements_total",
		 "Containers with devices of known NUMA node placed, by where their CPUs went "
		 "(local, node, package, elsewhere) or refused (strict, ran on the shared pool).",
		 L("result"), 1},
		{&t->reconcile_seconds, METRICS_GAUGE, "topoguard_reconcile_pass_duration_seconds",
		 "Time the last reconciliation pass took (every placed container's cgroup read "
		 "and compared).",
		 NULL, 0},
	};
	int r;

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct family_spec *s = &specs[i];
		bool hist = s->type == METRICS_HISTOGRAM;

		r = metrics_family_new(m, s->type, s->name, s->help, s->labels, s->n_labels,
				       hist ? decision_buckets : NULL,
				       hist ? sizeof(decision_buckets) / sizeof(double) : 0,
				       s->slot);
		if (r < 0)
			return r;
	}
	/* a container is (namespace, pod, container); qos, pool and cpus describe it */
	return metrics_family_set_key(t->container_info, 3);
}

static const char *const ghost_reasons[] = {METRICS_TG_GHOST_REASONS};
static const char *const drift_fields[] = {METRICS_TG_DRIFT_FIELDS};
static const char *const device_results[] = {METRICS_TG_DEVICE_RESULTS};

static int metrics_tg_seed(struct metrics *m)
{
	static const char *const results[] = {"applied", "unchanged", "refused"};
	int r = metrics_set(m->tg.build_info, L(TOPOGUARD_VERSION), 1);

	/* Zero series up front so rate() and absent() behave from the first scrape. */
	for (size_t i = 0; r >= 0 && i < 3; i++)
		r = metrics_add(m->tg.config_reloads, L(results[i]), 0);
	if (r >= 0)
		r = metrics_set(m->tg.config_errors, NULL, 0);
	if (r >= 0)
		r = metrics_add(m->tg.nri_reconnects, NULL, 0);
	if (r >= 0)
		r = metrics_add(m->tg.annotations_refused, NULL, 0);
	if (r >= 0)
		r = metrics_set(m->tg.ready, NULL, 0);
	for (size_t i = 0; r >= 0 && i < sizeof(ghost_reasons) / sizeof(ghost_reasons[0]); i++)
		r = metrics_add(m->tg.ghosts_released, L(ghost_reasons[i]), 0);
	for (size_t i = 0; r >= 0 && i < sizeof(drift_fields) / sizeof(drift_fields[0]); i++)
		r = metrics_add(m->tg.drift_repaired, L(drift_fields[i]), 0);
	for (size_t i = 0; r >= 0 && i < sizeof(device_results) / sizeof(device_results[0]); i++)
		r = metrics_add(m->tg.device_placements, L(device_results[i]), 0);
	if (r >= 0)
		r = metrics_set(m->tg.reconcile_seconds, NULL, 0);
	return r;
}

int metrics_new(struct metrics **ret)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = metrics_registry_init(m);
	if (r < 0) {
		free(m);
		return r;
	}
	r = metrics_tg_families(m);
	if (r >= 0)
		r = metrics_tg_seed(m);
	if (r < 0) {
		metrics_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	metrics_registry_done(m);
	free(m);
}

void metrics_tg_pool(struct metrics *m, const char *pool, unsigned int capacity,
		     unsigned int assigned, unsigned int free_cpus, unsigned int containers)
{
	if (!m)
		return;
	(void)metrics_set(m->tg.pool_capacity, L(pool), capacity);
	(void)metrics_set(m->tg.pool_assigned, L(pool), assigned);
	(void)metrics_set(m->tg.pool_free, L(pool), free_cpus);
	(void)metrics_set(m->tg.pool_containers, L(pool), containers);
}

void metrics_tg_container_set(struct metrics *m, const char *ns, const char *pod,
			      const char *container, const char *qos, const char *pool,
			      const char *cpus)
{
	double v;

	if (!m)
		return;
	/* unchanged (the 1 s refresh, mostly): one indexed lookup, no scan */
	if (metrics_get(m->tg.container_info, L(ns, pod, container, qos, pool, cpus), &v) == 0)
		return;
	/* The identity is (namespace, pod, container); drop the series with old cpus/pool. */
	(void)metrics_remove(m->tg.container_info, L(ns, pod, container), 3);
	(void)metrics_set(m->tg.container_info, L(ns, pod, container, qos, pool, cpus), 1);
}

void metrics_tg_container_remove(struct metrics *m, const char *ns, const char *pod,
				 const char *container)
{
	if (m)
		(void)metrics_remove(m->tg.container_info, L(ns, pod, container), 3);
}

void metrics_tg_decision(struct metrics *m, const char *method, double seconds)
{
	if (m)
		(void)metrics_observe(m->tg.decision_seconds, L(method), seconds);
}

void metrics_tg_request(struct metrics *m, const char *method, bool ok)
{
	if (m)
		(void)metrics_add(m->tg.requests, L(method, ok ? "ok" : "error"), 1);
}

void metrics_tg_config_reload(struct metrics *m, const char *result, unsigned int n_errors)
{
	if (!m)
		return;
	(void)metrics_add(m->tg.config_reloads, L(result), 1);
	(void)metrics_set(m->tg.config_errors, NULL, n_errors);
}

void metrics_tg_nri_reconnects(struct metrics *m, uint64_t total)
{
	if (m)
		(void)metrics_set(m->tg.nri_reconnects, NULL, (double)total);
}

void metrics_tg_annotation_refused(struct metrics *m)
{
	if (m)
		(void)metrics_add(m->tg.annotations_refused, NULL, 1);
}

void metrics_tg_ready(struct metrics *m, bool ready)
{
	if (m)
		(void)metrics_set(m->tg.ready, NULL, ready);
}

void metrics_tg_ghost_released(struct metrics *m, const char *reason)
{
	if (m)
		(void)metrics_add(m->tg.ghosts_released, L(reason), 1);
}

void metrics_tg_device_placement(struct metrics *m, const char *result)
{
	if (m)
		(void)metrics_add(m->tg.device_placements, L(result), 1);
}

void metrics_tg_drift_repaired(struct metrics *m, const char *field)
{
	if (m)
		(void)metrics_add(m->tg.drift_repaired, L(field), 1);
}

void metrics_tg_reconcile_pass(struct metrics *m, double seconds)
{
	if (m)
		(void)metrics_set(m->tg.reconcile_seconds, NULL, seconds);
}
