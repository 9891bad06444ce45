/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shields: the closed loop's second lever (docs/closed-loop.md "Moving noisy
 * neighbours"). Throttling protects a latency-sensitive (LS) container by taking
 * CPU away from its neighbours; when the shared pool is saturated that is the only
 * CPU they have, and they starve. A shield instead lends the LS container CPUs of
 * its own out of the pool (policy/alloc.h alloc_shield()): its neighbours move off
 * them and keep running at full speed on the rest.
 *
 *   - the pool is saturated when the containers on it want at least
 *     pool_saturation_percent of its CPUs. What a container wants in an interval
 *     is the CPU it used plus the time its CFS quota held it back (per period:
 *     v1 reports a period's throttled time when it ends), and the pool counts the
 *     most each container wanted in any interval of the last two seconds:
 *     throttling collapses a container's use at once, its throttled time shows
 *     only when its period ends (once a second with a 1 s period), and a throttle
 *     must not hide the saturation that calls for a shield instead. Whatever
 *     else kept the pool's CPUs busy (system daemons, the kernel, steal: the
 *     caller's shared_busy_cpus minus the containers' use) counts too, but the
 *     containers alone must want at least unshield_percent of the pool: a
 *     shield moves containers, not the system's own load. Saturation is dated,
 *     like a breach, from the start of the interval in which it was seen;
 *   - an LS container on the pool that is breached while the saturation has lasted
 *     pool_persist_ns gets one CONTROL_SHIELD; throttling waits while the caller
 *     carries it out (1 s at most);
 *   - a breach of an LS container on the pool waits pool_persist_ns from the step
 *     that saw it begin, or that saw a container on the pool begin to want CPU,
 *     for the saturation to show: load that began inside an interval shows as a
 *     fraction of itself, whatever the threshold. Without saturation by then,
 *     throttling goes ahead;
 *   - throttling never acts for a shielded LS container: nobody else runs on its
 *     CPUs, so holding its former neighbours back cannot help it;
 *   - an LS container that is calm only because its neighbours are throttled for
 *     it gets the shield too, once the saturation has lasted pool_persist_ns: the
 *     shield replaces the throttle;
 *   - once the shield shows in a sample, the containers throttled to protect that
 *     container are restored at once (reason "shielded"): they run elsewhere now;
 *   - a shielded container is given back (CONTROL_UNSHIELD) once the containers on
 *     the pool have wanted less than unshield_percent of its CPUs for the
 *     cool-down (doubled each time a shield came back after an unshield) and it
 *     has held the shield that long, or at once when it is no longer
 *     latency-sensitive. Its own latency does not matter here: with the
 *     neighbours quiet a breach is not theirs to cause, and other load (which
 *     runs on the shield too) does not count;
 *   - a refused shield (control_shield_refused(), or no shield seen within 1 s) is
 *     not asked again for the cool-down.
 */
#include <string.h>

#include "policy/control_priv.h"

#define CTL_SHIELD_WAIT_NS (CTL_NS_PER_S)     /* for the caller to carry a shield out */
#define CTL_PEAK_NS	   (2 * CTL_NS_PER_S) /* how long a container's peak demand counts */

/* What e wanted over its last interval, and the most it wanted in the last 2 s. */
static double demand_peak(struct ctl_entry *e, uint64_t now)
{
	const struct control_sample *s = e->s;
	uint64_t period = (e->throttled ? e->period : s->period) * 1000, span = s->interval_ns;
	double d = s->cpu_cores;

	/* a period's throttled time arrives in one piece when the period ends */
	span = period > span ? period : span;
	if (span)
		d += (double)s->throttled_ns / (double)span;
	if (d >= e->peak || now - e->peak_at >= CTL_PEAK_NS) {
		e->peak = d;
		e->peak_at = now;
	}
	return e->peak;
}

