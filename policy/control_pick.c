/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who pays, and how much: victim order, throttle/relax step sizes, and the
 * eviction triggers of the closed-loop controller (policy/control.c).
 *
 * Victims are ordered by measured harm first — preemptions inflicted for a
 * latency breach, memory growth since the pressure began for memory — and only
 * then by priority (BestEffort before Burstable; Guaranteed only when configured
 * for eviction, never for throttling), so a well-behaved Burstable pod does not
 * pay for a misbehaving one just because of its class.
 */
#include <string.h>

#include "policy/control_priv.h"

typedef int (*ctl_cmp_fn)(const struct ctl_entry *a, const struct ctl_entry *b);

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b;
}

static int cmp_cpu_harm(const struct ctl_entry *a, const struct ctl_entry *b)
{
	const struct control_sample *x = a->s, *y = b->s;
	int r = cmp_u64_desc(x->preempt_inflicted, y->preempt_inflicted);

	if (!r)
		r = (int)x->qos - (int)y->qos;
	if (!r)
		r = x->cpu_cores > y->cpu_cores ? -1 : x->cpu_cores < y->cpu_cores;
	return r;
}

static uint64_t mem_growth(const struct ctl_entry *e)
{
	uint64_t base = e->has_mem_base ? e->mem_base : 0;

	return e->s->memory_bytes > base ? e->s->memory_bytes - base : 0;
}

static int cmp_mem_harm(const struct ctl_entry *a, const struct ctl_entry *b)
{
	int r = cmp_u64_desc(mem_growth(a), mem_growth(b));

	if (!r)
		r = (int)a->s->qos - (int)b->s->qos;
	if (!r)
		r = cmp_u64_desc(a->s->memory_bytes, b->s->memory_bytes);
	return r;
}

static bool throttle_eligible(const struct ctl_entry *e)
{
	return !e->s->latency_sensitive && e->s->qos != QOS_GUARANTEED && !e->evicted;
}

static bool evict_eligible(const struct control *c, const struct ctl_entry *e)
{
	return !e->s->latency_sensitive && !e->evicted &&
	       (e->s->qos != QOS_GUARANTEED || c->cfg.evict_guaranteed);
}

/* Indices of the entries accepted by ok, ordered by cmp (insertion sort: n is small). */
static size_t order(struct control *c, bool (*ok)(const struct control *, const struct ctl_entry *),
		    ctl_cmp_fn cmp)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++) {
		size_t j = n++;

		if (!ok(c, &c->e[i])) {
			n--;
			continue;
		}
		while (j > 0 && cmp(&c->e[i], &c->e[c->order[j - 1]]) < 0) {
			c->order[j] = c->order[j - 1];
			j--;
		}
		c->order[j] = i;
	}
	return n;
}

static bool ok_throttle(const struct control *c, const struct ctl_entry *e)
{
	(void)c;
	return throttle_eligible(e);
}

static bool ok_evict_mem(const struct control *c, const struct ctl_entry *e)
{
	return evict_eligible(c, e) && e->s->has_memory;
}

/*
 * A longer period makes the same share come in rarer bursts: with 1 ms of quota
 * per 1 s a burner delays at most one in a thousand of a neighbour's wakeups,
 * which a 100 ms period (at most 1 in 100) cannot do for a p99 target.
 */
static uint64_t period_of(const struct control *c, const struct ctl_entry *e)
{
	uint64_t p = e->s->period ? e->s->period : CTL_DEF_PERIOD;

	if (e->throttled)
		return e->period;
	return c->cfg.throttle_period_us > p ? c->cfg.throttle_period_us : p;
}

static int64_t step_of(const struct control *c, const struct ctl_entry *e)
{
	uint64_t p = period_of(c, e);
	uint64_t unit = e->s->limit_mcpu > 0 ? (uint64_t)e->s->limit_mcpu * p / 1000 : p;
	uint64_t step = unit * c->cfg.step_percent / 100;

	return (int64_t)(step > CTL_MIN_QUOTA ? step : CTL_MIN_QUOTA);
}

static int64_t floor_of(const struct control *c, const struct ctl_entry *e)
{
	uint64_t p = period_of(c, e);
	uint64_t unit = e->s->request_mcpu > 0 ? (uint64_t)e->s->request_mcpu * p / 1000 : p;
	uint64_t f = unit * c->cfg.min_quota_percent / 100;

	return (int64_t)(f > CTL_MIN_QUOTA ? f : CTL_MIN_QUOTA);
}

/* Where throttling starts: the runtime's quota, or less when the container uses less. */
static int64_t start_of(const struct control *c, const struct ctl_entry *e)
{
	int64_t used = (int64_t)(e->s->cpu_cores * (double)period_of(c, e) + 0.5);
	int64_t f = floor_of(c, e);

	if (used < f)
		used = f;
	return e->s->quota > 0 && e->s->quota < used ? e->s->quota : used;
}

