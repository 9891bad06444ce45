/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nri-sim: the runtime side of NRI for tests, demos and benchmarks (docs/simulator.md).
 *
 * sim_model.c   pods/containers and their effective Linux resources; builds requests
 * sim_scenario.c the line-oriented scenario file
 * sim_session.c connection, handshake, event delivery, UpdateContainers, timeouts
 * sim_run.c     executes scenario lines, expectations
 * sim_report.c  the JSON report
 * sim_main.c    command line
 *
 * Ownership: every object hangs off struct sim and is freed by sim_done(); strings in
 * the model are owned copies. Functions return 0 / -errno unless stated otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "plugin/nri/stub.h"
#include "plugin/nri/trunk.h"

#define PB(x)  Nri__Pkg__Api__V1alpha1__##x
#define PBD(x) nri__pkg__api__v1alpha1__##x##__descriptor

#define SIM_NRI_SERVICE_PLUGIN	"nri.pkg.api.v1alpha1.Plugin"
#define SIM_NRI_SERVICE_RUNTIME "nri.pkg.api.v1alpha1.Runtime"

struct sim_kv {
	char *key, *value;
};

struct sim_kvs {
	struct sim_kv *v;
	size_t n;
};

struct sim_res {
	char *cpus, *mems;
	bool has_shares, has_quota, has_period, has_mem_limit;
	uint64_t shares, period;
	int64_t quota, mem_limit;
};

struct sim_pod {
	char *id, *name, *ns, *uid, *qos;
	struct sim_kvs labels, annotations;
	struct sim_res res; /* pod-level resources, if the scenario gave any */
	bool stopped, removed;
	uint32_t pid;
};

struct sim_ctr {
	char *id, *pod_id, *name;
	struct sim_kvs labels, annotations;
	struct sim_res res;	/* effective resources, as the runtime applied them */
	struct sim_res created; /* res right after its creation (the spec on disk) */
	/* After a `fault runtime-restart ... stale-specs`: what the runtime reports of it
	 * (creation-time resources plus later updates, CRI-O 1.26) while res stays what
	 * the kernel holds. */
	struct sim_res spec;
	bool has_spec;
	int state; /* PB ContainerState */
	bool exclusive, failed, removed;
	/* The CFS quota of the CPU limit the kubelet last asked for and got (create, an
	 * UpdateContainer not refused): what `fault check-quota always` holds res to. */
	bool has_k8s_quota;
	int64_t k8s_quota;
	bool ghost;	   /* `create ... fail-after`: failed after CreateContainer, never stopped,
		     * never removed, unknown to the runtime's updates (CRI-O 1.26) */
	bool exited;	   /* its process ended on its own (`exit`) */
	int32_t exit_code; /* when exited */
	int64_t finished_at; /* when exited, ns since the epoch */
	uint32_t pid;
	unsigned int touch_mib; /* `start ... touch=MIB`: its process writes so much memory */
	/* `device=TYPE:MAJ:MIN:PATH` options: the LinuxDevices it is created with */
	char **devices;
	size_t n_devices;
};

struct sim_model {
	struct sim_pod **pods;
	size_t n_pods;
	struct sim_ctr **ctrs;
	size_t n_ctrs;
	bool systemd; /* cgroup driver */
	const char *
		real_cgroups; /* --report-real-cgroups: /NAME/<id> or NAME.slice:cri-containerd:<id> */
	uint32_t next_pid;
};

/* A tiny allocation arena for building protobuf-c request trees. */
struct sim_arena {
	void **p;
	size_t n;
};
void *sim_arena_alloc(struct sim_arena *a, size_t size);
char *sim_arena_strdup(struct sim_arena *a, const char *s);
void sim_arena_done(struct sim_arena *a);

/* sim_model.c */
void sim_model_done(struct sim_model *m);
struct sim_pod *sim_model_pod(const struct sim_model *m, const char *id);
struct sim_ctr *sim_model_ctr(const struct sim_model *m, const char *id);
int sim_model_add_pod(struct sim_model *m, struct sim_pod *p);
int sim_model_add_ctr(struct sim_model *m, struct sim_ctr *c);
void sim_pod_free(struct sim_pod *p);
void sim_ctr_free(struct sim_ctr *c);
int sim_kvs_set(struct sim_kvs *kv, const char *key, const char *value);
const char *sim_kvs_get(const struct sim_kvs *kv, const char *key);
void sim_res_done(struct sim_res *r);
/* dst (done first) becomes a deep copy of src; -ENOMEM. */
int sim_res_copy(struct sim_res *dst, const struct sim_res *src);
/* Apply an update to c as the runtime does: its effective resources, and the spec it
 * reports when that went stale. */