/* Sum what the containers on the pool want; note when one began to want CPU. */
static double containers_want(struct control *c, uint64_t now, double *ret_ran)
{
	double use = 0, ran = 0;

	c->pool_wait = 0;

	c->interval_ns = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];
		const struct control_sample *s = e->s;
		double want = demand_peak(e, now);
		bool busy = ctl_uses_cpu(s);

		if (s->shared && !s->shielded) {
			use += want;
			ran += s->cpu_cores;
			if (s->interval_ns)
				c->pool_wait += (double)s->rq_wait_ns / (double)s->interval_ns;
		}
		if (busy && !e->busy && s->shared && !s->latency_sensitive)
			c->load_since = now;
		e->busy = busy;
		c->interval_ns = s->interval_ns > c->interval_ns ? s->interval_ns : c->interval_ns;
	}
	*ret_ran = ran;
	return use;
}

static bool over(const struct control *c, double cpus, unsigned int percent)
{
	return cpus * 100.0 >= (double)c->pool_cpus * (double)percent;
}

/* A container waiting for a CPU wants it as much as one running: on a pool shrunk by
 * a shield the neighbours' use is capped by its size, their wait is not. */
static bool pool_has_room(const struct control *c)
{
	return !c->pool_cpus || (c->pool_ctr + c->pool_wait) * 100.0 <
					(double)c->pool_cpus * (double)c->cfg.unshield_percent;
}

void ctl_pool_eval(struct control *c, const struct control_node *node, uint64_t now)
{
	double ran, use = containers_want(c, now, &ran);
	uint64_t iv = c->interval_ns;
	bool sat;

	c->pool_ctr = use;
	/* what else kept the pool's CPUs busy wants them too */
	if (node && node->shared_busy_cpus > ran)
		use += node->shared_busy_cpus - ran;
	c->pool_use = use;
	c->pool_cpus = node ? node->shared_cpus : 0;
	/* saturated, and by containers a shield can move: not by the system alone */
	sat = c->pool_cpus && c->cfg.pool_saturation_percent &&
	      over(c, use, c->cfg.pool_saturation_percent) &&
	      over(c, c->pool_ctr, c->cfg.unshield_percent);
	if (sat && !c->saturated)
		c->saturated_since = now - (iv < now ? iv : now);
	c->saturated = sat;
	if (pool_has_room(c) && !c->room)
		c->room_since = now;
	c->room = pool_has_room(c);
}

/* Ticks jitter: an interval measured a little short still counts as a whole one. */
static uint64_t slack(const struct control *c)
{
	return c->interval_ns / 10;
}

static bool saturation_persists(const struct control *c, uint64_t now)
{
	return c->saturated && now - c->saturated_since + slack(c) >= c->cfg.pool_persist_ns;
}

/* Dry run: say once per breach what would happen, never hold throttling. */
static void recommend(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	struct control_action *a;

	if (e->shield_recommended || !ctl_rate_allow(c, CONTROL_SHIELD, now))
		return;
	a = ctl_emit(o, CONTROL_SHIELD, CONTROL_R_POOL_SATURATED, e, e, e->breach_since);
	if (!a)
		return;
	a->dry_run = true;
	e->shield_recommended = true;
	ctl_rate_take(c, CONTROL_SHIELD);
}

/* Without the pool's size saturation cannot show: nothing to wait for. */
static bool shieldable(const struct control *c, const struct ctl_entry *e, uint64_t now)
{
	return c->cfg.shield_enabled && c->pool_cpus && e->s->shared &&
	       now >= e->shield_refused_until && !ctl_ineffective(e, CONTROL_SHIELD, now);
}

static bool ask_shield(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	struct control_action *a;

	if (c->cfg.dry_run) {
		recommend(c, e, now, o);
		return false;
	}
	if (!ctl_rate_allow(c, CONTROL_SHIELD, now))
		return false;
	a = ctl_emit(o, CONTROL_SHIELD, CONTROL_R_POOL_SATURATED, e, e,
		     e->breached ? e->breach_since : c->saturated_since);
	if (!a)
		return false;
	if (e->unshielded && e->shield_backoff < CTL_BACKOFF_MAX)
		e->shield_backoff++; /* giving it back brought the breach back */
	e->unshielded = false;
	e->shield_asked = true;
	e->shield_asked_at = now;
	ctl_rate_take(c, CONTROL_SHIELD);
	return true;
}

