/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulator's pods and containers, and the protobuf requests built from them the
 * way containerd fills them (see /work/shared/nri-vectors): Kubernetes labels, cgroup
 * paths of the chosen driver, CPU shares/quota/period and memory limit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

void *sim_arena_alloc(struct sim_arena *a, size_t size)
{
	void **p = realloc(a->p, (a->n + 1) * sizeof(*p));
	void *mem;

	if (!p)
		return NULL;
	a->p = p;
	mem = calloc(1, size ? size : 1);
	if (mem)
		a->p[a->n++] = mem;
	return mem;
}

char *sim_arena_strdup(struct sim_arena *a, const char *s)
{
	size_t len = strlen(s ? s : "");
	char *d = sim_arena_alloc(a, len + 1);

	if (d && s)
		memcpy(d, s, len);
	return d;
}

void sim_arena_done(struct sim_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	a->p = NULL;
	a->n = 0;
}

int sim_res_set_str(char **dst, const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

void sim_res_done(struct sim_res *r)
{
	free(r->cpus);
	free(r->mems);
	*r = (struct sim_res){0};
}

int sim_res_copy(struct sim_res *dst, const struct sim_res *src)
{
	struct sim_res r = *src;

	r.cpus = src->cpus ? strdup(src->cpus) : NULL;
	r.mems = src->mems ? strdup(src->mems) : NULL;
	if ((src->cpus && !r.cpus) || (src->mems && !r.mems)) {
		sim_res_done(&r);
		return -ENOMEM;
	}
	sim_res_done(dst);
	*dst = r;
	return 0;
}

static void kvs_done(struct sim_kvs *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].value);
	}
	free(kv->v);
	*kv = (struct sim_kvs){0};
}

int sim_kvs_set(struct sim_kvs *kv, const char *key, const char *value)
{
	struct sim_kv *v;
	char *k, *val;

	for (size_t i = 0; i < kv->n; i++) {
		if (!strcmp(kv->v[i].key, key))
			return sim_res_set_str(&kv->v[i].value, value);
	}
	v = realloc(kv->v, (kv->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	kv->v = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	v[kv->n++] = (struct sim_kv){k, val};
	return 0;
}

const char *sim_kvs_get(const struct sim_kvs *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (!strcmp(kv->v[i].key, key))
			return kv->v[i].value;
	}
	return NULL;
}

void sim_pod_free(struct sim_pod *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p->ns);
	free(p->uid);
	free(p->qos);
	kvs_done(&p->labels);
	kvs_done(&p->annotations);
	sim_res_done(&p->res);
	free(p);
}

void sim_ctr_free(struct sim_ctr *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->pod_id);
	free(c->name);
	kvs_done(&c->labels);
	kvs_done(&c->annotations);
	sim_res_done(&c->res);
	sim_res_done(&c->created);
	sim_res_done(&c->spec);
	for (size_t i = 0; i < c->n_devices; i++)
		free(c->devices[i]);
	free(c->devices);
	free(c);
}

void sim_model_done(struct sim_model *m)
{
	for (size_t i = 0; i < m->n_pods; i++)
		sim_pod_free(m->pods[i]);
	for (size_t i = 0; i < m->n_ctrs; i++)
		sim_ctr_free(m->ctrs[i]);
	free(m->pods);
	free(m->ctrs);
	m->pods = NULL;
	m->ctrs = NULL;
	m->n_pods = m->n_ctrs = 0;
}

struct sim_pod *sim_model_pod(const struct sim_model *m, const char *id)
{
	for (size_t i = 0; i < m->n_pods; i++) {
		if (!m->pods[i]->removed && !strcmp(m->pods[i]->id, id))
			return m->pods[i];
	}
	return NULL;
}

struct sim_ctr *sim_model_ctr(const struct sim_model *m, const char *id)
{
	for (size_t i = 0; i < m->n_ctrs; i++) {
		if (!m->ctrs[i]->removed && !strcmp(m->ctrs[i]->id, id))
			return m->ctrs[i];
	}
	return NULL;
}

