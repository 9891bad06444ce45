/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-pod annotations -> per-container preferences (docs/annotations.md).
 *
 * Keys: topoguard's own (exclusive-cpus.topoguard.io, ...) and the nri-plugins aliases
 * (prefer-isolated-cpus.resource-policy.nri.io, ...). Scope suffixes: none or "/pod"
 * = every container of the pod, "/container.NAME" = one container. Precedence:
 * container scope over pod scope, own key over alias at the same scope; a conflict at
 * the same level resolves to the conservative value and is reported.
 *
 * Pure: no I/O, no allocation, nothing retained. annotations_parse() says what was
 * asked; annotations_entitle() decides, from QoS and namespace, what of it is granted.
 * Annotations that are malformed, oversized or unknown in our domains are ignored and
 * reported through the optional callback with a reason (the caller logs it); keys of
 * other domains are silently ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/config/config.h"
#include "policy/alloc.h"
#include "policy/qos.h"

#define ANNOTATIONS_KEY_MAX   253  /* longer keys are refused */
#define ANNOTATIONS_VALUE_MAX 4096 /* longer values are refused */

enum annotations_pref {
	ANNOTATIONS_EXCLUSIVE = 0,   /* 1: wants exclusive CPUs, 0: shared only */
	ANNOTATIONS_ISOLATED,	     /* wants isolcpus CPUs */
	ANNOTATIONS_RESERVED,	     /* wants the reserved CPUs */
	ANNOTATIONS_HIDE_HT,	     /* one hyperthread per core */
	ANNOTATIONS_CPU_PRESERVE,    /* leave cpuset.cpus / quota alone */
	ANNOTATIONS_MEM_PRESERVE,    /* leave cpuset.mems alone */
	ANNOTATIONS_LATENCY,	     /* latency-sensitive, target in latency_target_us */
	ANNOTATIONS_DEVICE_AFFINITY, /* 0: ignore the container's devices (default: follow) */
	ANNOTATIONS_DEVICE_STRICT,   /* exclusive CPUs next to the devices or none */
	ANNOTATIONS_PREF_COUNT,
};

/* Where a preference came from, weakest first (the rank used for precedence). */
enum annotations_source {
	ANNOTATIONS_SRC_NONE = 0,
	ANNOTATIONS_SRC_POD_ALIAS,
	ANNOTATIONS_SRC_POD,
	ANNOTATIONS_SRC_CONTAINER_ALIAS,
	ANNOTATIONS_SRC_CONTAINER,
};

struct annotations_prefs {
	int8_t value[ANNOTATIONS_PREF_COUNT]; /* -1 unset, 0 no, 1 yes */
	enum annotations_source source[ANNOTATIONS_PREF_COUNT];
	int64_t latency_target_us; /* > 0 when value[ANNOTATIONS_LATENCY] == 1 */
};

struct annotations_kv {
	const char *key;
	const char *value;
};

/* Called once per refused annotation; key and reason are valid during the call only. */
typedef void (*annotations_report_fn)(void *ud, const char *key, const char *reason);

/* All preferences unset. */
void annotations_prefs_init(struct annotations_prefs *p);

/*
 * Preferences of container `container` (NULL: pod scope only) from n annotations.
 * allow_aliases: also honour the *.resource-policy.nri.io keys. NULL keys/values are
 * refused. Returns the number of refused annotations (>= 0); -EINVAL for NULL kv with
 * n > 0 or NULL ret. *ret is always fully written on success.
 */
int annotations_parse(const struct annotations_kv *kv, size_t n, const char *container,
		      bool allow_aliases, annotations_report_fn report, void *ud,
		      struct annotations_prefs *ret);

const char *annotations_pref_name(enum annotations_pref p);
const char *annotations_source_name(enum annotations_source s);

/* What a container's entitlement depends on (docs/annotations.md). */
struct annotations_entitlement {
	enum qos_class qos;
	const char *pod_namespace; /* NULL: "" (no pod) */
	/* namespaces whose pods may have the reserved CPUs: annotations.allow_reserved_
	 * namespaces and reserved.namespaces; NULL: none */
	const struct config_namespaces *allow_reserved;
	const struct config_namespaces *reserved;
};

/*
 * Entitlement: the wishes in a that e allows, into the allocation preferences *ret
 * (fields a says nothing about are left alone). Exclusive and isolated CPUs need
 * Guaranteed QoS, the reserved CPUs a namespace of e's lists; "shared",
 * hide-hyperthreads and the device affinity (device_mode) are anybody's. Each wish refused is reported with the preference's
 * name as key (report may be NULL).
 */
void annotations_entitle(const struct annotations_prefs *a, const struct annotations_entitlement *e,
			 annotations_report_fn report, void *ud, struct alloc_prefs *ret);
