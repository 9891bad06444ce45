/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property test of the closed-loop controller (policy/control.c, control_pick.c,
 * control_pool.c): random configurations, each driven over many ticks by random
 * containers that come and go, breach and calm down, burn CPU and grow memory, on a
 * node whose memory and shared pool go in and out of pressure. The caller's side is
 * played as the daemon plays it (shields carried out, refused or never seen). Every
 * action of every tick is checked against the guarantees of docs/closed-loop.md:
 *
 *   - a latency-sensitive or Guaranteed container is never throttled, and throttling
 *     only ever acts for a latency-sensitive container that is not shielded;
 *   - a quota only goes down by THROTTLE, up by RELAX, never below the floor (the
 *     kernel's 1 ms and min_quota_percent of the request), and RESTORE gives back
 *     exactly the runtime's quota and period; control_throttle_of() agrees;
 *   - no eviction when eviction is off or its rate is 0, no latency-sensitive victim,
 *     no Guaranteed one unless allowed, no victim twice, never without the pressure
 *     or the latency breach named as the reason;
 *   - each kind of action respects its rate limit; shields only for latency-sensitive
 *     containers on the shared pool, unshields only for shielded ones;
 *   - blame before acting: a throttle only for a victim whose breach is blamed on its
 *     neighbours (or could not be checked), a shield never for one blamed on the host,
 *     steal or nobody, and never the neighbours' blame without a wait beside a
 *     container: node steal and host load alone never get a container throttled;
 *   - verify and undo: a lever judged ineffective for a victim is not used for it
 *     again until its ineffective time is over, and some levers are undone.
 *
 * TOPOGUARD_SEED: unset = the fixed default seed, "random", or a number. The seed is
 * printed first and again on failure (rerun with it). TOPOGUARD_PROPS_RUNS overrides
 * the number of configurations (default 1000, 300 under ASan), each run for 600 ticks.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "policy/control.h"

#if defined(__SANITIZE_ADDRESS__)
#define PROPS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROPS_ASAN 1
#endif
#endif
#ifndef PROPS_ASAN
#define PROPS_ASAN 0
#endif

#define DEFAULT_SEED 0xc0de1007ULL
#define TICKS	     600
#define MAX_CTR	     12
#define MAX_OUT	     32
#define MAX_TIMES    4096 /* action timestamps kept per kind, for the rate checks */
#define MS	     UINT64_C(1000000)
#define S	     UINT64_C(1000000000)
#define GIB	     (UINT64_C(1) << 30)
#define MIN_QUOTA    1000   /* µs: the kernel's minimum cfs_quota_us */
#define DEF_PERIOD   100000 /* µs: a container without a period */

/* One container as the caller sees it: fixed identity and resources, changing load. */
struct ctr {
	char id[24];
	struct control_sample s;
	bool noisy;	  /* burns CPU in phases */
	bool breaching;	  /* LS: its latency is over target in this phase */
	bool shield_next; /* a CONTROL_SHIELD was carried out: shielded from the next tick */
	bool host_only;	  /* never waits beside another container */
	bool ctr_waits;	  /* has waited beside another container */
	/* what the actions so far imposed (the model control_throttle_of() must match) */
	bool throttled, evicted;
	int64_t quota;
	uint64_t period;
};

struct times {
	uint64_t at[MAX_TIMES];
	size_t n;
};

struct world {
	struct control_config cfg;
	struct control *c;
	struct ctr ctr[MAX_CTR];
	size_t n;
	struct control_sample s[MAX_CTR];
	struct control_node node;
	bool node_given; /* this tick's step had the node (else NULL) */
	struct control_action out[MAX_OUT];
	uint64_t now, dt;
	unsigned long run, tick, next_id;
	uint64_t rng;
	struct times kinds[CONTROL_KIND_COUNT];
	unsigned long counts[CONTROL_KIND_COUNT];
	unsigned long undone, gated; /* ineffective levers undone; breaches not acted on */
};

static uint64_t g_seed;
static long g_runs;

static uint64_t rnd(struct world *w)
{
	/* xorshift64*: deterministic per seed, no libc state. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

static unsigned int rnd_below(struct world *w, unsigned int n)
{
	return n ? (unsigned int)(rnd(w) % n) : 0;
}

static bool chance(struct world *w, unsigned int percent)
{
	return rnd_below(w, 100) < percent;
}

static double rnd_unit(struct world *w)
{
	return (double)(rnd(w) >> 11) / (double)(UINT64_C(1) << 53);
}

static void __attribute__((format(printf, 3, 4)))
die(const struct world *w, const struct control_action *a, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a)
		fprintf(stderr,
			"action: %s (%s) id=%s protected=%s quota=%" PRId64 " period=%" PRIu64
			" dry_run=%d\n",
			control_kind_name(a->kind), control_reason_name(a->reason), a->id,
			a->protected_id, a->quota, a->period, a->dry_run);
	fail_msg("run %lu, tick %lu (t=%" PRIu64 " ms): %s (seed %" PRIu64
		 "; rerun with TOPOGUARD_SEED=%" PRIu64 ")",
		 w->run, w->tick, w->now / MS, msg, g_seed, g_seed);
}

/* ---- the world ----------------------------------------------------------------------- */

static uint64_t pick_u64(struct world *w, const uint64_t *v, size_t n)
{
	return v[rnd_below(w, (unsigned int)n)];
}

#define PICK(w, ...)                                   \
	pick_u64((w), (const uint64_t[]){__VA_ARGS__}, \
		 sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

/* Anything the config file allows, edges included. */
static void random_config(struct world *w, struct control_config *k)
{
	*k = (struct control_config){
		.target_us = PICK(w, 1, 500, 2000, 1000000),
		.intrusion_percent = (unsigned int)PICK(w, 0, 5, 100),
		.hysteresis_percent = (unsigned int)PICK(w, 0, 10, 50, 100),
		.step_percent = (unsigned int)PICK(w, 1, 10, 25, 100),
		.min_quota_percent = (unsigned int)PICK(w, 0, 20, 100),
		.throttle_period_us = PICK(w, 0, 0, 1000000),
		.cooldown_ns = PICK(w, 0, 200 * MS, 5 * S),
		.relax_interval_ns = PICK(w, 0, 100 * MS, 1 * S),
		.step_interval_ns = PICK(w, 0, 100 * MS, 1 * S),
		.actions_per_second = (unsigned int)PICK(w, 0, 1, 3, 20),
		.dry_run = chance(w, 20),
		.shield_enabled = chance(w, 50),
		.pool_saturation_percent = (unsigned int)PICK(w, 1, 80, 100),
		.pool_persist_ns = PICK(w, 0, 100 * MS, 2 * S),
		.unshield_percent = (unsigned int)PICK(w, 0, 50, 100),
		.evict_enabled = chance(w, 70),
		.evict_dry_run = chance(w, 30),
		.evict_guaranteed = chance(w, 30),
		.memory_watermark_percent = (unsigned int)PICK(w, 0, 80, 95),
		.memory_watermark_bytes = PICK(w, 0, 0, 6 * GIB),
		.psi_threshold_percent = (unsigned int)PICK(w, 0, 40, 100),
		.pressure_persist_ns = PICK(w, 0, 300 * MS, 3 * S),
		.evict_settle_ns = PICK(w, 0, 1 * S, 30 * S),
		.latency_evict_after_ns = PICK(w, 0, 500 * MS, 5 * S),
		/* rate 0 must mean none: make it common */
		.evictions_per_minute = (unsigned int)PICK(w, 0, 0, 1, 2, 600),
		.blame_percent = (unsigned int)PICK(w, 0, 50, 50, 80, 100),
		.blame_min_waits = PICK(w, 0, 1, 4, 20),
		.verify_intervals = (unsigned int)PICK(w, 0, 1, 3, 3, 10),
		.verify_margin_percent = (unsigned int)PICK(w, 0, 20, 50, 100),
		.ineffective_ns = PICK(w, 0, 1 * S, 30 * S),
	};
}

static void add_ctr(struct world *w)
{
	struct ctr *x = &w->ctr[w->n++];
	struct control_sample *s = &x->s;

	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "c%lu", w->next_id++);
	s->id = x->id;
	s->qos = (enum qos_class)rnd_below(w, 3);
	s->latency_sensitive = chance(w, 35);
	s->target_us = chance(w, 50) ? 0 : PICK(w, 1, 200, 5000);
	s->exclusive = s->qos == QOS_GUARANTEED && chance(w, 50);
	s->shared = !s->exclusive;
	s->period = PICK(w, 0, 100000, 50000, 1000000);
	s->request_mcpu = (int64_t)PICK(w, 0, 100, 1000, 4000);
	s->limit_mcpu = (int64_t)PICK(w, 0, 500, 2000);
	s->quota = s->limit_mcpu && s->period ? s->limit_mcpu * (int64_t)s->period / 1000
					      : (chance(w, 20) ? 250000 : -1);
	s->memory_bytes = (uint64_t)rnd_below(w, 2048) << 20;
	x->noisy = chance(w, 60);
	x->host_only = chance(w, 30);
}

static void remove_ctr(struct world *w, size_t i)
{
	w->ctr[i] = w->ctr[--w->n];
	w->ctr[i].s.id = w->ctr[i].id; /* it moved */
}

/* This tick's load of one container. */
static void load_ctr(struct world *w, struct ctr *x)
{
	struct control_sample *s = &x->s;
	uint64_t t = s->target_us ? s->target_us : w->cfg.target_us;

	s->interval_ns = w->dt;
	if (chance(w, 8))
		x->breaching = !x->breaching;
	s->has_rq = !chance(w, 5);
	s->rq_samples = chance(w, 5) ? 0 : rnd_below(w, 500);
	s->rq_p99_us = (double)t * (x->breaching ? 1.0 + 2.0 * rnd_unit(w) : rnd_unit(w));
	if (chance(w, 3))
		s->rq_p99_us = (double)t; /* right at the target */
	s->has_intrusion = s->exclusive && chance(w, 80);
	s->intrusion_ns = (uint64_t)((double)w->dt * 0.3 * rnd_unit(w));
	if (chance(w, 10))
		x->noisy = !x->noisy;
	s->cpu_cores = x->noisy ? 0.3 + 1.7 * rnd_unit(w) : 0.04 * rnd_unit(w);
	s->throttled_ns = x->throttled && x->noisy ? (uint64_t)((double)w->dt * rnd_unit(w)) : 0;
	s->preempt_inflicted = x->noisy ? rnd_below(w, 1000) : 0;
	s->has_memory = !chance(w, 5);
	if (chance(w, 30))
		s->memory_bytes += (uint64_t)rnd_below(w, 64) << 20;
	else if (chance(w, 10) && s->memory_bytes > (64u << 20))
		s->memory_bytes -= 64u << 20;
	s->shielded = x->shield_next;
	s->has_blame = !chance(w, 10);
	s->waits_containers = !x->host_only && chance(w, 60) ? rnd_below(w, 40) : 0;
	s->waits_host = chance(w, 50) ? rnd_below(w, 40) : 0;
	s->rq_wait_ns = x->noisy ? (uint64_t)((double)w->dt * rnd_unit(w)) : 0;
	x->ctr_waits = x->ctr_waits || s->waits_containers;
}

static void load_node(struct world *w)
{
	struct control_node *n = &w->node;
	double busy = 0;

	n->mem_total_bytes = chance(w, 2) ? 0 : 16 * GIB;
	if (chance(w, 50))
		n->mem_used_bytes += GIB / 8;
	else if (n->mem_used_bytes > GIB / 8)
		n->mem_used_bytes -= GIB / 8;
	if (n->mem_used_bytes > 16 * GIB)
		n->mem_used_bytes = 16 * GIB;
	n->has_psi = !chance(w, 10);
	n->psi_mem_some_avg10 = chance(w, 20) ? 100.0 * rnd_unit(w) : n->psi_mem_some_avg10;
	n->shared_cpus = chance(w, 10) ? 0 : 2 + rnd_below(w, 6);
	for (size_t i = 0; i < w->n; i++)
		if (w->ctr[i].s.shared && !w->ctr[i].s.shielded)
			busy += w->ctr[i].s.cpu_cores;
	n->shared_busy_cpus = chance(w, 10) ? -1.0 : busy + rnd_unit(w);
	n->steal_cpus = chance(w, 30) ? rnd_unit(w) : 0;
	n->host_cpus = chance(w, 30) ? 3 * rnd_unit(w) : 0;
}

/* Containers come and go, every one gets its load, the clock moves on. */
static void advance(struct world *w)
{
	w->dt = chance(w, 2) ? (uint64_t)(2 + rnd_below(w, 8)) * S
			     : (uint64_t)(80 + rnd_below(w, 41)) * MS;
	w->now += w->dt;
	if (w->n && chance(w, 3))
		remove_ctr(w, rnd_below(w, (unsigned int)w->n));
	if (w->n < MAX_CTR && (w->n < 2 || chance(w, 4)))
		add_ctr(w);
	for (size_t i = 0; i < w->n; i++) {
		load_ctr(w, &w->ctr[i]);
		w->s[i] = w->ctr[i].s;
	}
	load_node(w);
}

/* ---- the invariants -------------------------------------------------------------------- */

static struct ctr *find(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->ctr[i].id, id))
			return &w->ctr[i];
	return NULL;
}

