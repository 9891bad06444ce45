/* SPDX-License-Identifier: Apache-2.0 */
/* Pods and containers store. NRI -> model conversion: model_nri.c. */
#include "plugin/daemon/model.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/model_priv.h"
#include "policy/strhash.h"

/* ---- open-addressing table: string key (borrowed from the object) -> object ---- */

static const char tombstone[] = "";

static struct table_slot *table_slot(const struct table *t, const char *key)
{
	size_t mask = t->cap - 1, i;

	if (!t->cap)
		return NULL;
	for (i = strhash(key) & mask;; i = (i + 1) & mask) {
		struct table_slot *s = &t->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != tombstone && !strcmp(s->key, key))
			return s;
	}
}

void *table_get(const struct table *t, const char *key)
{
	struct table_slot *s = table_slot(t, key);

	return s ? s->val : NULL;
}

static void table_insert_fresh(struct table *t, const char *key, void *val)
{
	size_t mask = t->cap - 1, i = strhash(key) & mask;

	while (t->slots[i].key && t->slots[i].key != tombstone)
		i = (i + 1) & mask;
	if (!t->slots[i].key)
		t->used++;
	t->slots[i].key = key;
	t->slots[i].val = val;
	t->live++;
}

/* Make room for n more live keys, so that the next n table_put() cannot fail. */
int table_reserve(struct table *t, size_t n)
{
	size_t cap = t->cap ? t->cap : 16;
	struct table old = *t;

	if ((t->used + n) * 10 < t->cap * 7)
		return 0;
	while ((t->live + n) * 10 >= cap * 7)
		cap *= 2;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		*t = old;
		return -ENOMEM;
	}
	t->cap = cap;
	t->used = t->live = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key && old.slots[i].key != tombstone)
			table_insert_fresh(t, old.slots[i].key, old.slots[i].val);
	free(old.slots);
	return 0;
}

/* Callers reserve first; replaces the value of an existing key. */
void table_put(struct table *t, const char *key, void *val)
{
	struct table_slot *s = table_slot(t, key);

	if (s) {
		s->key = key; /* the new object's copy of the same string */
		s->val = val;
		return;
	}
	table_insert_fresh(t, key, val);
}

/* Deletes key only while it maps to val (an index may have moved on to a newer pod). */
void table_del(struct table *t, const char *key, const void *val)
{
	struct table_slot *s = table_slot(t, key);

	if (!s || s->val != val)
		return;
	s->key = tombstone;
	s->val = NULL;
	t->live--;
}

void table_done(struct table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

int model_new(struct model **ret)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	*ret = m;
	return 0;
}

static void model_drop_container(struct model *m, struct model_container *c)
{
	struct model_pod *p = table_get(&m->pods, c->pod_id);

	if (p && p->n_containers)
		p->n_containers--;
	table_del(&m->containers, c->id, c);
	model_container_done(c);
	free(c);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->containers.cap; i++) {
		struct table_slot *s = &m->containers.slots[i];

		if (s->key && s->key != tombstone) {
			model_container_done(s->val);
			free(s->val);
		}
	}
	for (size_t i = 0; i < m->pods.cap; i++) {
		struct table_slot *s = &m->pods.slots[i];

		if (s->key && s->key != tombstone) {
			model_pod_done(s->val);
			free(s->val);
		}
	}
	table_done(&m->containers);
	table_done(&m->pods);
	table_done(&m->pods_by_uid);
	table_done(&m->pods_by_name);
	free(m);
}

static int model_reserve_pod(struct model *m)
{
	int r = table_reserve(&m->pods, 1);

	if (r >= 0)
		r = table_reserve(&m->pods_by_uid, 1);
	if (r >= 0)
		r = table_reserve(&m->pods_by_name, 1);
	return r;
}

static void model_index_pod(struct model *m, struct model_pod *p)
{
	table_put(&m->pods, p->id, p);
	if (*p->uid)
		table_put(&m->pods_by_uid, p->uid, p);
	table_put(&m->pods_by_name, p->ns_name, p);
}

static void model_unindex_pod(struct model *m, struct model_pod *p)
{
	table_del(&m->pods_by_uid, p->uid, p);
	table_del(&m->pods_by_name, p->ns_name, p);
	table_del(&m->pods, p->id, p);
}

/* fresh takes old's resources from an UpdatePodSandbox; old gets fresh's, to be freed. */
static void model_pod_keep_resources(struct model_pod *fresh, struct model_pod *old)
{
	struct model_resources r = fresh->resources, o = fresh->overhead;

	fresh->resources = old->resources;
	fresh->overhead = old->overhead;
	fresh->resized = true;
	old->resources = r;
	old->overhead = o;
}

int model_pod_put(struct model *m, const NriPodSandbox *pod, struct model_pod **ret)
{
	struct model_pod fresh, *p;
	int r;

	if (!m || !pod || !pod->id || !*pod->id)
		return -EINVAL;
	r = model_reserve_pod(m);
	if (r < 0)
		return r;
	r = model_pod_from_nri(pod, &fresh);
	if (r < 0)
		return r;
	p = table_get(&m->pods, pod->id);
	if (p) {
		fresh.n_containers = p->n_containers;
		if (p->resized)
			model_pod_keep_resources(&fresh, p);
		model_unindex_pod(m, p);
		model_pod_done(p);
	} else if (!(p = malloc(sizeof(*p)))) {
		model_pod_done(&fresh);
		return -ENOMEM;
	}
	*p = fresh;
	model_index_pod(m, p);
	if (ret)
		*ret = p;
	return 0;
}

