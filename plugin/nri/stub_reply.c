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
#include <stddef.h>
#include <stdint.h>
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

/* Body sizes of one ContainerUpdate and its nested messages. */
struct upd_len {
	size_t cpu, mem, res, lin, body;
	bool has_cpu;
};

struct stub_update {
	char *id, *cpus, *mems; /* in the same allocation, after the struct */
	size_t id_len, cpus_len, mems_len;
	struct nri_resources r;
	bool ignore_failure;
	struct upd_len len; /* computed once: the pack sizes the reply, then writes it */
};

static void update_len(const struct stub_update *u, struct upd_len *l);

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

/* A block of a reply's arena; its data follows, aligned like the struct. */
struct stub_chunk {
	struct stub_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define STUB_CHUNK_SIZE (16 * 1024)

/* size bytes from r's arena, aligned for any type; NULL on -ENOMEM. Freed with r. */
static void *reply_alloc(struct nri_reply *r, size_t size)
{
	struct stub_chunk *c = r->chunks;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	void *at;

	if (need < size)
		return NULL;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > STUB_CHUNK_SIZE ? need : STUB_CHUNK_SIZE;

		if (cap > SIZE_MAX - sizeof(*c) || !(c = malloc(sizeof(*c) + cap)))
			return NULL;
		c->next = r->chunks;
		c->used = 0;
		c->cap = cap;
		r->chunks = c;
	}
	at = (char *)c->data + c->used;
	c->used += need;
	return at;
}

static void reply_chunks_free(struct nri_reply *r)
{
	for (struct stub_chunk *c = r->chunks, *next; c; c = next) {
		next = c->next;
		free(c);
	}
}

void stub_reply_free(struct nri_reply *r)
{
	if (!r)
		return;
	free(r->self_id);
	for (size_t i = 0; i < r->n_annotations; i++) {
		free(r->annotations[i].key);
		free(r->annotations[i].value);
	}
	free(r->annotations);
	free(r->updates);
	reply_chunks_free(r);
	for (size_t i = 0; i < r->n_evicts; i++) {
		free(r->evicts[i].id);
		free(r->evicts[i].reason);
	}
	free(r->evicts);
	free(r->error);
	free(r);
}

/* A copy of the n bytes at s (NULL stays NULL), NUL-terminated, at *tail, which moves past it. */
static char *copy_to(char **tail, const char *s, size_t n)
{
	char *at = *tail;

	if (!s)
		return NULL;
	memcpy(at, s, n);
	at[n] = '\0';
	*tail += n + 1;
	return at;
}