/* Actions of one kind in the last second (minute for evictions): fixed windows of the
 * limit's length, so any window of that length holds at most two windows' worth. */
static void check_rate(struct world *w, const struct control_action *a)
{
	struct times *t = &w->kinds[a->kind];
	bool evict = a->kind == CONTROL_EVICT;
	uint64_t window = evict ? 60 * S : S;
	unsigned int limit = evict ? w->cfg.evictions_per_minute : w->cfg.actions_per_second;
	size_t in = 0;

	if (t->n == MAX_TIMES) {
		memmove(t->at, t->at + MAX_TIMES / 2, sizeof(t->at) / 2);
		t->n = MAX_TIMES / 2;
	}
	t->at[t->n++] = w->now;
	w->counts[a->kind]++;
	if (!limit)
		return;
	for (size_t i = t->n; i > 0 && w->now - t->at[i - 1] < window; i--)
		in++;
	if (in > 2 * (size_t)limit)
		die(w, a, "%zu %s actions within %" PRIu64 " s, limit %u", in,
		    control_kind_name(a->kind), window / S, limit);
}

static int64_t floor_of(const struct world *w, const struct ctr *x, uint64_t period)
{
	uint64_t unit =
		x->s.request_mcpu > 0 ? (uint64_t)x->s.request_mcpu * period / 1000 : period;
	uint64_t f = unit * w->cfg.min_quota_percent / 100;

	return (int64_t)(f > MIN_QUOTA ? f : MIN_QUOTA);
}

