/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stub against the runtime simulator ($NRI_SIM_BIN, default build/rel/nri-sim),
 * over real unix sockets in a temporary directory. The plugin is this binary: a forked
 * child in external mode, or a re-exec by `nri-sim --launch` in pre-launched mode (it
 * recognises that by NRI_PLUGIN_SOCKET in its environment). The plugin logs what it saw
 * to a file; tests check that log and nri-sim's JSON report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include <json-c/json.h>

#include "plugin/nri/stub.h"
#include "plugin/nri/trunk.h"

/* ---- the plugin ---------------------------------------------------------------------- */

static struct nri_stub *g_stub;
static FILE *g_log;

static void plog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void plog(const char *fmt, ...)
{
	va_list ap;

	if (!g_log)
		return;
	va_start(ap, fmt);
	vfprintf(g_log, fmt, ap);
	va_end(ap);
	fputc('\n', g_log);
	fflush(g_log);
}

static const char *ctr_annotation(const NriContainer *c, const char *key)
{
	for (size_t i = 0; i < c->n_annotations; i++) {
		if (!strcmp(c->annotations[i]->key, key))
			return c->annotations[i]->value;
	}
	return NULL;
}

static int p_configure(struct nri_stub *s, const char *config, const char *rn, const char *rv,
		       void *ud, uint32_t *ret_events)
{
	extern char **environ;
	const char *log = strstr(config, "log=");
	int n_env = 0;

	(void)s, (void)rv, (void)ud, (void)ret_events;
	if (log && !g_log) { /* pre-launched: the log path comes in the drop-in config */
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(log + 4, "\n"), log + 4);
		g_log = fopen(path, "ae");
	}
	for (char **e = environ; *e; e++)
		n_env++;
	plog("configure runtime=%s nri=%s env=%d", rn, nri_stub_nri_version(s), n_env);
	return 0;
}

static int p_sync(struct nri_stub *s, NriPodSandbox *const *pods, size_t n_pods,
		  NriContainer *const *ctrs, size_t n_ctrs, struct nri_reply *reply, void *ud)
{
	(void)s, (void)pods, (void)ctrs, (void)reply, (void)ud;
	plog("sync pods=%zu ctrs=%zu", n_pods, n_ctrs);
	return 0;
}

static int p_run_pod(struct nri_stub *s, const NriPodSandbox *pod, void *ud)
{
	(void)s, (void)ud;
	plog("run-pod %s", pod->id);
	return 0;
}

static int p_update_pod(struct nri_stub *s, const NriPodSandbox *pod,
			const NriLinuxResources *overhead, const NriLinuxResources *res, void *ud)
{
	(void)s, (void)overhead, (void)res, (void)ud;
	plog("update-pod %s", pod->id);
	return 0;
}

static int p_create(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		    struct nri_reply *reply, void *ud)
{
	const char *cpus = ctr_annotation(ctr, "e2e/cpus");
	const char *other = ctr_annotation(ctr, "e2e/update-other");

	const NriLinuxResources *res = ctr->linux_ ? ctr->linux_->resources : NULL;
	const Nri__Pkg__Api__V1alpha1__LinuxCPU *cpu = res ? res->cpu : NULL;

	(void)s, (void)ud;
	plog("create %s", ctr->id);
	plog("cgroup %s %s parent=%s shares=%lld quota=%lld period=%lld mem=%lld", ctr->id,
	     ctr->linux_ ? ctr->linux_->cgroups_path : "",
	     pod->linux_ ? pod->linux_->cgroup_parent : "",
	     cpu && cpu->shares ? (long long)cpu->shares->value : -1,
	     cpu && cpu->quota ? (long long)cpu->quota->value : -1,
	     cpu && cpu->period ? (long long)cpu->period->value : -1,
	     res && res->memory && res->memory->limit ? (long long)res->memory->limit->value : -1);
	if (ctr_annotation(ctr, "e2e/hang")) /* longer than the runtime's request timeout */
		usleep(1500 * 1000);
	if (ctr_annotation(ctr, "e2e/fail")) {
		nri_reply_set_error(reply, "e2e: refusing %s", ctr->id);
		return -EPERM;
	}
	if (cpus) {
		struct nri_resources r = {.cpus = cpus};
		nri_reply_adjust(reply, &r);
		nri_reply_adjust_annotation(reply, "e2e/adjusted", "yes");
	}
	if (ctr_annotation(ctr, "e2e/evict"))
		nri_reply_evict(reply, ctr_annotation(ctr, "e2e/evict"), "e2e eviction");
	if (other) { /* "id:cpus": an update of another container in the reply */
		char id[128];
		struct nri_resources r = {.cpus = strchr(other, ':') ? strchr(other, ':') + 1 : ""};
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(other, ":"), other);
		nri_reply_update(reply, id, &r, false);
	}
	return 0;
}

