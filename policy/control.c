/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed-loop controller. One control_step() per sampling tick:
 *   1. match samples to per-container state (new ones added, missing ones dropped);
 *   2. per latency-sensitive container, a two-threshold breach state (over
 *      target * (1 + h) starts a breach, under target * (1 - h) ends it), so a
 *      signal hovering at the target does not flap;
 *   3. while any breach lasts, throttle the noisy containers one step per
 *      step_interval, most harmful first; once everything is calm for the
 *      cool-down, relax one step per relax_interval until the runtime's quota is
 *      back;
 *   4. an LS container breached on a shared pool that stays saturated gets a
 *      shield instead (its neighbours move off its CPUs, nobody is throttled),
 *      given back once it is calm and the pool has room again;
 *   5. a breach acts only when blamed on neighbours, and each lever is verified
 *      and undone if it did not help (control_verify.c);
 *   6. memory pressure that persists, or a breach that persists with every victim
 *      at its floor, evicts one container per rate-limit slot.
 * Victim choice and step sizes are in control_pick.c, shields in control_pool.c.
 */
#include "policy/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/control_priv.h"

int control_new(const struct control_config *cfg, struct control **ret)
{
	struct control *c;

	if (!cfg || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	*ret = c;
	return 0;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->order);
	free(c);
}

void control_set_config(struct control *c, const struct control_config *cfg)
{
	c->cfg = *cfg;
}

static struct ctl_entry *find(struct control *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].id, id))
			return &c->e[i];
	return NULL;
}

static int validate(const struct control_sample *s, size_t n)
{
	if (n && !s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!s[i].id || !*s[i].id || strlen(s[i].id) >= CONTROL_ID_MAX)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s[i].id, s[j].id))
				return -EINVAL;
	}
	return 0;
}

/* Room for every entry that can exist during this step (old + new). */
static int reserve(struct control *c, size_t n)
{
	size_t want = c->n + n;
	struct ctl_entry *e;
	size_t *o;

	if (want <= c->cap)
		return 0;
	e = realloc(c->e, want * sizeof(*e));
	if (!e)
		return -ENOMEM;
	c->e = e;
	o = realloc(c->order, want * sizeof(*o));
	if (!o)
		return -ENOMEM;
	c->order = o;
	c->cap = want;
	return 0;
}

static bool in_samples(const char *id, const struct control_sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s[i].id, id))
			return true;
	return false;
}

static void sync_entries(struct control *c, const struct control_sample *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++)
		if (in_samples(c->e[i].id, s, n))
			c->e[k++] = c->e[i];
	c->n = k;
	for (size_t i = 0; i < n; i++) {
		struct ctl_entry *e = find(c, s[i].id);

		if (!e) {
			e = &c->e[c->n++];
			memset(e, 0, sizeof(*e));
			strcpy(e->id, s[i].id);
			/* appeared during pressure: all it holds counts as growth */
			e->mem_base = 0;
			e->has_mem_base = c->pressured;
		}
		e->s = &s[i];
	}
}

/* Update one LS container's breach state; true while it is breached. */
static bool eval_latency(struct control *c, struct ctl_entry *e, uint64_t now)
{
	const struct control_sample *s = e->s;
	uint64_t h = c->cfg.hysteresis_percent, t = s->target_us ? s->target_us : c->cfg.target_us;
	bool over = false, under = true;
	enum control_reason why = CONTROL_R_LATENCY;

	if (s->has_rq && s->rq_samples > 0 && t) {
		over = s->rq_p99_us * 100.0 > (double)(t * (100 + h));
		under = s->rq_p99_us * 100.0 < (double)t * (double)(h < 100 ? 100 - h : 0);
	}
	if (c->cfg.intrusion_percent && s->exclusive && s->has_intrusion && s->interval_ns) {
		double pct = (double)s->intrusion_ns * 100.0 / (double)s->interval_ns;
		double ip = c->cfg.intrusion_percent;

		if (!over && pct * 100.0 > ip * (double)(100 + h))
			why = CONTROL_R_INTRUSION;
		over = over || pct * 100.0 > ip * (double)(100 + h);
		under = under && pct * 100.0 < ip * (double)(h < 100 ? 100 - h : 0);
	}
	if (!e->breached && over) {
		e->breached = true;
		/* it began somewhere in the interval just measured: count from its start,
		 * so reaction times include the sampling delay */
		e->breach_since = now - (s->interval_ns < now ? s->interval_ns : now);
		e->breach_seen = now;
		e->breach_reason = why;
	} else if (e->breached && under) {
		e->breached = false;
		e->shield_recommended = false;
	}
	return e->breached;
}

