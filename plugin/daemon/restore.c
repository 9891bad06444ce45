/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint and the node restore (restore.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/restore.h"
#include "plugin/host/checkpoint.h"
#include "plugin/host/kubepods.h"
#include "plugin/obs/log.h"

/* ---- the checkpoint ------------------------------------------------------------- */

/*
 * Formatted in the daemon's scratch buffer and copied at its length: a buffer of the
 * worst-case size per entry made the heap of a 500-container save grow by megabytes
 * that glibc kept after the save (issue #17).
 */
static char *cpulist(struct daemon *d, const struct cpuset *s)
{
	if (cpuset_format(s, d->scratch_cpus, DAEMON_CPULIST_MAX) < 0)
		d->scratch_cpus[0] = '\0';
	return strdup(d->scratch_cpus);
}

/* e's strings: the container's and pod's names point into the model (or ""),
 * cpus/exclusive are malloc'd and freed by entries_free(). */
static int entry_of(struct daemon *d, const char *id, struct checkpoint_entry *e)
{
	const struct model_container *c = model_container_by_id(d->model, id);
	const struct model_pod *pod = c ? model_container_pod(d->model, c) : NULL;
	struct alloc_request req;
	struct alloc_result r;

	if (alloc_get_request(d->alloc, id, &req) < 0 || alloc_get(d->alloc, id, &r) < 0)
		return -ENOENT;
	*e = (struct checkpoint_entry){
		.id = (char *)id,
		.pod_uid = pod ? pod->uid : (char *)"",
		.pod_namespace = (char *)(req.pod_namespace ? req.pod_namespace : ""),
		.pod_name = pod ? pod->name : (char *)"",
		.name = c ? c->name : (char *)"",
		.qos = (char *)qos_class_name(req.qos),
		.cpu_request_mcpu = req.cpu_request_mcpu,
		.cpu_limit_mcpu = req.cpu_limit_mcpu,
		.mem_limit = req.mem_limit,
		.hide_hyperthreads = req.prefs.hide_hyperthreads,
		.isolated = req.prefs.isolated,
		.shared_only = req.prefs.shared_only,
		.reserved = req.prefs.reserved,
		.cpus = cpulist(d, &r.cpus),
		.exclusive = cpulist(d, &r.exclusive),
	};
	return e->cpus && e->exclusive ? 0 : -ENOMEM;
}

static void entries_free(struct checkpoint *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].cpus);
		free(c->e[i].exclusive);
	}
	free(c->e);
}

int daemon_checkpoint_save(struct daemon *d, bool durable)
{
	size_t n = alloc_count(d->alloc);
	struct checkpoint c = {.e = calloc(n ? n : 1, sizeof(*c.e))};
	int r = c.e ? 0 : -ENOMEM;

	if (durable)
		d->checkpoint_dirty = false;
	d->ck_alloc = d->alloc;
	d->ck_owned_gen = alloc_owned_gen(d->alloc);
	if (!*daemon_checkpoint_path(d)) {
		free(c.e);
		return 0;
	}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = entry_of(d, alloc_id_at(d->alloc, i), &c.e[c.n]);
		if (r == 0)
			c.n++;
		else if (r == -ENOENT)
			r = 0;
	}
	if (r >= 0)
		r = checkpoint_write(daemon_checkpoint_path(d), &c, durable);
	entries_free(&c);
	if (r < 0) {
		d->checkpoint_dirty = true; /* try again at the next tick */
		d->ck_alloc = NULL;
		return log_warn_errno(r, "cannot write the checkpoint %s",
				      daemon_checkpoint_path(d));
	}
	return 0;
}

void daemon_checkpoint_owners(struct daemon *d)
{
	/* a runtime that synchronizes the next plugin tells it everything itself */
	if (nri_stub_expects_synchronize(d->stub) || !d->state_known || !d->alloc ||
	    !*daemon_checkpoint_path(d) ||
	    (d->ck_alloc == d->alloc && d->ck_owned_gen == alloc_owned_gen(d->alloc)))
		return;
	(void)daemon_checkpoint_save(d, false);
}

/* ---- the node restore ------------------------------------------------------------ */

struct node_view {
	struct checkpoint ck;
	int ck_r; /* 0, or why there is none */
	struct kubepods_ctr *k;
	size_t nk;
	int k_r; /* 0, or -ENOENT: no kubelet cgroups to check against */
	struct alloc_restore_entry *e;
	size_t n;
	size_t gone, inferred, unplaced;
};

static const struct kubepods_ctr *on_node(const struct node_view *v, const char *id)
{
	for (size_t i = 0; i < v->nk; i++)
		if (!strcmp(v->k[i].id, id))
			return &v->k[i];
	return NULL;
}

static bool in_checkpoint(const struct node_view *v, const char *id)
{
	for (size_t i = 0; i < v->ck.n; i++)
		if (!strcmp(v->ck.e[i].id, id))
			return true;
	return false;
}

static void parse_set(const char *list, struct cpuset *ret)
{
	if (!list || cpuset_parse(list, strlen(list), ret) < 0)
		cpuset_zero(ret);
}