static int p_start(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr, void *ud)
{
	(void)s, (void)pod, (void)ud;
	plog("start %s", ctr->id);
	return 0;
}

static int p_post_start(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			void *ud)
{
	const char *later = ctr_annotation(ctr, "e2e/update-later");
	struct nri_reply *u;

	(void)pod, (void)ud;
	plog("post-start %s", ctr->id);
	if (!later || !(u = nri_stub_new_updates(s)))
		return 0;
	/* Queued: the stub sends it after this handler returned (doc §7). */
	nri_reply_update(u, ctr->id, &(struct nri_resources){.cpus = later}, false);
	plog("queue-update %s rc=%d", ctr->id, nri_stub_update_containers(s, u, NULL, NULL));
	return 0;
}

static int p_update(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		    const NriLinuxResources *res, struct nri_reply *reply, void *ud)
{
	const char *cpus = ctr_annotation(ctr, "e2e/update-on-update");
	struct nri_reply *u;

	(void)pod, (void)res, (void)reply, (void)ud;
	plog("update %s", ctr->id);
	if (!cpus || !(u = nri_stub_new_updates(s)))
		return 0;
	/* An unsolicited update queued while the runtime's UpdateContainer is in flight: what
	 * deadlocks containerd before NRI v0.12.1 (nri-sim --lock-inversion). */
	nri_reply_update(u, ctr->id, &(struct nri_resources){.cpus = cpus}, false);
	plog("queue-update %s rc=%d", ctr->id, nri_stub_update_containers(s, u, NULL, NULL));
	return 0;
}

static int p_stop(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		  struct nri_reply *reply, void *ud)
{
	(void)s, (void)pod, (void)reply, (void)ud;
	plog("stop %s", ctr->id);
	return 0;
}

static int p_remove(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr, void *ud)
{
	(void)s, (void)pod, (void)ud;
	plog("remove %s", ctr->id);
	return 0;
}

static int p_remove_pod(struct nri_stub *s, const NriPodSandbox *pod, void *ud)
{
	(void)s, (void)ud;
	plog("remove-pod %s", pod->id);
	return 0;
}

static void p_on_close(struct nri_stub *s, void *ud)
{
	(void)s, (void)ud;
	plog("close");
}

static void p_on_sync(struct nri_stub *s, void *ud)
{
	(void)ud;
	plog("synchronized reconnects=%llu events=0x%x", (unsigned long long)nri_stub_reconnects(s),
	     nri_stub_events(s));
}

static void p_sigterm(int sig)
{
	(void)sig;
	nri_stub_stop(g_stub);
}

static const struct nri_stub_handlers plugin_handlers = {
	.configure = p_configure,
	.synchronize = p_sync,
	.run_pod_sandbox = p_run_pod,
	.update_pod_sandbox = p_update_pod,
	.remove_pod_sandbox = p_remove_pod,
	.create_container = p_create,
	.start_container = p_start,
	.post_start_container = p_post_start,
	.update_container = p_update,
	.stop_container = p_stop,
	.remove_container = p_remove,
};

/* socket == NULL: pre-launched (fd 3, identity from the environment). */
static int plugin_main(const char *socket, const char *log, bool reconnect)
{
	struct nri_stub_options o;
	int r;

	if (log)
		g_log = fopen(log, "ae");
	nri_stub_options_init(&o);
	if (socket) {
		o.socket_path = socket;
		o.name = "e2e";
		o.idx = "50";
	}
	o.reconnect = reconnect;
	o.backoff_min_ms = 20;
	o.backoff_max_ms = 200;
	o.on_close = p_on_close;
	o.on_synchronized = p_on_sync;
	r = nri_stub_new(&plugin_handlers, &o, NULL, &g_stub);
	if (r < 0)
		return 3;
	signal(SIGTERM, p_sigterm);
	r = nri_stub_run(g_stub);
	plog("exit %d reconnects=%llu", r, (unsigned long long)nri_stub_reconnects(g_stub));
	nri_stub_free(g_stub);
	if (g_log)
		fclose(g_log);
	return r == 0 || r == -ECONNRESET ? 0 : 1;
}

