/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CPU / memory allocation policy: which CPUs and NUMA nodes each container
 * gets, and which other containers must be updated because a pool changed.
 *
 * Pools (docs/policy.md):
 *   reserved   a fixed cpuset (or count) for kube-system and configured namespaces;
 *   exclusive  whole CPUs owned by one Guaranteed container with an integer request
 *              (the integer part of a fractional one: "mixed");
 *   isolated   isolcpus= CPUs, handed out exclusively, only on request;
 *   shared     everything else online; grows and shrinks with exclusive allocations.
 *
 * Ownership / lifetime:
 *   - struct alloc_state is opaque, created by alloc_state_new() and freed by the
 *     NULL-safe alloc_state_free(). It BORROWS the topology: the topology must
 *     outlive the state. It copies the config (including namespace strings) and every
 *     container id / namespace it is given.
 *   - Request strings are borrowed for the call only.
 *   - struct alloc_changes is owned by the caller (zero-initialise it, reuse it across
 *     calls, free its array with alloc_changes_done()). Functions APPEND to it, without
 *     duplicates within one call. The id pointers it holds point into the state and are
 *     valid until the next call that modifies the state (create/update/release/
 *     restore/reconfigure) or alloc_state_free(). Callers read each container's new
 *     cpuset with alloc_get().
 *   - reason / reason_size: optional (NULL, 0) buffer that receives a human-readable
 *     explanation when a call fails. Never required.
 * Errors are -errno; on failure the state is unchanged. Pure: no I/O, no logging,
 * no globals. Not thread-safe: one state per caller thread or external locking.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/cpuset.h"
#include "policy/qos.h"
#include "policy/topology.h"

struct alloc_state;

#define ALLOC_ID_MAX 256 /* longest container id / namespace accepted (bytes, excl. NUL) */

enum alloc_pool {
	ALLOC_POOL_SHARED = 0, /* shared pool (Burstable, BestEffort, fallbacks) */
	ALLOC_POOL_RESERVED,   /* reserved pool (kube-system & reserved namespaces) */
	ALLOC_POOL_EXCLUSIVE,  /* exclusive CPUs (plus the shared pool when mixed) */
	ALLOC_POOL_ISOLATED,   /* exclusive isolcpus CPUs */
	ALLOC_POOL_COUNT,
};

enum alloc_memory_only {
	ALLOC_MEMORY_ONLY_NONE = 0, /* mems = nodes of the chosen CPUs only */
	ALLOC_MEMORY_ONLY_NEAREST,  /* + memory-only nodes whose nearest CPU node is chosen */
	ALLOC_MEMORY_ONLY_ALL,	    /* + every memory-only node */
};

/* Which cores of a hybrid part exclusive CPUs (and shields) come from first. */
enum alloc_core_kind {
	ALLOC_CORE_KIND_PERFORMANCE = 0, /* P cores, then E cores, mixed only if neither fits */
	ALLOC_CORE_KIND_EFFICIENT,	 /* E cores first */
	ALLOC_CORE_KIND_ANY, /* whichever fits tighter; still never mixed if avoidable */
};

/* Every knob; alloc_config_init() sets the documented defaults. */
struct alloc_config {
	/* Reserved pool: reserved_cpus if non-empty, else reserved_count CPUs picked as whole
	 * cores in the tightest subtree around CPU 0 (docs/policy.md). Default: empty / 0 (no
	 * reserved pool). */
	struct cpuset reserved_cpus;
	unsigned int reserved_count;
	/* Namespaces whose containers run on the reserved pool. Copied by alloc_state_new().
	 * Default: { "kube-system" }. With no reserved CPUs they run shared. */
	const char *const *reserved_namespaces;
	size_t n_reserved_namespaces;
	/* Guaranteed containers with >= 1000m get exclusive CPUs. Default true. */
	bool exclusive_enabled;
	/* Exclusive allocations take fully free cores first (then fill half-used ones).
	 * false: plain lowest free CPU ids inside the chosen subtree. Default true. */
	bool prefer_whole_cores;
	/* Exclusive allocations go to the tightest subtree that fits and span the fewest
	 * subtrees at every level (node, package, die, L3, cluster, L2, core). false: the
	 * whole machine is the only candidate, cores by id. Default true. */
	bool prefer_same_numa;
	/* Hybrid parts: the core kind exclusive CPUs and shields come from first. An
	 * allocation never mixes kinds while one kind has room. Default PERFORMANCE. */
	enum alloc_core_kind prefer_core_kind;
	/* Honour alloc_prefs.isolated. false: the preference is ignored (shared/exclusive as
	 * usual, isolated CPUs unused). Default true. */
	bool isolated_allow;
	/* Exclusive allocations take whole cores and expose one thread per core; the idle
	 * siblings count as used. Per-container override: alloc_prefs.hide_hyperthreads.
	 * Default false. */
	bool hide_hyperthreads;
	/* Exclusive containers get CFS quota -1 (kubernetes#70585). Default true. */
	bool exclusive_no_quota;
	/* Burstable containers without a CPU limit run on shared + reserved. Default false. */
	bool burstable_unlimited_wide;
	/* Exclusive allocations never shrink the shared pool below this while a shared
	 * container exists, and a shared container is refused when the pool is below it.
	 * Default 1. */
	unsigned int shared_min_cpus;
	/* Memory-only NUMA nodes in cpuset.mems. Default NONE. */
	enum alloc_memory_only memory_only_nodes;
	/* Fill alloc_result.mems. false: mems is left empty (the caller leaves
	 * cpuset.mems alone). Default true. */
	bool pin_mems;
	/* cpu.cfs_period_us handed out with quotas. Default 100000. */
	uint64_t cfs_period_us;
};

