/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kubernetes QoS classification from what NRI delivers, plus the kubelet's
 * millicore <-> cgroup v1 CPU conversions.
 *
 * NRI does not carry the pod spec, so the class is inferred, strongest evidence
 * first (docs/policy.md "QoS rule"):
 *   1. the kubelet's cgroup parent / cgroups path (kubepods-besteffort, -burstable,
 *      or plain kubepods = Guaranteed): the kubelet computed it from the full pod;
 *   2. an explicit hint (the io.kubernetes.pod.qosClass-like annotation or label);
 *   3. the container's own resources: Guaranteed iff the CPU limit equals the
 *      shares-derived request and a memory limit is set, BestEffort iff shares == 2
 *      and no limits, else Burstable.
 *
 * Pure: no I/O, no allocation. Strings in struct qos_input are borrowed for the
 * call only and may be NULL; nothing is retained.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum qos_class {
	QOS_BESTEFFORT = 0,
	QOS_BURSTABLE,
	QOS_GUARANTEED,
};

/* Where the class came from (for "explain"). */
enum qos_source {
	QOS_SRC_RESOURCES = 0, /* derived from the container's LinuxResources */
	QOS_SRC_CGROUP_PARENT, /* kubepods[-burstable|-besteffort] in the cgroup parent/path */
	QOS_SRC_HINT,	       /* qosClass annotation / label */
};

/* The container's resources as NRI's LinuxResources carries them (has_* false = unset). */
struct qos_input {
	bool has_shares;
	uint64_t shares; /* cpu.shares */
	bool has_quota;
	int64_t quota; /* cpu.cfs_quota_us, <= 0 = unlimited */
	bool has_period;
	uint64_t period; /* cpu.cfs_period_us, 0 = default 100000 */
	bool has_mem_limit;
	int64_t mem_limit; /* bytes, <= 0 = unlimited */
	/* Optional hints, NULL or "" = absent. */
	const char *qos_hint; /* "Guaranteed" | "Burstable" | "BestEffort" (case-insensitive) */
	const char *cgroup_parent; /* pod linux.cgroup_parent, or the container's cgroups_path */
};

struct qos_info {
	enum qos_class cls;
	enum qos_source source;
	int64_t request_mcpu; /* from shares; 0 when shares <= 2 or unset */
	int64_t limit_mcpu;   /* from quota/period; 0 = no limit */
	int64_t mem_limit;    /* bytes; 0 = no limit */
	bool conflict;	      /* a hint disagreed with the resources (the hint won) */
};

/*
 * Classify one container. -EINVAL if in is NULL or a present hint is not a QoS
 * class name (an unparsable cgroup parent is simply not a hint). *ret is written
 * only on success.
 */
int qos_classify(const struct qos_input *in, struct qos_info *ret);

/* Pod class from its containers' classes: Guaranteed iff all are, BestEffort iff all are. */
enum qos_class qos_combine(enum qos_class a, enum qos_class b);

/* "Guaranteed", "Burstable", "BestEffort"; "unknown" for out-of-range values. */
const char *qos_class_name(enum qos_class c);
/* Case-insensitive inverse of qos_class_name(); -EINVAL if s is NULL or unknown. */
int qos_class_parse(const char *s, enum qos_class *ret);
/*
 * Class hinted by a kubelet cgroup parent or cgroups path, both drivers:
 * "/kubepods/burstable/pod..", "kubepods-burstable-pod...slice", "kubepods.slice"...
 * -ENOENT if the string names no kubepods cgroup (or is NULL).
 */
int qos_class_from_cgroup(const char *path, enum qos_class *ret);

/* Kubernetes MilliCPUToShares: mcpu * 1024 / 1000, min 2, capped at 262144. */
uint64_t qos_shares_from_mcpu(int64_t mcpu);
/* Inverse (rounded up so that a round trip is exact): 0 for shares <= 2. */
int64_t qos_mcpu_from_shares(uint64_t shares);
/* Kubernetes MilliCPUToQuota: mcpu * period / 1000, min 1000; -1 for mcpu <= 0. */
int64_t qos_quota_from_mcpu(int64_t mcpu, uint64_t period);
/* Inverse, rounded up; 0 (no limit) for quota <= 0. period 0 means 100000. */
int64_t qos_mcpu_from_quota(int64_t quota, uint64_t period);
