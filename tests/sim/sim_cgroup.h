/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to sim_cgroup*.c (--apply-cgroups). The state is file-static, one simulator
 * per process: sim_cgroup_state is NULL unless --apply-cgroups set it up. Paths and
 * strings in it are owned by it; helpers return 0 / -errno.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "tests/sim/sim.h"

#define CG_FS "/sys/fs/cgroup"

enum { CG_CPUSET, CG_CPU, CG_MEMORY, CG_N };

struct cg_ent {
	const struct sim_ctr *ctr; /* identity: the model never frees a container early */
	char *dir[CG_N];
	struct sim_res done; /* what was last written (or tried) */
	bool written, started, gone, dirty;
	pid_t pid;
	char *cpus, *mems, *allowed; /* read back from the kernel */
	json_object *files;
};

struct sim_cgroups {
	char *name;
	bool v2;
	/* --cgroup-driver systemd: NAME.slice/cri-containerd-<id>.scope, as containerd
	 * names them under the kubelet's systemd driver, instead of NAME/<id> */
	bool systemd;
	char *base[CG_N]; /* <ctrl root>/NAME[.slice]; on cgroup2 all three are the same */
	pid_t watchdog;
	int watch_fd;
	struct cg_ent **ents;
	size_t n;
};

extern struct sim_cgroups *sim_cgroup_state;

static inline int n_hier(const struct sim_cgroups *g)
{
	return g->v2 ? 1 : CG_N;
}

/* Index of ctrl's directory: cgroup2 has one hierarchy for all three. */
static inline int hier(const struct sim_cgroups *g, int ctrl)
{
	return g->v2 ? 0 : ctrl;
}

/* dir/file into buf; -ENAMETOOLONG when it does not fit. */
int sim_cgroup_path(char *buf, size_t len, const char *dir, const char *file);
int sim_cgroup_write(const char *dir, const char *file, const char *val);
/* The first line of dir/file without its newline; *ret malloc'd. */
int sim_cgroup_read(const char *dir, const char *file, char **ret);
/* rmdir, killing what is left inside while it is busy. */
int sim_cgroup_rmdir(const char *dir);
void sim_cgroup_ent_free(struct cg_ent *e); /* NULL-safe */
