/* SPDX-License-Identifier: Apache-2.0 */
/* The registry layout shared by plugin/metrics*.c only. */
#pragma once

#include <pthread.h>

#include "plugin/obs/metrics.h"

struct metrics_tg {
	struct metrics_family *pool_capacity, *pool_assigned, *pool_free, *pool_containers;
	struct metrics_family *container_info, *decision_seconds, *requests;
	struct metrics_family *config_reloads, *config_errors, *nri_reconnects;
	struct metrics_family *annotations_refused, *ready, *build_info;
	struct metrics_family *ghosts_released, *drift_repaired, *reconcile_seconds;
	struct metrics_family *device_placements;
};

struct metrics {
	pthread_mutex_t lock;
	struct metrics_family **families;
	size_t n_families;
	struct metrics_tg tg;
};

int metrics_registry_init(struct metrics *m);
void metrics_registry_done(struct metrics *m);
