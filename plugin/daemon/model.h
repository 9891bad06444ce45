/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's view of pods and containers, fed from NRI objects.
 *
 * Lookups are O(1) (open-addressing hash tables): containers by id, pods by id, by
 * uid and by namespace/name. Identity prefers the kubelet's io.kubernetes.* labels
 * and annotations and falls back to the PodSandbox / Container fields when they are
 * missing (non-Kubernetes clients such as ctr or the simulator).
 *
 * Ownership: the model copies everything it keeps; NRI objects are borrowed for the
 * call. Returned pod/container pointers belong to the model and stay valid until that
 * object is removed or model_free() (updates modify the object in place). Pointers
 * are not thread-safe: use the model from the NRI loop only. model_free() is
 * NULL-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/nri/stub.h"

enum model_state {
	MODEL_STATE_UNKNOWN = 0,
	MODEL_STATE_CREATED,
	MODEL_STATE_RUNNING,
	MODEL_STATE_PAUSED,
	MODEL_STATE_STOPPED, /* stopped (StopContainer seen, or stopped with no exit info) */
	MODEL_STATE_EXITED,  /* its process ended on its own (exit code / finish time known) */
};

/* Set ("true") on a container topoguard sized from its pod's budget, at its creation:
 * a restarted daemon knows its reported shares and quota are not its own. */
#define MODEL_POD_BUDGET_ANNOTATION "topoguard.io/pod-budget"

struct model_kv {
	char *key, *value;
};

/* LinuxResources, the parts the policy reads. has_* false = unset. */
struct model_resources {
	bool has_shares, has_quota, has_period, has_mem_limit;
	uint64_t shares, period;
	int64_t quota, mem_limit;
	char *cpus, *mems; /* never NULL; "" = unset */
};

struct model_pod {
	char *id, *name, *namespace, *uid;
	char *ns_name; /* "namespace/name", the lookup key */
	struct model_kv *labels, *annotations;
	size_t n_labels, n_annotations;
	char *cgroup_parent, *cgroups_path;
	/* The sandbox's pod_resources / pod_overhead: pod-level resources (KEP-2837) or
	 * the kubelet's sum of the containers'. */
	struct model_resources resources, overhead;
	/* resources/overhead came from an UpdatePodSandbox: later puts keep them, as the
	 * pod a runtime sends along may still carry those of its creation. */
	bool resized;
	size_t n_containers;
};

/*
 * What the daemon knows of a container beyond the runtime's report. Kept when the
 * container is put again, and carried over a Synchronize's rebuild.
 */
struct model_track {
	bool mem_preserve; /* memory.preserve: updates leave its cpuset.mems alone */
	/* Whether it really exists (reconcile.c): a container topoguard placed that never
	 * starts is a ghost whose CPUs go back to the others. */
	uint64_t created_ns; /* its CreateContainer (or the Synchronize that showed it
			      * created, not running); 0: learnt running */
	bool confirmed;	     /* it exists: started, post-created, reported running, or a
			      * process was seen in its cgroup */
	bool cgroup_seen;    /* its cgroup was found once: absent now means it is gone */
	bool reject_logged;  /* a rejected update of it was logged */
	/* topoguard sized it from its pod's pod-level resources (policy/podres.h): the
	 * shares and quota it reports since are topoguard's, not its own. A container new
	 * to the model takes it from its MODEL_POD_BUDGET_ANNOTATION. */
	bool pod_budget;
	/* Drift (reconcile.c): what its cgroup held that topoguard did not intend. */
	uint64_t told_ns;  /* topoguard last sent it resources (they may not have landed) */
	uint64_t drift_ns; /* its last drift was repaired then, 0: never */
	char drift[160];   /* that drift, "cpus 0-3 (want 4-7)" */
	/* Direct actuation (actuate.c): written into its cgroup, the runtime not told yet. */
	bool owed;
};

/*
 * A device the runtime gave the container (docs/annotations.md "Devices"): a Linux
 * device node, a device bind mount (source under /dev/) or a host network interface.
 * node / id are filled when the daemon resolves it through sysfs.
 */
enum model_device_kind {
	MODEL_DEVICE_NODE = 0, /* LinuxDevice: type, major:minor, path */
	MODEL_DEVICE_MOUNT,    /* a mount whose source is under /dev/: path = source */
	MODEL_DEVICE_NET,      /* net_devices: path = the host interface name */
};

#define MODEL_DEVICES_MAX 64 /* devices kept per container; the rest are counted */

struct model_device {
	enum model_device_kind kind;
	char type; /* 'c', 'u', 'b' (MODEL_DEVICE_NODE) */
	int64_t major, minor;
	char *path;  /* never NULL */
	int node;    /* NUMA node once resolved; -1 unknown or not resolved */
	char id[32]; /* the PCI function it resolved to, "" if none */
};

struct model_container {
	char *id, *pod_id, *name;
	enum model_state state;
	bool sandbox; /* io.kubernetes.cri.container-type: sandbox */
	struct model_kv *annotations;
	size_t n_annotations;
	char *cgroups_path;
	struct model_resources resources;
	struct model_device *devices; /* at most MODEL_DEVICES_MAX */
	size_t n_devices, n_devices_dropped;
	uint32_t pid;
	int32_t exit_code;
	/* The closed loop's CFS quota for it (ctl_quota 0: none, the policy's applies).
	 * Kept when the container is put again. */
	int64_t ctl_quota;
	uint64_t ctl_period;
	struct model_track track;
};

struct model;

int model_new(struct model **ret);
void model_free(struct model *m);

/*
 * Insert or update (by id) from NRI objects. -EINVAL without an id, -ENOMEM (the
 * model is then unchanged). *ret (optional) gets the stored object.
 */
int model_pod_put(struct model *m, const NriPodSandbox *pod, struct model_pod **ret);
/* pod is optional: it supplies namespace/pod names the container labels may lack. */
int model_container_put(struct model *m, const NriPodSandbox *pod, const NriContainer *ctr,
			struct model_container **ret);

/*
 * An UpdatePodSandbox's pod-level resources and overhead (either NULL: that one is
 * unchanged). -EINVAL for a NULL pod, -ENOMEM (the pod is then unchanged).
 */
int model_pod_set_resources(struct model_pod *p, const NriLinuxResources *res,
			    const NriLinuxResources *overhead);

/* 1 if removed, 0 if unknown. Removing a pod also removes its remaining containers. */
int model_pod_remove(struct model *m, const char *id);
int model_container_remove(struct model *m, const char *id);
/* -ENOENT for an unknown id. */
int model_container_set_state(struct model *m, const char *id, enum model_state state);

struct model_pod *model_pod_by_id(const struct model *m, const char *id);
struct model_pod *model_pod_by_uid(const struct model *m, const char *uid);
struct model_pod *model_pod_by_name(const struct model *m, const char *ns, const char *name);
struct model_container *model_container_by_id(const struct model *m, const char *id);
struct model_pod *model_container_pod(const struct model *m, const struct model_container *c);

size_t model_pod_count(const struct model *m);
size_t model_container_count(const struct model *m);
/* Calls fn for every container (of pod_id only, unless NULL); stops at fn() < 0. */
int model_foreach_container(const struct model *m, const char *pod_id,
			    int (*fn)(struct model_container *c, void *ud), void *ud);

/* Value of key in kv, or NULL. */
const char *model_kv_get(const struct model_kv *kv, size_t n, const char *key);
enum model_state model_state_from_nri(int nri_state);
const char *model_state_name(enum model_state s);