static void check_throttle(struct world *w, const struct control_action *a, struct ctr *x)
{
	struct ctr *p = find(w, a->protected_id);

	if (x->s.latency_sensitive)
		die(w, a, "a latency-sensitive container was throttled");
	if (x->s.qos == QOS_GUARANTEED)
		die(w, a, "a Guaranteed container was throttled");
	if (x->evicted)
		die(w, a, "an evicted container was throttled");
	if (!p || !p->s.latency_sensitive || p->s.shielded)
		die(w, a, "throttled for a container that is not latency-sensitive, or shielded");
	if (!a->period || a->quota < floor_of(w, x, a->period))
		die(w, a, "quota below the floor %" PRId64, floor_of(w, x, a->period));
	if (x->throttled && (a->quota >= x->quota || a->period != x->period))
		die(w, a, "a throttle step from %" PRId64 " that does not go down", x->quota);
	if (a->dry_run != w->cfg.dry_run)
		die(w, a, "dry_run differs from the config's");
	x->throttled = true;
	x->quota = a->quota;
	x->period = a->period;
}

static void check_relax(struct world *w, const struct control_action *a, struct ctr *x)
{
	if (!x->throttled)
		die(w, a, "relaxed or restored a container that is not throttled");
	if (a->kind == CONTROL_RELAX) {
		if (a->quota <= x->quota || a->period != x->period)
			die(w, a, "a relax step from %" PRId64 " that does not go up", x->quota);
		x->quota = a->quota;
		return;
	}
	if (a->quota != (x->s.quota > 0 ? x->s.quota : -1) ||
	    a->period != (x->s.period ? x->s.period : DEF_PERIOD))
		die(w, a, "restored to another quota than the runtime's %" PRId64 "/%" PRIu64,
		    x->s.quota, x->s.period);
	x->throttled = false;
}