int sim_ctr_apply(struct sim_ctr *c, const PB(LinuxResources) * pb);
int sim_res_set_str(char **dst, const char *s);
/* Apply the fields present in a protobuf LinuxResources, as a runtime would. */
int sim_res_apply(struct sim_res *r, const PB(LinuxResources) * pb);
PB(LinuxResources) * sim_res_build(struct sim_arena *a, const struct sim_res *r);
PB(PodSandbox) *
	sim_pod_build(struct sim_arena *a, const struct sim_model *m, const struct sim_pod *p);
PB(Container) *
	sim_ctr_build(struct sim_arena *a, const struct sim_model *m, const struct sim_ctr *c);
/* Kubernetes conversions (doc: shares = millicores*1024/1000, min 2; quota per 100 ms). */
void sim_res_from_k8s(struct sim_res *r, long cpu_request_m, long cpu_limit_m, long long mem_limit);

/* cpulist "0-3,5" <-> bitmap (up to SIM_MAX_CPUS); -EINVAL on bad syntax. */
#define SIM_MAX_CPUS 1024
int sim_cpulist_parse(const char *s, uint64_t bits[SIM_MAX_CPUS / 64]);

/* sim_scenario.c */
struct sim_line {
	int lineno;
	int argc;
	char **argv;
	bool existing; /* "existing pod|create ...": part of the initial Synchronize */
};

struct sim_scenario {
	char *path;
	struct sim_line *lines;
	size_t n_lines;
};

int sim_scenario_load(const char *path, struct sim_scenario *ret);
void sim_scenario_done(struct sim_scenario *sc);

struct sim_opts {
	const char *listen_path;
	const char *launch_path, *launch_name, *plugin_config_path, *plugin_stderr;
	const char *scenario_path, *report_path;
	const char *nri_version; /* a tag of sim_version.c */
	unsigned int registration_timeout_ms, request_timeout_ms, accept_timeout_ms;
	size_t sync_chunk;
	bool systemd, honor_evictions, check_exclusive;
	const char *exclusive_annotation; /* --exclusive-annotation KEY (implies the check) */
	const char *apply_cgroups;	  /* --apply-cgroups NAME */
	bool report_real_cgroups;	  /* --report-real-cgroups */
	bool lock_inversion;		  /* --lock-inversion: containerd#13733 (sim_proto.c) */
};

/* sim_version.c: an NRI version, and the runtime release that shipped it. */
struct sim_nri {
	const char *tag;
	unsigned int minor, patch; /* v0.<minor>.<patch> */
	const char *runtime_name, *runtime_version;
};
const struct sim_nri *sim_nri_lookup(const char *tag);

struct sim_deferred {
	uint32_t stream_id;
	uint8_t *payload;
	size_t len;
};

struct sim {
	struct sim_opts o;
	struct sim_model model;
	const struct sim_nri *nri; /* the NRI version played (sim_version.c) */
	char *plugin_config;

	int listen_fd;
	pid_t child;
	struct nri_trunk *t;
	bool connected, registered, register_failed;
	char *plugin_name, *plugin_idx, *plugin_nri_version;
	uint32_t events;
	bool state_change_fallback;
	bool in_call;
	const char *call_method; /* the call in flight (a string literal), when in_call */
	/* --lock-inversion: plugin UpdateContainers that met an UpdateContainer in flight;
	 * once one did, the runtime's NRI lock is held for good (wedged) */
	uint64_t lock_inversions;
	bool wedged;
	struct sim_deferred *deferred;
	size_t n_deferred;

	uint64_t unsolicited_calls, disconnects, reconnects, sessions;
	uint64_t t0_us; /* start: the report's t_ms count from here */
	int expect_failed, expect_passed;

	json_object *requests, *errors, *unsolicited, *expect_failures, *sessions_log;
	json_object *plugin_exits; /* how each launched plugin ended: "exit 0", ... */
};

/* sim_session.c */
int sim_init(struct sim *s, const struct sim_opts *o);
void sim_done(struct sim *s);
/* Close the connection and give a launched plugin 3 s to exit on the EOF (then SIGKILL),
 * recording how it ended. Before the report; sim_done() does it if nobody did. */
