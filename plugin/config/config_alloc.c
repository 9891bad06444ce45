/* SPDX-License-Identifier: Apache-2.0 */
/* config -> policy knobs. Its own file so config.o links without the policy's alloc.o. */
#include "plugin/config/config.h"

void config_to_alloc(const struct config *c, struct alloc_config *ret,
		     const char *ns_buf[CONFIG_LIST_MAX])
{
	static const enum alloc_core_kind kind[] = {
		[CONFIG_CORE_KIND_PERFORMANCE] = ALLOC_CORE_KIND_PERFORMANCE,
		[CONFIG_CORE_KIND_EFFICIENT] = ALLOC_CORE_KIND_EFFICIENT,
		[CONFIG_CORE_KIND_ANY] = ALLOC_CORE_KIND_ANY,
	};
	static const enum alloc_memory_only mem[] = {
		[CONFIG_MEMORY_ONLY_NONE] = ALLOC_MEMORY_ONLY_NONE,
		[CONFIG_MEMORY_ONLY_NEAREST] = ALLOC_MEMORY_ONLY_NEAREST,
		[CONFIG_MEMORY_ONLY_ALL] = ALLOC_MEMORY_ONLY_ALL,
	};

	alloc_config_init(ret);
	ret->reserved_cpus = c->reserved_cpus;
	ret->reserved_count = (unsigned int)c->reserved_count;
	for (unsigned int i = 0; i < c->reserved_namespaces.n; i++)
		ns_buf[i] = c->reserved_namespaces.name[i];
	ret->reserved_namespaces = ns_buf;
	ret->n_reserved_namespaces = c->reserved_namespaces.n;
	ret->exclusive_enabled = c->pinning_exclusive;
	ret->prefer_whole_cores = c->pinning_prefer_whole_cores;
	ret->prefer_same_numa = c->pinning_prefer_same_numa;
	ret->prefer_core_kind = kind[c->pinning_prefer_core_kind];
	ret->isolated_allow = c->isolated_allow;
	ret->hide_hyperthreads = c->hide_hyperthreads;
	ret->exclusive_no_quota = c->quota_drop_for_exclusive;
	ret->burstable_unlimited_wide = c->pinning_burstable_unlimited_wide;
	ret->shared_min_cpus = (unsigned int)c->pinning_shared_min_cpus;
	ret->memory_only_nodes = mem[c->memory_only_nodes];
	ret->pin_mems = c->memory_pin_mems;
	ret->cfs_period_us = (uint64_t)c->quota_cfs_period_us;
}
