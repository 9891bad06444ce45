/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What runs on the node, read from the kubelet's container cgroups: each container
 * cgroup under the kubepods root with its cpuset and CPU limits, as the kernel holds
 * them. Used to rebuild topoguard's state when the runtime sends no Synchronize.
 *
 * Both kubelet cgroup drivers and both hierarchies:
 *   cgroupfs  kubepods[/burstable|/besteffort]/pod<uid>/<container id>
 *   systemd   kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice/
 *             <runtime>-<container id>.scope   (cri-containerd-, crio-, docker-; not
 *             crio-conmon-)
 *   v2        one tree under the cgroup root (cpuset.cpus, cpu.max, cpu.weight)
 *   v1        cpuset/ for the cpuset, cpu,cpuacct/ (or cpu/) for quota and shares
 * The QoS class comes from the path (no QoS level = Guaranteed), as the kubelet lays
 * it out. The root is injectable (--cgroup-root), so tests build fake trees.
 *
 * Ownership: *ret is a malloc'd array owned by the caller (kubepods_free()); it is
 * left NULL/0 on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/qos.h"

#define KUBEPODS_MAX 65536 /* containers read at most; the rest are ignored */

struct kubepods_ctr {
	char *id, *pod_uid; /* pod_uid with dashes */
	enum qos_class qos;
	char *cpus;	 /* cpuset.cpus ("" if the cpuset controller is not there) */
	char *mems;	 /* cpuset.mems (the same) */
	int64_t quota;	 /* -1 unlimited, 0 unknown */
	uint64_t period; /* 0 unknown */
	uint64_t shares; /* cpu.shares, or cpu.weight converted back; 0 unknown */
	uint64_t weight; /* cgroup2's cpu.weight as read; 0 on v1 (or unknown) */
	bool has_procs;	 /* some process is in it (cgroup.procs not empty) */
};

/*
 * Scan the kubepods tree under cgroup_root (NULL: /sys/fs/cgroup). 0 with
 * *ret_n >= 0, -ENOENT when no kubepods tree exists there, or -errno.
 */
int kubepods_scan(const char *cgroup_root, struct kubepods_ctr **ret, size_t *ret_n);
void kubepods_free(struct kubepods_ctr *c, size_t n);

/*
 * One container's cgroup, at rel: a path below each hierarchy root, as cgroups_resolve()
 * (cgroups.h) makes it from the container's NRI cgroups_path. Read like a scanned one
 * (id and pod_uid NULL, qos unset). 0; -ENOENT when that cgroup exists in neither the
 * cpuset nor the cpu hierarchy (or no hierarchy is under cgroup_root); -ENOMEM. *ret is
 * untouched on failure; free its strings with kubepods_ctr_done().
 */
int kubepods_read(const char *cgroup_root, const char *rel, struct kubepods_ctr *ret);
/*
 * The same for many containers: where the cpuset and cpu files are under cgroup_root
 * (and which hierarchy), found once. kubepods_root_open(): 0, -ENOENT (no hierarchy
 * there) or -ENOMEM; kubepods_root_free() is NULL-safe.
 */
struct kubepods_root;
int kubepods_root_open(const char *cgroup_root, struct kubepods_root **ret);
void kubepods_root_free(struct kubepods_root *r);
int kubepods_read_at(const struct kubepods_root *r, const char *rel, struct kubepods_ctr *ret);
void kubepods_ctr_done(struct kubepods_ctr *c); /* NULL-safe */

/* What a direct write sets in one container cgroup (docs/deploy.md "Safe actuation"). */
struct kubepods_cpu {
	const char *cpus; /* cpuset.cpus; NULL or "": left alone */
	bool has_quota;	  /* false: quota and period left alone */
	int64_t quota;	  /* <= 0: unlimited */
	uint64_t period;  /* 0: 100000 */
};
/*
 * Write w into the container cgroup at rel (as kubepods_read_at()): cpuset.cpus, and
 * cpu.cfs_period_us then cpu.cfs_quota_us (v1) or cpu.max (v2). Files are never
 * created. Every field is tried; 0 or the first -errno (-ENOENT: no such cgroup,
 * -EINVAL: rel with "..").
 */
int kubepods_write_at(const struct kubepods_root *r, const char *rel, const struct kubepods_cpu *w);
/* cgroup2's cpu.weight for cpu.shares, the conversion runc and the kubelet use. */
uint64_t kubepods_shares_to_weight(uint64_t shares);
