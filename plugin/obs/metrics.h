/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small Prometheus registry (text exposition format 0.0.4) and topoguard's metrics
 * (docs/metrics.md).
 *
 * Thread-safety: every function locks the registry, so the main loop updates while the
 * HTTP thread renders. Families belong to the registry (freed by metrics_free(),
 * NULL-safe); label value arrays and strings are copied, never retained. Updaters of
 * topoguard's metrics ignore a NULL registry, so the daemon runs without metrics.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_LABELS_MAX 8

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics;
struct metrics_family;

/* A registry holding topoguard's families (metrics_tg_*); -ENOMEM. */
int metrics_new(struct metrics **ret);
void metrics_free(struct metrics *m);

/*
 * Register a family. name/labels must be valid Prometheus names (-EINVAL), name
 * unique (-EEXIST). buckets: ascending upper bounds for histograms (+Inf is implicit).
 * *ret stays owned by m.
 */
int metrics_family_new(struct metrics *m, enum metrics_type type, const char *name,
		       const char *help, const char *const *labels, size_t n_labels,
		       const double *buckets, size_t n_buckets, struct metrics_family **ret);

/*
 * Series of f are identified by their first n_key labels (default: all of them);
 * the others are attributes (e.g. a container's cpus). metrics_remove(f, v, n)
 * with n >= n_key then costs one index lookup instead of a scan. Only before f
 * has a series: -EBUSY after, -EINVAL for n_key > the labels.
 */
int metrics_family_set_key(struct metrics_family *f, size_t n_key);

/* values: one per label. Counters: v >= 0 (-EINVAL). Creates the series on first use. */
int metrics_add(struct metrics_family *f, const char *const *values, double v);
/* Gauges; also counters mirrored from a monotonic source. */
int metrics_set(struct metrics_family *f, const char *const *values, double v);
int metrics_observe(struct metrics_family *f, const char *const *values, double v);
/* Drop every series whose first n_match label values equal values[0..n_match). Count. */
int metrics_remove(struct metrics_family *f, const char *const *values, size_t n_match);
/* Current value (counter/gauge) or observation count (histogram); -ENOENT. */
int metrics_get(struct metrics_family *f, const char *const *values, double *ret);

/* The whole registry as text; *ret is malloc'd, caller frees. -ENOMEM. */
int metrics_render(struct metrics *m, char **ret, size_t *ret_len);

/* ---- topoguard's metrics (all NULL-safe in m) ---- */

void metrics_tg_pool(struct metrics *m, const char *pool, unsigned int capacity,
		     unsigned int assigned, unsigned int free_cpus, unsigned int containers);
/* topoguard_container_info: one series per container (replaces the previous one). */
void metrics_tg_container_set(struct metrics *m, const char *ns, const char *pod,
			      const char *container, const char *qos, const char *pool,
			      const char *cpus);
void metrics_tg_container_remove(struct metrics *m, const char *ns, const char *pod,
				 const char *container);
/* Seconds one NRI request spent in the policy (CreateContainer, UpdateContainer...). */
void metrics_tg_decision(struct metrics *m, const char *method, double seconds);
/* NRI requests handled, result "ok" or "error". */
void metrics_tg_request(struct metrics *m, const char *method, bool ok);
/* result: "applied", "unchanged", "refused"; n_errors: errors of the refused file. */
void metrics_tg_config_reload(struct metrics *m, const char *result, unsigned int n_errors);
void metrics_tg_nri_reconnects(struct metrics *m, uint64_t total);
void metrics_tg_annotation_refused(struct metrics *m);
void metrics_tg_ready(struct metrics *m, bool ready);
/* A ghost's reservation was released; reason one of METRICS_TG_GHOST_REASONS. */
#define METRICS_TG_GHOST_REASONS "never-started", "cgroup-gone", "update-rejected"
void metrics_tg_ghost_released(struct metrics *m, const char *reason);
/* A container with devices was placed; result one of METRICS_TG_DEVICE_RESULTS. */
#define METRICS_TG_DEVICE_RESULTS "local", "node", "package", "elsewhere", "refused"
void metrics_tg_device_placement(struct metrics *m, const char *result);
/* A container's cgroup held field (one of METRICS_TG_DRIFT_FIELDS) other than intended;
 * an update repairing it was sent. */
#define METRICS_TG_DRIFT_FIELDS "cpus", "mems", "quota", "period", "shares"
void metrics_tg_drift_repaired(struct metrics *m, const char *field);
/* The last reconciliation pass took seconds. */
void metrics_tg_reconcile_pass(struct metrics *m, double seconds);
