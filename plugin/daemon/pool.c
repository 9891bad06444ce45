/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's shared-pool side (docs/closed-loop.md "Moving noisy
 * neighbours"): how big and how busy the shared pool is (its CPUs' busy time from
 * /proc/stat, whoever ran), carrying out shields on the allocation and sending
 * the moved cpusets as one unsolicited UpdateContainers, re-sent with backoff when
 * the runtime did not take them, and the pool's part of `topoguard status`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/control_state.h"
#include "plugin/obs/log.h"

void dc_log_pool(struct daemon_control *dc)
{
	unsigned int cpus;
	double wanted, ctr;
	int sat = control_pool_of(dc->ctl, &wanted, &ctr, &cpus);

	log_debug("closed loop: shared pool cpus=%u wanted=%.2f by_containers=%.2f saturated=%d",
		  cpus, wanted, ctr, sat);
}

static unsigned int shared_cpus(struct daemon *d)
{
	struct alloc_stats st;

	alloc_stats_get(d->alloc, &st);
	return st.pool[ALLOC_POOL_SHARED].capacity;
}

static int stat_grow1(uint64_t **a, unsigned int old, unsigned int n)
{
	uint64_t *p = realloc(*a, n * sizeof(*p));

	if (!p)
		return -ENOMEM;
	memset(p + old, 0, (n - old) * sizeof(*p));
	*a = p;
	return 0;
}

static int stat_grow(struct daemon_control *dc, unsigned int cpu)
{
	unsigned int n = cpu + 1;

	if (cpu < dc->stat_n)
		return 0;
	if (n > CPUSET_MAX)
		return -ERANGE;
	if (stat_grow1(&dc->stat_busy, dc->stat_n, n) < 0 ||
	    stat_grow1(&dc->stat_total, dc->stat_n, n) < 0 ||
	    stat_grow1(&dc->stat_steal, dc->stat_n, n) < 0)
		return -ENOMEM;
	dc->stat_n = n;
	return 0;
}

/* Since the last tick, in CPUs: the pool's CPUs busy (whoever ran, steal included),
 * every CPU busy outside steal, and every CPU's steal. */
struct stat_sum {
	double pool, busy, steal;
	bool seen; /* a CPU with a previous value */
};

/* One "cpuN ..." line of /proc/stat into *sum. */
static void stat_line(struct daemon_control *dc, const char *line, const struct cpuset *pool,
		      struct stat_sum *sum)
{
	unsigned long long v[8] = {0};
	uint64_t busy, total, steal;
	unsigned int cpu;
	double span;

	if (sscanf(line, "cpu%u %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]) < 9 ||
	    stat_grow(dc, cpu) < 0)
		return;
	/* user nice system idle iowait irq softirq steal: idle and iowait are free */
	steal = v[7];
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + steal;
	total = busy + v[3] + v[4];
	if (dc->stat_total[cpu] && total > dc->stat_total[cpu] && busy >= dc->stat_busy[cpu] &&
	    steal >= dc->stat_steal[cpu]) {
		span = (double)(total - dc->stat_total[cpu]);
		if (cpuset_test(pool, cpu))
			sum->pool += (double)(busy - dc->stat_busy[cpu]) / span;
		sum->steal += (double)(steal - dc->stat_steal[cpu]) / span;
		sum->busy +=
			(double)(busy - dc->stat_busy[cpu] - (steal - dc->stat_steal[cpu])) / span;
		sum->seen = true;
	}
	dc->stat_busy[cpu] = busy;
	dc->stat_total[cpu] = total;
	dc->stat_steal[cpu] = steal;
}

/* /proc/stat since the last tick; false if it cannot be read. */
static bool stat_read(struct daemon *d, struct stat_sum *sum)
{
	struct daemon_control *dc = d->control;
	FILE *f = fopen("/proc/stat", "re");
	struct alloc_stats st;
	char line[512];

	*sum = (struct stat_sum){0};
	if (!f)
		return false;
	alloc_stats_get(d->alloc, &st);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "cpu", 3) && line[3] >= '0' && line[3] <= '9')
			stat_line(dc, line, &st.shared, sum);
	fclose(f);
	return true;
}