/* One piece of r's arena (not zeroed: every field is set) for the update and its strings. */
static int update_new(struct nri_reply *r, const char *id, const struct nri_resources *res,
		      bool ignore, struct stub_update **ret)
{
	const char *cpus = res ? res->cpus : NULL, *mems = res ? res->mems : NULL;
	size_t id_len = id ? strlen(id) : 0, cpus_len = cpus ? strlen(cpus) : 0;
	size_t mems_len = mems ? strlen(mems) : 0;
	struct stub_update *u = reply_alloc(r, sizeof(*u) + id_len + cpus_len + mems_len + 3);
	char *tail;

	if (!u)
		return -ENOMEM;
	tail = (char *)(u + 1);
	u->r = res ? *res : (struct nri_resources){0};
	u->ignore_failure = ignore;
	u->id = copy_to(&tail, id, id_len);
	u->cpus = copy_to(&tail, cpus, cpus_len);
	u->mems = copy_to(&tail, mems, mems_len);
	u->id_len = id_len;
	u->cpus_len = cpus_len;
	u->mems_len = mems_len;
	u->r.cpus = u->cpus;
	u->r.mems = u->mems;
	update_len(u, &u->len);
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
	return update_new(r, NULL, res, false, &r->adjust);
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
	ret = update_new(r, container_id, res, ignore_failure, &u);
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

/*
 * The updates are encoded here, not by protobuf-c: a create that shrinks the shared
 * pool answers with one per shared container (hundreds), and protobuf-c's
 * descriptor-driven packing of four nested messages each was a third of that answer's
 * time. The bytes are the ones protobuf-c writes for the same messages (fields in
 * number order, proto3 defaults left out; test_reply_wire checks them against protobuf-c),
 * and the rest of each response is still packed by protobuf-c around them: a message's
 * encoding followed by another's is the encoding of the two merged.
 */
enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Size on the wire of a field (number < 16: a one-byte key) with an n-byte body. */
static size_t len_field(size_t n)
{
	return 1 + varint_len(n) + n;
}

static uint8_t *put_len_key(uint8_t *p, unsigned int field, size_t n)
{
	*p++ = (uint8_t)(field << 3 | WIRE_LEN);
	return put_varint(p, n);
}

static uint8_t *put_bytes(uint8_t *p, unsigned int field, const char *s, size_t n)
{
	p = put_len_key(p, field, n);
	memcpy(p, s, n);
	return p + n;
}

/* An Optional{U,}Int64 wrapper: its one field, left out when 0 (proto3). */
static size_t opt_len(uint64_t v)
{
	return v ? 1 + varint_len(v) : 0;
}

static uint8_t *put_opt(uint8_t *p, unsigned int field, uint64_t v)
{
	p = put_len_key(p, field, opt_len(v));
	if (v) {
		*p++ = (uint8_t)(1 << 3 | WIRE_VARINT);
		p = put_varint(p, v);
	}
	return p;
}

static void update_len(const struct stub_update *u, struct upd_len *l)
{
	const struct nri_resources *r = &u->r;

	*l = (struct upd_len){.has_cpu = r->cpus || r->mems || r->has_shares || r->has_period ||
					 r->has_quota};
	if (r->has_shares)
		l->cpu += len_field(opt_len(r->shares));
	if (r->has_quota)
		l->cpu += len_field(opt_len((uint64_t)r->quota));
	if (r->has_period)
		l->cpu += len_field(opt_len(r->period));
	if (u->cpus_len)
		l->cpu += len_field(u->cpus_len);
	if (u->mems_len)
		l->cpu += len_field(u->mems_len);
	if (r->has_mem_limit)
		l->mem = len_field(opt_len((uint64_t)r->mem_limit));
	l->res = (r->has_mem_limit ? len_field(l->mem) : 0) + (l->has_cpu ? len_field(l->cpu) : 0);
	l->lin = len_field(l->res);
	l->body = (u->id_len ? len_field(u->id_len) : 0) + len_field(l->lin) +
		  (u->ignore_failure ? 2 : 0);
}

/* ContainerUpdate{container_id=1, linux=2{resources=1{memory=1, cpu=2}}, ignore_failure=3} */
static uint8_t *put_update(uint8_t *p, unsigned int field, const struct stub_update *u)
{
	const struct nri_resources *r = &u->r;
	const struct upd_len l = u->len;

	p = put_len_key(p, field, l.body);
	if (u->id_len)
		p = put_bytes(p, 1, u->id, u->id_len);
	p = put_len_key(p, 2, l.lin);
	p = put_len_key(p, 1, l.res);
	if (r->has_mem_limit) {
		p = put_len_key(p, 1, l.mem);
		p = put_opt(p, 1, (uint64_t)r->mem_limit);
	}
	if (l.has_cpu) {
		p = put_len_key(p, 2, l.cpu);
		if (r->has_shares)
			p = put_opt(p, 1, r->shares);
		if (r->has_quota)
			p = put_opt(p, 2, (uint64_t)r->quota);
		if (r->has_period)
			p = put_opt(p, 3, r->period);
		if (u->cpus_len)
			p = put_bytes(p, 6, u->cpus, u->cpus_len);
		if (u->mems_len)
			p = put_bytes(p, 7, u->mems, u->mems_len);
	}
	if (u->ignore_failure) {
		*p++ = (uint8_t)(3 << 3 | WIRE_VARINT);
		*p++ = 1;
	}
	return p;
}

static size_t updates_len(const struct nri_reply *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_updates; i++)
		n += len_field(r->updates[i]->len.body);
	return n;
}