/* Is the pressure an eviction names actually there? */
static bool pressure_holds(const struct world *w, enum control_reason why)
{
	const struct control_node *n = w->node_given ? &w->node : &(struct control_node){0};
	uint64_t sum = 0;

	if (why == CONTROL_R_MEMORY_PSI)
		return w->cfg.psi_threshold_percent && n->has_psi &&
		       n->psi_mem_some_avg10 >= (double)w->cfg.psi_threshold_percent;
	if (w->cfg.memory_watermark_percent && n->mem_total_bytes &&
	    n->mem_used_bytes * 100 >= n->mem_total_bytes * w->cfg.memory_watermark_percent)
		return true;
	for (size_t i = 0; i < w->n; i++)
		sum += w->s[i].has_memory ? w->s[i].memory_bytes : 0;
	return w->cfg.memory_watermark_bytes && sum >= w->cfg.memory_watermark_bytes;
}

static void check_evict(struct world *w, const struct control_action *a, struct ctr *x)
{
	const struct ctr *p = a->protected_id[0] ? find(w, a->protected_id) : NULL;

	if (!w->cfg.evict_enabled || !w->cfg.evictions_per_minute)
		die(w, a, "an eviction while eviction is off or limited to 0 per minute");
	if (x->s.latency_sensitive)
		die(w, a, "a latency-sensitive container was evicted");
	if (x->s.qos == QOS_GUARANTEED && !w->cfg.evict_guaranteed)
		die(w, a, "a Guaranteed container was evicted");
	if (x->evicted)
		die(w, a, "the same container evicted twice");
	if (a->dry_run != w->cfg.evict_dry_run)
		die(w, a, "dry_run differs from eviction.dry_run");
	if (a->reason == CONTROL_R_LATENCY_PERSISTS) {
		if (!w->cfg.latency_evict_after_ns || !p || !p->s.latency_sensitive)
			die(w, a, "evicted for a latency breach without one");
	} else if (a->reason != CONTROL_R_MEMORY_WATERMARK && a->reason != CONTROL_R_MEMORY_PSI) {
		die(w, a, "an eviction for no memory or latency reason");
	} else if (!pressure_holds(w, a->reason)) {
		die(w, a, "evicted for memory pressure that is not there");
	}
	x->evicted = true;
}

