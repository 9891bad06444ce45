/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shields (policy/alloc.h): CPUs of the shared pool lent to one shared container so
 * that its noisy neighbours move off them. The CPUs are chosen like exclusive ones
 * (alloc_pick: tightest subtree, fragments first) and widened to whole cores when the
 * pool can spare the siblings: a burner on the sibling hyperthread still steals
 * execution units and cache from the protected container.
 */
#include <errno.h>

#include "policy/alloc_priv.h"

/* Every thread of the cores of set, as far as the shared pool has them. */
static void whole_cores(const struct alloc_state *s, const struct cpuset *set, struct cpuset *ret)
{
	const struct topology *t = s->topo;
	int cpu;

	*ret = *set;
	cpuset_foreach (cpu, set) {
		const struct topo_cpu *c = topology_cpu(t, cpu);

		if (c && c->core >= 0 && c->core < t->n_cores)
			aw_or(ret, ret, &t->cores[c->core].cpus, s->nw);
	}
	cpuset_and(ret, ret, &s->shared);
	cpuset_or(ret, ret, set);
}

static int shieldable(const struct alloc_entry *e, unsigned int n, char *reason, size_t reason_size)
{
	if (n == 0) {
		alloc_reason(reason, reason_size, "a shield needs at least one CPU");
		return -EINVAL;
	}
	if (e->pool != ALLOC_POOL_SHARED || e->wide) {
		alloc_reason(reason, reason_size,
			     "container %s is not on the shared pool alone (%s%s)", e->id,
			     alloc_pool_name(e->pool), e->wide ? ", wide" : "");
		return -EINVAL;
	}
	if (e->shielded) {
		alloc_reason(reason, reason_size, "container %s is shielded already", e->id);
		return -EALREADY;
	}
	return 0;
}

/*
 * The pool without the core of its lowest CPU, if that leaves n: interrupts, timers
 * and kernel threads favour CPU 0's core, the worst place for a latency-sensitive
 * container (the reserved pool is usually there, but not always configured).
 */
static void housekeeping_free(const struct alloc_state *s, unsigned int n, struct cpuset *ret)
{
	const struct topology *t = s->topo;
	const struct topo_cpu *c;
	int first = -1, cpu;

	*ret = s->shared;
	cpuset_foreach (cpu, &s->shared) {
		first = cpu;
		break;
	}
	c = first >= 0 ? topology_cpu(t, first) : NULL;
	if (!c || c->core < 0 || c->core >= t->n_cores)
		return;
	cpuset_andnot(ret, ret, &t->cores[c->core].cpus);
	if (aw_count(ret, s->nw) < n)
		*ret = s->shared;
}

/* n CPUs (whole cores if the pool can spare them) out of the shared pool. */
static int pick_shield(struct alloc_state *s, unsigned int n, struct alloc_pick_out *out,
		       char *reason, size_t reason_size)
{
	struct cpuset avail;
	struct alloc_pick_req pr = {.avail = &avail, .n = n};
	struct cpuset whole, elsewhere;
	/* the others stay on what is left, which must stay usable even with no other
	 * shared container right now: the next one is created there */
	size_t deps = s->shared_deps > 1 ? s->shared_deps - 1 : 1;
	int r;

	housekeeping_free(s, n, &avail);
	aw_or(&elsewhere, &s->excl_used, &s->iso_used, s->nw);
	pr.owned_elsewhere = &elsewhere;
	r = alloc_pick(s, &pr, out);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		alloc_reason(reason, reason_size, "%u CPUs wanted, the shared pool has %u", n,
			     aw_count(&s->shared, s->nw));
		return -ENOSPC;
	}
	whole_cores(s, &out->visible, &whole);
	if (alloc_check_shared_min(s, aw_count(&whole, s->nw), deps, false, NULL, 0) == 0)
		out->visible = whole;
	out->owned = out->visible;
	return alloc_check_shared_min(s, aw_count(&out->visible, s->nw), deps, false, reason,
				      reason_size);
}

int alloc_shield(struct alloc_state *s, const char *id, unsigned int n,
		 struct alloc_changes *changes, char *reason, size_t reason_size)
{
	struct alloc_entry *e;
	struct alloc_pick_out out;
	int r;

	if (!s || !id)
		return -EINVAL;
	e = alloc_find(s, id);
	if (!e) {
		alloc_reason(reason, reason_size, "container %s unknown", id);
		return -ENOENT;
	}
	r = shieldable(e, n, reason, reason_size);
	if (r < 0)
		return r;
	if (alloc_changes_reserve(changes, s->n + 1) < 0)
		return -ENOMEM;
	r = pick_shield(s, n, &out, reason, reason_size);
	if (r < 0)
		return r;
	alloc_uncommit(s, e);
	e->shielded = true;
	e->excl = out.visible;
	e->owned = out.owned;
	e->path = out.path;
	e->has_path = true;
	alloc_commit(s, e);
	alloc_changes_push(changes, e->id);
	alloc_changes_shared(s, e, changes);
	return 0;
}

int alloc_unshield(struct alloc_state *s, const char *id, struct alloc_changes *changes)
{
	struct alloc_entry *e;

	if (!s || !id)
		return -EINVAL;
	e = alloc_find(s, id);
	if (!e)
		return -ENOENT;
	if (!e->shielded)
		return 0;
	if (alloc_changes_reserve(changes, s->n + 1) < 0)
		return -ENOMEM;
	alloc_uncommit(s, e);
	e->shielded = false;
	cpuset_zero(&e->excl);
	cpuset_zero(&e->owned);
	e->has_path = false;
	alloc_commit(s, e);
	alloc_changes_push(changes, e->id);
	alloc_changes_shared(s, e, changes);
	return 1;
}

int alloc_changes_pool(const struct alloc_state *s, struct alloc_changes *changes)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++) {
		const struct alloc_entry *e = s->entries[i];

		if ((e->shielded || alloc_is_shared_dep(e)) &&
		    alloc_changes_push(changes, e->id) < 0)
			return -ENOMEM;
	}
	return 0;
}