void sim_end(struct sim *s);
/* Wait (accept or launch) for a plugin and run the full handshake; 0 when connected. */
int sim_connect(struct sim *s, unsigned int timeout_ms);
/* Drive the trunk (and accept reconnecting plugins) for timeout_ms. */
void sim_pump(struct sim *s, int timeout_ms);
void sim_disconnect(struct sim *s, const char *why);
/* Deliver one lifecycle event; *ret_failed: the plugin failed the operation. */
int sim_event(struct sim *s, int ev, struct sim_pod *pod, struct sim_ctr *ctr,
	      const struct sim_res *req_res, bool *ret_failed);
void sim_error(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t sim_now_us(void);

/* sim_proto.c: calls to the plugin and the Runtime service it calls. */
struct sim_call_res {
	bool done;
	int code; /* 0, ttRPC status > 0, or -errno (-ETIMEDOUT: request timeout) */
	char *msg;
	uint8_t *payload;
	size_t len;
	uint64_t latency_us;
};
void sim_call_res_done(struct sim_call_res *r);
/* One call with the request timeout; a timeout or a closed trunk disconnects the plugin. */
int sim_call(struct sim *s, const char *method, const ProtobufCMessage *m, unsigned int timeout_ms,
	     struct sim_call_res *res);
int sim_serve(struct nri_trunk *t, const struct nri_request *req, void *userdata);
void sim_run_deferred(struct sim *s);
int sim_handshake(struct sim *s);
void sim_record(struct sim *s, const char *method, int ev, const char *pod, const char *ctr,
		const struct sim_call_res *res, int n_updates);
uint32_t sim_known_events(const struct sim *s);
/*
 * What the version played does (nri-protocol.md §6, §10.1): >= 0.7 timeouts in
 * Configure, Synchronize chunking and a Synchronize for launched plugins; >= 0.10
 * UpdatePodSandbox and events 12-14; >= 0.12 dedicated RPCs, NRI_version, strict names.
 */
bool sim_nri_at_least(const struct sim *s, unsigned int minor, unsigned int patch);
/* Apply updates; returns how many applied, *ret_moved (optional) how many of them
 * changed a container's cpuset (as a set). */
int sim_apply_updates(struct sim *s, PB(ContainerUpdate) * *u, size_t n, const char *skip_id,
		      json_object *log, int *ret_moved);
/* Milliseconds since the simulator started (the report's t_ms). */
int64_t sim_t_ms(const struct sim *s);
/* Add "moved": n to the last recorded request. */
void sim_record_moved(struct sim *s, int n);

/* sim_run.c */
int sim_apply_existing(struct sim *s, const struct sim_scenario *sc);
int sim_run_scenario(struct sim *s, const struct sim_scenario *sc);
void sim_check_exclusive(struct sim *s);
/* c is marked exclusive and holds its CPUs: created, not stopped, removed or failed. */
bool sim_ctr_live_exclusive(const struct sim_ctr *c);

/* sim_fault.c: the `fault` scenario command and its hooks (no-ops unless armed). */
int sim_fault_command(struct sim *s, int argc, char **argv);
void sim_fault_after_send(struct sim *s, const char *method);
void sim_fault_check(struct sim *s, const char *where);

/*
 * sim_cgroup.c, sim_cgroup_ctr.c: --apply-cgroups NAME, real cgroups and a process per
 * container. One simulator per process (file-static state); all are no-ops until
 * sim_cgroups_setup() succeeded. Setup prints its reason on stderr when it fails.
 */
int sim_cgroups_setup(const char *name, bool systemd);
/* Bring the kernel in line with the model (create, write changes, start/stop, remove). */
void sim_cgroups_sync(struct sim *s);
/* An update named c: the runtime writes every field again, changed or not. */
void sim_cgroups_touch(const struct sim_ctr *c);
/* A third party writes c's cpuset.cpus behind the runtime's back (the model keeps what
 * it had). -ENOENT when c has no cgroup (or --apply-cgroups is off). */
int sim_cgroups_rewrite_cpuset(struct sim *s, const struct sim_ctr *c, const char *cpus);
/* Re-read cpusets and Cpus_allowed_list of what still lives (before the report). */
void sim_cgroups_refresh(void);
/* The report's "cgroup" object of c (new reference), NULL if c never had a cgroup. */
json_object *sim_cgroups_json(const struct sim_ctr *c);
/* Kill every process, remove everything under NAME and wait until it is gone. */
void sim_cgroups_teardown(void);

/* sim_report.c */
json_object *sim_report_build(const struct sim *s);
int sim_report_write(const struct sim *s, const char *path);
