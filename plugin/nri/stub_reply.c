/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct nri_reply: what a handler answers, kept as plain owned copies until the
 * stub packs it into the protobuf-c response of the request being answered. Setters
 * refuse what the response type cannot carry (-EOPNOTSUPP) so a plugin learns about
 * a dropped change instead of the runtime silently never seeing it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/nri/stub_priv.h"

#define PB(x) Nri__Pkg__Api__V1alpha1__##x

/* One resources block in protobuf-c form, with storage for every sub-message. */
struct pb_res {
	PB(LinuxResources) res;
	PB(LinuxCPU) cpu;
	PB(LinuxMemory) mem;
	PB(OptionalUInt64) shares, period;
	PB(OptionalInt64) quota, limit;
};

struct stub_update {
	char *id, *cpus, *mems; /* in the same allocation, after the struct */
	struct nri_resources r;
	bool ignore_failure;
	/* Built by pack: */
	PB(ContainerUpdate) pb;
	PB(LinuxContainerUpdate) lin;
	struct pb_res res;
};

struct stub_evict {
	char *id, *reason;
};

struct stub_kv {
	char *key, *value;
};

int stub_reply_new(enum stub_reply_kind kind, const char *self_id, struct nri_reply **ret)
{
	struct nri_reply *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->kind = kind;
	if (self_id && !(r->self_id = strdup(self_id))) {
		free(r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

const char *stub_reply_update_id(const struct nri_reply *r, size_t i)
{
	return i < r->n_updates ? r->updates[i]->id : NULL;
}

static void update_free(struct stub_update *u)
{
	free(u);
}

void stub_reply_free(struct nri_reply *r)
{
	if (!r)
		return;
	free(r->self_id);
	update_free(r->adjust);
	for (size_t i = 0; i < r->n_annotations; i++) {
		free(r->annotations[i].key);
		free(r->annotations[i].value);
	}
	free(r->annotations);
	for (size_t i = 0; i < r->n_updates; i++)
		update_free(r->updates[i]);
	free(r->updates);
	for (size_t i = 0; i < r->n_evicts; i++) {
		free(r->evicts[i].id);
		free(r->evicts[i].reason);
	}
	free(r->evicts);
	free(r->error);
	free(r);
}

/* A copy of s (NULL stays NULL) at *tail, which moves past it. */
static char *copy_to(char **tail, const char *s)
{
	char *at = *tail;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(at, s, n);
	*tail += n;
	return at;
}

/* One allocation for the update and its strings: a reply may carry one per container. */
static int update_new(const char *id, const struct nri_resources *res, bool ignore,
		      struct stub_update **ret)
{
	const char *cpus = res ? res->cpus : NULL, *mems = res ? res->mems : NULL;
	size_t len = (id ? strlen(id) + 1 : 0) + (cpus ? strlen(cpus) + 1 : 0) +
		     (mems ? strlen(mems) + 1 : 0);
	struct stub_update *u = calloc(1, sizeof(*u) + len);
	char *tail;

	if (!u)
		return -ENOMEM;
	tail = (char *)(u + 1);
	if (res)
		u->r = *res;
	u->ignore_failure = ignore;
	u->id = copy_to(&tail, id);
	u->cpus = copy_to(&tail, cpus);
	u->mems = copy_to(&tail, mems);
	u->r.cpus = u->cpus;
	u->r.mems = u->mems;
	*ret = u;
	return 0;
}

int nri_reply_adjust(struct nri_reply *r, const struct nri_resources *res)
{
	if (!r || !res)
		return -EINVAL;
	if (r->kind != STUB_REPLY_CREATE)
		return -EOPNOTSUPP;
	if (r->adjust)
		return -EALREADY;
	return update_new(NULL, res, false, &r->adjust);
}

int nri_reply_adjust_annotation(struct nri_reply *r, const char *key, const char *value)
{
	struct stub_kv *a;
	char *k, *v;

	if (!r || !key || !*key || !value)
		return -EINVAL;
	if (r->kind != STUB_REPLY_CREATE)
		return -EOPNOTSUPP;
	a = realloc(r->annotations, (r->n_annotations + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	r->annotations = a;
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	a[r->n_annotations++] = (struct stub_kv){k, v};
	return 0;
}

int nri_reply_update(struct nri_reply *r, const char *container_id, const struct nri_resources *res,
		     bool ignore_failure)
{
	struct stub_update **arr, *u;
	int ret;

	if (!r || !container_id || !*container_id || !res)
		return -EINVAL;
	if (r->kind == STUB_REPLY_CREATE && r->self_id && !strcmp(r->self_id, container_id)) {
		/* doc §6.4: the runtime fails the creation; use nri_reply_adjust instead. */
		r->rejected++;
		return -EINVAL;
	}
	if (r->n_updates == r->cap_updates) { /* doubling: a reply may name every container */
		size_t cap = r->cap_updates ? r->cap_updates * 2 : 16;

		arr = realloc(r->updates, cap * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		r->updates = arr;
		r->cap_updates = cap;
	}
	arr = r->updates;
	ret = update_new(container_id, res, ignore_failure, &u);
	if (ret < 0)
		return ret;
	arr[r->n_updates++] = u;
	return 0;
}

int nri_reply_evict(struct nri_reply *r, const char *container_id, const char *reason)
{
	struct stub_evict *e;
	char *id, *why;

	if (!r || !container_id || !*container_id)
		return -EINVAL;
	if (r->kind != STUB_REPLY_CREATE && r->kind != STUB_REPLY_UPDATE &&
	    r->kind != STUB_REPLY_UPDATES)
		return -EOPNOTSUPP;
	e = realloc(r->evicts, (r->n_evicts + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	r->evicts = e;
	id = strdup(container_id);
	why = strdup(reason ? reason : "");
	if (!id || !why) {
		free(id);
		free(why);
		return -ENOMEM;
	}
	e[r->n_evicts++] = (struct stub_evict){id, why};
	return 0;
}

void nri_reply_set_error(struct nri_reply *r, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (!r || !fmt)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return; /* keep the previous message (or strerror) rather than fail */
	free(r->error);
	r->error = msg;
}

static void res_build(struct pb_res *p, const struct nri_resources *r)
{
	*p = (struct pb_res){.res = NRI__PKG__API__V1ALPHA1__LINUX_RESOURCES__INIT,
			     .cpu = NRI__PKG__API__V1ALPHA1__LINUX_CPU__INIT,
			     .mem = NRI__PKG__API__V1ALPHA1__LINUX_MEMORY__INIT,
			     .shares = NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT,
			     .period = NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT,
			     .quota = NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT,
			     .limit = NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT};
	/* protobuf-c packs char* as-is and never writes through it. */
	p->cpu.cpus = (char *)(r->cpus ? r->cpus : "");
	p->cpu.mems = (char *)(r->mems ? r->mems : "");
	p->shares.value = r->shares;
	p->period.value = r->period;
	p->quota.value = r->quota;
	p->limit.value = r->mem_limit;
	p->cpu.shares = r->has_shares ? &p->shares : NULL;
	p->cpu.period = r->has_period ? &p->period : NULL;
	p->cpu.quota = r->has_quota ? &p->quota : NULL;
	p->mem.limit = r->has_mem_limit ? &p->limit : NULL;
	if (r->cpus || r->mems || r->has_shares || r->has_period || r->has_quota)
		p->res.cpu = &p->cpu;
	if (r->has_mem_limit)
		p->res.memory = &p->mem;
}

static void update_build(struct stub_update *u)
{
	u->pb = (PB(ContainerUpdate))NRI__PKG__API__V1ALPHA1__CONTAINER_UPDATE__INIT;
	u->lin = (PB(LinuxContainerUpdate))NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER_UPDATE__INIT;
	res_build(&u->res, &u->r);
	u->lin.resources = &u->res.res;
	u->pb.container_id = u->id;
	u->pb.linux_ = &u->lin;
	u->pb.ignore_failure = u->ignore_failure;
}

/* Scratch protobuf-c arrays that point into the reply; freed after packing. */
struct pack_ctx {
	PB(ContainerUpdate) * *updates;
	PB(ContainerEviction) * evicts;
	PB(ContainerEviction) * *evict_ptrs;
	PB(ContainerAdjustment__AnnotationsEntry) * ann;
	PB(ContainerAdjustment__AnnotationsEntry) * *ann_ptrs;
};

static void pack_ctx_done(struct pack_ctx *c)
{
	free(c->updates);
	free(c->evicts);
	free(c->evict_ptrs);
	free(c->ann);
	free(c->ann_ptrs);
}

static int pack_ctx_init(struct pack_ctx *c, const struct nri_reply *r)
{
	*c = (struct pack_ctx){0};
	c->updates = calloc(r->n_updates + 1, sizeof(*c->updates));
	c->evicts = calloc(r->n_evicts + 1, sizeof(*c->evicts));
	c->evict_ptrs = calloc(r->n_evicts + 1, sizeof(*c->evict_ptrs));
	c->ann = calloc(r->n_annotations + 1, sizeof(*c->ann));
	c->ann_ptrs = calloc(r->n_annotations + 1, sizeof(*c->ann_ptrs));
	if (!c->updates || !c->evicts || !c->evict_ptrs || !c->ann || !c->ann_ptrs) {
		pack_ctx_done(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_updates; i++) {
		update_build(r->updates[i]);
		c->updates[i] = &r->updates[i]->pb;
	}
	for (size_t i = 0; i < r->n_evicts; i++) {
		c->evicts[i] =
			(PB(ContainerEviction))NRI__PKG__API__V1ALPHA1__CONTAINER_EVICTION__INIT;
		c->evicts[i].container_id = r->evicts[i].id;
		c->evicts[i].reason = r->evicts[i].reason;
		c->evict_ptrs[i] = &c->evicts[i];
	}
	for (size_t i = 0; i < r->n_annotations; i++) {
		c->ann[i] = (PB(ContainerAdjustment__AnnotationsEntry))
			NRI__PKG__API__V1ALPHA1__CONTAINER_ADJUSTMENT__ANNOTATIONS_ENTRY__INIT;
		c->ann[i].key = r->annotations[i].key;
		c->ann[i].value = r->annotations[i].value;
		c->ann_ptrs[i] = &c->ann[i];
	}
	return 0;
}

static int pack_message(const ProtobufCMessage *m, uint8_t **ret_buf, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = NULL;

	if (len > 0) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		protobuf_c_message_pack(m, buf);
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int pack_create(const struct nri_reply *r, struct pack_ctx *c, uint8_t **buf, size_t *len)
{
	PB(CreateContainerResponse) m = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_RESPONSE__INIT;
	PB(ContainerAdjustment) adj = NRI__PKG__API__V1ALPHA1__CONTAINER_ADJUSTMENT__INIT;
	PB(LinuxContainerAdjustment)
	ladj = NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER_ADJUSTMENT__INIT;
	struct pb_res res;

	if (r->adjust) {
		res_build(&res, &r->adjust->r);
		ladj.resources = &res.res;
		adj.linux_ = &ladj;
	}
	adj.annotations = c->ann_ptrs;
	adj.n_annotations = r->n_annotations;
	if (r->adjust || r->n_annotations)
		m.adjust = &adj;
	m.update = c->updates;
	m.n_update = r->n_updates;
	m.evict = c->evict_ptrs;
	m.n_evict = r->n_evicts;
	return pack_message(&m.base, buf, len);
}

static int pack_kind(const struct nri_reply *r, bool more, struct pack_ctx *c, uint8_t **buf,
		     size_t *len)
{
	PB(UpdateContainerResponse) u = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINER_RESPONSE__INIT;
	PB(StopContainerResponse) st = NRI__PKG__API__V1ALPHA1__STOP_CONTAINER_RESPONSE__INIT;
	PB(SynchronizeResponse) sy = NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_RESPONSE__INIT;
	PB(UpdateContainersRequest) us = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINERS_REQUEST__INIT;

	switch (r->kind) {
	case STUB_REPLY_CREATE:
		return pack_create(r, c, buf, len);
	case STUB_REPLY_UPDATE:
		u.update = c->updates;
		u.n_update = r->n_updates;
		u.evict = c->evict_ptrs;
		u.n_evict = r->n_evicts;
		return pack_message(&u.base, buf, len);
	case STUB_REPLY_STOP:
		st.update = c->updates;
		st.n_update = r->n_updates;
		return pack_message(&st.base, buf, len);
	case STUB_REPLY_SYNC:
		sy.update = c->updates;
		sy.n_update = r->n_updates;
		sy.more = more;
		return pack_message(&sy.base, buf, len);
	case STUB_REPLY_UPDATES:
		us.update = c->updates;
		us.n_update = r->n_updates;
		us.evict = c->evict_ptrs;
		us.n_evict = r->n_evicts;
		return pack_message(&us.base, buf, len);
	}
	return -EINVAL;
}

int stub_reply_pack(const struct nri_reply *r, bool more, uint8_t **ret_buf, size_t *ret_len)
{
	struct pack_ctx c;
	uint8_t *buf;
	size_t len;
	int ret;

	if (!r)
		return -EINVAL;
	ret = pack_ctx_init(&c, r);
	if (ret < 0)
		return ret;
	ret = pack_kind(r, more, &c, &buf, &len);
	pack_ctx_done(&c);
	if (ret < 0)
		return ret;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}
