/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blame before acting, verify after (docs/closed-loop.md "Blame before acting" and
 * "Verify and undo").
 *
 * Blame. A breach alone does not say who caused it: on a cloud VM the time a vCPU
 * did not run (steal) counts as run-queue wait, and processes outside containers
 * (system daemons, kubelet, the runtime) delay a container as much as a neighbour
 * does. Throttling or moving containers helps only in the last case. The evidence
 * is the victim's context switches against a task of another container (it waited
 * while that task ran on its CPU, either way round) and against a task outside
 * every container, halved every interval so that the last few intervals count. A
 * breach is blamed on neighbours when container switches are at least
 * blame_min_waits and blame_percent of all; once blamed it stays so while a lever
 * acts for the victim (an action that works removes the very evidence), and is
 * judged afresh otherwise (a long breach can change hands), where leaving it takes
 * a share hysteresis_percent lower than reaching it. Steal and host
 * load produce no container switches, so they are never blamed on containers;
 * they are named instead (host first when host switches are seen).
 *
 * Verify. When a lever (throttle steps, or a shield) first acts for a victim, the
 * mean p99 of the victim's breached intervals before it is kept; after
 * verify_intervals intervals that began after its last step (a throttle goes down
 * step by step: it is judged once it stopped going down, at its floor or once the
 * breach is over), the mean p99 over them must be verify_margin_percent lower, or
 * the breach over. If not, the lever is undone
 * (every throttle for that victim restored, or its shield given back, reason
 * "ineffective") and not used for that victim for ineffective_ns: the other lever
 * (or none) is next. A lever taken back before it could be judged is "withdrawn".
 */
#include <string.h>

#include "policy/control_priv.h"

#define CTL_STEAL_MIN 0.02 /* CPUs of steal that are worth naming */
#define CTL_HOST_MIN  0.5  /* CPUs busy outside containers worth naming */
#define CTL_PRE_MAX   8	   /* breached intervals kept for the "before" mean */

enum control_blame control_blame_rule(const struct control_config *cfg, double waits_containers,
				      double waits_host, double steal_cpus, double host_cpus)
{
	double min = cfg->blame_min_waits ? (double)cfg->blame_min_waits : 1;
	double total = waits_containers + waits_host;

	if (!cfg->blame_percent)
		return CONTROL_BLAME_UNCHECKED;
	if (waits_containers >= min &&
	    waits_containers * 100.0 >= (double)cfg->blame_percent * total)
		return CONTROL_BLAME_NEIGHBOURS;
	if (waits_host >= min)
		return CONTROL_BLAME_HOST;
	if (steal_cpus >= CTL_STEAL_MIN)
		return CONTROL_BLAME_STEAL;
	if (host_cpus >= CTL_HOST_MIN)
		return CONTROL_BLAME_HOST;
	return CONTROL_BLAME_UNKNOWN;
}

/* A lever acts for e now: it may be what keeps the neighbours' evidence away. */
static bool lever_on(const struct control *c, const struct ctl_entry *e)
{
	return e->s->shielded || e->shield_asked || ctl_throttled_for(c, e);
}

/* The share that keeps a breach the neighbours' once it is: hysteresis_percent less
 * than the one that makes it so, as the share hovers at the threshold under mixed
 * load; at least 1 (0 means "off" to the rule). */
static unsigned int hold_percent(const struct control_config *k)
{
	unsigned int h = k->hysteresis_percent < 100 ? k->hysteresis_percent : 100;
	unsigned int p = k->blame_percent * (100 - h) / 100;

	return p ? p : 1;
}

static void blame_set(struct control *c, struct ctl_entry *e, uint64_t now)
{
	enum control_blame was = e->blame;
	uint64_t iv = e->s->interval_ns;
	struct control_config k = c->cfg;

	if (was == CONTROL_BLAME_NEIGHBOURS)
		k.blame_percent = hold_percent(&c->cfg);
	e->blame = control_blame_rule(&k, e->ev_ctr, e->ev_host, c->steal_cpus, c->host_cpus);
	/* a breach that becomes the neighbours' is, for them, a breach that begins now:
	 * reactions and the waits for saturation or an eviction count from here */
	if (e->blame == CONTROL_BLAME_NEIGHBOURS && was != CONTROL_BLAME_NEIGHBOURS &&
	    e->breach_seen != now) {
		e->breach_since = now - (iv < now ? iv : now);
		e->breach_seen = now;
	}
}