/* Busy time outside every container: all CPUs' busy time (steal apart) minus what the
 * followed containers used. */
static double outside_containers(const struct daemon_control *dc, double busy)
{
	for (size_t i = 0; i < dc->n_s; i++)
		busy -= dc->s[i].cpu_cores;
	return busy > 0 ? busy : 0;
}

static const struct control_sample *sample_of(struct daemon_control *dc, const char *id)
{
	for (size_t i = 0; i < dc->n_s; i++)
		if (!strcmp(dc->s[i].id, id))
			return &dc->s[i];
	return NULL;
}

static void cpusets_done(struct nri_stub *s, int code, void *ud)
{
	struct dc_done *x = ud;
	struct daemon_control *dc = x->d->control;
	uint64_t now = daemon_now_ns();

	(void)s;
	if (dc && x->gen == dc->cpuset_gen) {
		dc->cpuset_gen = 0;
		if (code == 0) {
			dc_count(dc, CONTROL_SHIELD, "applied");
			dc->cpuset_attempts = 0;
		} else if (++dc->cpuset_attempts < DC_RETRY_ATTEMPTS) {
			dc_count(dc, CONTROL_SHIELD, "failed");
			dc->cpuset_retry_at =
				now + (DC_RETRY_MIN_NS
				       << (dc->cpuset_attempts < 6 ? dc->cpuset_attempts : 6));
			log_warn("closed loop: cpuset update failed (%d), retry %u", code,
				 dc->cpuset_attempts);
		} else {
			log_error("closed loop: giving up on cpuset updates after %u attempts (%d)",
				  dc->cpuset_attempts, code);
			dc->cpuset_attempts = 0;
		}
	}
	free(x);
}

/*
 * Direct actuation: the cpusets into the cgroups now, owed to the next reply, and
 * settled at once (a failed write is counted and warned by daemon_direct_write();
 * the reply still carries it, so a retry would only repeat the refusal).
 */
static int write_cpusets(struct daemon *d)
{
	struct daemon_control *dc = d->control;
	struct dc_done *x = malloc(sizeof(*x));

	daemon_direct_changes(d);
	if (!x)
		return -ENOMEM;
	*x = (struct dc_done){d, ++dc->gen};
	dc->cpuset_gen = x->gen;
	dc->cpuset_retry_at = 0;
	cpusets_done(d->stub, 0, x);
	return 0;
}

/* d->changes' cpusets as one UpdateContainers; cpusets_done() watches the answer. */
static int send_cpusets(struct daemon *d)
{
	struct daemon_control *dc = d->control;
	struct nri_reply *upd;
	struct dc_done *x;
	int r;

	if (daemon_actuation(d) == DAEMON_ACTUATION_DIRECT)
		return write_cpusets(d);
	upd = nri_stub_new_updates(d->stub);
	if (!upd)
		return -ENOTCONN;
	daemon_add_change_updates(d, upd);
	x = malloc(sizeof(*x));
	if (!x) {
		nri_stub_update_containers(d->stub, upd, NULL, NULL);
		return -ENOMEM;
	}
	*x = (struct dc_done){d, ++dc->gen};
	dc->cpuset_gen = x->gen;
	dc->cpuset_retry_at = 0;
	r = nri_stub_update_containers(d->stub, upd, cpusets_done, x);
	if (r < 0)
		cpusets_done(d->stub, r, x);
	return 0;
}

void dc_resend_cpusets(struct daemon *d, uint64_t now)
{
	struct daemon_control *dc = d->control;

	if (!dc->cpuset_retry_at || dc->cpuset_retry_at > now || dc->cpuset_gen)
		return;
	alloc_changes_reset(&d->changes);
	if (alloc_changes_pool(d->alloc, &d->changes) >= 0 && send_cpusets(d) >= 0)
		dc_count(dc, CONTROL_SHIELD, "retried");
	else
		dc->cpuset_retry_at = now + DC_RETRY_MAX_NS;
}