/* What a container's devices (GPUs, NICs) ask of its placement (docs/policy.md "Devices"). */
enum alloc_device_mode {
	ALLOC_DEVICE_PREFER = 0, /* near the devices when there is room there, else anywhere */
	ALLOC_DEVICE_OFF,	 /* the devices are ignored */
	ALLOC_DEVICE_STRICT,	 /* exclusive / isolated CPUs near the devices or -ENOSPC,
				  * with a reason that starts with ALLOC_REASON_DEVICE_STRICT */
	ALLOC_DEVICE_MODE_COUNT,
};
#define ALLOC_REASON_DEVICE_STRICT "strict device affinity"

/* How an allocation relates to its devices (alloc_result.device). */
enum alloc_device_fit {
	ALLOC_DEVICE_FIT_NONE = 0,  /* no device with a known node, or mode OFF */
	ALLOC_DEVICE_FIT_LOCAL,	    /* in the devices' local_cpulist on their node(s) */
	ALLOC_DEVICE_FIT_NODE,	    /* on the devices' node(s) */
	ALLOC_DEVICE_FIT_PACKAGE,   /* in the package(s) of the devices' nodes */
	ALLOC_DEVICE_FIT_ELSEWHERE, /* no room near the devices: placed anywhere */
};

/* Per-container preferences (parsed from annotations by the daemon). */
struct alloc_prefs {
	int hide_hyperthreads; /* -1 = config default, 0 = no, 1 = yes */
	bool isolated;	       /* wants isolcpus CPUs: ceil(request) whole isolated CPUs */
	bool shared_only;      /* never exclusive (also the caller's fallback after -ENOSPC) */
	bool reserved;	       /* run on the reserved pool even outside the reserved
				* namespaces (the caller decides who may ask); ignored when
				* there are no reserved CPUs */
	enum alloc_device_mode device_mode;
	/* NUMA node ids (as in sysfs) of the container's devices whose node is known; empty:
	 * no device preference. Several nodes: the allocation may use any of them. */
	struct cpuset device_nodes;
	/* Union of those devices' local_cpulist; empty: unknown (the nodes' CPUs). */
	struct cpuset device_cpus;
};

struct alloc_request {
	const char *id;		   /* container id, required, copied */
	const char *pod_namespace; /* NULL = "" */
	enum qos_class qos;
	int64_t cpu_request_mcpu; /* 0 = none */
	int64_t cpu_limit_mcpu;	  /* 0 = no limit */
	int64_t mem_limit;	  /* bytes, 0 = none (informational) */
	struct alloc_prefs prefs;
};

/* alloc_prefs/alloc_request with "nothing special": hide_hyperthreads = -1, rest 0. */
void alloc_request_init(struct alloc_request *r);

/* What a container should be given. */
struct alloc_result {
	enum alloc_pool pool;
	struct cpuset cpus;	 /* cpuset.cpus */
	struct cpuset mems;	 /* cpuset.mems, NUMA node ids as in sysfs */
	struct cpuset exclusive; /* the exclusively owned part of cpus (empty if none);
				  * persist it (e.g. as an annotation) to give restore */
	uint64_t shares;	 /* cpu.shares */
	int64_t quota;		 /* cpu.cfs_quota_us, -1 = unlimited */
	uint64_t period;	 /* cpu.cfs_period_us */
	bool shielded;		 /* a shared container on a shield (alloc_shield) */
	bool isolated_fallback;	 /* asked for isolated CPUs, the machine has none: placed
				  * as if it had not asked (exclusive CPUs when Guaranteed
				  * with >= 1000m); the caller should say so */
	/* how its CPUs relate to its devices' nodes */
	enum alloc_device_fit device;
};

