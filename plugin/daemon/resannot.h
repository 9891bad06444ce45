/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The noderesource.dev/resources pod annotation that nri-plugins' resource-annotator
 * webhook writes: every container's requests and limits as in the pod spec, by name
 * (containers/nri-plugins pkg/kubernetes AnnotatedResources):
 *
 *   {"containers": {"app": {"requests": {"cpu": "2", "memory": "1Gi"},
 *                           "limits": {"cpu": "2", "memory": "1Gi"}}, "side": {}},
 *    "initContainers": {"init": {...}}}
 *
 * Only cpu and memory are read; other resources and keys are ignored. A request left
 * out defaults to the limit, as the API server defaults it. Quantities are Kubernetes
 * quantities ("500m", "2", "1.5", "1Gi", "128974848", "129e6"), as strings or JSON
 * integers; CPU is rounded up to millicores, memory up to bytes.
 *
 * The value is untrusted (anyone who creates the pod may write it where the webhook is
 * not deployed): at most RESANNOT_MAX bytes and RESANNOT_DEPTH levels, every quantity of
 * every container must parse, or the whole annotation is refused with a reason.
 *
 * Pure: no I/O, no logging; nothing is retained.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESANNOT_KEY   "noderesource.dev/resources"
#define RESANNOT_MAX   65536 /* bytes of the value */
#define RESANNOT_DEPTH 8     /* JSON nesting */

/* One container's resources; 0 = not set. */
struct resannot_res {
	int64_t request_mcpu, limit_mcpu; /* millicores */
	int64_t mem_limit;		  /* bytes */
};

/* What the annotation says of one container and of its pod. */
struct resannot {
	bool found; /* the container is listed */
	bool init;  /* ... as an init container */
	struct resannot_res self;
	struct resannot_res sum;      /* every regular container's, summed (self included) */
	struct resannot_res init_max; /* the largest of the init containers', per resource */
	unsigned int n_without;	      /* regular containers without resources of their own */
	unsigned int n_containers;    /* regular containers listed */
};

/*
 * Read the entry of container name from value (NUL-terminated). 0 and *ret filled
 * (ret->found false when name is not listed); -E2BIG over RESANNOT_MAX bytes, -EINVAL
 * malformed, -ERANGE a quantity out of range, -ENOMEM. On failure err (optional, errlen
 * bytes) says why and *ret is untouched.
 */
int resannot_parse(const char *value, const char *name, struct resannot *ret, char *err,
		   size_t errlen);

/*
 * A Kubernetes quantity in units of 10^-scale (scale 3: millicores, 0: bytes), rounded
 * up. -EINVAL not a quantity (or negative), -ERANGE beyond INT64_MAX.
 */
int resannot_quantity(const char *s, int scale, int64_t *ret);

/* Whether r carries any resource. */
bool resannot_res_any(const struct resannot_res *r);
