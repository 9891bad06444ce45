/* SPDX-License-Identifier: Apache-2.0 */
/* alloc_explain(): one line that says why a container got its CPUs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/alloc_priv.h"

struct out {
	char *buf;
	size_t size, len;
	bool truncated;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->truncated = true;
		return;
	}
	o->len += (size_t)n;
}

static void put_set(struct out *o, const struct cpuset *set)
{
	char tmp[1024];

	if (cpuset_format(set, tmp, sizeof(tmp)) < 0)
		snprintf(tmp, sizeof(tmp), "(%u CPUs)", cpuset_count(set));
	put(o, "%s", tmp);
}

static void put_path(const struct alloc_state *s, const struct alloc_path *path, struct out *o);

static void why_shared(const struct alloc_state *s, const struct alloc_entry *e, struct out *o)
{
	const struct alloc_request *q = &e->req;

	switch (e->why) {
	case ALLOC_WHY_SHARED_SMALL:
		put(o, "Guaranteed with %lldm < 1000m: no whole CPU to pin",
		    (long long)q->cpu_request_mcpu);
		break;
	case ALLOC_WHY_SHARED_DISABLED:
		put(o, "Guaranteed, but exclusive_enabled is off");
		break;
	case ALLOC_WHY_SHARED_PREF:
		put(o,
		    "shared_only preference (or the fallback after no exclusive CPUs were free)");
		break;
	case ALLOC_WHY_SHARED_FALLBACK:
		put(o, "restore could not give it exclusive CPUs: fell back to shared");
		break;
	default:
		put(o, "%s container: shared pool", qos_class_name(q->qos));
		break;
	}
	if (e->iso_fallback)
		put(o, " (asked for isolated CPUs: this machine has none)");
	if (e->wide)
		put(o, " plus the reserved CPUs (Burstable without a limit, "
		       "burstable_unlimited_wide)");
	if (e->shielded) {
		put(o, "; shielded by the closed loop: CPUs ");
		put_set(o, &e->excl);
		put(o, " lent from the shared pool, its neighbours moved off");
		if (e->has_path)
			put_path(s, &e->path, o);
	}
	put(o, "; shared pool now %u CPUs", aw_count(&s->shared, s->nw));
}

static void put_kind(const struct alloc_path *path, struct out *o)
{
	const char *k = path->kind == TOPO_CPU_KIND_EFFICIENT ? "E" : "P";

	switch (path->kind_why) {
	case ALLOC_KIND_WHY_PREFERRED:
		put(o, "; %s cores (the preferred kind, never mixed while one kind has room)", k);
		break;
	case ALLOC_KIND_WHY_OTHER:
		put(o, "; %s cores (the preferred kind had no room; kinds are not mixed)", k);
		break;
	case ALLOC_KIND_WHY_MIXED:
		put(o, "; P and E cores mixed: neither kind alone had room");
		break;
	default:
		break;
	}
}

static void put_label(const struct alloc_state *s, const struct alloc_path_step *st, struct out *o)
{
	if (st->tier == ALLOC_TIER_NODE && st->dom >= 0 && st->dom < s->topo->n_nodes)
		put(o, "node %d", s->topo->nodes[st->dom].id);
	else if (st->tier == ALLOC_TIER_MACHINE)
		put(o, "the machine");
	else
		put(o, "%s #%d", alloc_tier_name(st->tier), st->dom);
}

/* What decided the last step: the tightest level where one subtree holds the request. */
static void put_step_why(const struct alloc_path_step *st, struct out *o)
{
	const char *tier = alloc_tier_name(st->tier);

	switch (st->why) {
	case ALLOC_STEP_ONLY:
		put(o, ": the tightest level that holds it, the only %s with room", tier);
		break;
	case ALLOC_STEP_BEST_FIT:
		put(o, ": the tightest level that holds it, fewest free (%u) of the %u that fit",
		    st->free, st->n_fit);
		break;
	case ALLOC_STEP_INNER:
		put(o,
		    ": the tightest level that holds it; of the %u that fit, the one it spans "
		    "the fewest subtrees of",
		    st->n_fit);
		break;
	case ALLOC_STEP_UNSHARED:
		put(o, ": of the %u cores with room, one not shared with another pool", st->n_fit);
		break;
	case ALLOC_STEP_EXACT:
		put(o, ": the tightest level that holds it, exactly its %u free", st->free);
		break;
	case ALLOC_STEP_NEAR:
		put(o, ": the tightest subtree holding its CPUs that had room (%u free)", st->free);
		break;
	case ALLOC_STEP_FLAT:
		put(o, " (prefer_same_numa off: cores in order)");
		break;
	default:
		put(o, " (%u free)", st->free);
		break;
	}
}