/* A container first seen already marked as sized from its pod's budget (by a daemon
 * before this one, at its creation). */
static bool model_pod_budget_annotated(const struct model_container *c)
{
	const char *v = model_kv_get(c->annotations, c->n_annotations, MODEL_POD_BUDGET_ANNOTATION);

	return v && !strcmp(v, "true");
}

int model_container_put(struct model *m, const NriPodSandbox *pod, const NriContainer *ctr,
			struct model_container **ret)
{
	struct model_container fresh, *c;
	struct model_pod *p;
	int r;

	if (!m || !ctr || !ctr->id || !*ctr->id)
		return -EINVAL;
	if (pod && pod->id && *pod->id && !table_get(&m->pods, pod->id)) {
		r = model_pod_put(m, pod, NULL);
		if (r < 0)
			return r;
	}
	r = table_reserve(&m->containers, 1);
	if (r < 0)
		return r;
	r = model_container_from_nri(ctr, &fresh);
	if (r < 0)
		return r;
	c = table_get(&m->containers, ctr->id);
	if (c) {
		fresh.ctl_quota = c->ctl_quota;
		fresh.ctl_period = c->ctl_period;
		fresh.track = c->track;
		table_del(&m->containers, c->id, c);
		p = table_get(&m->pods, c->pod_id);
		if (p && p->n_containers)
			p->n_containers--;
		model_container_done(c);
	} else if (!(c = malloc(sizeof(*c)))) {
		model_container_done(&fresh);
		return -ENOMEM;
	} else {
		fresh.track.pod_budget = model_pod_budget_annotated(&fresh);
	}
	*c = fresh;
	table_put(&m->containers, c->id, c);
	p = table_get(&m->pods, c->pod_id);
	if (p)
		p->n_containers++;
	if (ret)
		*ret = c;
	return 0;
}

static int model_drop_pod_container(struct model_container *c, void *ud)
{
	model_drop_container(ud, c);
	return 0;
}

int model_pod_remove(struct model *m, const char *id)
{
	struct model_pod *p;

	if (!m || !id)
		return 0;
	p = table_get(&m->pods, id);
	if (!p)
		return 0;
	if (p->n_containers)
		(void)model_foreach_container(m, id, model_drop_pod_container, m);
	model_unindex_pod(m, p);
	model_pod_done(p);
	free(p);
	return 1;
}

int model_container_remove(struct model *m, const char *id)
{
	struct model_container *c = m && id ? table_get(&m->containers, id) : NULL;

	if (!c)
		return 0;
	model_drop_container(m, c);
	return 1;
}

int model_container_set_state(struct model *m, const char *id, enum model_state state)
{
	struct model_container *c = model_container_by_id(m, id);

	if (!c)
		return -ENOENT;
	c->state = state;
	return 0;
}

struct model_pod *model_pod_by_id(const struct model *m, const char *id)
{
	return m && id ? table_get(&m->pods, id) : NULL;
}

struct model_pod *model_pod_by_uid(const struct model *m, const char *uid)
{
	return m && uid && *uid ? table_get(&m->pods_by_uid, uid) : NULL;
}

struct model_pod *model_pod_by_name(const struct model *m, const char *ns, const char *name)
{
	struct model_pod *p;
	size_t nl, ml;
	char *key;

	if (!m || !ns || !name)
		return NULL;
	nl = strlen(ns);
	ml = strlen(name);
	key = malloc(nl + ml + 2);
	if (!key)
		return NULL;
	memcpy(key, ns, nl);
	key[nl] = '/';
	memcpy(key + nl + 1, name, ml + 1);
	p = table_get(&m->pods_by_name, key);
	free(key);
	return p;
}

struct model_container *model_container_by_id(const struct model *m, const char *id)
{
	return m && id ? table_get(&m->containers, id) : NULL;
}

struct model_pod *model_container_pod(const struct model *m, const struct model_container *c)
{
	return m && c ? table_get(&m->pods, c->pod_id) : NULL;
}

size_t model_pod_count(const struct model *m)
{
	return m ? m->pods.live : 0;
}

size_t model_container_count(const struct model *m)
{
	return m ? m->containers.live : 0;
}

int model_foreach_container(const struct model *m, const char *pod_id,
			    int (*fn)(struct model_container *c, void *ud), void *ud)
{
	if (!m)
		return 0;
	/* fn may remove the container it is given: tombstones keep the slot order stable. */
	for (size_t i = 0; i < m->containers.cap; i++) {
		struct table_slot *s = &m->containers.slots[i];
		struct model_container *c = s->val;
		int r;

		if (!s->key || s->key == tombstone || (pod_id && strcmp(c->pod_id, pod_id)))
			continue;
		r = fn(c, ud);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *model_state_name(enum model_state s)
{
	static const char *const n[] = {"unknown", "created", "running",
					"paused",  "stopped", "exited"};

	return (unsigned int)s <= MODEL_STATE_EXITED ? n[s] : "unknown";
}
