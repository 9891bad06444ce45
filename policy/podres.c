/* SPDX-License-Identifier: Apache-2.0 */
/* Pod-level resources; the rule is documented in policy/podres.h and docs/policy.md. */
#include <errno.h>
#include <stddef.h>

#include "policy/podres.h"

bool podres_has_own(const struct qos_input *in)
{
	if (!in)
		return false;
	if (in->has_shares && qos_mcpu_from_shares(in->shares) > 0)
		return true;
	if (in->has_quota && in->quota > 0)
		return true;
	return in->has_mem_limit && in->mem_limit > 0;
}

const char *podres_source_name(enum podres_source s)
{
	switch (s) {
	case PODRES_POD:
		return "pod";
	case PODRES_POD_SHARED:
		return "pod-shared";
	case PODRES_OWN:
	default:
		return "own";
	}
}

static int64_t left(int64_t pod, int64_t taken)
{
	return pod > taken ? pod - taken : 0;
}

/* What the pod has left for the containers without their own, into *ret. */
static bool podres_budget(const struct qos_info *pod, const struct podres_siblings *sib,
			  struct qos_info *ret)
{
	static const struct podres_siblings none;

	if (!sib)
		sib = &none;
	ret->request_mcpu = left(pod->request_mcpu, sib->request_mcpu);
	ret->limit_mcpu = left(pod->limit_mcpu, sib->limit_mcpu);
	ret->mem_limit = left(pod->mem_limit, sib->mem_limit);
	return ret->request_mcpu > 0 || ret->limit_mcpu > 0;
}

/* The budget drawn by one container alone, or shared by n (on the shared pool). */
static void podres_split(struct qos_info *b, unsigned int n, struct podres_decision *d)
{
	if (n <= 1) {
		d->source = PODRES_POD;
		b->cls = d->pod_cls == QOS_GUARANTEED && b->limit_mcpu > 0 &&
					 b->limit_mcpu == b->request_mcpu && b->mem_limit > 0
				 ? QOS_GUARANTEED
				 : QOS_BURSTABLE;
		return;
	}
	d->source = PODRES_POD_SHARED;
	b->cls = QOS_BURSTABLE;
	b->request_mcpu /= n;
}

int podres_decide(const struct qos_input *ctr, const struct qos_input *pod,
		  const struct podres_siblings *sib, struct podres_decision *ret)
{
	struct podres_decision d = {0};
	struct qos_input pin;
	struct qos_info pi, budget = {0};
	int r;

	if (!ctr || !ret)
		return -EINVAL;
	r = qos_classify(ctr, &d.info);
	if (r < 0)
		return r;
	d.pod_cls = d.info.cls;
	d.source = PODRES_OWN;
	if (!pod || podres_has_own(ctr) || !podres_has_own(pod)) {
		*ret = d;
		return 0;
	}
	pin = *pod;
	pin.qos_hint = ctr->qos_hint;
	pin.cgroup_parent = ctr->cgroup_parent;
	r = qos_classify(&pin, &pi);
	if (r < 0)
		return r;
	d.pod_cls = pi.cls;
	/* Only a Guaranteed pod, or knowing every container, tells pod-level resources
	 * from the containers' sum. */
	if ((pi.cls == QOS_GUARANTEED || (sib && sib->complete)) &&
	    podres_budget(&pi, sib, &budget)) {
		budget.source = pi.source;
		podres_split(&budget, sib ? sib->n_without : 1, &d);
		d.info = budget;
	}
	*ret = d;
	return 0;
}