/* Scratch protobuf-c arrays that point into the reply; freed after packing. */
struct pack_ctx {
	PB(ContainerEviction) * evicts;
	PB(ContainerEviction) * *evict_ptrs;
	PB(ContainerAdjustment__AnnotationsEntry) * ann;
	PB(ContainerAdjustment__AnnotationsEntry) * *ann_ptrs;
};

static void pack_ctx_done(struct pack_ctx *c)
{
	free(c->evicts);
	free(c->evict_ptrs);
	free(c->ann);
	free(c->ann_ptrs);
}

static int pack_ctx_init(struct pack_ctx *c, const struct nri_reply *r)
{
	*c = (struct pack_ctx){0};
	c->evicts = calloc(r->n_evicts + 1, sizeof(*c->evicts));
	c->evict_ptrs = calloc(r->n_evicts + 1, sizeof(*c->evict_ptrs));
	c->ann = calloc(r->n_annotations + 1, sizeof(*c->ann));
	c->ann_ptrs = calloc(r->n_annotations + 1, sizeof(*c->ann_ptrs));
	if (!c->evicts || !c->evict_ptrs || !c->ann || !c->ann_ptrs) {
		pack_ctx_done(c);
		return -ENOMEM;
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

/*
 * head's fields, then r's updates as field `field`, then tail's: the fields of a
 * response in number order when head holds those before the updates and tail those
 * after them.
 */
static int pack_around(const ProtobufCMessage *head, const struct nri_reply *r, unsigned int field,
		       const ProtobufCMessage *tail, uint8_t **ret_buf, size_t *ret_len)
{
	size_t hl = head ? protobuf_c_message_get_packed_size(head) : 0;
	size_t tl = tail ? protobuf_c_message_get_packed_size(tail) : 0;
	size_t len = hl + updates_len(r) + tl;
	uint8_t *buf, *p;

	*ret_buf = NULL;
	*ret_len = 0;
	if (len == 0) /* protobuf-c's empty message: no bytes, no buffer */
		return 0;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	p = buf;
	if (head)
		p += protobuf_c_message_pack(head, p);
	for (size_t i = 0; i < r->n_updates; i++)
		p = put_update(p, field, r->updates[i]);
	if (tail)
		p += protobuf_c_message_pack(tail, p);
	if ((size_t)(p - buf) != len) { /* a size and its writer disagree: never send it */
		free(buf);
		return -EPROTO;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int pack_create(const struct nri_reply *r, struct pack_ctx *c, uint8_t **buf, size_t *len)
{
	PB(CreateContainerResponse) head = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_RESPONSE__INIT;
	PB(CreateContainerResponse) tail = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_RESPONSE__INIT;
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
		head.adjust = &adj;
	tail.evict = c->evict_ptrs;
	tail.n_evict = r->n_evicts;
	return pack_around(&head.base, r, 2, &tail.base, buf, len);
}

static int pack_kind(const struct nri_reply *r, bool more, struct pack_ctx *c, uint8_t **buf,
		     size_t *len)
{
	PB(UpdateContainerResponse) u = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINER_RESPONSE__INIT;
	PB(SynchronizeResponse) sy = NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_RESPONSE__INIT;
	PB(UpdateContainersRequest) us = NRI__PKG__API__V1ALPHA1__UPDATE_CONTAINERS_REQUEST__INIT;

	switch (r->kind) {
	case STUB_REPLY_CREATE:
		return pack_create(r, c, buf, len);
	case STUB_REPLY_UPDATE:
		u.evict = c->evict_ptrs;
		u.n_evict = r->n_evicts;
		return pack_around(NULL, r, 1, &u.base, buf, len);
	case STUB_REPLY_STOP: /* StopContainerResponse{update = 1} */
		return pack_around(NULL, r, 1, NULL, buf, len);
	case STUB_REPLY_SYNC:
		sy.more = more;
		return pack_around(NULL, r, 1, &sy.base, buf, len);
	case STUB_REPLY_UPDATES:
		us.evict = c->evict_ptrs;
		us.n_evict = r->n_evicts;
		return pack_around(NULL, r, 1, &us.base, buf, len);
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
