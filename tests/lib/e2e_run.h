/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One end-to-end run: the runtime simulator and the topoguard daemon in a private
 * temp directory, with the paths every daemon e2e test needs. Shared by
 * tests/e2e/test_daemon.c, test_faults.c and test_faults_env.c.
 *
 * e2e_run_setup()/e2e_run_teardown() have cmocka's setup/teardown shape; teardown
 * stops a daemon still running, fails the case unless it exited 0 (a sanitizer's report
 * at exit, a crash at shutdown), and removes the directory (kept with E2E_KEEP=1).
 * Nothing here asserts: failures come back as -errno / NULL.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "tests/lib/e2e.h"

struct e2e_run {
	struct e2e e;
	char sock[256], status[256], log[256], report[256], config[256], scenario[256];
	char checkpoint[256];
	int port; /* metrics port on 127.0.0.1 */
	pid_t daemon;
};

int e2e_run_setup(void **state);
int e2e_run_teardown(void **state);

/* Write scenario, start `nri-sim --listen` with extra (NULL-terminated, may be NULL)
 * and wait for its socket. The pid, or -errno. */
pid_t e2e_run_sim(struct e2e_run *r, const char *scenario, const char *const *extra);

/*
 * Start `[prefix...] topoguard run` on r's socket, status socket, metrics port and log
 * (debug level) with the topology under sysfs (absolute path), then extra. Sets
 * r->daemon and returns it, or -errno.
 */
pid_t e2e_run_daemon(struct e2e_run *r, const char *sysfs, const char *const *prefix,
		     const char *const *extra);

/*
 * Stop r->daemon with e2e_stop_daemon() (SIGTERM; 0 iff it exited 0, else -1 with the
 * reason and the tail of r->log on stderr) and clear it. 0 if no daemon was running.
 */
int e2e_run_stop_daemon(struct e2e_run *r, int timeout_ms);

/*
 * nri-sim launching topoguard as the runtime does (fd 3, empty environment): a wrapper
 * "90-topoguard" runs it with --sysfs-root sysfs (absolute), r->log and run_args (shell
 * words); plugin_config is the runtime's config for it. The simulator's pid, or -errno.
 */
pid_t e2e_run_prelaunched(struct e2e_run *r, const char *sysfs, const char *run_args,
			  const char *plugin_config, const char *scenario,
			  const char *const *extra);

/*
 * How the launched daemons ended, as nri-sim (their parent) reports it: true when the
 * last one exited 0 on the runtime's EOF and every earlier one exited 0 too or was
 * killed by a runtime restart; else false, with the log's tail on stderr (a report at
 * exit from a sanitizer or valgrind, a crash at shutdown).
 */
bool e2e_run_launched_exits_clean(struct e2e_run *r, json_object *rep);

/* Wait for the simulator (killed after timeout_ms); its report, or NULL. *ret_rc: exit. */
json_object *e2e_run_finish_sim(struct e2e_run *r, pid_t sim, int timeout_ms, int *ret_rc);

/*
 * Replace config.yaml the way kubelet updates a ConfigMap volume: write a new
 * "..<ts>" directory (gen makes the name), point a "..data_tmp" symlink at it and
 * rename it over "..data". The first call also makes config.yaml -> ..data/config.yaml.
 */
int e2e_run_swap_config(struct e2e_run *r, const char *text, size_t len, int gen);

/* The value of the /metrics sample line that starts with series, -1 if none. */
double e2e_run_metric(struct e2e_run *r, const char *series);