struct alloc_changes {
	const char **ids;
	size_t n, cap;
};
void alloc_changes_reset(struct alloc_changes *c); /* n = 0, keeps the array */
void alloc_changes_done(struct alloc_changes *c);  /* frees the array; NULL-safe */

void alloc_config_init(struct alloc_config *c);
/* -EINVAL (with reason) if cfg cannot work on t: reserved CPUs offline / all CPUs,
 * shared_min_cpus larger than the initial shared pool, bad period, long namespace... */
int alloc_config_validate(const struct topology *t, const struct alloc_config *cfg, char *reason,
			  size_t reason_size);

/* -EINVAL for a NULL argument or an invalid config (see alloc_config_validate), -ENOMEM. */
int alloc_state_new(const struct topology *t, const struct alloc_config *cfg,
		    struct alloc_state **ret);
void alloc_state_free(struct alloc_state *s);

/*
 * CreateContainer. Places the container and appends every OTHER container whose
 * cpuset changed to changes (may be NULL if the caller does not care).
 *   -EEXIST  id already allocated (use alloc_get / alloc_update)
 *   -ENOSPC  not enough exclusive / isolated CPUs, or the shared pool would drop below
 *            shared_min_cpus; retry with prefs.shared_only = true to fall back
 *   -EINVAL  bad request (NULL/empty/too long id, negative request...)
 */
int alloc_create(struct alloc_state *s, const struct alloc_request *req, struct alloc_result *ret,
		 struct alloc_changes *changes, char *reason, size_t reason_size);

/*
 * In-place resize (UpdateContainer): new request/limit/prefs for req->id. An
 * exclusive allocation keeps the CPUs it has where it can and grows next to them.
 * -ENOENT for an unknown id; -ENOSPC as for create (the old allocation stays).
 */
int alloc_update(struct alloc_state *s, const struct alloc_request *req, struct alloc_result *ret,
		 struct alloc_changes *changes, char *reason, size_t reason_size);

/* Stop / remove: idempotent. Returns 1 if released, 0 if id was unknown (or NULL),
 * -ENOMEM if changes could not grow (nothing released). */
int alloc_release(struct alloc_state *s, const char *id, struct alloc_changes *changes);

/* The current assignment of id; -ENOENT if unknown. */
int alloc_get(const struct alloc_state *s, const char *id, struct alloc_result *ret);
/*
 * The CPU side of id's result without its sets, for a reply that moves many containers:
 * alloc_get() builds three 512-byte sets per call, and a create that shrinks the shared
 * pool re-sends every shared container. plain_shared: its cpus and mems are exactly
 * those of every other plain_shared container (the shared pool, not narrowed to
 * devices, not wide, not shielded), so one alloc_get() of any of them gives them all.
 * shares / quota / period are alloc_get()'s. -ENOENT if unknown (or NULL).
 */
struct alloc_cpu_side {
	enum alloc_pool pool;
	bool plain_shared;
	uint64_t shares;
	int64_t quota;
	uint64_t period;
};
int alloc_get_cpu_side(const struct alloc_state *s, const char *id, struct alloc_cpu_side *ret);
/* The request id holds (after any fallback: shared_only set). Its strings belong to
 * the state and live while id is allocated. -ENOENT if unknown. */
int alloc_get_request(const struct alloc_state *s, const char *id, struct alloc_request *ret);

/*
 * Why id got its CPUs, one line ("exclusive 4-5: 2 whole cores in L3 #1 (node 0),
 * tightest fit ..."). Returns the length, -ENOENT, or -ENOSPC if truncated
 * (buf then holds a NUL-terminated prefix).
 */
int alloc_explain(const struct alloc_state *s, const char *id, char *buf, size_t size);

/* One running container as Synchronize delivers it. */
struct alloc_restore_entry {
	struct alloc_request req;
	struct cpuset cpus;	 /* its current cpuset.cpus (empty = unknown) */
	bool has_exclusive;	 /* exclusive below is known (persisted alloc_result.exclusive) */
	struct cpuset exclusive; /* its exclusive part; empty + has_exclusive = it ran shared */
};

/*
 * Synchronize: rebuild an EMPTY state (-EBUSY otherwise) from the running
 * containers, in order. A valid exclusive assignment is kept; a conflicting one
 * (CPU already claimed by an earlier entry, reserved, offline, wrong size) is
 * re-allocated. Containers that cannot get exclusive CPUs fall back to shared
 * rather than fail. changes gets every container whose cpuset differs from
 * entry.cpus. On error (-ENOMEM, -EINVAL for a bad entry) the state stays empty.
 */
int alloc_restore(struct alloc_state *s, const struct alloc_restore_entry *entries, size_t n,
		  struct alloc_changes *changes, char *reason, size_t reason_size);