/*
 * A plugin without the stub, written like an old one: it knows Configure, Synchronize,
 * CreateContainer and StateChange only, and answers everything else with code 12. A
 * v0.12.2 runtime must fall back to StateChange for the notifications (doc §6.3).
 */
static int raw_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	(void)ud;
	if (!strcmp(req->method, "Configure")) {
		static const uint8_t events[] = {0x10, 0x29}; /* field 2: RunPod|Create|Start */
		return nri_trunk_reply(t, req->stream_id, events, sizeof(events));
	}
	if (!strcmp(req->method, "StateChange")) {
		Nri__Pkg__Api__V1alpha1__StateChangeEvent *e =
			nri__pkg__api__v1alpha1__state_change_event__unpack(NULL, req->payload_len,
									    req->payload);
		plog("state-change %d", e ? (int)e->event : -1);
		nri__pkg__api__v1alpha1__state_change_event__free_unpacked(e, NULL);
	}
	if (!strcmp(req->method, "Synchronize") || !strcmp(req->method, "CreateContainer") ||
	    !strcmp(req->method, "StateChange"))
		return nri_trunk_reply(t, req->stream_id, NULL, 0);
	return nri_trunk_reply_error(t, req->stream_id, TTRPC_UNIMPLEMENTED, "not here");
}

static int raw_plugin_main(const char *path, const char *log)
{
	static const uint8_t reg[] = {0x0a, 0x03, 'o', 'l', 'd', 0x12, 0x02, '4', '0'};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct nri_trunk *t;

	g_log = fopen(log, "ae");
	if (strlen(path) >= sizeof(sa.sun_path))
		return 1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    nri_trunk_new(fd, NRI_CONN_PLUGIN, NRI_CONN_RUNTIME, raw_serve, NULL, &t) < 0)
		return 1;
	nri_trunk_call(t, "nri.pkg.api.v1alpha1.Runtime", "RegisterPlugin", reg, sizeof(reg), 0,
		       NULL, NULL);
	while (nri_trunk_run_once(t, -1) >= 0)
		;
	nri_trunk_free(t);
	fclose(g_log);
	return 0;
}

/* ---- test helpers -------------------------------------------------------------------- */

static char g_dir[64];
static const char *g_sim;

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", g_dir, name);
}

