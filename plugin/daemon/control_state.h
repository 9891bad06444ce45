/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by plugin/daemon/control.c (samples, quotas, evictions) and
 * plugin/daemon/pool.c (shields and the shared pool's load). Not an API. The
 * struct daemon_control is owned by struct daemon (daemon_control_start/free);
 * everything here runs on the daemon's loop thread.
 */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

#include "plugin/daemon/state.h"
#include "plugin/obs/metrics.h"
#include "policy/control.h"

#define DC_ACTIONS_MAX	   64
#define DC_RETRY_MIN_NS	   (100 * 1000000ull)
#define DC_RETRY_MAX_NS	   (5000 * 1000000ull)
#define DC_RETRY_ATTEMPTS  10
#define DC_ANNOTATIONS_MAX 256

/* A quota the runtime should have; kept until the runtime confirmed it. */
struct dc_want {
	char id[CONTROL_ID_MAX];
	int64_t quota;
	uint64_t period;
	uint64_t since_ns;
	uint64_t gen; /* of the request carrying it, 0 = not in flight */
	uint64_t next_try;
	unsigned int attempts;
	enum control_kind kind;
};

/* A container's preemption pairs since registration: beside containers, beside host tasks. */
struct dc_ev {
	char id[CONTROL_ID_MAX];
	uint64_t ctr, host;
	enum control_blame blame; /* of its last breach, to log a change once */
};

struct daemon_control {
	struct control *ctl;
	struct kube *kube;
	struct control_sample *s;
	size_t n_s, cap_s;
	struct control_action act[DC_ACTIONS_MAX];
	struct dc_want *w;
	size_t n_w, cap_w;
	uint64_t gen;
	struct nri_reply *batch; /* this tick's request, NULL until needed */
	struct metrics_family *m_actions, *m_reaction, *m_throttle;
	uint64_t n_kind[CONTROL_KIND_COUNT];
	uint64_t evictions_recommended, evictions_requested, evictions_refused;
	/* /proc/stat per CPU at the last tick: busy and total jiffies */
	uint64_t *stat_busy, *stat_total, *stat_steal;
	unsigned int stat_n;
	double steal_cpus, host_cpus; /* the node's at the last tick, in CPUs; < 0 unknown */
	/* preemption pairs per container at the last tick (blame evidence) */
	struct dc_ev *ev;
	size_t n_ev;
	/* cpusets moved by shields: re-sent when the runtime did not take them */
	uint64_t cpuset_gen;	  /* of the request in flight, 0 = none */
	uint64_t cpuset_retry_at; /* 0 = nothing to re-send */
	unsigned int cpuset_attempts;
};

struct dc_done {
	struct daemon *d;
	uint64_t gen;
};

/* Count one action of kind k by its result (topoguard_control_actions_total). */
static inline void dc_count(struct daemon_control *dc, enum control_kind k, const char *result)
{
	const char *v[2] = {control_kind_name(k), result};

	if (dc->m_actions)
		metrics_add(dc->m_actions, v, 1);
}

/* Observe the reaction time from a trigger seen at since (topoguard_control_reaction_seconds). */
static inline void dc_observe_reaction(struct daemon_control *dc, const char *kind, uint64_t since,
				       uint64_t now)
{
	const char *v[1] = {kind};

	if (dc->m_reaction && since && now >= since)
		metrics_observe(dc->m_reaction, v, (double)(now - since) / 1e9);
}

/* pool.c: used by control.c, uses nothing of control.c */
/* The shared pool's size and how busy its CPUs were since the last tick. */
void dc_pool_node(struct daemon *d, struct control_node *node);
void dc_log_pool(struct daemon_control *dc);
/* Carry out a CONTROL_SHIELD / CONTROL_UNSHIELD. */
void dc_do_shield(struct daemon *d, const struct control_action *a, uint64_t now);
/* Re-send the cpusets a shield moved if the runtime did not take them (backoff). */
void dc_resend_cpusets(struct daemon *d, uint64_t now);
/* c's shield (id -> CPUs) into t, if it has one. */
void dc_shield_json(struct daemon *d, const struct model_container *c, json_object *t);
json_object *dc_pool_json(struct daemon_control *dc);

/* blame.c: used by control.c, uses nothing of control.c */
/* Each sample's waits beside containers and host tasks over the interval (BPF only). */
void dc_add_evidence(struct daemon *d);
/* Log a change of who a container's breaches are blamed on. */
void dc_log_blame(struct daemon_control *dc);
/* id's breach and its blame into t, while it has one. */
void dc_blame_json(struct daemon_control *dc, const char *id, json_object *t);
