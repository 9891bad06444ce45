/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topoguard configuration: one YAML document (the mounted ConfigMap, or the NRI
 * Configure payload of a pre-launched plugin). Keys are described by a static table
 * (config_keys()); the same table fills defaults, parses, validates, prints the
 * documented default file and tells which keys can change without a restart.
 *
 * struct config is a plain value (no pointers): copy it with '=', compare with
 * config_diff(). Parsers leave *ret untouched on failure and collect every error as
 * "name:line:col: error: ..." into a struct config_errors the caller owns
 * (config_errors_done() frees it, NULL-safe, idempotent).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/alloc.h"
#include "policy/cpuset.h"

#define CONFIG_MAX_BYTES     (1u << 20) /* a ConfigMap value is <= 1 MiB */
#define CONFIG_NAMESPACE_MAX 64		/* DNS label (63) + NUL */
#define CONFIG_LIST_MAX	     32
#define CONFIG_PATH_MAX	     256
#define CONFIG_ADDR_MAX	     128

enum config_memory_only_nodes {
	CONFIG_MEMORY_ONLY_NONE = 0,	/* never add CPU-less (CXL/HBM) nodes to cpuset.mems */
	CONFIG_MEMORY_ONLY_NEAREST = 1, /* add the nearest CPU-less node(s) by distance */
	CONFIG_MEMORY_ONLY_ALL = 2,	/* add every CPU-less node */
};

enum config_core_kind {
	CONFIG_CORE_KIND_PERFORMANCE = 0, /* hybrid CPUs: P cores first for exclusive CPUs */
	CONFIG_CORE_KIND_EFFICIENT = 1,	  /* E cores first */
	CONFIG_CORE_KIND_ANY = 2,	  /* whichever fits tighter (still one kind if possible) */
};

/* How topoguard changes containers outside a runtime request (docs/deploy.md). */
enum config_actuation {
	CONFIG_ACTUATION_AUTO = 0,   /* nri on runtimes with NRI >= v0.12.1, direct otherwise */
	CONFIG_ACTUATION_NRI = 1,    /* unsolicited UpdateContainers */
	CONFIG_ACTUATION_DIRECT = 2, /* never unsolicited: cgroup files now, the next reply */
};

struct config_namespaces {
	unsigned int n;
	char name[CONFIG_LIST_MAX][CONFIG_NAMESPACE_MAX];
};

struct config {
	/* reserved: CPUs for system daemons and reserved-namespace pods */
	struct cpuset reserved_cpus; /* empty: use reserved_count */
	int64_t reserved_count;
	struct config_namespaces reserved_namespaces;

	/* pinning */
	bool pinning_exclusive;
	bool pinning_prefer_whole_cores;
	int64_t pinning_shared_min_cpus;
	bool pinning_burstable_unlimited_wide;
	bool pinning_prefer_same_numa;
	enum config_core_kind pinning_prefer_core_kind;

	bool quota_drop_for_exclusive; /* kubernetes#70585 */
	int64_t quota_cfs_period_us;
	bool hide_hyperthreads;
	bool isolated_allow;
	enum config_memory_only_nodes memory_only_nodes;
	bool memory_pin_mems;

	/* annotations */
	bool annotations_enabled;
	bool annotations_allow_aliases;
	struct config_namespaces annotations_allow_reserved_namespaces;

	/* live controller (BPF usage collector + closed loop) */
	bool live_enabled;
	int64_t live_sampling_interval_us;
	int64_t live_runqueue_p99_target_us;
	int64_t live_throttle_step_percent;
	int64_t live_throttle_min_quota_percent;
	int64_t live_throttle_period_us;
	int64_t live_hysteresis_percent;
	int64_t live_cooldown_us;
	int64_t live_relax_interval_us;
	int64_t live_throttle_interval_us;
	int64_t live_intrusion_target_percent;
	int64_t live_actions_per_second;
	bool live_shield;
	int64_t live_pool_saturation_percent;
	int64_t live_pool_persist_us;
	int64_t live_unshield_percent;
	int64_t live_blame_percent;
	int64_t live_blame_min_waits;
	int64_t live_verify_intervals;
	int64_t live_verify_margin_percent;
	int64_t live_ineffective_us;
	bool live_protect_exclusive;
	bool live_dry_run;

	/* eviction (used by the live controller) */
	bool eviction_enabled;
	bool eviction_dry_run;
	int64_t eviction_memory_watermark_percent;
	int64_t eviction_psi_threshold_percent;
	int64_t eviction_rate_limit_per_minute;
	int64_t eviction_memory_watermark_bytes;
	int64_t eviction_persist_us;
	int64_t eviction_settle_us;
	int64_t eviction_latency_after_us;
	bool eviction_guaranteed;

	/* Kubernetes API (node name, pod QoS lookups, events) */
	bool kubernetes_enabled;
	char kubernetes_api_server[CONFIG_ADDR_MAX]; /* "" = in-cluster */
	char kubernetes_token_file[CONFIG_PATH_MAX];
	char kubernetes_ca_file[CONFIG_PATH_MAX];
	char kubernetes_node_name[CONFIG_PATH_MAX]; /* "" = $NODE_NAME */
	int64_t kubernetes_timeout_us;
	int64_t kubernetes_qps;

