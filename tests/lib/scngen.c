/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/lib/scngen.h"

enum kind { K_GINT, K_GFRAC, K_BURST, K_BE };
enum cstate { C_NONE, C_CREATED, C_RUNNING, C_STOPPED };

struct slot {
	enum kind kind;
	enum cstate st;
	int id;
};

#define SLOTS 24

struct gen {
	char *buf;
	size_t len, cap;
	bool oom;
	uint64_t rng;
	struct slot s[SLOTS];
	int next_id, ops;
};

static uint32_t gen_rand(struct gen *g, uint32_t n)
{
	g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(g->rng >> 33) % n;
}

static void gen_line(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void gen_line(struct gen *g, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (g->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < g->cap - g->len)
			break;
		char *grown = realloc(g->buf, g->cap * 2 + 4096);
		if (n < 0 || !grown) {
			g->oom = true;
			return;
		}
		g->buf = grown;
		g->cap = g->cap * 2 + 4096;
	}
	g->len += (size_t)n;
}

static void gen_create(struct gen *g, struct slot *s)
{
	static const char *const qos[] = {"guaranteed", "guaranteed", "burstable", "besteffort"};
	int id = g->next_id++, cpus = 1 + (int)gen_rand(g, 3);

	*s = (struct slot){.kind = (enum kind)gen_rand(g, 4), .st = C_CREATED, .id = id};
	gen_line(g, "pod p%d default/app%d qos=%s\n", id, id, qos[s->kind]);
	if (s->kind == K_GINT)
		gen_line(g, "create c%d pod=p%d cpu-request=%d cpu-limit=%d " SCNGEN_EXCL_ARGS "\n",
			 id, id, cpus * 1000, cpus * 1000);
	else if (s->kind == K_GFRAC)
		gen_line(g,
			 "create c%d pod=p%d cpu-request=1500 cpu-limit=1500 "
			 "mem-limit=1073741824\n",
			 id, id);
	else if (s->kind == K_BURST)
		gen_line(g, "create c%d pod=p%d cpu-request=250 cpu-limit=2000\n", id, id);
	else
		gen_line(g, "create c%d pod=p%d\n", id, id);
}

/* An in-place resize: the kubelet sends the whole request and limit. */
static void gen_update(struct gen *g, struct slot *s)
{
	int n = 1 + (int)gen_rand(g, 4);

	if (s->kind == K_GINT)
		gen_line(g, "update c%d cpu-request=%d cpu-limit=%d\n", s->id, n * 1000, n * 1000);
	else if (s->kind == K_GFRAC)
		gen_line(g, "update c%d cpu-request=%d cpu-limit=%d\n", s->id, 500 * n + 250,
			 500 * n + 250);
	else if (s->kind == K_BURST)
		gen_line(g, "update c%d cpu-request=%d cpu-limit=%d\n", s->id, 100 * n, 1000 * n);
	else
		gen_line(g, "update c%d cpu-request=%d\n", s->id, 2 * n);
}

/* One random operation on a random slot: the next step of that container's life. */
static void gen_op(struct gen *g)
{
	struct slot *s = &g->s[gen_rand(g, SLOTS)];

	switch (s->st) {
	case C_NONE:
		gen_create(g, s);
		break;
	case C_CREATED:
		gen_line(g, "start c%d\n", s->id);
		s->st = C_RUNNING;
		break;
	case C_RUNNING:
		if (gen_rand(g, 3) == 0) {
			gen_line(g, "stop c%d\n", s->id);
			s->st = C_STOPPED;
		} else {
			gen_update(g, s);
		}
		break;
	case C_STOPPED:
		gen_line(g, "remove-pod p%d\n", s->id);
		s->st = C_NONE;
		break;
	}
	g->ops++;
}

char *scngen_build(const struct scngen_opts *o)
{
	struct gen g = {.rng = o->seed};
	char opening[1024];

	gen_line(&g, "%s", o->head ? o->head : "");
	for (int p = 0; p < o->phases; p++) {
		if (p > 0 && o->phase_line) {
			opening[0] = '\0';
			o->phase_line(p, opening, sizeof(opening), o->ud);
			gen_line(&g, "%s", opening);
		}
		while (g.ops < o->ops * (p + 1) / o->phases) {
			gen_op(&g);
			if (o->pause_every > 0 && g.ops % o->pause_every == 0)
				gen_line(&g, "sleep %d\n", o->pause_ms);
		}
	}
	gen_line(&g, "%s", o->tail ? o->tail : "");
	if (g.oom) {
		free(g.buf);
		return NULL;
	}
	return g.buf;
}
