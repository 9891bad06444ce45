/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by plugin/daemon/model*.c only. */
#pragma once

#include <stddef.h>

#include "plugin/daemon/model.h"

struct table_slot {
	const char *key; /* NULL: empty; points into the object stored as val */
	void *val;
};

struct table {
	struct table_slot *slots;
	size_t cap, used, live; /* used counts tombstones too */
};

struct model {
	struct table containers, pods, pods_by_uid, pods_by_name;
};

void *table_get(const struct table *t, const char *key);
int table_reserve(struct table *t, size_t n);
void table_put(struct table *t, const char *key, void *val);
void table_del(struct table *t, const char *key, const void *val);
void table_done(struct table *t);

void model_kv_free(struct model_kv *kv, size_t n);
void model_resources_done(struct model_resources *r);
void model_pod_done(struct model_pod *p);
void model_container_done(struct model_container *c);

/* Build a complete object from NRI (all strings non-NULL); -ENOMEM leaves nothing behind. */
int model_pod_from_nri(const NriPodSandbox *pod, struct model_pod *ret);
int model_container_from_nri(const NriContainer *ctr, struct model_container *ret);
