/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NRI pods and containers as the kubelet makes them, for the benches that drive the
 * daemon's handlers in process (reconcile, handler_time): container i is Guaranteed
 * with an exclusive CPU when i % 8 == 0, Burstable otherwise. Header-only; every
 * object lives in a struct ctr_mem the caller owns.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "plugin/daemon/handlers.h"
#include "plugin/nri/stub_priv.h"

#ifndef PB
#define PB(x) Nri__Pkg__Api__V1alpha1__##x
#endif

struct ctr_mem {
	NriPodSandbox pod;
	NriContainer ctr;
	PB(LinuxContainer) lx;
	NriLinuxResources res;
	PB(LinuxCPU) cpu;
	PB(LinuxMemory) mem;
	PB(OptionalUInt64) shares, period;
	PB(OptionalInt64) quota, limit;
	PB(PodSandbox__LabelsEntry) pl[3], *plp[3];
	PB(Container__LabelsEntry) cl, *clp[1];
	char id[72], pod_id[32], name[32], path[96];
};

static inline void kubelet_resources(struct ctr_mem *m, bool guaranteed)
{
	m->res = (NriLinuxResources)NRI__PKG__API__V1ALPHA1__LINUX_RESOURCES__INIT;
	m->cpu = (PB(LinuxCPU))NRI__PKG__API__V1ALPHA1__LINUX_CPU__INIT;
	m->mem = (PB(LinuxMemory))NRI__PKG__API__V1ALPHA1__LINUX_MEMORY__INIT;
	m->shares = (PB(OptionalUInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT;
	m->period = m->shares;
	m->quota = (PB(OptionalInt64))NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT;
	m->limit = m->quota;
	m->shares.value = guaranteed ? 1024 : 256;
	m->period.value = 100000;
	m->quota.value = guaranteed ? 100000 : 200000;
	m->limit.value = 1ll << 30;
	m->cpu.shares = &m->shares;
	m->cpu.quota = &m->quota;
	m->cpu.period = &m->period;
	m->mem.limit = &m->limit;
	m->res.cpu = &m->cpu;
	if (guaranteed)
		m->res.memory = &m->mem;
}

static inline void kubelet_objects(struct ctr_mem *m, int i)
{
	static const char *const keys[3] = {"io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
					    "io.kubernetes.pod.uid"};
	const char *vals[3] = {m->pod_id, "default", m->pod_id};

	snprintf(m->id, sizeof(m->id), "%08x%056x", (unsigned int)i, 0u); /* 64 hex digits */
	snprintf(m->pod_id, sizeof(m->pod_id), "pod%05d", i);
	snprintf(m->name, sizeof(m->name), "app%05d", i);
	snprintf(m->path, sizeof(m->path), "/kubepods/%s", m->id);
	m->pod = (NriPodSandbox)NRI__PKG__API__V1ALPHA1__POD_SANDBOX__INIT;
	m->pod.id = m->pod.name = m->pod.uid = m->pod_id;
	m->pod.namespace_ = (char *)"default";
	for (int k = 0; k < 3; k++) {
		m->pl[k] = (PB(PodSandbox__LabelsEntry))
			NRI__PKG__API__V1ALPHA1__POD_SANDBOX__LABELS_ENTRY__INIT;
		m->pl[k].key = (char *)keys[k];
		m->pl[k].value = (char *)vals[k];
		m->plp[k] = &m->pl[k];
	}
	m->pod.labels = m->plp;
	m->pod.n_labels = 3;
	m->ctr = (NriContainer)NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	m->ctr.id = m->id;
	m->ctr.name = m->name;
	m->ctr.pod_sandbox_id = m->pod_id;
	m->cl = (PB(Container__LabelsEntry))NRI__PKG__API__V1ALPHA1__CONTAINER__LABELS_ENTRY__INIT;
	m->cl.key = (char *)"io.kubernetes.container.name";
	m->cl.value = m->name;
	m->clp[0] = &m->cl;
	m->ctr.labels = m->clp;
	m->ctr.n_labels = 1;
	m->lx = (PB(LinuxContainer))NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER__INIT;
	m->lx.cgroups_path = m->path;
	kubelet_resources(m, i % 8 == 0);
	m->lx.resources = &m->res;
	m->ctr.linux_ = &m->lx;
}

static inline int place_all(struct daemon *d, struct ctr_mem *m, int n)
{
	for (int i = 0; i < n; i++) {
		struct nri_reply *r = NULL;
		int rc;

		kubelet_objects(&m[i], i);
		if (stub_reply_new(STUB_REPLY_CREATE, m[i].id, &r) < 0)
			return -ENOMEM;
		rc = daemon_handlers.create_container(NULL, &m[i].pod, &m[i].ctr, r, d);
		stub_reply_free(r);
		daemon_handlers.after_reply(NULL, d);
		if (rc == 0)
			rc = daemon_handlers.start_container(NULL, &m[i].pod, &m[i].ctr, d);
		if (rc < 0)
			return rc;
	}
	return 0;
}