/* A checkpointed container: its request as recorded, its cpus as the kernel has them. */
static void from_checkpoint(struct node_view *v, const struct checkpoint_entry *c)
{
	const struct kubepods_ctr *k = on_node(v, c->id);
	struct alloc_restore_entry *e = &v->e[v->n];

	if (v->k_r == 0 && !k) {
		v->gone++; /* its cgroup is gone: it no longer runs */
		return;
	}
	memset(e, 0, sizeof(*e));
	alloc_request_init(&e->req);
	e->req.id = c->id;
	e->req.pod_namespace = c->pod_namespace;
	if (qos_class_parse(c->qos, &e->req.qos) < 0)
		e->req.qos = QOS_BURSTABLE;
	e->req.cpu_request_mcpu = c->cpu_request_mcpu;
	e->req.cpu_limit_mcpu = c->cpu_limit_mcpu;
	e->req.mem_limit = c->mem_limit;
	e->req.prefs.hide_hyperthreads = c->hide_hyperthreads;
	e->req.prefs.isolated = c->isolated;
	e->req.prefs.shared_only = c->shared_only;
	e->req.prefs.reserved = c->reserved;
	parse_set(k && *k->cpus ? k->cpus : c->cpus, &e->cpus);
	parse_set(c->exclusive, &e->exclusive);
	e->has_exclusive = true;
	v->n++;
}

/* A running container the checkpoint does not know, judged by its cgroup alone. */
static void from_cgroup(struct node_view *v, const struct kubepods_ctr *k)
{
	struct alloc_restore_entry *e = &v->e[v->n];
	int64_t limit = k->quota > 0 && k->period ? k->quota * 1000 / (int64_t)k->period : 0;
	int64_t request = (int64_t)(k->shares * 1000 / 1024);

	/* BestEffort containers and pause containers (shares 2) cannot be told apart:
	 * neither is placed, both keep what they have */
	if (k->qos == QOS_BESTEFFORT || k->shares <= 2) {
		v->unplaced++;
		return;
	}
	memset(e, 0, sizeof(*e));
	alloc_request_init(&e->req);
	e->req.id = k->id;
	e->req.qos = k->qos;
	e->req.cpu_request_mcpu = k->qos == QOS_GUARANTEED && limit ? limit : request;
	e->req.cpu_limit_mcpu = limit;
	parse_set(k->cpus, &e->cpus);
	e->has_exclusive = true; /* empty: it ran shared */
	if (k->qos == QOS_GUARANTEED && limit && limit % 1000 == 0 &&
	    cpuset_count(&e->cpus) == (unsigned int)(limit / 1000)) {
		e->exclusive = e->cpus; /* a whole-CPU Guaranteed container on exactly that many */
		v->inferred++;
	}
	v->n++;
}

static void view_done(struct node_view *v)
{
	checkpoint_done(&v->ck);
	kubepods_free(v->k, v->nk);
	free(v->e);
}

static int view_read(struct daemon *d, struct node_view *v)
{
	const char *path = daemon_checkpoint_path(d);

	v->ck_r = *path ? checkpoint_read(path, &v->ck) : -ENOENT;
	if (v->ck_r < 0 && v->ck_r != -ENOENT)
		log_warn_errno(v->ck_r, "checkpoint %s is corrupt or unreadable; ignoring it",
			       path);
	v->k_r = kubepods_scan(d->opt.cgroup_root, &v->k, &v->nk);
	if (v->k_r < 0 && v->k_r != -ENOENT)
		return log_error_errno(v->k_r, "cannot read the kubelet's cgroups");
	v->e = calloc(v->ck.n + v->nk + 1, sizeof(*v->e));
	if (!v->e)
		return -ENOMEM;
	for (size_t i = 0; i < v->ck.n; i++)
		from_checkpoint(v, &v->ck.e[i]);
	for (size_t i = 0; i < v->nk; i++)
		if (!in_checkpoint(v, v->k[i].id))
			from_cgroup(v, &v->k[i]);
	return 0;
}

/* The model learns the restored containers by id, so that later events find them. */
static void model_learn(struct daemon *d, const struct node_view *v)
{
	for (size_t i = 0; i < v->n; i++) {
		NriContainer c = NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
		struct model_container *mc;

		c.id = (char *)v->e[i].req.id;
		c.pod_sandbox_id = (char *)"";
		c.name = (char *)"";
		c.state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_RUNNING;
		if (model_container_put(d->model, NULL, &c, &mc) < 0)
			log_warn("node restore: container %s not modelled", c.id);
		else
			mc->track.confirmed = true; /* its cgroup (or the checkpoint) says so */
	}
}

static const char *source_of(const struct node_view *v)
{
	if (v->ck_r == 0)
		return v->k_r == 0 ? "checkpoint+cgroups" : "checkpoint";
	return v->k_r == 0 ? "cgroups" : "none";
}

int daemon_restore_from_node(struct daemon *d, const char *why)
{
	struct node_view v = {0};
	struct alloc_state *fresh = NULL;
	char reason[256] = "";
	int r = view_read(d, &v);

	if (r >= 0)
		r = daemon_new_alloc(d, &fresh);
	alloc_changes_reset(&d->changes);
	if (r >= 0)
		r = alloc_restore(fresh, v.e, v.n, &d->changes, reason, sizeof(reason));
	if (r < 0) {
		alloc_state_free(fresh);
		view_done(&v);
		return log_error_errno(r,
				       "node restore failed (%s): %s; no exclusive CPUs until "
				       "the runtime synchronizes",
				       why, reason);
	}
	alloc_state_free(d->alloc);
	d->alloc = fresh;
	d->ck_alloc = NULL; /* a new allocation: its owners are not checkpointed yet */
	model_learn(d, &v);
	d->state_source = source_of(&v);
	d->state_known = true;
	log_info("state restored from the node: why=\"%s\" source=%s containers=%zu gone=%zu "
		 "inferred_exclusive=%zu left_alone=%zu would_move=%zu",
		 why, d->state_source, v.n, v.gone, v.inferred, v.unplaced, d->changes.n);
	/* Moves are not sent: nothing is connected that could carry them safely yet, and
	 * the kernel keeps what it has; the next event of each container carries its own. */
	alloc_changes_reset(&d->changes);
	view_done(&v);
	daemon_update_pool_metrics(d);
	return 0;
}