static void put_path(const struct alloc_state *s, const struct alloc_path *path, struct out *o)
{
	put_kind(path, o);
	for (int i = 0; i < path->n; i++) {
		put(o, "; ");
		put_label(s, &path->step[i], o);
		put_step_why(&path->step[i], o);
	}
	if (path->spread_tier)
		put(o, "; spread over %u %ss, the fewest possible", path->spread_n,
		    alloc_tier_name(path->spread_tier));
}

/* Which way the container's devices pulled its CPUs (fit: alloc_result.device). */
static void put_devices(const struct alloc_entry *e, enum alloc_device_fit fit, struct out *o)
{
	static const char *const what[] = {
		[ALLOC_DEVICE_FIT_LOCAL] = "in their local CPUs",
		[ALLOC_DEVICE_FIT_NODE] = "on their node(s)",
		[ALLOC_DEVICE_FIT_PACKAGE] =
			"in the package of their node(s): the node had no room",
		[ALLOC_DEVICE_FIT_ELSEWHERE] = "elsewhere: no room near them",
	};

	if (!alloc_device_wanted(&e->req) || fit == ALLOC_DEVICE_FIT_NONE ||
	    (unsigned int)fit > ALLOC_DEVICE_FIT_ELSEWHERE)
		return;
	put(o, "; devices on node ");
	put_set(o, &e->req.prefs.device_nodes);
	put(o, " pulled %s %s", e->pool == ALLOC_POOL_SHARED ? "its shared CPUs" : "it", what[fit]);
	if (e->req.prefs.device_mode == ALLOC_DEVICE_STRICT)
		put(o, " (strict)");
}

static void why_owned(const struct alloc_state *s, const struct alloc_entry *e,
		      enum alloc_device_fit fit, struct out *o)
{
	struct cpuset hidden;

	put(o, "%u %s CPUs", cpuset_count(&e->excl),
	    e->pool == ALLOC_POOL_ISOLATED ? "isolated" : "exclusive");
	if (e->iso_fallback)
		put(o, " (asked for isolated CPUs: this machine has none, so exclusive ones)");
	put_devices(e, fit, o); /* first: the path below is among the CPUs they allowed */
	if (e->has_path)
		put_path(s, &e->path, o);
	if (e->mixed)
		put(o, "; plus the shared pool for the %lldm fraction",
		    (long long)(e->req.cpu_request_mcpu % 1000));
	cpuset_andnot(&hidden, &e->owned, &e->excl);
	if (!cpuset_is_empty(&hidden)) {
		put(o, "; siblings ");
		put_set(o, &hidden);
		put(o, " kept idle (hide_hyperthreads)");
	}
}

int alloc_explain(const struct alloc_state *s, const char *id, char *buf, size_t size)
{
	const struct alloc_entry *e = alloc_find(s, id);
	struct out o = {.buf = buf, .size = size};
	struct alloc_result res;

	if (!e)
		return -ENOENT;
	if (!buf || size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	alloc_result_of(s, e, &res);
	put(&o, "%s cpus=", alloc_pool_name(e->pool));
	put_set(&o, &res.cpus);
	put(&o, " mems=");
	put_set(&o, &res.mems);
	put(&o, ": ");
	if (e->pool == ALLOC_POOL_RESERVED && e->req.prefs.reserved)
		put(&o, "asked for the reserved CPUs (namespace %s)", e->ns);
	else if (e->pool == ALLOC_POOL_RESERVED)
		put(&o, "namespace %s is a reserved namespace", e->ns);
	else if (e->pool == ALLOC_POOL_SHARED)
		why_shared(s, e, &o);
	else
		why_owned(s, e, res.device, &o);
	if (e->pool == ALLOC_POOL_SHARED)
		put_devices(e, res.device, &o);
	if (e->restored)
		put(&o, "; kept across restore");
	if (e->reallocated)
		put(&o, "; re-allocated on restore (its old CPUs were invalid or taken)");
	put(&o, "; shares=%llu quota=%lld", (unsigned long long)res.shares, (long long)res.quota);
	return o.truncated ? -ENOSPC : (int)o.len;
}
