/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The closed loop's evidence of who harms whom (docs/closed-loop.md "Blame before
 * acting"): each container's waits beside another container's tasks and beside tasks
 * outside every container, from the BPF preemption pairs, for the controller's
 * samples; the blame it reached, in the log, in `topoguard status` and, with the
 * last action for and against a container and whether it helped, in `explain`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/usage.h"
#include "plugin/daemon/control.h"
#include "plugin/daemon/control_state.h"
#include "plugin/daemon/live.h"
#include "plugin/obs/log.h"

/* ---- blame evidence ------------------------------------------------------------- */

static struct control_sample *sample_by_id(struct daemon_control *dc, const char *id)
{
	for (size_t i = 0; id && i < dc->n_s; i++)
		if (!strcmp(dc->s[i].id, id))
			return &dc->s[i];
	return NULL;
}

/* Totals since registration, for now in the samples: a task of one cgroup switched in
 * while one of the other stayed runnable on that CPU, either way round, is a wait of
 * the one beside the other. NULL: a task outside every followed container. */
static void on_pair(const char *from, const char *to, __u64 count, void *ud)
{
	struct daemon_control *dc = ud;
	struct control_sample *f = sample_by_id(dc, from), *t = sample_by_id(dc, to);

	if (f && to)
		f->waits_containers += count;
	else if (f)
		f->waits_host += count;
	if (t && from)
		t->waits_containers += count;
	else if (t)
		t->waits_host += count;
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now; /* re-registered: counted from 0 */
}

static const struct dc_ev *ev_of(const struct dc_ev *ev, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ev[i].id, id))
			return &ev[i];
	return NULL;
}

/* Each sample's waits beside containers and host tasks over the interval (BPF only). */
void dc_add_evidence(struct daemon *d)
{
	struct daemon_control *dc = d->control;
	struct usage *u = daemon_live_usage(d);
	struct dc_ev *ev;

	if (!u || usage_backend(u) != USAGE_BACKEND_BPF ||
	    usage_preemption_pairs(u, on_pair, dc) < 0)
		return;
	ev = calloc(dc->n_s ? dc->n_s : 1, sizeof(*ev));
	if (!ev)
		return;
	for (size_t i = 0; i < dc->n_s; i++) {
		struct control_sample *s = &dc->s[i];
		const struct dc_ev *p = ev_of(dc->ev, dc->n_ev, s->id);

		ev[i] = (struct dc_ev){.ctr = s->waits_containers,
				       .host = s->waits_host,
				       .blame = p ? p->blame : CONTROL_BLAME_NONE};
		snprintf(ev[i].id, sizeof(ev[i].id), "%s", s->id);
		s->waits_containers = p ? delta(ev[i].ctr, p->ctr) : 0;
		s->waits_host = p ? delta(ev[i].host, p->host) : 0;
		s->has_blame = true;
	}
	free(dc->ev);
	dc->ev = ev;
	dc->n_ev = dc->n_s;
}

/* Say when who a container's breaches are blamed on changes (the loop acts only on
 * "neighbours"); a breach that ends and comes back with the same blame is not news. */
void dc_log_blame(struct daemon_control *dc)
{
	struct control_explain x;

	for (size_t i = 0; i < dc->n_ev; i++) {
		struct dc_ev *e = &dc->ev[i];

		if (control_explain_of(dc->ctl, e->id, &x) != 1 || x.blame == CONTROL_BLAME_NONE ||
		    x.blame == e->blame)
			continue;
		e->blame = x.blame;
		log_info("closed loop: breach of %s blamed on %s (recent waits beside containers "
			 "%.0f, beside host tasks %.0f; node steal %.2f CPUs, outside containers "
			 "%.2f CPUs)",
			 e->id, control_blame_name(x.blame), x.waits_containers, x.waits_host,
			 x.steal_cpus, x.host_cpus);
	}
}

/* A breach and who it is blamed on, while there is one. */
void dc_blame_json(struct daemon_control *dc, const char *id, json_object *t)
{
	struct control_explain x;
	json_object *o;

	if (control_explain_of(dc->ctl, id, &x) != 1 || x.blame == CONTROL_BLAME_NONE)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "blame", json_object_new_string(control_blame_name(x.blame)));
	json_object_object_add(o, "waits_beside_containers",
			       json_object_new_double(x.waits_containers));
	json_object_object_add(o, "waits_beside_host", json_object_new_double(x.waits_host));
	json_object_object_add(t, id, o);
}

/* ---- explain ------------------------------------------------------------------- */

static void outcome_text(const struct control_outcome *w, uint64_t now, bool against, char *buf,
			 size_t len)
{
	snprintf(
		buf, len,
		"%s%s%s %.1f s ago (%s%s: %.0f recent waits beside containers, "
		"%.0f beside host tasks; node steal %.2f CPUs, load outside containers %.2f CPUs); "
		"p99 before %.0f us, after %.0f us: %s",
		control_kind_name(w->kind),
		against			      ? " for "
		: w->kind == CONTROL_THROTTLE ? " of its neighbours"
					      : "",
		against ? w->other_id : "", now >= w->at ? (double)(now - w->at) / 1e9 : 0.0,
		w->blame == CONTROL_BLAME_NONE ? "not breached" : "breach blamed on ",
		w->blame == CONTROL_BLAME_NONE ? "" : control_blame_name(w->blame),
		w->waits_containers, w->waits_host, w->steal_cpus, w->host_cpus, w->before_us,
		w->after_us, control_verdict_name(w->verdict));
}

void daemon_control_explain(struct daemon *d, const char *id, uint64_t now, char *buf, size_t len)
{
	struct control_explain x;
	char f[512] = "", a[512] = "";

	*buf = '\0';
	if (!d->control || control_explain_of(d->control->ctl, id, &x) != 1)
		return;
	if (x.has_for)
		outcome_text(&x.for_it, now, false, f, sizeof(f));
	if (x.has_against)
		outcome_text(&x.against_it, now, true, a, sizeof(a));
	snprintf(buf, len,
		 "; closed loop: %s%s (%.0f recent waits beside containers, %.0f beside host "
		 "tasks; node steal %.2f CPUs, outside containers %.2f CPUs)%s%s%s%s%s%s",
		 x.blame == CONTROL_BLAME_NONE ? "not breached" : "breach blamed on ",
		 x.blame == CONTROL_BLAME_NONE ? "" : control_blame_name(x.blame),
		 x.waits_containers, x.waits_host, x.steal_cpus, x.host_cpus,
		 *f ? "; last action for it: " : "", f, *a ? "; last action against it: " : "", a,
		 x.throttle_ineffective_until > now ? "; throttling is marked ineffective for it"
						    : "",
		 x.shield_ineffective_until > now ? "; a shield is marked ineffective for it" : "");
}