static void check_shield(struct world *w, const struct control_action *a, struct ctr *x)
{
	if (a->kind == CONTROL_UNSHIELD) {
		if (!x->s.shielded)
			die(w, a, "unshielded a container without a shield");
		x->shield_next = false;
		return;
	}
	if (!w->cfg.shield_enabled || !x->s.latency_sensitive || !x->s.shared || x->s.shielded)
		die(w, a, "a shield for a container that cannot have one");
	if (a->dry_run != w->cfg.dry_run)
		die(w, a, "dry_run differs from the config's");
	if (a->dry_run)
		return;
	/* the caller: usually carries it out, may refuse it, may never show it */
	if (chance(w, 70))
		x->shield_next = true;
	else if (chance(w, 50))
		control_shield_refused(w->c, x->id, w->now);
}

static void check_action(struct world *w, const struct control_action *a)
{
	struct ctr *x = find(w, a->id);

	if ((unsigned int)a->kind >= CONTROL_KIND_COUNT ||
	    (unsigned int)a->reason >= CONTROL_REASON_COUNT)
		die(w, a, "kind or reason out of range");
	if (!x)
		die(w, a, "an action for a container that is not in the samples");
	if (a->since_ns > w->now)
		die(w, a, "since_ns %" PRIu64 " is in the future", a->since_ns);
	check_rate(w, a);
	switch (a->kind) {
	case CONTROL_THROTTLE:
		check_throttle(w, a, x);
		break;
	case CONTROL_RELAX:
	case CONTROL_RESTORE:
		check_relax(w, a, x);
		break;
	case CONTROL_EVICT:
		check_evict(w, a, x);
		break;
	case CONTROL_SHIELD:
	case CONTROL_UNSHIELD:
		check_shield(w, a, x);
		break;
	case CONTROL_KIND_COUNT:
		break;
	}
}

