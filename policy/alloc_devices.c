/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Placement next to a container's devices (docs/policy.md "Devices"). A GPU's or NIC's
 * DMA and interrupts live on one NUMA node: CPUs (and so mems) on another cost
 * bandwidth and tail latency. The daemon resolves the devices to node ids and local
 * CPUs (plugin/host/devices.c); here they only narrow where the usual picker looks:
 * the devices' local CPUs, their nodes, their packages, then (unless strict) anywhere.
 */
#include <errno.h>
#include <string.h>

#include "policy/alloc_priv.h"

enum { TIER_LOCAL, TIER_NODE, TIER_PACKAGE, TIER_N };

static const enum alloc_device_fit tier_fit[TIER_N] = {
	ALLOC_DEVICE_FIT_LOCAL,
	ALLOC_DEVICE_FIT_NODE,
	ALLOC_DEVICE_FIT_PACKAGE,
};

const char *alloc_device_fit_name(enum alloc_device_fit f)
{
	static const char *const n[] = {"none", "local", "node", "package", "elsewhere"};

	return (unsigned int)f <= ALLOC_DEVICE_FIT_ELSEWHERE ? n[f] : "unknown";
}

bool alloc_device_wanted(const struct alloc_request *q)
{
	return q->prefs.device_mode != ALLOC_DEVICE_OFF && !cpuset_is_empty(&q->prefs.device_nodes);
}

/* The online CPUs of the devices' nodes. */
static void node_cpus(const struct alloc_state *s, const struct alloc_request *q,
		      struct cpuset *ret)
{
	const struct topology *t = s->topo;

	cpuset_zero(ret);
	for (int i = 0; i < t->n_nodes; i++)
		if (t->nodes[i].id >= 0 &&
		    cpuset_test(&q->prefs.device_nodes, (unsigned int)t->nodes[i].id))
			aw_or(ret, ret, &t->nodes[i].cpus, s->nw);
}

/*
 * The CPUs near q's devices at tier (a superset of the tier before it). false: the tier
 * adds nothing (local CPUs unknown or the whole node, a package that is one node).
 */
static bool near_cpus(const struct alloc_state *s, const struct alloc_request *q, int tier,
		      struct cpuset *ret)
{
	const struct topology *t = s->topo;
	struct cpuset nodes;

	node_cpus(s, q, &nodes);
	*ret = nodes;
	if (tier == TIER_LOCAL) {
		cpuset_and(ret, &nodes, &q->prefs.device_cpus);
		return !cpuset_is_empty(ret) && !cpuset_equal(ret, &nodes);
	}
	if (tier == TIER_NODE)
		return !cpuset_is_empty(ret);
	for (int i = 0; i < t->n_packages; i++)
		if (aw_intersects(&t->packages[i].cpus, &nodes, s->nw))
			aw_or(ret, ret, &t->packages[i].cpus, s->nw);
	return !cpuset_is_empty(ret) && !cpuset_equal(ret, &nodes);
}

static void strict_reason(const struct alloc_request *q, unsigned int n, unsigned int free_near,
			  char *reason, size_t size)
{
	char nodes[128];

	if (cpuset_format(&q->prefs.device_nodes, nodes, sizeof(nodes)) < 0)
		strcpy(nodes, "?");
	alloc_reason(reason, size,
		     ALLOC_REASON_DEVICE_STRICT ": %u CPUs wanted, %u free near its devices "
						"(node %s)",
		     n, free_near, nodes);
}

int alloc_device_pick(struct alloc_state *s, const struct alloc_request *q,
		      struct alloc_pick_req *pr, struct alloc_pick_out *out,
		      enum alloc_device_fit *ret_fit, char *reason, size_t reason_size)
{
	const struct cpuset *avail = pr->avail;
	struct cpuset near, cand;
	unsigned int free_near;
	int r;

	near_cpus(s, q, TIER_NODE, &near);
	free_near = aw_and_count(avail, &near, s->nw);
	for (int tier = 0; tier < TIER_N; tier++) {
		if (!near_cpus(s, q, tier, &near))
			continue;
		cpuset_and(&cand, avail, &near);
		pr->avail = &cand;
		r = alloc_pick(s, pr, out);
		pr->avail = avail;
		if (r != -ENOSPC) {
			*ret_fit = tier_fit[tier];
			return r;
		}
	}
	if (q->prefs.device_mode == ALLOC_DEVICE_STRICT) {
		strict_reason(q, pr->n, free_near, reason, reason_size);
		return -ENOSPC;
	}
	*ret_fit = ALLOC_DEVICE_FIT_ELSEWHERE;
	return alloc_pick(s, pr, out);
}

/* CPUs the shared part must keep: its limit, else its request, rounded up; at least 1. */
static unsigned int shared_need(const struct alloc_request *q)
{
	int64_t m = q->cpu_limit_mcpu > 0 ? q->cpu_limit_mcpu : q->cpu_request_mcpu;

	if (m <= 0)
		return 1;
	if (m > (int64_t)CPUSET_MAX * 1000)
		return CPUSET_MAX;
	return (unsigned int)((m + 999) / 1000);
}

enum alloc_device_fit alloc_device_narrow(const struct alloc_state *s, const struct alloc_entry *e,
					  struct cpuset *pool)
{
	/* a mixed container's shared part runs only its fraction */
	unsigned int need = e->mixed ? 1 : shared_need(&e->req);
	struct cpuset near, cand;

	if (!alloc_device_wanted(&e->req))
		return ALLOC_DEVICE_FIT_NONE;
	for (int tier = 0; tier < TIER_N; tier++) {
		if (!near_cpus(s, &e->req, tier, &near))
			continue;
		cpuset_and(&cand, pool, &near);
		if (aw_count(&cand, s->nw) >= need) {
			*pool = cand;
			return tier_fit[tier];
		}
	}
	return ALLOC_DEVICE_FIT_ELSEWHERE;
}