/* The breached LS container breached first among those whose breach is blamed on
 * neighbours, or NULL; counts LS containers. */
static struct ctl_entry *eval_all_latency(struct control *c, const struct control_node *node,
					  uint64_t now, size_t *ret_ls)
{
	struct ctl_entry *worst = NULL;

	*ret_ls = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		if (!e->s->latency_sensitive) {
			e->breached = false;
			continue;
		}
		(*ret_ls)++;
		eval_latency(c, e, now);
		ctl_blame_update(c, e, node, now);
		if (ctl_acts_for(e) && (!worst || e->breach_since < worst->breach_since))
			worst = e;
	}
	return worst;
}

bool ctl_rate_allow(struct control *c, enum control_kind k, uint64_t now)
{
	struct ctl_rate *r = &c->rate[k];
	uint64_t window = k == CONTROL_EVICT ? 60 * CTL_NS_PER_S : CTL_NS_PER_S;
	unsigned int limit =
		k == CONTROL_EVICT ? c->cfg.evictions_per_minute : c->cfg.actions_per_second;

	if (k == CONTROL_EVICT && limit == 0)
		return false;
	if (limit == 0)
		return true;
	if (!r->used || now - r->start >= window) {
		r->start = now;
		r->count = 0;
		r->used = true;
	}
	return r->count < limit;
}

void ctl_rate_take(struct control *c, enum control_kind k)
{
	c->rate[k].count++;
}

struct control_action *ctl_emit(struct ctl_out *o, enum control_kind k, enum control_reason why,
				const struct ctl_entry *e, const struct ctl_entry *prot,
				uint64_t since)
{
	struct control_action *a;

	if (o->n >= o->max)
		return NULL;
	a = &o->out[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->reason = why;
	strcpy(a->id, e->id);
	if (prot)
		strcpy(a->protected_id, prot->id);
	a->since_ns = since;
	return a;
}

int control_step(struct control *c, const struct control_sample *s, size_t n,
		 const struct control_node *node, uint64_t now, struct control_action *out,
		 size_t max)
{
	struct ctl_out o = {.out = out, .max = out ? max : 0};
	struct ctl_entry *prot;
	size_t n_ls;
	int r;

	if (!c)
		return -EINVAL;
	r = validate(s, n);
	if (r < 0)
		return r;
	r = reserve(c, n);
	if (r < 0)
		return r;
	sync_entries(c, s, n);
	prot = eval_all_latency(c, node, now, &n_ls);
	ctl_pool_eval(c, node, now);
	ctl_verify(c, now, &o);
	ctl_restore_quiet(c, now, &o);
	ctl_unshield(c, now, &o);
	if (prot) {
		c->calm_since = 0;
		c->calm = false;
		prot = ctl_shield(c, now, &o);
		if (prot && !ctl_ineffective(prot, CONTROL_THROTTLE, now))
			ctl_throttle(c, prot, now, &o);
	} else {
		ctl_shield(c, now, &o); /* throttles that a shield can replace */
		if (!c->calm)
			c->calm_since = now;
		c->calm = true;
		ctl_relax(c, n_ls == 0, now, &o);
	}
	ctl_memory(c, node, now, &o);
	ctl_verify_start(c, 0, now, &o);
	for (size_t i = 0; i < c->n; i++)
		c->e[i].s = NULL;
	return (int)o.n;
}

int control_throttle_of(const struct control *c, const char *id, int64_t *ret_quota,
			uint64_t *ret_period)
{
	for (size_t i = 0; c && id && i < c->n; i++) {
		if (strcmp(c->e[i].id, id) || !c->e[i].throttled)
			continue;
		if (ret_quota)
			*ret_quota = c->e[i].quota;
		if (ret_period)
			*ret_period = c->e[i].period;
		return 1;
	}
	return 0;
}

const char *control_kind_name(enum control_kind k)
{
	static const char *const names[] = {"throttle", "relax",  "restore",
					    "evict",	"shield", "unshield"};

	return (unsigned int)k < CONTROL_KIND_COUNT ? names[k] : "unknown";
}

const char *control_reason_name(enum control_reason r)
{
	static const char *const names[] = {
		"latency",	  "intrusion",	      "calm",	    "protected-gone",
		"quiet",	  "memory-watermark", "memory-psi", "latency-persists",
		"pool-saturated", "shielded",	      "ineffective"};

	return (unsigned int)r < CONTROL_REASON_COUNT ? names[r] : "unknown";
}