/* A lever for a victim: blamed on its neighbours, and not judged ineffective. */
static void check_blame(struct world *w, const struct control_action *a)
{
	const struct ctr *p = find(w, a->protected_id);
	enum control_blame b;
	struct control_explain x;

	if (a->kind != CONTROL_THROTTLE && a->kind != CONTROL_SHIELD)
		return;
	if (!p || control_explain_of(w->c, p->id, &x) != 1)
		die(w, a, "a lever for a container the controller does not know");
	b = x.blame;
	if (a->kind == CONTROL_THROTTLE && b != CONTROL_BLAME_NEIGHBOURS &&
	    b != CONTROL_BLAME_UNCHECKED)
		die(w, a, "throttled for a breach blamed on %s", control_blame_name(b));
	if (b == CONTROL_BLAME_HOST || b == CONTROL_BLAME_STEAL || b == CONTROL_BLAME_UNKNOWN)
		die(w, a, "shielded for a breach blamed on %s", control_blame_name(b));
	if (a->kind == CONTROL_THROTTLE && x.throttle_ineffective_until > w->now)
		die(w, a, "throttled for a victim it was judged ineffective for");
	if (a->kind == CONTROL_SHIELD && !a->dry_run && x.shield_ineffective_until > w->now)
		die(w, a, "shielded a victim a shield was judged ineffective for");
}

/* No container is ever blamed without a wait beside one. */
static void check_blames(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct ctr *x = &w->ctr[i];
		struct control_explain e;

		if (control_explain_of(w->c, x->id, &e) != 1)
			die(w, NULL, "%s: unknown to control_explain_of()", x->id);
		if (e.blame == CONTROL_BLAME_NEIGHBOURS && !x->ctr_waits)
			die(w, NULL, "%s: blamed on neighbours it never waited beside", x->id);
		w->gated += e.blame >= CONTROL_BLAME_HOST;
	}
}