static void write_text(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	path_in(path, sizeof(path), name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static pid_t spawn_sim(const char *const *args)
{
	pid_t pid = e2e_spawn(g_sim, args, NULL);

	assert_true(pid > 0);
	return pid;
}

static pid_t spawn_plugin(const char *socket, const char *log, bool reconnect)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(plugin_main(socket, log, reconnect));
	return pid;
}

#define wait_exit      e2e_wait_exit
#define report_cpus    e2e_report_cpus
#define count_requests e2e_count_requests

static void wait_socket(const char *path)
{
	assert_int_equal(e2e_wait_path(path, 5000), 0);
}

static json_object *load_report(const char *name)
{
	char path[256];
	json_object *o;

	path_in(path, sizeof(path), name);
	o = e2e_load_json(path);
	assert_non_null(o);
	return o;
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = e2e_jget(o, key);

	assert_non_null(v);
	return v;
}

static int log_count(const char *name, const char *needle)
{
	char path[256], line[512];
	FILE *f;
	int n = 0;

	path_in(path, sizeof(path), name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (needle[0] == '^') /* anchored at the start of the line */
			n += !strncmp(line, needle + 1, strlen(needle + 1));
		else
			n += strstr(line, needle) != NULL;
	}
	fclose(f);
	return n;
}

/* Runs nri-sim --listen with `scenario` and an external plugin; returns nri-sim's exit. */
static int run_external(const char *scenario, const char *const *extra, const char *report)
{
	char sock[256], scen[256], rep[256], log[256];
	const char *args[24] = {"--listen", sock, "--scenario", scen, "--report", rep};
	size_t n = 6;
	pid_t sim, plug;
	int rc;

	path_in(sock, sizeof(sock), "run/nri.sock");
	path_in(scen, sizeof(scen), "scenario");
	path_in(rep, sizeof(rep), report);
	path_in(log, sizeof(log), "plugin.log");
	write_text("scenario", scenario);
	for (; extra && *extra && n < 22; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	sim = spawn_sim(args);
	wait_socket(sock);
	plug = spawn_plugin(sock, log, false);
	rc = wait_exit(sim, 20000);
	assert_int_equal(wait_exit(plug, 5000), 0); /* EOF from the runtime ends it cleanly */
	return rc;
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/tg-e2e-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------------------------ */

static const char lifecycle[] =
	"existing pod p0 default/old uid=u0 qos=guaranteed\n"
	"existing create c0 pod=p0 name=old cpu-request=1000 cpu-limit=1000 cpus=0-1\n"
	"pod p1 default/web uid=u1 qos=burstable\n"
	"create c1 pod=p1 name=app cpu-request=500 mem-limit=1048576 exclusive annotation "
	"e2e/cpus=1 annotation e2e/update-other=c0:0\n"
	"start c1\n"
	"expect-cpus c1 1\n"
	"expect-cpus c0 0\n"
	"expect-annotation c1 e2e/adjusted=yes\n"
	"expect-mem-limit c1 1048576\n"
	"create c2 pod=p1 name=side annotation e2e/update-later=0-1\n"
	"start c2\n"
	"wait-updates 1 3000\n"
	"expect-cpus c2 0-1\n"
	"update c1 cpu-limit=2000\n"
	"create c4 pod=p1 name=tiny cpu-request=1 cpu-limit=250\n"
	"update-pod p1 cpu-request=100\n"
	"create c3 pod=p1 name=bad annotation e2e/fail=1\n"
	"expect-failed c3\n"
	"expect-connected yes\n"
	"remove-pod p1\n";

static void test_external_lifecycle_v0122(void **state)
{
	json_object *rep, *plugin;

	(void)state;
	assert_int_equal(run_external(lifecycle, NULL, "report.json"), 0);
	rep = load_report("report.json");
	plugin = jget(rep, "plugin");
	assert_string_equal(json_object_get_string(jget(plugin, "name")), "e2e");
	assert_string_equal(json_object_get_string(jget(plugin, "idx")), "50");
	assert_string_equal(json_object_get_string(jget(plugin, "nri_version")), "v0.12.2");
	/* run/update/remove pod, create, start, post-start, update, stop, remove container */
	assert_int_equal(json_object_get_int(jget(plugin, "events")), 0xEED);
	assert_string_equal(report_cpus(rep, "c0"), "0");
	assert_string_equal(report_cpus(rep, "c1"), "1");
	assert_string_equal(report_cpus(rep, "c2"), "0-1");
	assert_int_equal(count_requests(rep, "RunPodSandbox", "ok"), 1);
	assert_int_equal(count_requests(rep, "StateChange", NULL), 0);
	assert_int_equal(count_requests(rep, "UpdatePodSandbox", "ok"), 1);
	assert_int_equal(count_requests(rep, "CreateContainer", "error"), 1);
	/* containerd after a failed create: StopContainer + RemoveContainer for it */
	assert_int_equal(count_requests(rep, "StopContainer", "ok"),
			 4); /* c1 c2 c4 + the failed c3 */
	assert_int_equal(count_requests(rep, "RemoveContainer", "ok"), 4);
	assert_int_equal(json_object_get_int(jget(jget(rep, "unsolicited_updates"), "calls")), 1);
	assert_string_equal(json_object_get_string(jget(rep, "result")), "pass");
	assert_int_equal(log_count("plugin.log", "sync pods=1 ctrs=1"), 1);
	assert_int_equal(log_count("plugin.log", "queue-update c2 rc=0"), 1);
	assert_int_equal(log_count("plugin.log", "shares=2 quota=25000 period=100000"), 1);
	assert_int_equal(log_count("plugin.log", "nri=v0.12.2"), 1);
	/* Kubernetes conventions: 500m -> 512 shares, no limit -> no quota, cgroupfs paths */
	assert_int_equal(log_count("plugin.log",
				   "cgroup c1 /kubepods/burstable/podu1/c1 "
				   "parent=/kubepods/burstable/podu1 shares=512 quota=-1 "
				   "period=100000 mem=1048576"),
			 1);
	json_object_put(rep);
}

static void test_external_v090_state_change(void **state)
{
	const char *extra[] = {"--nri-version", "v0.9.0", "--cgroup-driver", "systemd", NULL};
	json_object *rep;

	(void)state;
	assert_int_equal(run_external(lifecycle, extra, "report090.json"), 0);
	rep = load_report("report090.json");
	/* UPDATE_POD_SANDBOX (0x800) is unknown to NRI 0.9: the stub must drop it */
	assert_int_equal(json_object_get_int(jget(jget(rep, "plugin"), "events")), 0x6ED);
	assert_int_equal(count_requests(rep, "RunPodSandbox", NULL), 0);
	assert_int_equal(count_requests(rep, "UpdatePodSandbox", NULL), 0);
	assert_true(count_requests(rep, "StateChange", "ok") >= 8);
	assert_int_equal(count_requests(rep, "CreateContainer", "ok"), 3);
	assert_string_equal(report_cpus(rep, "c2"), "0-1");
	/* no NRI_version sent: inferred from the release that shipped v0.9.0 */
	assert_int_equal(log_count("plugin.log", "runtime=cri-o nri=v0.9.0"), 1);
	assert_int_equal(log_count("plugin.log",
				   "cgroup c1 kubepods-burstable-podu1.slice:cri-"
				   "containerd:c1 parent=kubepods-burstable-podu1.slice"),
			 1);
	json_object_put(rep);
}

static void test_external_sync_more_chunks(void **state)
{
	const char *extra[] = {"--sync-chunk", "3", NULL};
	char scen[2048] = "";
	json_object *rep;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char line[160];
		snprintf(line, sizeof(line),
			 "existing pod p%d ns/pod%d\nexisting create c%d pod=p%d cpu-request=100\n",
			 i, i, i, i);
		strcat(scen, line);
	}
	strcat(scen, "expect-connected yes\n");
	assert_int_equal(run_external(scen, extra, "chunks.json"), 0);
	rep = load_report("chunks.json");
	assert_int_equal(count_requests(rep, "Synchronize", "ok"), 4); /* 10 objects, 3 per chunk */
	assert_int_equal(log_count("plugin.log", "sync pods=5 ctrs=5"), 1);
	json_object_put(rep);
}

static void test_prelaunched_fd3(void **state)
{
	char self[PATH_MAX], cfg[256], rep[256], log[256], text[400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	json_object *r;
	pid_t sim;

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	path_in(cfg, sizeof(cfg), "10-e2e.conf");
	path_in(rep, sizeof(rep), "launch.json");
	path_in(log, sizeof(log), "launched.log");
	snprintf(text, sizeof(text), "log=%s\n", log);
	write_text("10-e2e.conf", text);
	write_text("scenario", "pod p1 default/x\ncreate c1 pod=p1 annotation e2e/cpus=1\n"
			       "start c1\nexpect-cpus c1 1\n");
	path_in(text, sizeof(text), "scenario");
	sim = spawn_sim((const char *const[]){"--launch", self, "--launch-name", "10-e2e",
					      "--plugin-config", cfg, "--scenario", text,
					      "--report", rep, NULL});
	assert_int_equal(wait_exit(sim, 20000), 0);
	r = load_report("launch.json");
	assert_string_equal(json_object_get_string(jget(jget(r, "plugin"), "idx")), "10");
	assert_string_equal(json_object_get_string(jget(jget(r, "plugin"), "name")), "e2e");
	json_object_put(r);
	/* exactly NRI_PLUGIN_NAME, NRI_PLUGIN_IDX and NRI_PLUGIN_SOCKET */
	assert_int_equal(log_count("launched.log", "env=3"), 1);
	assert_int_equal(log_count("launched.log", "^start c1"), 1);
	assert_int_equal(log_count("launched.log", "exit -104"), 1); /* ECONNRESET at the end */
}

static void test_sim_process_restart_reconnect(void **state)
{
	char sock[256], scen[256], rep[256], log[256];
	pid_t plug, sim;

	(void)state;
	path_in(sock, sizeof(sock), "re/nri.sock");
	path_in(scen, sizeof(scen), "scenario");
	path_in(rep, sizeof(rep), "re.json");
	path_in(log, sizeof(log), "re.log");
	write_text("scenario", "existing pod p0 ns/a\npod p1 ns/b\nsleep 20000\n");
	/* The plugin comes first and keeps redialling until a runtime listens. */
	plug = spawn_plugin(sock, log, true);
	sim = spawn_sim(
		(const char *const[]){"--listen", sock, "--scenario", scen, "--report", rep, NULL});
	for (int i = 0; i < 500 && log_count("re.log", "run-pod p1") < 1; i++)
		usleep(10000);
	/* The runtime dies: its socket file stays behind, stale, for the next one to replace. */
	kill(sim, SIGKILL);
	assert_int_equal(wait_exit(sim, 5000), -1);
	write_text("scenario", "existing pod p0 ns/a\nexisting pod p2 ns/c\nsleep 100\n");
	sim = spawn_sim(
		(const char *const[]){"--listen", sock, "--scenario", scen, "--report", rep, NULL});
	assert_int_equal(wait_exit(sim, 20000), 0);
	kill(plug, SIGTERM);
	assert_int_equal(wait_exit(plug, 5000), 0);
	assert_int_equal(log_count("re.log", "sync pods=1 ctrs=0"), 1);
	assert_int_equal(log_count("re.log", "sync pods=2 ctrs=0"), 1);
	assert_int_equal(log_count("re.log", "close"), 2);
	assert_int_equal(log_count("re.log", "synchronized reconnects=1"), 1);
	assert_int_equal(log_count("re.log", "exit 0 reconnects=1"), 1);
}

static void test_sim_restart_command(void **state)
{
	char sock[256], scen[256], rep[256], log[256];
	json_object *r;
	pid_t plug, sim;

	(void)state;
	path_in(sock, sizeof(sock), "rc/nri.sock");
	path_in(scen, sizeof(scen), "scenario");
	path_in(rep, sizeof(rep), "rc.json");
	path_in(log, sizeof(log), "rc.log");
	write_text("scenario", "pod p1 ns/b\ncreate c1 pod=p1 annotation e2e/cpus=1\nstart c1\n"
			       "restart\nexpect-connected yes\ncreate c2 pod=p1\nremove-pod p1\n");
	sim = spawn_sim(
		(const char *const[]){"--listen", sock, "--scenario", scen, "--report", rep, NULL});
	wait_socket(sock);
	plug = spawn_plugin(sock, log, true);
	assert_int_equal(wait_exit(sim, 20000), 0);
	kill(plug, SIGTERM);
	assert_int_equal(wait_exit(plug, 5000), 0);
	r = load_report("rc.json");
	assert_int_equal(json_object_get_int(jget(r, "reconnects")), 1);
	json_object_put(r);
	/* the resync after the restart carries the running pod and container */
	assert_int_equal(log_count("rc.log", "sync pods=1 ctrs=1"), 1);
	assert_int_equal(log_count("rc.log", "create c2"), 1);
}

static void test_sim_failed_expectation_exit1(void **state)
{
	json_object *r;

	(void)state;
	assert_int_equal(run_external("pod p1 ns/b\ncreate c1 pod=p1 annotation e2e/cpus=1\n"
				      "expect-cpus c1 0\nexpect-cpus c1 1\n",
				      NULL, "fail.json"),
			 1);
	r = load_report("fail.json");
	assert_int_equal(json_object_array_length(jget(r, "expectations_failed")), 1);
	assert_int_equal(json_object_get_int(jget(r, "expectations_passed")), 1);
	assert_string_equal(json_object_get_string(jget(r, "result")), "fail");
	json_object_put(r);
}

static void test_sim_request_timeout_disconnects(void **state)
{
	const char *extra[] = {"--request-timeout", "300", NULL};
	json_object *r;

	(void)state;
	/* The create proceeds without the plugin (doc §6.6); later events are not sent. */
	assert_int_equal(run_external("pod p1 ns/b\ncreate c1 pod=p1 annotation e2e/hang=1\n"
				      "expect-connected no\nstart c1\n",
				      extra, "tmo.json"),
			 0);
	r = load_report("tmo.json");
	assert_int_equal(count_requests(r, "CreateContainer", "timeout"), 1);
	assert_int_equal(count_requests(r, "StartContainer", NULL), 0);
	assert_int_equal(json_object_get_int(jget(r, "disconnects")), 1);
	json_object_put(r);
}

static void test_sim_state_change_fallback_v0122(void **state)
{
	char sock[256], scen[256], rep[256], log[256];
	json_object *r;
	pid_t sim, plug;

	(void)state;
	path_in(sock, sizeof(sock), "fb/nri.sock");
	path_in(scen, sizeof(scen), "scenario");
	path_in(rep, sizeof(rep), "fb.json");
	path_in(log, sizeof(log), "fb.log");
	write_text("scenario", "pod p1 ns/b\ncreate c1 pod=p1\nstart c1\n");
	sim = spawn_sim(
		(const char *const[]){"--listen", sock, "--scenario", scen, "--report", rep, NULL});
	wait_socket(sock);
	plug = fork();
	assert_true(plug >= 0);
	if (plug == 0)
		_exit(raw_plugin_main(sock, log));
	assert_int_equal(wait_exit(sim, 20000), 0);
	assert_int_equal(wait_exit(plug, 5000), 0);
	r = load_report("fb.json");
	assert_true(json_object_get_boolean(jget(r, "state_change_fallback")));
	assert_int_equal(count_requests(r, "RunPodSandbox", "error"), 1); /* code 12, once */
	assert_int_equal(count_requests(r, "StartContainer", NULL), 0);	  /* for good */
	assert_int_equal(count_requests(r, "StateChange", "ok"), 2);
	assert_int_equal(count_requests(r, "CreateContainer", "ok"), 1);
	json_object_put(r);
	assert_int_equal(log_count("fb.log", "state-change 1"), 1); /* RUN_POD_SANDBOX re-sent */
	assert_int_equal(log_count("fb.log", "state-change 6"), 1); /* START_CONTAINER */
}

static const char inversion[] = "pod p1 ns/b\n"
				"create c1 pod=p1 annotation e2e/update-on-update=0\n"
				"start c1\n"
				"update c1 cpu-limit=1000\n"
				"sleep 100\n";

/* containerd#13733: an UpdateContainers meeting an UpdateContainer in flight hangs. */
static void test_sim_lock_inversion(void **state)
{
	const char *extra[] = {"--lock-inversion", NULL};
	json_object *r;

	(void)state;
	assert_int_equal(run_external(inversion, extra, "inv.json"), 1);
	r = load_report("inv.json");
	assert_int_equal(json_object_get_int(jget(r, "lock_inversions")), 1);
	assert_string_equal(json_object_get_string(jget(r, "result")), "fail");
	assert_int_equal(json_object_array_length(jget(jget(r, "unsolicited_updates"), "updates")),
			 0); /* hung, never applied */
	assert_string_equal(report_cpus(r, "c1"), "");
	json_object_put(r);
	/* The same without the mode: a fixed runtime applies it. */
	assert_int_equal(run_external(inversion, NULL, "noinv.json"), 0);
	r = load_report("noinv.json");
	assert_int_equal(json_object_get_int(jget(r, "lock_inversions")), 0);
	assert_int_equal(json_object_get_int(jget(jget(r, "unsolicited_updates"), "calls")), 1);
	assert_string_equal(report_cpus(r, "c1"), "0");
	json_object_put(r);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_external_lifecycle_v0122),
		cmocka_unit_test(test_external_v090_state_change),
		cmocka_unit_test(test_external_sync_more_chunks),
		cmocka_unit_test(test_prelaunched_fd3),
		cmocka_unit_test(test_sim_process_restart_reconnect),
		cmocka_unit_test(test_sim_restart_command),
		cmocka_unit_test(test_sim_failed_expectation_exit1),
		cmocka_unit_test(test_sim_request_timeout_disconnects),
		cmocka_unit_test(test_sim_state_change_fallback_v0122),
		cmocka_unit_test(test_sim_lock_inversion),
	};

	(void)argc, (void)argv;
	if (getenv("NRI_PLUGIN_SOCKET")) /* re-executed by nri-sim --launch */
		return plugin_main(NULL, NULL, false);
	g_sim = getenv("NRI_SIM_BIN");
	if (!g_sim || !*g_sim)
		g_sim = "build/rel/nri-sim";
	if (access(g_sim, X_OK) < 0) {
		fprintf(stderr, "nri-sim not found at %s (set NRI_SIM_BIN)\n", g_sim);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