/*
 * Apply a new config (and/or topology: pass NULL to keep the current one) keeping
 * every container, as a restore of the current assignments into the new config.
 * changes gets the containers whose cpuset changed. On error the old state stays.
 */
int alloc_reconfigure(struct alloc_state *s, const struct topology *t,
		      const struct alloc_config *cfg, struct alloc_changes *changes, char *reason,
		      size_t reason_size);

struct alloc_pool_stat {
	unsigned int capacity; /* CPUs the pool can hand out (shared: its current size) */
	unsigned int assigned; /* exclusive/isolated: CPUs owned incl. hidden siblings;
				* shared/reserved: ceil(requested_mcpu / 1000), at most capacity */
	unsigned int free;     /* capacity - assigned */
	unsigned int containers;
	int64_t requested_mcpu; /* sum of the containers' CPU requests */
};

struct alloc_stats {
	struct alloc_pool_stat pool[ALLOC_POOL_COUNT];
	struct cpuset shared;	 /* the current shared pool */
	struct cpuset reserved;	 /* the reserved pool */
	struct cpuset exclusive; /* CPUs owned by exclusive containers (incl. hidden siblings) */
	struct cpuset isolated;	 /* isolated CPUs owned by containers */
	struct cpuset shielded;	 /* CPUs lent to shielded shared containers */
	unsigned int shared_containers;	  /* containers whose cpus include the shared pool */
	unsigned int shielded_containers; /* not counted in pool[SHARED] (own CPUs) */
};
void alloc_stats_get(const struct alloc_state *s, struct alloc_stats *ret);

/*
 * Shields: the closed loop's way of moving noisy neighbours off a latency-sensitive
 * shared container (docs/closed-loop.md "Moving noisy neighbours"). alloc_shield()
 * lends a container on the shared pool n CPUs of its own, taken out of the pool the
 * way exclusive CPUs are (tightest subtree, fragments first) and widened to whole
 * cores where the pool can spare the siblings; every other container on the shared
 * pool moves off them. The shielded container keeps the shares and quota of a shared
 * container (alloc_result.pool stays shared, .exclusive stays empty, .shielded is
 * set). A shield is a loan, not a placement: nothing is persisted; restore and
 * reconfigure drop it, and so does any update of the container (alloc_update).
 * Exclusive allocations cannot take shielded CPUs; a release gives them back.
 *
 * alloc_shield(): changes gets id and every container on the shared pool.
 *   -ENOENT   unknown id
 *   -EINVAL   NULL argument, n == 0, or id is not on the shared pool alone (reserved,
 *             exclusive, isolated, mixed, or wide Burstable)
 *   -EALREADY id is shielded already
 *   -ENOSPC   the pool would keep fewer than shared_min_cpus (at least 1)
 * alloc_unshield(): the CPUs go back to the pool; changes gets id and every
 * container on the shared pool. 1 if id was shielded, 0 if not, -ENOENT, -ENOMEM.
 */
int alloc_shield(struct alloc_state *s, const char *id, unsigned int n,
		 struct alloc_changes *changes, char *reason, size_t reason_size);
int alloc_unshield(struct alloc_state *s, const char *id, struct alloc_changes *changes);
/* Append every container a shield moves: the shielded ones and every container
 * whose cpus include the shared pool (to re-send their cpusets). 0 or -ENOMEM. */
int alloc_changes_pool(const struct alloc_state *s, struct alloc_changes *changes);
/* Append every container: re-asserting the whole state (after a Synchronize, the
 * runtime's report may be stale). 0 or -ENOMEM. */
int alloc_changes_all(const struct alloc_state *s, struct alloc_changes *changes);
/* Append id, which must outlive the use of changes (an alloc_id_at() string). 0 or
 * -ENOMEM; a NULL changes is ignored. */
int alloc_changes_push(struct alloc_changes *c, const char *id);

/*
 * A number that changes whenever CPUs change owners (exclusive, isolated, shielded
 * containers placed, resized or released); equal values mean nobody's owned CPUs
 * changed in between. For callers that persist ownership (the daemon's checkpoint).
 */
uint64_t alloc_owned_gen(const struct alloc_state *s);

/* Number of containers and iteration (order unspecified, stable while unmodified). */
size_t alloc_count(const struct alloc_state *s);
/* The i-th container id (0 <= i < alloc_count), NULL past the end. */
const char *alloc_id_at(const struct alloc_state *s, size_t i);

const char *alloc_pool_name(enum alloc_pool p); /* "shared", "reserved", ... */
/* "none", "local", "node", "package", "elsewhere" */
const char *alloc_device_fit_name(enum alloc_device_fit f);