void dc_do_shield(struct daemon *d, const struct control_action *a, uint64_t now)
{
	struct daemon_control *dc = d->control;
	const struct control_sample *s = sample_of(dc, a->id);
	bool on = a->kind == CONTROL_SHIELD;
	unsigned int n =
		s && s->request_mcpu > 1000 ? (unsigned int)((s->request_mcpu + 999) / 1000) : 1;
	char reason[256] = "", cpus[DAEMON_CPULIST_MAX] = "-";
	struct alloc_result ar;
	int r;

	if (a->dry_run) {
		log_info("closed loop: would %s container=%s reason=%s pool_cpus=%u",
			 control_kind_name(a->kind), a->id, control_reason_name(a->reason),
			 shared_cpus(d));
		dc_count(dc, a->kind, "recommended");
		return;
	}
	alloc_changes_reset(&d->changes);
	r = on ? alloc_shield(d->alloc, a->id, n, &d->changes, reason, sizeof(reason))
	       : alloc_unshield(d->alloc, a->id, &d->changes);
	if (r < 0) {
		log_warn_errno(r, "closed loop: cannot %s %s: %s", control_kind_name(a->kind),
			       a->id, *reason ? reason : "allocator refused");
		if (on)
			control_shield_refused(dc->ctl, a->id, now);
		dc_count(dc, a->kind, "failed");
		return;
	}
	if (alloc_get(d->alloc, a->id, &ar) == 0)
		cpuset_format(&ar.cpus, cpus, sizeof(cpus));
	log_info("closed loop: %s container=%s cpus=%s reason=%s moved=%zu",
		 control_kind_name(a->kind), a->id, cpus, control_reason_name(a->reason),
		 d->changes.n);
	dc->n_kind[a->kind]++;
	if (send_cpusets(d) < 0) {
		dc->cpuset_retry_at = now; /* next tick */
		dc_count(dc, a->kind, "failed");
		return;
	}
	dc_count(dc, a->kind, "sent");
	if (on)
		dc_observe_reaction(dc, "shield", a->since_ns, now);
	daemon_update_pool_metrics(d);
}

void dc_shield_json(struct daemon *d, const struct model_container *c, json_object *t)
{
	char cpus[DAEMON_CPULIST_MAX];
	struct alloc_result ar;

	if (alloc_get(d->alloc, c->id, &ar) == 0 && ar.shielded &&
	    cpuset_format(&ar.cpus, cpus, sizeof(cpus)) >= 0)
		json_object_object_add(t, c->id, json_object_new_string(cpus));
}

json_object *dc_pool_json(struct daemon_control *dc)
{
	json_object *p = json_object_new_object();
	unsigned int cpus = 0;
	double wanted = 0, ctr = 0;
	int sat = control_pool_of(dc->ctl, &wanted, &ctr, &cpus);

	json_object_object_add(p, "cpus", json_object_new_int((int)cpus));
	json_object_object_add(p, "wanted_cpus", json_object_new_double(wanted));
	json_object_object_add(p, "wanted_by_containers", json_object_new_double(ctr));
	json_object_object_add(p, "saturated", json_object_new_boolean(sat == 1));
	/* the node's, never blamed on containers (docs/closed-loop.md "Blame before acting") */
	json_object_object_add(p, "steal_cpus", json_object_new_double(dc->steal_cpus));
	json_object_object_add(p, "outside_containers_cpus", json_object_new_double(dc->host_cpus));
	return p;
}

void dc_pool_node(struct daemon *d, struct control_node *node)
{
	struct daemon_control *dc = d->control;
	struct stat_sum sum;
	bool ok = stat_read(d, &sum);

	node->shared_cpus = shared_cpus(d);
	node->shared_busy_cpus = ok ? sum.pool : -1;
	node->steal_cpus = ok && sum.seen ? sum.steal : -1;
	node->host_cpus = ok && sum.seen ? outside_containers(dc, sum.busy) : -1;
	dc->steal_cpus = node->steal_cpus;
	dc->host_cpus = node->host_cpus;
}
