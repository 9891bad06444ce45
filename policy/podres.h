/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod-level resources (KEP-2837): the sizing of a container that carries no CPU or
 * memory of its own, in a pod whose resources are set at the pod level.
 *
 * The kubelet gives the sandbox the pod's resources (LinuxPodSandbox.pod_resources):
 * the pod-level requests/limits when the pod has them, else the sum of its containers'.
 * The two cannot be told apart in a Burstable pod from the containers seen so far (a
 * container without requests next to one with them is an ordinary pod, and the kubelet
 * creates them one at a time), so the pod's budget is drawn on only where it is
 * unambiguous: the pod is Guaranteed (its cgroup parent, else its own resources: CPU
 * request == limit and a memory limit) while the container has no resources of its
 * own (an ordinary Guaranteed pod cannot hold such a container), or every container of
 * the pod is known with its own resources (the noderesource.dev/resources annotation):
 * then whatever the pod holds beyond their sum is the pod level's. Everywhere else the
 * container keeps its own resources (docs/policy.md "Pod-level resources").
 *
 * The budget is the pod's minus what siblings with their own resources hold. One
 * container drawing on it takes all of it (Guaranteed when what is left has request ==
 * limit and a memory limit in a Guaranteed pod, so an integer CPU count gets exclusive
 * CPUs; Burstable otherwise). Several
 * share it on the shared pool: each gets an equal part of the request as its weight
 * and the whole remaining limit as its quota, as the pod cgroup caps their sum; none
 * gets exclusive CPUs, since the pod did not say how to split them.
 *
 * Pure: no I/O, no allocation; inputs are borrowed for the call.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy/qos.h"

/* What the pod's other live containers hold. */
struct podres_siblings {
	int64_t request_mcpu;	/* sum of the requests of those with their own resources */
	int64_t limit_mcpu;	/* sum of their CPU limits */
	int64_t mem_limit;	/* sum of their memory limits, bytes */
	unsigned int n_without; /* containers drawing on the pod's budget, this one included;
				 * 0 counts as 1 */
	bool complete;		/* these are all the pod's containers (an annotation said so),
				 * not only those created so far */
};

enum podres_source {
	PODRES_OWN = 0,	   /* the container's own resources */
	PODRES_POD,	   /* the pod's budget, all of it */
	PODRES_POD_SHARED, /* the pod's budget, shared with other containers */
};

struct podres_decision {
	struct qos_info info;	/* the container's effective class and sizing */
	enum qos_class pod_cls; /* the pod's class */
	enum podres_source source;
};

/* Whether in carries CPU or memory of its own: shares > 2, a CPU limit or a memory limit. */
bool podres_has_own(const struct qos_input *in);

/*
 * Decide ctr's sizing. ctr's hint and cgroup parent also stand for the pod. pod
 * (the sandbox's resources) and sib may be NULL (no pod-level resources, no
 * siblings). -EINVAL if ctr or ret is NULL or a hint is not a class name; *ret is
 * written only on success.
 */
int podres_decide(const struct qos_input *ctr, const struct qos_input *pod,
		  const struct podres_siblings *sib, struct podres_decision *ret);

/* "own", "pod", "pod-shared". */
const char *podres_source_name(enum podres_source s);
