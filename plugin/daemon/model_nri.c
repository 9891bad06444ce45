/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The model's objects: built from NRI PodSandbox / Container (copies; the NRI objects
 * are borrowed), looked into and freed. model.c keeps them in its tables and uses
 * this file; this file uses nothing of model.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/model.h"
#include "plugin/daemon/model_priv.h"

#define K8S_POD_NAME	   "io.kubernetes.pod.name"
#define K8S_POD_NAMESPACE  "io.kubernetes.pod.namespace"
#define K8S_POD_UID	   "io.kubernetes.pod.uid"
#define K8S_CONTAINER_NAME "io.kubernetes.container.name"
#define K8S_CONTAINER_TYPE "io.kubernetes.cri.container-type"

void model_kv_free(struct model_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void model_resources_done(struct model_resources *r)
{
	free(r->cpus);
	free(r->mems);
	memset(r, 0, sizeof(*r));
}

void model_pod_done(struct model_pod *p)
{
	free(p->id);
	free(p->name);
	free(p->namespace);
	free(p->uid);
	free(p->ns_name);
	model_kv_free(p->labels, p->n_labels);
	model_kv_free(p->annotations, p->n_annotations);
	free(p->cgroup_parent);
	free(p->cgroups_path);
	model_resources_done(&p->resources);
	model_resources_done(&p->overhead);
	memset(p, 0, sizeof(*p));
}

static void devices_free(struct model_device *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		free(d[i].path);
	free(d);
}

void model_container_done(struct model_container *c)
{
	devices_free(c->devices, c->n_devices);
	free(c->id);
	free(c->pod_id);
	free(c->name);
	model_kv_free(c->annotations, c->n_annotations);
	free(c->cgroups_path);
	model_resources_done(&c->resources);
	memset(c, 0, sizeof(*c));
}

const char *model_kv_get(const struct model_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; kv && i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* Both generated map-entry types have this shape; copied field by field, never cast. */
#define COPY_KV(dst, n_dst, src, n_src)                                                            \
	({                                                                                         \
		int _r = 0;                                                                        \
		(dst) = (n_src) ? calloc((n_src), sizeof(*(dst))) : NULL;                          \
		(n_dst) = 0;                                                                       \
		if ((n_src) && !(dst))                                                             \
			_r = -ENOMEM;                                                              \
		for (size_t _i = 0; !_r && _i < (n_src); _i++) {                                   \
			(dst)[_i].key = strdup((src)[_i] && (src)[_i]->key ? (src)[_i]->key : ""); \
			(dst)[_i].value =                                                          \
				strdup((src)[_i] && (src)[_i]->value ? (src)[_i]->value : "");     \
			(n_dst)++;                                                                 \
			if (!(dst)[_i].key || !(dst)[_i].value)                                    \
				_r = -ENOMEM;                                                      \
		}                                                                                  \
		_r;                                                                                \
	})

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* First non-empty of a, b; "" when both are empty. */
static const char *pick(const char *a, const char *b)
{
	if (a && *a)
		return a;
	return b ? b : "";
}

static int resources_from_nri(const NriLinuxResources *in, struct model_resources *r)
{
	const Nri__Pkg__Api__V1alpha1__LinuxCPU *cpu = in ? in->cpu : NULL;
	const Nri__Pkg__Api__V1alpha1__LinuxMemory *mem = in ? in->memory : NULL;

	memset(r, 0, sizeof(*r));
	if (cpu && cpu->shares) {
		r->has_shares = true;
		r->shares = cpu->shares->value;
	}
	if (cpu && cpu->quota) {
		r->has_quota = true;
		r->quota = cpu->quota->value;
	}
	if (cpu && cpu->period) {
		r->has_period = true;
		r->period = cpu->period->value;
	}
	if (mem && mem->limit) {
		r->has_mem_limit = true;
		r->mem_limit = mem->limit->value;
	}
	r->cpus = dup_or_empty(cpu ? cpu->cpus : NULL);
	r->mems = dup_or_empty(cpu ? cpu->mems : NULL);
	return r->cpus && r->mems ? 0 : -ENOMEM;
}

static int pod_names(const NriPodSandbox *pod, struct model_pod *p)
{
	const char *name, *ns, *uid;

	name = pick(model_kv_get(p->labels, p->n_labels, K8S_POD_NAME), pod->name);
	ns = pick(model_kv_get(p->labels, p->n_labels, K8S_POD_NAMESPACE), pod->namespace_);
	uid = pick(model_kv_get(p->labels, p->n_labels, K8S_POD_UID), pod->uid);
	p->id = strdup(pod->id);
	p->name = strdup(name);
	p->namespace = strdup(ns);
	p->uid = strdup(uid);
	if (asprintf(&p->ns_name, "%s/%s", ns, name) < 0)
		p->ns_name = NULL;
	return p->id && p->name && p->namespace && p->uid && p->ns_name ? 0 : -ENOMEM;
}

int model_pod_from_nri(const NriPodSandbox *pod, struct model_pod *ret)
{
	const Nri__Pkg__Api__V1alpha1__LinuxPodSandbox *lx = pod->linux_;
	struct model_pod p = {0};
	int r;

	r = COPY_KV(p.labels, p.n_labels, pod->labels, pod->n_labels);
	if (r >= 0)
		r = COPY_KV(p.annotations, p.n_annotations, pod->annotations, pod->n_annotations);
	if (r >= 0)
		r = pod_names(pod, &p);
	if (r >= 0)
		r = resources_from_nri(lx ? lx->pod_resources : NULL, &p.resources);
	if (r >= 0)
		r = resources_from_nri(lx ? lx->pod_overhead : NULL, &p.overhead);
	if (r >= 0) {
		p.cgroup_parent = dup_or_empty(lx ? lx->cgroup_parent : NULL);
		p.cgroups_path = dup_or_empty(lx ? lx->cgroups_path : NULL);
		if (!p.cgroup_parent || !p.cgroups_path)
			r = -ENOMEM;
	}
	if (r < 0) {
		model_pod_done(&p);
		return r;
	}
	*ret = p;
	return 0;
}

int model_pod_set_resources(struct model_pod *p, const NriLinuxResources *res,
			    const NriLinuxResources *overhead)
{
	struct model_resources r = {0}, o = {0};

	if (!p)
		return -EINVAL;
	if ((res && resources_from_nri(res, &r) < 0) ||
	    (overhead && resources_from_nri(overhead, &o) < 0)) {
		model_resources_done(&r);
		model_resources_done(&o);
		return -ENOMEM;
	}
	if (res) {
		model_resources_done(&p->resources);
		p->resources = r;
	}
	if (overhead) {
		model_resources_done(&p->overhead);
		p->overhead = o;
	}
	p->resized = p->resized || res || overhead;
	return 0;
}

enum model_state model_state_from_nri(int nri_state)
{
	switch (nri_state) {
	case NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_CREATED:
		return MODEL_STATE_CREATED;
	case NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_PAUSED:
		return MODEL_STATE_PAUSED;
	case NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING:
		return MODEL_STATE_RUNNING;
	case NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED:
		return MODEL_STATE_STOPPED;
	default:
		return MODEL_STATE_UNKNOWN;
	}
}

#define DEVICE_PATH_MAX 4096 /* a longer path from the runtime is not kept */

/* Append one device; 0 when it is dropped (full, or not worth keeping), -ENOMEM. */
static int device_add(struct model_container *c, enum model_device_kind kind, const char *type,
		      int64_t major, int64_t minor, const char *path)
{
	struct model_device *d;

	if (!path || strnlen(path, DEVICE_PATH_MAX + 1) > DEVICE_PATH_MAX ||
	    (kind == MODEL_DEVICE_NODE && (!type || strlen(type) != 1)) ||
	    c->n_devices >= MODEL_DEVICES_MAX) {
		c->n_devices_dropped++;
		return 0;
	}
	d = &c->devices[c->n_devices];
	*d = (struct model_device){.kind = kind, .major = major, .minor = minor, .node = -1};
	d->type = kind == MODEL_DEVICE_NODE ? type[0] : 0;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	c->n_devices++;
	return 0;
}

/* Linux device nodes, device bind mounts (source under /dev/) and host net devices. */
static int container_devices(const NriContainer *ctr, struct model_container *c)
{
	const Nri__Pkg__Api__V1alpha1__LinuxContainer *lx = ctr->linux_;
	int r = 0;

	if (!ctr->n_mounts && (!lx || (!lx->n_devices && !lx->n_net_devices)))
		return 0;
	c->devices = calloc(MODEL_DEVICES_MAX, sizeof(*c->devices));
	if (!c->devices)
		return -ENOMEM;
	for (size_t i = 0; r >= 0 && lx && i < lx->n_devices; i++)
		if (lx->devices[i])
			r = device_add(c, MODEL_DEVICE_NODE, lx->devices[i]->type,
				       lx->devices[i]->major, lx->devices[i]->minor,
				       lx->devices[i]->path);
	for (size_t i = 0; r >= 0 && i < ctr->n_mounts; i++)
		if (ctr->mounts[i] && ctr->mounts[i]->source &&
		    !strncmp(ctr->mounts[i]->source, "/dev/", 5))
			r = device_add(c, MODEL_DEVICE_MOUNT, NULL, 0, 0, ctr->mounts[i]->source);
	for (size_t i = 0; r >= 0 && lx && i < lx->n_net_devices; i++)
		if (lx->net_devices[i])
			r = device_add(c, MODEL_DEVICE_NET, NULL, 0, 0, lx->net_devices[i]->key);
	return r;
}

static int container_fields(const NriContainer *ctr, struct model_container *c)
{
	const char *name = model_kv_get(c->annotations, c->n_annotations, K8S_CONTAINER_NAME);
	const char *type = model_kv_get(c->annotations, c->n_annotations, K8S_CONTAINER_TYPE);
	const Nri__Pkg__Api__V1alpha1__LinuxContainer *lx = ctr->linux_;

	/* The kubelet puts the name in labels; CRI-O and older containerd in annotations. */
	for (size_t i = 0; !name && i < ctr->n_labels; i++)
		if (ctr->labels[i] && ctr->labels[i]->key &&
		    !strcmp(ctr->labels[i]->key, K8S_CONTAINER_NAME))
			name = ctr->labels[i]->value;
	c->id = strdup(ctr->id);
	c->pod_id = dup_or_empty(ctr->pod_sandbox_id);
	c->name = strdup(pick(name, ctr->name));
	c->sandbox = type && !strcmp(type, "sandbox");
	c->state = model_state_from_nri(ctr->state);
	/* A stopped container that reports how it ended exited on its own. */
	if (c->state == MODEL_STATE_STOPPED && (ctr->finished_at || ctr->exit_code))
		c->state = MODEL_STATE_EXITED;
	c->pid = ctr->pid;
	c->exit_code = ctr->exit_code;
	c->cgroups_path = dup_or_empty(lx ? lx->cgroups_path : NULL);
	if (!c->id || !c->pod_id || !c->name || !c->cgroups_path)
		return -ENOMEM;
	return resources_from_nri(lx ? lx->resources : NULL, &c->resources);
}

int model_container_from_nri(const NriContainer *ctr, struct model_container *ret)
{
	struct model_container c = {0};
	int r;

	r = COPY_KV(c.annotations, c.n_annotations, ctr->annotations, ctr->n_annotations);
	if (r >= 0)
		r = container_fields(ctr, &c);
	if (r >= 0)
		r = container_devices(ctr, &c);
	if (r < 0) {
		model_container_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}