/* True while e is shielded, being shielded or may be soon: throttling would not help. */
static bool shield_one(struct control *c, struct ctl_entry *e, uint64_t now, struct ctl_out *o)
{
	const struct control_sample *s = e->s;
	uint64_t start;

	if (s->shielded)
		return true;
	if (e->shield_asked) {
		if (now - e->shield_asked_at < CTL_SHIELD_WAIT_NS)
			return true;
		/* refused when the wait ran out, which may be long ago (the breach that
		 * asked for it ended before the wait did) */
		control_shield_refused(c, e->id, e->shield_asked_at + CTL_SHIELD_WAIT_NS);
	}
	if (!shieldable(c, e, now))
		return false;
	if (saturation_persists(c, now))
		return ask_shield(c, e, now, o);
	/* load that began inside the breach interval shows as a fraction of itself */
	start = e->breach_seen > c->load_since ? e->breach_seen : c->load_since;
	return e->breached && !c->cfg.dry_run && now - start + slack(c) < c->cfg.pool_persist_ns;
}

bool ctl_throttled_for(const struct control *c, const struct ctl_entry *prot)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].throttled && !strcmp(c->e[i].prot_id, prot->id))
			return true;
	return false;
}

struct ctl_entry *ctl_shield(struct control *c, uint64_t now, struct ctl_out *o)
{
	struct ctl_entry *prot = NULL;

	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];

		if (!e->s->latency_sensitive)
			continue;
		if (ctl_acts_for(e)) {
			if (!shield_one(c, e, now, o) &&
			    (!prot || e->breach_since < prot->breach_since))
				prot = e;
		} else if (!e->breached && ctl_throttled_for(c, e)) {
			shield_one(c, e, now, o); /* calm thanks to a throttle: swap levers */
		}
	}
	return prot;
}

void ctl_unshield_one(struct control *c, struct ctl_entry *e, enum control_reason why, uint64_t now,
		      struct ctl_out *o)
{
	struct control_action *a;

	if (!ctl_rate_allow(c, CONTROL_UNSHIELD, now))
		return;
	a = ctl_emit(o, CONTROL_UNSHIELD, why, e, NULL,
		     why == CONTROL_R_CALM ? c->room_since : now);
	if (!a)
		return;
	e->unshielded = true;
	e->shielded_at = 0;
	ctl_rate_take(c, CONTROL_UNSHIELD);
}

void ctl_unshield(struct control *c, uint64_t now, struct ctl_out *o)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ctl_entry *e = &c->e[i];
		const struct control_sample *s = e->s;

		if (!s->shielded) {
			e->shielded_at = 0;
			continue;
		}
		e->shield_asked = false; /* carried out, breached or not */
		if (!e->shielded_at) {
			e->shielded_at = now;
			ctl_restore_for(c, e, CONTROL_R_SHIELDED, now, o);
		}
		if (!s->latency_sensitive)
			ctl_unshield_one(c, e, CONTROL_R_GONE, now, o);
		else if (c->room &&
			 now - c->room_since >= c->cfg.cooldown_ns << e->shield_backoff &&
			 now - e->shielded_at >= c->cfg.cooldown_ns)
			ctl_unshield_one(c, e, CONTROL_R_CALM, now, o);
	}
}

int control_pool_of(const struct control *c, double *ret_wanted, double *ret_containers,
		    unsigned int *ret_cpus)
{
	if (!c)
		return 0;
	if (ret_wanted)
		*ret_wanted = c->pool_use;
	if (ret_containers)
		*ret_containers = c->pool_ctr;
	if (ret_cpus)
		*ret_cpus = c->pool_cpus;
	return c->saturated;
}

void control_shield_refused(struct control *c, const char *id, uint64_t now)
{
	for (size_t i = 0; c && id && i < c->n; i++) {
		if (strcmp(c->e[i].id, id))
			continue;
		c->e[i].shield_asked = false;
		c->e[i].shield_refused_until = now + c->cfg.cooldown_ns;
		return;
	}
}