int sim_model_add_pod(struct sim_model *m, struct sim_pod *p)
{
	struct sim_pod **arr = realloc(m->pods, (m->n_pods + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	m->pods = arr;
	arr[m->n_pods++] = p;
	p->pid = ++m->next_pid + 1000;
	return 0;
}

int sim_model_add_ctr(struct sim_model *m, struct sim_ctr *c)
{
	struct sim_ctr **arr = realloc(m->ctrs, (m->n_ctrs + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	m->ctrs = arr;
	arr[m->n_ctrs++] = c;
	c->pid = ++m->next_pid + 1000;
	return 0;
}

void sim_res_from_k8s(struct sim_res *r, long cpu_request_m, long cpu_limit_m, long long mem_limit)
{
	if (cpu_request_m >= 0) {
		uint64_t shares = (uint64_t)cpu_request_m * 1024 / 1000;
		r->has_shares = true;
		r->shares = shares < 2 ? 2 : shares;
	}
	r->has_period = true;
	r->period = 100000;
	if (cpu_limit_m > 0) {
		r->has_quota = true;
		r->quota = (int64_t)cpu_limit_m * 100000 / 1000;
	}
	if (mem_limit > 0) {
		r->has_mem_limit = true;
		r->mem_limit = mem_limit;
	}
}

int sim_res_apply(struct sim_res *r, const PB(LinuxResources) * pb)
{
	const PB(LinuxCPU) *cpu = pb ? pb->cpu : NULL;
	int ret = 0;

	if (cpu && cpu->cpus && *cpu->cpus)
		ret = sim_res_set_str(&r->cpus, cpu->cpus);
	if (ret == 0 && cpu && cpu->mems && *cpu->mems)
		ret = sim_res_set_str(&r->mems, cpu->mems);
	if (cpu && cpu->shares)
		r->has_shares = true, r->shares = cpu->shares->value;
	if (cpu && cpu->quota)
		r->has_quota = true, r->quota = cpu->quota->value;
	if (cpu && cpu->period)
		r->has_period = true, r->period = cpu->period->value;
	if (pb && pb->memory && pb->memory->limit)
		r->has_mem_limit = true, r->mem_limit = pb->memory->limit->value;
	return ret;
}

int sim_ctr_apply(struct sim_ctr *c, const PB(LinuxResources) * pb)
{
	int r = sim_res_apply(&c->res, pb);

	if (r == 0 && c->has_spec)
		r = sim_res_apply(&c->spec, pb);
	return r;
}

PB(LinuxResources) * sim_res_build(struct sim_arena *a, const struct sim_res *r)
{
	PB(LinuxResources) *res = sim_arena_alloc(a, sizeof(*res));
	PB(LinuxCPU) *cpu = sim_arena_alloc(a, sizeof(*cpu));
	PB(LinuxMemory) *mem = sim_arena_alloc(a, sizeof(*mem));
	PB(OptionalUInt64) *shares = sim_arena_alloc(a, sizeof(*shares));
	PB(OptionalUInt64) *period = sim_arena_alloc(a, sizeof(*period));
	PB(OptionalInt64) *quota = sim_arena_alloc(a, sizeof(*quota));
	PB(OptionalInt64) *limit = sim_arena_alloc(a, sizeof(*limit));

	if (!res || !cpu || !mem || !shares || !period || !quota || !limit)
		return NULL;
	nri__pkg__api__v1alpha1__linux_resources__init(res);
	nri__pkg__api__v1alpha1__linux_cpu__init(cpu);
	nri__pkg__api__v1alpha1__linux_memory__init(mem);
	nri__pkg__api__v1alpha1__optional_uint64__init(shares);
	nri__pkg__api__v1alpha1__optional_uint64__init(period);
	nri__pkg__api__v1alpha1__optional_int64__init(quota);
	nri__pkg__api__v1alpha1__optional_int64__init(limit);
	shares->value = r->shares;
	period->value = r->period;
	quota->value = r->quota;
	limit->value = r->mem_limit;
	cpu->shares = r->has_shares ? shares : NULL;
	cpu->period = r->has_period ? period : NULL;
	cpu->quota = r->has_quota ? quota : NULL;
	cpu->cpus = sim_arena_strdup(a, r->cpus);
	cpu->mems = sim_arena_strdup(a, r->mems);
	mem->limit = r->has_mem_limit ? limit : NULL;
	res->cpu = cpu;
	res->memory = mem;
	return cpu->cpus && cpu->mems ? res : NULL;
}

/* Map entries share one layout ({base, key, value}); init each with its own descriptor. */
static void **kvs_build(struct sim_arena *a, const struct sim_kvs *kv,
			const ProtobufCMessageDescriptor *d, size_t *ret_n)
{
	void **arr = sim_arena_alloc(a, (kv->n + 1) * sizeof(*arr));

	*ret_n = 0;
	if (!arr)
		return NULL;
	for (size_t i = 0; i < kv->n; i++) {
		PB(PodSandbox__LabelsEntry) *e = sim_arena_alloc(a, d->sizeof_message);
		if (!e)
			return NULL;
		protobuf_c_message_init(d, e);
		e->key = sim_arena_strdup(a, kv->v[i].key);
		e->value = sim_arena_strdup(a, kv->v[i].value);
		if (!e->key || !e->value)
			return NULL;
		arr[i] = e;
	}
	*ret_n = kv->n;
	return arr;
}

/* "/kubepods/burstable/pod<uid>" or "kubepods-burstable-pod<uid_>.slice" (guaranteed: no QoS level). */
static char *pod_cgroup_parent(struct sim_arena *a, const struct sim_model *m,
			       const struct sim_pod *p)
{
	bool guaranteed = !strcmp(p->qos, "guaranteed");
	char buf[512], uid[128];

	snprintf(uid, sizeof(uid), "%s", p->uid);
	if (m->systemd) {
		for (char *c = uid; *c; c++)
			*c = *c == '-' ? '_' : *c;
		snprintf(buf, sizeof(buf), "kubepods-%s%spod%s.slice", guaranteed ? "" : p->qos,
			 guaranteed ? "" : "-", uid);
	} else {
		snprintf(buf, sizeof(buf), "/kubepods/%s%spod%s", guaranteed ? "" : p->qos,
			 guaranteed ? "" : "/", uid);
	}
	return sim_arena_strdup(a, buf);
}

static char *ctr_cgroups_path(struct sim_arena *a, const struct sim_model *m,
			      const struct sim_pod *p, const char *id)
{
	char *parent = pod_cgroup_parent(a, m, p);
	char buf[768];

	if (!parent)
		return NULL;
	if (m->real_cgroups && m->systemd) /* where --apply-cgroups really put it */
		snprintf(buf, sizeof(buf), "%s.slice:cri-containerd:%s", m->real_cgroups, id);
	else if (m->real_cgroups) /* the same, for plugins to follow */
		snprintf(buf, sizeof(buf), "/%s/%s", m->real_cgroups, id);
	else
		snprintf(buf, sizeof(buf), m->systemd ? "%s:cri-containerd:%s" : "%s/%s", parent,
			 id);
	return sim_arena_strdup(a, buf);
}

PB(PodSandbox) *
	sim_pod_build(struct sim_arena *a, const struct sim_model *m, const struct sim_pod *p)
{
	PB(PodSandbox) *pb = sim_arena_alloc(a, sizeof(*pb));
	PB(LinuxPodSandbox) *lin = sim_arena_alloc(a, sizeof(*lin));

	if (!pb || !lin)
		return NULL;
	nri__pkg__api__v1alpha1__pod_sandbox__init(pb);
	nri__pkg__api__v1alpha1__linux_pod_sandbox__init(lin);
	pb->id = p->id;
	pb->name = p->name;
	pb->uid = p->uid;
	pb->namespace_ = p->ns;
	pb->pid = p->pid;
	pb->labels = (PB(PodSandbox__LabelsEntry) **)kvs_build(
		a, &p->labels, &PBD(pod_sandbox__labels_entry), &pb->n_labels);
	pb->annotations = (PB(PodSandbox__AnnotationsEntry) **)kvs_build(
		a, &p->annotations, &PBD(pod_sandbox__annotations_entry), &pb->n_annotations);
	lin->cgroup_parent = pod_cgroup_parent(a, m, p);
	lin->cgroups_path = lin->cgroup_parent;
	if (p->res.has_shares || p->res.has_quota || p->res.has_mem_limit) {
		lin->pod_resources = sim_res_build(a, &p->res);
		lin->resources = lin->pod_resources;
	}
	pb->linux_ = lin;
	if (!pb->labels || !pb->annotations || !lin->cgroup_parent)
		return NULL;
	return pb;
}

/* "TYPE:MAJ:MIN:PATH" (checked when the scenario was read) -> a LinuxDevice. */
static int devices_build(struct sim_arena *a, const struct sim_ctr *c, PB(LinuxContainer) * lin)
{
	if (!c->n_devices)
		return 0;
	lin->devices = sim_arena_alloc(a, c->n_devices * sizeof(*lin->devices));
	if (!lin->devices)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_devices; i++) {
		PB(LinuxDevice) *d = sim_arena_alloc(a, sizeof(*d));
		char type[2] = {c->devices[i][0], 0};
		long long maj, min;
		int off = 0;

		if (!d || sscanf(c->devices[i] + 2, "%lld:%lld:%n", &maj, &min, &off) != 2 || !off)
			return -EINVAL;
		nri__pkg__api__v1alpha1__linux_device__init(d);
		d->type = sim_arena_strdup(a, type);
		d->major = maj;
		d->minor = min;
		d->path = sim_arena_strdup(a, c->devices[i] + 2 + off);
		if (!d->type || !d->path)
			return -ENOMEM;
		lin->devices[i] = d;
	}
	lin->n_devices = c->n_devices;
	return 0;
}

PB(Container) *
	sim_ctr_build(struct sim_arena *a, const struct sim_model *m, const struct sim_ctr *c)
{
	PB(Container) *pb = sim_arena_alloc(a, sizeof(*pb));
	PB(LinuxContainer) *lin = sim_arena_alloc(a, sizeof(*lin));
	const struct sim_pod *p = NULL;

	for (size_t i = 0; i < m->n_pods && !p; i++)
		p = !strcmp(m->pods[i]->id, c->pod_id) ? m->pods[i] : NULL;
	if (!pb || !lin || !p)
		return NULL;
	nri__pkg__api__v1alpha1__container__init(pb);
	nri__pkg__api__v1alpha1__linux_container__init(lin);
	pb->id = c->id;
	pb->pod_sandbox_id = c->pod_id;
	pb->name = c->name;
	pb->state = c->state;
	pb->pid = c->pid;
	if (c->exited) { /* what containerd reports for a task that ended on its own */
		pb->finished_at = c->finished_at;
		pb->exit_code = c->exit_code;
	}
	pb->labels = (PB(Container__LabelsEntry) **)kvs_build(
		a, &c->labels, &PBD(container__labels_entry), &pb->n_labels);
	pb->annotations = (PB(Container__AnnotationsEntry) **)kvs_build(
		a, &c->annotations, &PBD(container__annotations_entry), &pb->n_annotations);
	lin->resources = sim_res_build(a, c->has_spec ? &c->spec : &c->res);
	lin->cgroups_path = ctr_cgroups_path(a, m, p, c->id);
	pb->linux_ = lin;
	if (!pb->labels || !pb->annotations || !lin->resources || !lin->cgroups_path ||
	    devices_build(a, c, lin) < 0)
		return NULL;
	return pb;
}

static int cpulist_range(const char *tok, uint64_t *bits)
{
	char *end;
	long lo, hi;

	errno = 0;
	lo = strtol(tok, &end, 10);
	hi = lo;
	if (end == tok || errno)
		return -EINVAL;
	if (*end == '-') {
		const char *p = end + 1;
		hi = strtol(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
	}
	if (*end || lo < 0 || hi < lo || hi >= SIM_MAX_CPUS)
		return -EINVAL;
	for (long c = lo; c <= hi; c++)
		bits[c / 64] |= 1ull << (c % 64);
	return 0;
}

int sim_cpulist_parse(const char *s, uint64_t bits[SIM_MAX_CPUS / 64])
{
	char *copy, *save = NULL, *tok;
	int r = 0;

	memset(bits, 0, SIM_MAX_CPUS / 8);
	if (!s || !*s)
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save))
		r = cpulist_range(tok, bits);
	free(copy);
	return r;
}