/* After the tick: the controller's view of every throttle is the actions' sum. */
static void check_state(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct ctr *x = &w->ctr[i];
		int64_t quota = 0;
		uint64_t period = 0;
		int t = control_throttle_of(w->c, x->id, &quota, &period);

		if (x->s.latency_sensitive && t)
			die(w, NULL, "%s: a latency-sensitive container is throttled", x->id);
		if (t != x->throttled || (t && (quota != x->quota || period != x->period)))
			die(w, NULL,
			    "%s: control_throttle_of says %d (%" PRId64 "/%" PRIu64
			    "), the actions %d (%" PRId64 "/%" PRIu64 ")",
			    x->id, t, quota, period, x->throttled, x->quota, x->period);
	}
}

static void tick(struct world *w)
{
	size_t max = chance(w, 10) ? 1 + rnd_below(w, 3) : MAX_OUT;
	int n;

	advance(w);
	w->node_given = !chance(w, 3);
	n = control_step(w->c, w->s, w->n, w->node_given ? &w->node : NULL, w->now, w->out, max);
	if (n < 0 || (size_t)n > max)
		die(w, NULL, "control_step returned %d (max %zu)", n, max);
	for (int i = 0; i < n; i++) {
		check_action(w, &w->out[i]);
		check_blame(w, &w->out[i]);
		w->undone += w->out[i].reason == CONTROL_R_INEFFECTIVE;
	}
	check_state(w);
	check_blames(w);
}

static void run_one(struct world *w)
{
	control_free(w->c);
	w->c = NULL;
	random_config(w, &w->cfg);
	assert_int_equal(control_new(&w->cfg, &w->c), 0);
	w->n = 0;
	memset(w->kinds, 0, sizeof(w->kinds));
	w->node = (struct control_node){.mem_used_bytes = 12 * GIB};
	w->now = 1 * S;
	for (w->tick = 0; w->tick < TICKS; w->tick++)
		tick(w);
}

static void test_control_props_random_ticks(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	(void)state;
	assert_non_null(w);
	w->rng = g_seed ? g_seed : 1;
	for (w->run = 0; w->run < (unsigned long)g_runs; w->run++)
		run_one(w);
	printf("control properties: %ld configs x %d ticks: %lu throttle, %lu relax, "
	       "%lu restore, %lu evict, %lu shield, %lu unshield\n",
	       g_runs, TICKS, w->counts[CONTROL_THROTTLE], w->counts[CONTROL_RELAX],
	       w->counts[CONTROL_RESTORE], w->counts[CONTROL_EVICT], w->counts[CONTROL_SHIELD],
	       w->counts[CONTROL_UNSHIELD]);
	printf("control properties: %lu levers undone, %lu breached ticks not acted on\n",
	       w->undone, w->gated);
	if (g_runs >= 50 && (!w->undone || !w->gated))
		fail_msg("no lever undone or no breach gated by blame (seed %" PRIu64 ")", g_seed);
	/* a property test that never acts proves nothing (a few configs may not act) */
	for (int k = 0; g_runs >= 50 && k < CONTROL_KIND_COUNT; k++)
		if (!w->counts[k])
			fail_msg("no %s action in the whole run (seed %" PRIu64 ")",
				 control_kind_name((enum control_kind)k), g_seed);
	control_free(w->c);
	free(w);
}

static uint64_t pick_seed(void)
{
	const char *e = getenv("TOPOGUARD_SEED");
	struct timespec ts;

	if (!e || !e[0])
		return DEFAULT_SEED;
	if (strcmp(e, "random") == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec;
	}
	return strtoull(e, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_props_random_ticks),
	};
	const char *runs = getenv("TOPOGUARD_PROPS_RUNS");

	g_seed = pick_seed();
	g_runs = runs && runs[0] ? strtol(runs, NULL, 10) : PROPS_ASAN ? 300 : 1000;
	if (g_runs <= 0)
		g_runs = 1;
	printf("control properties: seed %" PRIu64 " (TOPOGUARD_SEED), %ld configs%s\n", g_seed,
	       g_runs, PROPS_ASAN ? " (ASan build: scaled down from 1000)" : "");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
