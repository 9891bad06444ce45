/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stub encodes the container updates of a reply by hand (stub_reply.c: a create
 * that shrinks the shared pool carries hundreds). Oracle: protobuf-c. Every reply kind,
 * with random updates (each optional field present or not, zero and non-zero values,
 * negative quotas, strings and ids across the one/two-byte length boundary), is packed
 * by the stub, unpacked by protobuf-c, and must
 * - decode to exactly the updates, evictions, adjustment and flags put in, and
 * - be byte for byte what protobuf-c packs from the decoded message (fields in number
 *   order, proto3 defaults left out).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/nri/stub_priv.h"

#define PB(x) Nri__Pkg__Api__V1alpha1__##x

/* What one update was given; strings live in the struct. */
struct want {
	char id[200], cpus[200], mems[40];
	bool no_cpus, no_mems, ignore;
	struct nri_resources r;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* 0, small, across the one/two-byte varint boundary, large, or anything. */
static uint64_t rnd_value(void)
{
	static const uint64_t picks[] = {0, 1, 127, 128, 1024, 100000, 0xffffffffull};

	if (rnd() % 4 == 0)
		return rnd();
	return picks[rnd() % (sizeof(picks) / sizeof(picks[0]))];
}

static void rnd_string(char *s, size_t cap, const char *alphabet)
{
	/* lengths around 127/128 move a length prefix from one byte to two */
	size_t n = rnd() % 3 == 0 ? 120 + rnd() % 16 : rnd() % 24;
	size_t k = strlen(alphabet);

	n = n < cap ? n : cap - 1;
	for (size_t i = 0; i < n; i++)
		s[i] = alphabet[rnd() % k];
	s[n] = '\0';
}

static void rnd_want(struct want *w, size_t i)
{
	struct nri_resources *r = &w->r;

	*w = (struct want){0};
	rnd_string(w->id, sizeof(w->id), "abcdef0123456789");
	if (!w->id[0]) /* the stub refuses an empty id */
		snprintf(w->id, sizeof(w->id), "c%zu", i);
	rnd_string(w->cpus, sizeof(w->cpus), "0123456789,-");
	rnd_string(w->mems, sizeof(w->mems), "01,");
	w->no_cpus = rnd() % 4 == 0;
	w->no_mems = rnd() % 3 == 0;
	w->ignore = rnd() % 2;
	r->cpus = w->no_cpus ? NULL : w->cpus;
	r->mems = w->no_mems ? NULL : w->mems;
	r->has_shares = rnd() % 2;
	r->shares = rnd_value();
	r->has_quota = rnd() % 2;
	r->quota = rnd() % 3 == 0 ? -1 : (int64_t)rnd_value();
	r->has_period = rnd() % 2;
	r->period = rnd_value();
	r->has_mem_limit = rnd() % 2;
	r->mem_limit = rnd() % 5 == 0 ? INT64_MIN : (int64_t)rnd_value();
}

static void assert_opt_u(const PB(OptionalUInt64) * o, bool has, uint64_t v)
{
	if (!has) {
		assert_null(o);
		return;
	}
	assert_non_null(o);
	assert_true(o->value == v);
}

static void assert_opt_i(const PB(OptionalInt64) * o, bool has, int64_t v)
{
	if (!has) {
		assert_null(o);
		return;
	}
	assert_non_null(o);
	assert_true(o->value == v);
}

static void assert_update(const PB(ContainerUpdate) * u, const struct want *w)
{
	const struct nri_resources *r = &w->r;
	const PB(LinuxResources) * res;
	bool has_cpu = r->cpus || r->mems || r->has_shares || r->has_quota || r->has_period;

	assert_string_equal(u->container_id, w->id);
	assert_int_equal(u->ignore_failure, w->ignore);
	assert_non_null(u->linux_);
	res = u->linux_->resources;
	assert_non_null(res);
	if (!r->has_mem_limit) {
		assert_null(res->memory);
	} else {
		assert_non_null(res->memory);
		assert_opt_i(res->memory->limit, true, r->mem_limit);
	}
	if (!has_cpu) {
		assert_null(res->cpu);
		return;
	}
	assert_non_null(res->cpu);
	assert_opt_u(res->cpu->shares, r->has_shares, r->shares);
	assert_opt_i(res->cpu->quota, r->has_quota, r->quota);
	assert_opt_u(res->cpu->period, r->has_period, r->period);
	assert_string_equal(res->cpu->cpus, w->no_cpus ? "" : w->cpus);
	assert_string_equal(res->cpu->mems, w->no_mems ? "" : w->mems);
}

/* protobuf-c's own bytes for the message we decoded must be ours. */
static void assert_canonical(const ProtobufCMessage *m, const uint8_t *buf, size_t len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *again = malloc(n ? n : 1);

	assert_non_null(again);
	assert_int_equal(protobuf_c_message_pack(m, again), n);
	assert_int_equal(n, len);
	if (n)
		assert_memory_equal(again, buf, n);
	free(again);
}

struct reply_case {
	enum stub_reply_kind kind;
	size_t n;
	struct want *w;
	bool adjust, evict, more;
	uint8_t *buf;
	size_t len;
};

static void build(struct reply_case *c)
{
	struct nri_resources adj = {.cpus = "4-7", .has_quota = true, .quota = -1};
	struct nri_reply *r;

	assert_int_equal(stub_reply_new(c->kind, "self", &r), 0);
	c->w = calloc(c->n + 1, sizeof(*c->w));
	assert_non_null(c->w);
	for (size_t i = 0; i < c->n; i++) {
		rnd_want(&c->w[i], i);
		assert_int_equal(nri_reply_update(r, c->w[i].id, &c->w[i].r, c->w[i].ignore), 0);
	}
	if (c->adjust) {
		assert_int_equal(nri_reply_adjust(r, &adj), 0);
		assert_int_equal(nri_reply_adjust_annotation(r, "k", "v"), 0);
	}
	if (c->evict)
		assert_int_equal(nri_reply_evict(r, "victim", "because"), 0);
	assert_int_equal(stub_reply_pack(r, c->more, &c->buf, &c->len), 0);
	stub_reply_free(r);
}

static void check_updates(PB(ContainerUpdate) * *u, size_t n, const struct reply_case *c)
{
	assert_int_equal(n, c->n);
	for (size_t i = 0; i < n; i++)
		assert_update(u[i], &c->w[i]);
}

static void check_evict(PB(ContainerEviction) * *e, size_t n, const struct reply_case *c)
{
	assert_int_equal(n, c->evict ? 1 : 0);
	if (n) {
		assert_string_equal(e[0]->container_id, "victim");
		assert_string_equal(e[0]->reason, "because");
	}
}

static void check_create(const struct reply_case *c)
{
	PB(CreateContainerResponse) *m =
		nri__pkg__api__v1alpha1__create_container_response__unpack(NULL, c->len, c->buf);

	assert_non_null(m);
	check_updates(m->update, m->n_update, c);
	check_evict(m->evict, m->n_evict, c);
	if (c->adjust) {
		assert_non_null(m->adjust);
		assert_int_equal(m->adjust->n_annotations, 1);
		assert_string_equal(m->adjust->linux_->resources->cpu->cpus, "4-7");
		assert_true(m->adjust->linux_->resources->cpu->quota->value == -1);
	} else {
		assert_null(m->adjust);
	}
	assert_canonical(&m->base, c->buf, c->len);
	nri__pkg__api__v1alpha1__create_container_response__free_unpacked(m, NULL);
}

static void check_kind(const struct reply_case *c)
{
	if (c->kind == STUB_REPLY_CREATE) {
		check_create(c);
	} else if (c->kind == STUB_REPLY_UPDATE) {
		PB(UpdateContainerResponse) *m =
			nri__pkg__api__v1alpha1__update_container_response__unpack(NULL, c->len,
										   c->buf);
		assert_non_null(m);
		check_updates(m->update, m->n_update, c);
		check_evict(m->evict, m->n_evict, c);
		assert_canonical(&m->base, c->buf, c->len);
		nri__pkg__api__v1alpha1__update_container_response__free_unpacked(m, NULL);
	} else if (c->kind == STUB_REPLY_STOP) {
		PB(StopContainerResponse) *m =
			nri__pkg__api__v1alpha1__stop_container_response__unpack(NULL, c->len,
										 c->buf);
		assert_non_null(m);
		check_updates(m->update, m->n_update, c);
		assert_canonical(&m->base, c->buf, c->len);
		nri__pkg__api__v1alpha1__stop_container_response__free_unpacked(m, NULL);
	} else if (c->kind == STUB_REPLY_SYNC) {
		PB(SynchronizeResponse) *m =
			nri__pkg__api__v1alpha1__synchronize_response__unpack(NULL, c->len, c->buf);
		assert_non_null(m);
		check_updates(m->update, m->n_update, c);
		assert_int_equal(m->more, c->more);
		assert_canonical(&m->base, c->buf, c->len);
		nri__pkg__api__v1alpha1__synchronize_response__free_unpacked(m, NULL);
	} else {
		PB(UpdateContainersRequest) *m =
			nri__pkg__api__v1alpha1__update_containers_request__unpack(NULL, c->len,
										   c->buf);
		assert_non_null(m);
		check_updates(m->update, m->n_update, c);
		check_evict(m->evict, m->n_evict, c);
		assert_canonical(&m->base, c->buf, c->len);
		nri__pkg__api__v1alpha1__update_containers_request__free_unpacked(m, NULL);
	}
}

static void run_case(enum stub_reply_kind kind, size_t n, bool extras)
{
	struct reply_case c = {.kind = kind, .n = n};

	c.adjust = extras && kind == STUB_REPLY_CREATE;
	c.evict = extras && kind != STUB_REPLY_STOP && kind != STUB_REPLY_SYNC;
	c.more = extras && kind == STUB_REPLY_SYNC;
	build(&c);
	check_kind(&c);
	free(c.buf);
	free(c.w);
}

static const enum stub_reply_kind kinds[] = {STUB_REPLY_CREATE, STUB_REPLY_UPDATE, STUB_REPLY_STOP,
					     STUB_REPLY_SYNC, STUB_REPLY_UPDATES};

static void test_reply_updates_match_protobuf_c(void **state)
{
	(void)state;
	for (int round = 0; round < 60; round++)
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			run_case(kinds[k], (size_t)(rnd() % 12), round % 2);
}

/* Hundreds of updates: the outer lengths and the response span many kilobytes. */
static void test_reply_many_updates_match_protobuf_c(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		run_case(kinds[k], 600, true);
}

/* No updates: the rest of each response alone, and an empty one packs to no bytes. */
static void test_reply_without_updates(void **state)
{
	struct reply_case c = {.kind = STUB_REPLY_STOP};

	(void)state;
	build(&c);
	assert_null(c.buf);
	assert_int_equal(c.len, 0);
	free(c.w);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		run_case(kinds[k], 0, true);
}

/*
 * The updates live in the reply's arena of 16 KiB blocks: a cpuset string longer than a
 * block (4096 CPU ids one by one, ~20 KB) gets one of its own, between updates
 * that share blocks, and every one decodes intact.
 */
static void test_reply_update_larger_than_a_chunk(void **state)
{
	struct nri_resources small = {
		.cpus = "0-3", .mems = "0", .has_shares = true, .shares = 1024};
	struct nri_resources big = {.mems = "0-1", .has_quota = true, .quota = -1};
	size_t cap = 24 * 1024, at = 0, n;
	char *cpus = malloc(cap), id[32];
	struct nri_reply *r;
	uint8_t *buf = NULL;
	size_t len = 0;
	PB(UpdateContainerResponse) * m;

	(void)state;
	assert_non_null(cpus);
	for (unsigned int c = 0; c < 4096; c++)
		at += (size_t)snprintf(cpus + at, cap - at, "%s%u", c ? "," : "", c);
	assert_true(at > 16 * 1024 && at < cap);
	big.cpus = cpus;
	assert_int_equal(stub_reply_new(STUB_REPLY_UPDATE, NULL, &r), 0);
	for (int i = 0; i < 120; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		assert_int_equal(nri_reply_update(r, id, i % 40 == 20 ? &big : &small, false), 0);
	}
	assert_int_equal(stub_reply_pack(r, false, &buf, &len), 0);
	stub_reply_free(r);
	m = nri__pkg__api__v1alpha1__update_container_response__unpack(NULL, len, buf);
	assert_non_null(m);
	n = m->n_update;
	assert_int_equal(n, 120);
	for (size_t i = 0; i < n; i++) {
		const PB(LinuxCPU) *cpu = m->update[i]->linux_->resources->cpu;

		snprintf(id, sizeof(id), "c%zu", i);
		assert_string_equal(m->update[i]->container_id, id);
		assert_string_equal(cpu->cpus, i % 40 == 20 ? cpus : "0-3");
		assert_string_equal(cpu->mems, i % 40 == 20 ? "0-1" : "0");
	}
	nri__pkg__api__v1alpha1__update_container_response__free_unpacked(m, NULL);
	free(buf);
	free(cpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_updates_match_protobuf_c),
		cmocka_unit_test(test_reply_many_updates_match_protobuf_c),
		cmocka_unit_test(test_reply_without_updates),
		cmocka_unit_test(test_reply_update_larger_than_a_chunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