void ctl_blame_update(struct control *c, struct ctl_entry *e, const struct control_node *node,
		      uint64_t now)
{
	const struct control_sample *s = e->s;

	c->steal_cpus = node ? node->steal_cpus : -1;
	c->host_cpus = node ? node->host_cpus : -1;
	e->ev_ctr = e->ev_ctr / 2 + (double)s->waits_containers;
	e->ev_host = e->ev_host / 2 + (double)s->waits_host;
	if (!e->breached)
		e->blame = CONTROL_BLAME_NONE;
	else if (!s->has_blame || !c->cfg.blame_percent)
		e->blame = CONTROL_BLAME_UNCHECKED;
	else if (e->blame != CONTROL_BLAME_NEIGHBOURS || !lever_on(c, e))
		blame_set(c, e, now);
}

static bool has_p99(const struct control_sample *s)
{
	return s->has_rq && s->rq_samples > 0;
}

static double mean(double sum, unsigned int n)
{
	return n ? sum / n : 0;
}

/* The "before": the victim's breached intervals while no lever is being judged. */
static void pre_collect(struct ctl_entry *e)
{
	if (e->testing)
		return;
	if (!e->breached) {
		e->pre_sum = 0;
		e->pre_n = 0;
		return;
	}
	if (!has_p99(e->s))
		return;
	if (e->pre_n == CTL_PRE_MAX) {
		e->pre_sum -= mean(e->pre_sum, e->pre_n);
		e->pre_n--;
	}
	e->pre_sum += e->s->rq_p99_us;
	e->pre_n++;
}

static bool lever_present(const struct control *c, const struct ctl_entry *e)
{
	if (e->for_it.kind == CONTROL_SHIELD)
		return e->s->shielded || e->shield_asked;
	return ctl_throttled_for(c, e);
}

static void undo(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	if (e->for_it.kind == CONTROL_SHIELD) {
		if (e->s->shielded)
			ctl_unshield_one(c, e, CONTROL_R_INEFFECTIVE, now, o);
		e->shield_asked = false;
	} else {
		ctl_restore_for(c, e, CONTROL_R_INEFFECTIVE, now, o);
	}
}

static void judge(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	struct control_outcome *w = &e->for_it;
	double after = mean(e->post_sum, e->post_n);
	bool helped = !e->breached ||
		      after * 100.0 <= w->before_us * (100.0 - c->cfg.verify_margin_percent);

	w->after_us = after;
	w->verdict = helped ? CONTROL_V_HELPED : CONTROL_V_UNDONE;
	e->testing = false;
	e->pre_sum = 0;
	e->pre_n = 0;
	if (helped)
		return;
	e->ineffective_until[w->kind == CONTROL_SHIELD] = now + c->cfg.ineffective_ns;
	undo(c, e, now, o);
}

/* One interval of the "after", if it began once the lever acted. */
static void post_collect(struct ctl_entry *e, uint64_t now)
{
	const struct control_sample *s = e->s;

	if (now - e->post_from < s->interval_ns || !has_p99(s))
		return;
	e->post_sum += s->rq_p99_us;
	e->post_n++;
}

static void verify_one(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	if (!e->testing) {
		pre_collect(e);
		return;
	}
	if (!lever_present(c, e)) {
		e->for_it.verdict = CONTROL_V_WITHDRAWN;
		e->for_it.after_us = mean(e->post_sum, e->post_n);
		e->testing = false;
		return;
	}
	post_collect(e, now);
	if (e->post_n >= c->cfg.verify_intervals)
		judge(c, e, now, o);
}

/* A throttle still in place for a victim it was judged useless for goes too (a
 * restore the rate limit held back, a throttle another victim's breach began). */