/* The next lower quota, or 0 when e is at its floor. */
static int64_t next_down(const struct control *c, const struct ctl_entry *e)
{
	int64_t cur = e->throttled ? e->quota : start_of(c, e);
	int64_t next = cur - step_of(c, e), f = floor_of(c, e);

	if (next < f)
		next = f;
	return next < cur ? next : 0;
}

static bool throttle_one(struct control *c, struct ctl_entry *e, struct ctl_entry *prot,
			 uint64_t now, struct ctl_out *o)
{
	int64_t next = next_down(c, e);
	struct control_action *a;

	if (!next)
		return false;
	if (!ctl_rate_allow(c, CONTROL_THROTTLE, now))
		return true;
	a = ctl_emit(o, CONTROL_THROTTLE, prot->breach_reason, e, prot, prot->breach_since);
	if (!a)
		return true;
	if (e->relaxed && e->relax_backoff < CTL_BACKOFF_MAX)
		e->relax_backoff++; /* relaxing it brought the breach back: be slower next time */
	e->relaxed = false;
	e->quiet_since = 0;
	if (!e->throttled) {
		e->start = start_of(c, e);
		e->orig_quota = e->s->quota > 0 ? e->s->quota : -1;
		e->orig_period = e->s->period ? e->s->period : CTL_DEF_PERIOD;
		e->period = period_of(c, e);
		e->throttled = true;
	}
	e->quota = next;
	e->last_step = now;
	strcpy(e->prot_id, prot->id);
	a->quota = next;
	a->period = e->period;
	a->dry_run = c->cfg.dry_run;
	ctl_rate_take(c, CONTROL_THROTTLE);
	return true;
}

static void evict_one(struct control *c, struct ctl_entry *v, enum control_reason why,
		      const struct ctl_entry *prot, uint64_t since, uint64_t now, struct ctl_out *o)
{
	struct control_action *a;

	if (!ctl_rate_allow(c, CONTROL_EVICT, now))
		return;
	a = ctl_emit(o, CONTROL_EVICT, why, v, prot, since);
	if (!a)
		return;
	a->dry_run = c->cfg.evict_dry_run;
	v->evicted = true;
	c->last_evict = now;
	ctl_rate_take(c, CONTROL_EVICT);
}

void ctl_throttle(struct control *c, struct ctl_entry *prot, uint64_t now, struct ctl_out *o)
{
	size_t n = order(c, ok_throttle, cmp_cpu_harm);
	bool more = false; /* some victim can still go lower */

	for (size_t i = 0; i < n; i++) {
		struct ctl_entry *e = &c->e[c->order[i]];

		/* lowering the quota of a container that does not use it gains nothing */
		if (!ctl_uses_cpu(e->s))
			continue;
		if (e->throttled && now - e->last_step < c->cfg.step_interval_ns) {
			more = more || next_down(c, e);
			continue;
		}
		more = throttle_one(c, e, prot, now, o) || more;
	}
	if (more || !c->cfg.evict_enabled || !c->cfg.latency_evict_after_ns || !n ||
	    now - prot->breach_since < c->cfg.latency_evict_after_ns)
		return;
	for (size_t i = 0; i < n; i++) {
		struct ctl_entry *v = &c->e[c->order[i]];

		if (evict_eligible(c, v)) {
			evict_one(c, v, CONTROL_R_LATENCY_PERSISTS, prot, prot->breach_since, now,
				  o);
			if (v->evicted)
				prot->breach_since = now; /* give the eviction time to help */
			return;
		}
	}
}

static void relax_one(struct control *c, struct ctl_entry *e, enum control_reason why, bool force,
		      uint64_t now, struct ctl_out *o)
{
	int64_t next = e->quota + step_of(c, e);
	/* the runtime's quota, scaled to the period used while throttled */
	int64_t top = e->orig_quota > 0
			      ? (int64_t)((uint64_t)e->orig_quota * e->period / e->orig_period)
			      : e->start;
	bool restore = force || next >= top;
	enum control_kind k = restore ? CONTROL_RESTORE : CONTROL_RELAX;
	struct control_action *a;

	if (!ctl_rate_allow(c, k, now))
		return;
	a = ctl_emit(o, k, why, e, NULL, c->calm_since);
	if (!a)
		return;
	a->quota = restore ? e->orig_quota : next;
	a->period = restore ? e->orig_period : e->period;
	a->dry_run = c->cfg.dry_run;
	e->quota = a->quota;
	e->throttled = !restore;
	e->relaxed = true;
	e->last_step = now;
	ctl_rate_take(c, k);
}

