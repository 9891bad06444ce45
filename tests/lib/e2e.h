/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for end-to-end tests that drive real processes: the runtime simulator
 * (nri-sim), the daemon (topoguard) or a test plugin, in a private temp directory.
 *
 * Binaries come from $NRI_SIM_BIN / $TOPOGUARD_BIN (tests/run.sh sets them), else
 * build/rel/. Functions return -errno / NULL on failure and never assert, so any test
 * framework can use them. JSON objects are json-c references the caller puts.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

struct e2e {
	char dir[64];
	const char *sim;
	const char *topoguard;
	const char *src; /* repository root: $TOPOGUARD_SRC or "." */
};

int e2e_setup(struct e2e *e);
void e2e_teardown(struct e2e *e); /* removes the temp dir */
/* dir/name into buf. */
void e2e_path(const struct e2e *e, char *buf, size_t len, const char *name);
/* src/rel into buf. */
void e2e_src_path(const struct e2e *e, char *buf, size_t len, const char *rel);
int e2e_write(const struct e2e *e, const char *name, const char *text);

/*
 * ms times $TOPOGUARD_TIMEOUT_SCALE (an integer 1-100, default 1). The valgrind run
 * (scripts/valgrind-e2e.sh) sets it: every process there is 20-50x slower. The waits below
 * scale their timeouts with it; a test scales its own polling loops and scenario sleeps.
 */
int e2e_timeout_ms(int ms);

/* fork + exec bin with args (NULL-terminated, without argv[0]); stdout/stderr to log if set. */
pid_t e2e_spawn(const char *bin, const char *const *args, const char *log);
/* Exit status, or -1 after killing it (SIGKILL) once timeout_ms passed, or on a signal. */
int e2e_wait_exit(pid_t pid, int timeout_ms);
/* SIGTERM, then SIGKILL after timeout_ms; returns the exit status or -1. */
int e2e_stop(pid_t pid, int timeout_ms);
/*
 * Stop the daemon pid as an orderly shutdown must go: SIGTERM, exit 0 within timeout_ms.
 * 0 if so. Otherwise (a nonzero exit, e.g. a sanitizer's report at exit; death by a
 * signal; still running, then SIGKILLed; not our child) prints why and the last lines of
 * log (the daemon's stderr; may be NULL) to stderr and returns -1.
 */
int e2e_stop_daemon(pid_t pid, const char *log, int timeout_ms);
/* The last lines of the file at path to stderr, under a header naming it. */
void e2e_print_tail(const char *path, int lines);
int e2e_wait_path(const char *path, int timeout_ms);

json_object *e2e_load_json(const char *path);
json_object *e2e_jget(json_object *o, const char *key);
const char *e2e_jstr(json_object *o, const char *key); /* "" if absent */
json_object *e2e_report_container(json_object *rep, const char *id);
const char *e2e_report_cpus(json_object *rep, const char *id);
int e2e_count_requests(json_object *rep, const char *method, const char *outcome);
/* Lines of the file at path containing needle; -errno if unreadable. */
int e2e_file_count(const char *path, const char *needle);
/* HTTP GET over libcurl; *ret_body malloc'd. Returns the HTTP status or -errno. */
int e2e_http_get(const char *url, char **ret_body);
/* GET http://addr/metrics; the value of the sample line starting with series, -1 if none. */
double e2e_metric(const char *addr, const char *series);
/* A free TCP port on 127.0.0.1 (bound and released). */
int e2e_free_port(void);