static void keep_undone(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	if (ctl_ineffective(e, CONTROL_THROTTLE, now) && ctl_throttled_for(c, e))
		ctl_restore_for(c, e, CONTROL_R_INEFFECTIVE, now, o);
}

void ctl_verify(struct control *c, uint64_t now, struct ctl_out *o)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		if (!e->s->latency_sensitive) {
			e->testing = false;
			continue;
		}
		if (c->cfg.verify_intervals)
			verify_one(c, e, now, o);
		keep_undone(c, e, now, o);
	}
}

static struct ctl_entry *entry_of(struct control *c, const char *id)
{
	for (size_t i = 0; *id && i < c->n; i++)
		if (!strcmp(c->e[i].id, id))
			return &c->e[i];
	return NULL;
}

static void outcome_init(const struct control *c, const struct ctl_entry *v, enum control_kind k,
			 uint64_t now, struct control_outcome *ret)
{
	*ret = (struct control_outcome){
		.kind = k,
		.at = now,
		.verdict = CONTROL_V_PENDING,
		.before_us = mean(v->pre_sum, v->pre_n),
		.blame = v->blame,
		.waits_containers = v->ev_ctr,
		.waits_host = v->ev_host,
		.steal_cpus = c->steal_cpus,
		.host_cpus = c->host_cpus,
	};
}

static void start_one(struct control *c, const struct control_action *a, uint64_t now)
{
	struct ctl_entry *v = entry_of(c, a->protected_id), *t = entry_of(c, a->id);

	if (!v)
		return;
	if (t && t != v) {
		outcome_init(c, v, a->kind, now, &t->against_it);
		strcpy(t->against_it.other_id, v->id);
		t->has_against = true;
	}
	if (v->testing && a->kind == v->for_it.kind) {
		/* one more step of the same lever: judge it from its last step on */
		v->post_sum = 0;
		v->post_n = 0;
		v->post_from = now;
		return;
	}
	outcome_init(c, v, a->kind, now, &v->for_it);
	v->has_for = true;
	if (!c->cfg.verify_intervals || !v->pre_n) {
		v->for_it.verdict = CONTROL_V_UNJUDGED;
		return;
	}
	v->testing = true;
	v->post_sum = 0;
	v->post_n = 0;
	v->post_from = now;
}

void ctl_verify_start(struct control *c, size_t from, uint64_t now, const struct ctl_out *o)
{
	for (size_t i = from; i < o->n; i++) {
		const struct control_action *a = &o->out[i];

		if (a->dry_run || (a->kind != CONTROL_THROTTLE && a->kind != CONTROL_SHIELD))
			continue;
		start_one(c, a, now);
	}
}

int control_explain_of(const struct control *c, const char *id, struct control_explain *ret)
{
	for (size_t i = 0; c && id && ret && i < c->n; i++) {
		const struct ctl_entry *e = &c->e[i];

		if (strcmp(e->id, id))
			continue;
		*ret = (struct control_explain){
			.blame = e->blame,
			.waits_containers = e->ev_ctr,
			.waits_host = e->ev_host,
			.steal_cpus = c->steal_cpus,
			.host_cpus = c->host_cpus,
			.has_for = e->has_for,
			.has_against = e->has_against,
			.for_it = e->for_it,
			.against_it = e->against_it,
			.throttle_ineffective_until = e->ineffective_until[0],
			.shield_ineffective_until = e->ineffective_until[1],
		};
		return 1;
	}
	return 0;
}

const char *control_blame_name(enum control_blame b)
{
	static const char *const names[] = {"none", "unchecked", "neighbours",
					    "host", "steal",	 "unknown"};

	return (unsigned int)b < CONTROL_BLAME_COUNT ? names[b] : "unknown";
}

const char *control_verdict_name(enum control_verdict v)
{
	static const char *const names[] = {"pending", "helped", "undone", "withdrawn",
					    "not judged"};

	return (unsigned int)v < CONTROL_V_COUNT ? names[v] : "unknown";
}