	/* reconciliation with the node (plugin/daemon/reconcile.c) */
	int64_t reconcile_interval_us;	  /* 0 = never */
	int64_t reconcile_ghost_after_us; /* 0 = never */
	enum config_actuation actuation;

	int log_level; /* enum log_level */
	char metrics_address[CONFIG_ADDR_MAX];
	char status_socket[CONFIG_PATH_MAX];
	char checkpoint_path[CONFIG_PATH_MAX]; /* "" = no checkpoint */
};

enum config_type {
	CONFIG_BOOL,
	CONFIG_INT,	   /* int64_t, decimal */
	CONFIG_DURATION,   /* int64_t microseconds; text "250us", "100ms", "5s", "2m" */
	CONFIG_STRING,	   /* char[size] */
	CONFIG_CPUSET,	   /* struct cpuset, cpulist text */
	CONFIG_ENUM,	   /* int / enum, one of enum_names */
	CONFIG_NAMESPACES, /* struct config_namespaces, YAML sequence of DNS labels */
};

struct config_key {
	const char *path; /* dotted YAML path, e.g. "pinning.exclusive" */
	enum config_type type;
	size_t offset;
	size_t size;
	int64_t min, max;	       /* CONFIG_INT / CONFIG_DURATION */
	const char *def;	       /* default, as YAML text */
	const char *const *enum_names; /* CONFIG_ENUM, NULL-terminated */
	bool hot;		       /* may change on reload without a restart */
	const char *doc;	       /* one line for docs and the default file */
};

struct config_errors {
	size_t n;
	char **msg;
};

/* The table, in documentation order. */
const struct config_key *config_keys(size_t *ret_n);
const struct config_key *config_key_find(const char *path);

/* Every key at its default. Cannot fail (a unit test proves every default parses). */
void config_init(struct config *c);

/*
 * Parse YAML text (len bytes, need not be NUL-terminated; "" or only comments give the
 * defaults). name prefixes error messages. -EINVAL with errs filled on any error,
 * -E2BIG over CONFIG_MAX_BYTES, -ENOMEM.
 */
int config_parse(const char *name, const char *buf, size_t len, struct config *ret,
		 struct config_errors *errs);
/* Read a whole file (at most CONFIG_MAX_BYTES) into a malloc'd buffer; -errno / -E2BIG. */
int config_read_file(const char *path, char **ret, size_t *ret_len);
/* Read and parse a file; -errno of open/read with one message in errs. */
int config_load_file(const char *path, struct config *ret, struct config_errors *errs);

void config_errors_done(struct config_errors *e);
/* Add a formatted message; -ENOMEM. */
int config_errors_add(struct config_errors *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The policy's view of c. The reserved namespace names stay in c: ns_buf (caller
 * storage) receives pointers to them, so *ret is valid while c and ns_buf are
 * (alloc_state_new() / alloc_reconfigure() copy what they keep).
 */
void config_to_alloc(const struct config *c, struct alloc_config *ret,
		     const char *ns_buf[CONFIG_LIST_MAX]);

/* Keys whose values differ: writes up to max table pointers into out, returns the count. */
size_t config_diff(const struct config *a, const struct config *b, const struct config_key **out,
		   size_t max);
/* Copy every hot-reloadable key from src into dst (the others need a restart). */
void config_apply_hot(struct config *dst, const struct config *src);

/*
 * Hot reload: parse buf; on success copy the hot-reloadable keys into *running, log
 * every change (keys needing a restart keep their old value, with a warning), apply
 * log.level and count the result in m (optional). 1 applied, 0 unchanged, -EINVAL
 * refused (errors logged, *running untouched).
 */
struct metrics;
int config_reload(struct config *running, const char *name, const char *buf, size_t len,
		  struct metrics *m);

/*
 * Format one key's value as YAML text into buf; returns length or -ENOSPC. A buffer of
 * CONFIG_VALUE_MAX bytes holds any value: the longest is a cpulist of every other CPU
 * (CPUSET_MAX / 2 ids of up to 4 digits and a comma), quoted.
 */
#define CONFIG_VALUE_MAX (CPUSET_MAX * 3 + 16)
int config_format_value(const struct config *c, const struct config_key *k, char *buf, size_t size);
/* Print every key of c with its documentation, as YAML that config_parse() reads back
 * to c; -ENOMEM, -EIO. */
int config_print(FILE *f, const struct config *c);
/* config_print() of the defaults under a header (deploy/config/topoguard.yaml). */
int config_print_defaults(FILE *f);

/* Levenshtein distance, capped at cap+1 (for "did you mean"). */
unsigned int config_edit_distance(const char *a, const char *b, unsigned int cap);
/* "100ms" -> 100000 (µs); -EINVAL / -ERANGE. */
int config_parse_duration(const char *s, int64_t *ret_us);
