/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Safe actuation (state.h, docs/deploy.md "Safe actuation"): how topoguard changes
 * containers outside a runtime request. Before NRI v0.12.1 an unsolicited
 * UpdateContainers that meets the runtime's own UpdateContainer deadlocks containerd
 * (containerd#13733), so in direct mode none is ever sent: the change is written into
 * the container's cgroup at once and the container is owed to the runtime, whose view
 * is put right by the reply to its next request that can carry updates (every reply
 * path goes through daemon_add_change_updates()).
 *
 * Part of the bottom of the daemon room, with state.c: it calls nothing else of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/state.h"
#include "plugin/host/cgroups.h"
#include "plugin/host/kubepods.h"
#include "plugin/obs/log.h"

enum daemon_actuation daemon_actuation_decide(enum config_actuation cfg, const char *nri_version)
{
	if (cfg == CONFIG_ACTUATION_NRI)
		return DAEMON_ACTUATION_NRI;
	if (cfg == CONFIG_ACTUATION_DIRECT)
		return DAEMON_ACTUATION_DIRECT;
	return nri_version_updates_safe(nri_version) ? DAEMON_ACTUATION_NRI
						     : DAEMON_ACTUATION_DIRECT;
}

const char *daemon_actuation_name(enum daemon_actuation a)
{
	return a == DAEMON_ACTUATION_DIRECT ? "direct" : "nri";
}

enum daemon_actuation daemon_actuation(const struct daemon *d)
{
	if (!d->stub) /* the offline test seam: no runtime, nothing is ever sent */
		return DAEMON_ACTUATION_NRI;
	return daemon_actuation_decide(d->cfg.actuation, nri_stub_nri_version(d->stub));
}

void daemon_actuation_log(const struct daemon *d)
{
	enum daemon_actuation a = daemon_actuation(d);
	const char *why = "set by the config";

	if (d->cfg.actuation == CONFIG_ACTUATION_AUTO)
		why = a == DAEMON_ACTUATION_NRI
			      ? "the runtime's NRI has the fix of containerd#13733"
			      : "no unsolicited UpdateContainers before NRI v0.12.1, "
				"containerd#13733";
	log_info("actuation: mode=%s nri=%s (%s)", daemon_actuation_name(a),
		 d->stub ? nri_stub_nri_version(d->stub) : "-", why);
}

void daemon_owe(struct daemon *d, const char *id)
{
	struct model_container *c = model_container_by_id(d->model, id);

	if (!c || c->track.owed)
		return;
	c->track.owed = true;
	d->n_owed++;
}

static int cgroup_rel(struct daemon *d, const char *id, char **ret)
{
	const struct model_container *c = model_container_by_id(d->model, id);

	if (!c || !c->cgroups_path || !*c->cgroups_path)
		return -ENOENT;
	if (!d->rc.kroot && kubepods_root_open(d->opt.cgroup_root, &d->rc.kroot) < 0) {
		d->rc.kroot = NULL; /* no hierarchy (yet) */
		return -ENOENT;
	}
	return cgroups_resolve(c->cgroups_path, CGROUPS_DRIVER_AUTO, ret);
}

int daemon_direct_write(struct daemon *d, const char *id, const struct nri_resources *res)
{
	struct kubepods_cpu w = {.cpus = res->cpus,
				 .has_quota = res->has_quota,
				 .quota = res->quota,
				 .period = res->has_period ? res->period : 0};
	char *rel = NULL;
	int r;

	r = cgroup_rel(d, id, &rel);
	if (r == 0)
		r = kubepods_write_at(d->rc.kroot, rel, &w);
	free(rel);
	d->direct_writes++;
	if (r < 0 && d->direct_failures++ == 0)
		log_warn_errno(
			r,
			"direct actuation: cannot write the cgroup of container %s (is "
			"--cgroup-root writable?); changes wait for the runtime's next reply",
			id);
	else if (r < 0)
		log_debug_errno(r, "direct write of container %s failed", id);
	daemon_note_told(d, id);
	return r;
}

int daemon_direct_changes(struct daemon *d)
{
	struct daemon_batch b = {0};
	int first = 0;

	for (size_t i = 0; i < d->changes.n; i++) {
		const char *id = d->changes.ids[i];
		struct nri_resources res;
		int e;

		if (daemon_batch_resources(d, &b, id, model_container_by_id(d->model, id), &res) <
		    0)
			continue;
		e = daemon_direct_write(d, id, &res);
		if (e < 0 && !first)
			first = e;
		daemon_owe(d, id);
	}
	return first;
}

static bool in_changes(const struct daemon *d, const char *id)
{
	for (size_t i = 0; i < d->changes.n; i++)
		if (!strcmp(d->changes.ids[i], id))
			return true;
	return false;
}

struct owed_walk {
	struct daemon *d;
	struct nri_reply *reply;
	int n;
};

static int owed_one(struct model_container *c, void *ud)
{
	struct owed_walk *w = ud;

	if (!c->track.owed)
		return 0;
	c->track.owed = false;
	if (!in_changes(w->d, c->id) && daemon_add_update(w->d, w->reply, c->id) == 0)
		w->n++;
	return 0;
}

int daemon_add_owed_updates(struct daemon *d, struct nri_reply *reply)
{
	struct owed_walk w = {d, reply, 0};

	if (!d->n_owed)
		return 0;
	model_foreach_container(d->model, NULL, owed_one, &w);
	d->n_owed = 0;
	d->owed_settled += (uint64_t)w.n;
	return w.n;
}
