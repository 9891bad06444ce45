/* SPDX-License-Identifier: Apache-2.0 */
/* QoS classification; the rule is documented in policy/qos.h and docs/policy.md. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "policy/qos.h"

#define QOS_MIN_SHARES	   2
#define QOS_MAX_SHARES	   262144
#define QOS_SHARES_PER_CPU 1024
#define QOS_MIN_QUOTA	   1000
#define QOS_DEFAULT_PERIOD 100000

static const char *const qos_names[] = {
	[QOS_BESTEFFORT] = "BestEffort",
	[QOS_BURSTABLE] = "Burstable",
	[QOS_GUARANTEED] = "Guaranteed",
};

const char *qos_class_name(enum qos_class c)
{
	if ((unsigned int)c >= sizeof(qos_names) / sizeof(qos_names[0]))
		return "unknown";
	return qos_names[c];
}

int qos_class_parse(const char *s, enum qos_class *ret)
{
	if (!s || !ret)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(qos_names) / sizeof(qos_names[0]); i++) {
		if (strcasecmp(s, qos_names[i]) == 0) {
			*ret = (enum qos_class)i;
			return 0;
		}
	}
	return -EINVAL;
}

enum qos_class qos_combine(enum qos_class a, enum qos_class b)
{
	if (a == b)
		return a;
	return QOS_BURSTABLE;
}

static bool qos_word_at(const char *p, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(p, word, n) != 0)
		return false;
	return p[n] == '\0' || strchr("/-._:", p[n]) != NULL;
}

/* The class one "kubepods" occurrence names (p points just past it), -ENOENT if none. */
static int qos_class_after(const char *p, enum qos_class *ret)
{
	if (*p != '\0' && !strchr("/-._:", *p))
		return -ENOENT;
	/* cgroupfs: /kubepods/burstable/..., systemd: kubepods-burstable.slice/... */
	if (*p == '/' || *p == '-')
		p++;
	if (qos_word_at(p, "burstable"))
		*ret = QOS_BURSTABLE;
	else if (qos_word_at(p, "besteffort"))
		*ret = QOS_BESTEFFORT;
	else
		*ret = QOS_GUARANTEED;
	return 0;
}

int qos_class_from_cgroup(const char *path, enum qos_class *ret)
{
	enum qos_class best = QOS_GUARANTEED, c;
	bool found = false;
	const char *p;

	if (!path || !ret)
		return -ENOENT;
	/* systemd paths repeat the prefix ("kubepods.slice/kubepods-burstable.slice"): the
	 * most specific occurrence (one naming a class) wins. */
	for (p = strstr(path, "kubepods"); p; p = strstr(p + 1, "kubepods")) {
		if (p != path && !strchr("/:.-_", p[-1]))
			continue;
		if (qos_class_after(p + strlen("kubepods"), &c) < 0)
			continue;
		found = true;
		if (c != QOS_GUARANTEED)
			best = c;
	}
	if (!found)
		return -ENOENT;
	*ret = best;
	return 0;
}

uint64_t qos_shares_from_mcpu(int64_t mcpu)
{
	uint64_t shares;

	if (mcpu <= 0)
		return QOS_MIN_SHARES;
	if (mcpu > (int64_t)QOS_MAX_SHARES * 1000 / QOS_SHARES_PER_CPU)
		return QOS_MAX_SHARES;
	shares = (uint64_t)mcpu * QOS_SHARES_PER_CPU / 1000;
	return shares < QOS_MIN_SHARES ? QOS_MIN_SHARES : shares;
}

int64_t qos_mcpu_from_shares(uint64_t shares)
{
	if (shares <= QOS_MIN_SHARES)
		return 0;
	if (shares > QOS_MAX_SHARES)
		shares = QOS_MAX_SHARES;
	/* Round up: shares were rounded down from mcpu, so this returns the original. */
	return (int64_t)((shares * 1000 + QOS_SHARES_PER_CPU - 1) / QOS_SHARES_PER_CPU);
}

int64_t qos_quota_from_mcpu(int64_t mcpu, uint64_t period)
{
	int64_t quota;

	if (mcpu <= 0)
		return -1;
	if (period == 0)
		period = QOS_DEFAULT_PERIOD;
	if (period > INT64_MAX / 1000 || mcpu > INT64_MAX / (int64_t)period)
		return -1;
	quota = mcpu * (int64_t)period / 1000;
	return quota < QOS_MIN_QUOTA ? QOS_MIN_QUOTA : quota;
}

int64_t qos_mcpu_from_quota(int64_t quota, uint64_t period)
{
	if (quota <= 0)
		return 0;
	if (period == 0)
		period = QOS_DEFAULT_PERIOD;
	if (period > (uint64_t)INT64_MAX || quota > INT64_MAX / 1000)
		return INT64_MAX / 1000;
	return (quota * 1000 + (int64_t)period - 1) / (int64_t)period;
}

static enum qos_class qos_from_resources(const struct qos_info *i, uint64_t shares)
{
	if (i->limit_mcpu > 0 && i->mem_limit > 0 && qos_shares_from_mcpu(i->limit_mcpu) == shares)
		return QOS_GUARANTEED;
	if (shares <= QOS_MIN_SHARES && i->limit_mcpu == 0 && i->mem_limit == 0)
		return QOS_BESTEFFORT;
	return QOS_BURSTABLE;
}

int qos_classify(const struct qos_input *in, struct qos_info *ret)
{
	struct qos_info i = {0};
	enum qos_class derived, hinted;
	uint64_t shares;

	if (!in || !ret)
		return -EINVAL;
	shares = in->has_shares ? in->shares : QOS_MIN_SHARES;
	i.request_mcpu = qos_mcpu_from_shares(shares);
	if (in->has_quota)
		i.limit_mcpu = qos_mcpu_from_quota(in->quota, in->has_period ? in->period : 0);
	if (in->has_mem_limit && in->mem_limit > 0)
		i.mem_limit = in->mem_limit;
	derived = qos_from_resources(&i, shares);
	i.cls = derived;
	i.source = QOS_SRC_RESOURCES;
	if (in->qos_hint && in->qos_hint[0]) {
		if (qos_class_parse(in->qos_hint, &hinted) < 0)
			return -EINVAL;
		i.cls = hinted;
		i.source = QOS_SRC_HINT;
	}
	/* The kubelet placed the pod from its full spec: strongest evidence. */
	if (in->cgroup_parent && qos_class_from_cgroup(in->cgroup_parent, &hinted) == 0) {
		i.cls = hinted;
		i.source = QOS_SRC_CGROUP_PARENT;
	}
	i.conflict = i.cls != derived;
	*ret = i;
	return 0;
}