/*
 * Not pressing against its quota any more: whatever it was doing has stopped. A
 * busy container can show neither CPU nor throttled time for several periods:
 * v1 accounts throttled time when it is unthrottled, and with a 1 ms quota a
 * task overruns by up to a scheduler tick (4 ms at HZ=250), a debt repaid over
 * the next periods (seen here: 4 ms, then nothing for 2.7 s at 1 ms per 1 s).
 * So it must stay quiet for CTL_QUIET_PERIODS periods, doubled each time a
 * restore of it brought a breach back.
 */
static bool quiet(struct ctl_entry *e, uint64_t now)
{
	const struct control_sample *s = e->s;
	bool q = !s->throttled_ns && s->cpu_cores * (double)e->period < 0.5 * (double)e->quota;

	if (!q) {
		e->quiet_since = 0;
		return false;
	}
	if (!e->quiet_since)
		e->quiet_since = now;
	return now - e->quiet_since >=
	       ((CTL_QUIET_PERIODS * e->period * 1000) << e->relax_backoff) + s->interval_ns;
}

void ctl_relax(struct control *c, bool no_ls, uint64_t now, struct ctl_out *o)
{
	uint64_t calm = now - c->calm_since;

	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		if (!e->throttled)
			continue;
		/* nobody left to protect: straight back */
		if (no_ls)
			relax_one(c, e, CONTROL_R_GONE, true, now, o);
		else if (calm >= c->cfg.cooldown_ns << e->relax_backoff &&
			 now - e->last_step >= c->cfg.relax_interval_ns)
			relax_one(c, e, CONTROL_R_CALM, false, now, o);
	}
}

void ctl_restore_quiet(struct control *c, uint64_t now, struct ctl_out *o)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		/* whatever it did has stopped: holding it back protects nobody, and
		 * the latency signal may stay noisy for reasons it does not cause */
		if (e->throttled && quiet(e, now))
			relax_one(c, e, CONTROL_R_QUIET, true, now, o);
	}
}

void ctl_restore_for(struct control *c, const struct ctl_entry *prot, enum control_reason why,
		     uint64_t now, struct ctl_out *o)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		/* its neighbours moved off, or holding them back did not help it */
		if (e->throttled && !strcmp(e->prot_id, prot->id))
			relax_one(c, e, why, true, now, o);
	}
}

/* Which pressure signal is over its threshold, or CONTROL_REASON_COUNT for none. */
static enum control_reason pressure_of(const struct control *c, const struct control_node *node)
{
	const struct control_config *k = &c->cfg;
	uint64_t sum = 0;

	if (node && k->memory_watermark_percent && node->mem_total_bytes &&
	    node->mem_used_bytes * 100 >= node->mem_total_bytes * k->memory_watermark_percent)
		return CONTROL_R_MEMORY_WATERMARK;
	if (node && k->psi_threshold_percent && node->has_psi &&
	    node->psi_mem_some_avg10 >= (double)k->psi_threshold_percent)
		return CONTROL_R_MEMORY_PSI;
	for (size_t i = 0; k->memory_watermark_bytes && i < c->n; i++)
		if (c->e[i].s->has_memory)
			sum += c->e[i].s->memory_bytes;
	if (k->memory_watermark_bytes && sum >= k->memory_watermark_bytes)
		return CONTROL_R_MEMORY_WATERMARK;
	return CONTROL_REASON_COUNT;
}

static bool evicted_present(const struct control *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].evicted)
			return true;
	return false;
}

static void pressure_begins(struct control *c, uint64_t now)
{
	uint64_t iv = c->interval_ns; /* this step's, from ctl_pool_eval() */

	c->pressured = true;
	/* crossed somewhere in the interval just measured (see eval_latency()) */
	c->pressure_since = now - (iv < now ? iv : now);
	c->pressure_armed = now;
	for (size_t i = 0; i < c->n; i++) {
		c->e[i].mem_base = c->e[i].s->memory_bytes;
		c->e[i].has_mem_base = c->e[i].s->has_memory;
	}
}

void ctl_memory(struct control *c, const struct control_node *node, uint64_t now, struct ctl_out *o)
{
	enum control_reason why = pressure_of(c, node);
	struct ctl_entry *v;

	if (why == CONTROL_REASON_COUNT) {
		c->pressured = false;
		return;
	}
	if (!c->pressured)
		pressure_begins(c, now);
	if (!c->cfg.evict_enabled || now - c->pressure_armed < c->cfg.pressure_persist_ns)
		return;
	if (evicted_present(c) && now - c->last_evict < c->cfg.evict_settle_ns)
		return; /* the last victim is still going away */
	if (!order(c, ok_evict_mem, cmp_mem_harm))
		return;
	v = &c->e[c->order[0]];
	evict_one(c, v, why, NULL, c->pressure_since, now, o);
	if (!v->evicted)
		return;
	/* the next victim only if the pressure persists again after this one */
	c->pressure_since = now;
	c->pressure_armed = now;
}
