/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups: container -> cgroup path resolution for the usage collector.
 * NRI hands us linux.cgroups_path in the runtime's cgroup-driver form:
 *   systemd:   "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>"
 *              -> "/kubepods.slice/kubepods-burstable.slice/
 *                  kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope"
 *   cgroupfs:  "/kubepods/burstable/pod<uid>/<id>" (used as is)
 * The result is relative to each hierarchy root (v1 controller dir or the v2
 * mount), which the caller injects (usage_opts.cgroup_root), so tests can use a
 * fake tree.
 *
 * Ownership: *ret strings are malloc()ed and owned by the caller; *ret is
 * untouched on failure. Functions return 0 or -errno (-EINVAL for bad input).
 */
#ifndef TOPOGUARD_PLUGIN_CGROUPS_H
#define TOPOGUARD_PLUGIN_CGROUPS_H

struct usage;

enum cgroups_driver {
	CGROUPS_DRIVER_AUTO = 0, /* systemd form if it has two ':' and no '/' */
	CGROUPS_DRIVER_CGROUPFS,
	CGROUPS_DRIVER_SYSTEMD,
};

/* "cgroupfs" | "systemd" | "auto". */
int cgroups_driver_from_string(const char *s, enum cgroups_driver *ret);
/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" (the root). */
int cgroups_expand_slice(const char *slice, char **ret);
/* NRI cgroups_path -> absolute path below a hierarchy root, normalised, no "..". */
int cgroups_resolve(const char *cgroups_path, enum cgroups_driver driver, char **ret);
/* Resolves and registers a container with the usage collector. */
int cgroups_register(struct usage *u, const char *container_id, const char *cgroups_path,
		     enum cgroups_driver driver);

#endif
