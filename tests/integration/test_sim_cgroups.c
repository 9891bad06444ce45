/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nri-sim --apply-cgroups against the real kernel (root, cgroup v1 cpuset/cpu/memory or
 * a cgroup2 mount with cpuset). While the simulator sleeps at the end of its scenario,
 * the test reads the kernel itself (cpuset.cpus, the container process's
 * Cpus_allowed_list, memory and CFS files) and afterwards checks that the report's
 * applied resources and read-backs agree with what it saw, that a plugin's invalid
 * cpuset lands in `errors`, and that nothing named NAME is left in any hierarchy, also
 * after SIGTERM.
 *
 * The plugin is either this binary re-executed by `nri-sim --launch` (a stub-based
 * plugin that sets the cpuset named by the annotation h8.test/cpus) or the real daemon
 * ($TOPOGUARD_BIN, default build/rel/topoguard).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/nri/stub.h"
#include "policy/cpuset.h"
#include "tests/lib/e2e.h"
#include "tests/lib/e2e_cpus.h"
#include "tests/lib/skip.h"

/* The v1 hierarchies, or all of them the cgroup2 root on a cgroup v2 only host. */
static bool g_v2;
#define CG_FS	    "/sys/fs/cgroup"
#define CPUSET_ROOT (g_v2 ? CG_FS : CG_FS "/cpuset")
#define CPU_ROOT    (g_v2 ? CG_FS : CG_FS "/cpu")
#define MEM_ROOT    (g_v2 ? CG_FS : CG_FS "/memory")
#define ANNOT_CPUS  "h8.test/cpus"
#define ANNOT_UPD   "h8.test/update" /* "<ctr>:<cpus>:<mem-limit>": sent unsolicited */

static char g_self[PATH_MAX];

/* ---- the stub plugin (re-executed by nri-sim --launch) ----------------------- */

static const char *annotation(const NriContainer *ctr, const char *key)
{
	for (size_t i = 0; i < ctr->n_annotations; i++) {
		if (!strcmp(ctr->annotations[i]->key, key))
			return ctr->annotations[i]->value;
	}
	return NULL;
}

static int p_create(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
		    struct nri_reply *reply, void *ud)
{
	const char *cpus = annotation(ctr, ANNOT_CPUS);

	(void)s, (void)pod, (void)ud;
	return cpus ? nri_reply_adjust(reply, &(struct nri_resources){.cpus = cpus}) : 0;
}

/* The update goes out from the loop after this handler: an UpdateContainers call. */
static int p_post_start(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			void *ud)
{
	const char *upd = annotation(ctr, ANNOT_UPD);
	struct nri_resources res = {.has_mem_limit = true};
	char id[64], cpus[64];
	struct nri_reply *u;

	(void)pod, (void)ud;
	if (!upd || sscanf(upd, "%63[^:]:%63[^:]:%" SCNd64, id, cpus, &res.mem_limit) != 3)
		return 0;
	res.cpus = cpus;
	u = nri_stub_new_updates(s);
	if (!u || nri_reply_update(u, id, &res, false) < 0)
		return -ENOMEM;
	return nri_stub_update_containers(s, u, NULL, NULL);
}

static int plugin_main(void)
{
	static const struct nri_stub_handlers h = {.create_container = p_create,
						   .post_start_container = p_post_start};
	struct nri_stub_options o;
	struct nri_stub *s = NULL;
	int r;

	nri_stub_options_init(&o);
	if (nri_stub_new(&h, &o, NULL, &s) < 0)
		return 3;
	r = nri_stub_run(s);
	nri_stub_free(s);
	return r == 0 || r == -ECONNRESET ? 0 : 1;
}

/* ---- helpers ------------------------------------------------------------------- */

struct run {
	struct e2e e;
	char name[64], report[256], log[256], sock[256];
	pid_t sim, daemon;
};

/* What the test itself saw in the kernel for one container. */
struct seen {
	char cpus[256], allowed[256], quota[32], mem[32];
	int pid;
};

static int read_line(const char *dir, const char *ctr, const char *file, char *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, ctr, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_allowed(int pid, char *buf, size_t len)
{
	char path[64], line[512];
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + 18 + strspn(line + 18, " \t"));
		r = 0;
	}
	fclose(f);
	return r;
}

/* 0 once ctr has a process in its cpuset cgroup and everything could be read. */
static int look(const struct run *r, const char *ctr, struct seen *s)
{
	char dir[256], procs[32];

	memset(s, 0, sizeof(*s));
	snprintf(dir, sizeof(dir), "%s/%s", CPUSET_ROOT, r->name);
	if (read_line(dir, ctr, "cgroup.procs", procs, sizeof(procs)) < 0 || !*procs)
		return -EAGAIN;
	s->pid = atoi(procs);
	/* v2: cpuset.cpus is empty until set (the parent's apply); the kernel's view is
	 * cpuset.cpus.effective, which v1's cpuset.cpus always is */
	if (read_line(dir, ctr, g_v2 ? "cpuset.cpus.effective" : "cpuset.cpus", s->cpus,
		      sizeof(s->cpus)) < 0 ||
	    read_allowed(s->pid, s->allowed, sizeof(s->allowed)) < 0)
		return -EAGAIN;
	snprintf(dir, sizeof(dir), "%s/%s", CPU_ROOT, r->name);
	if (read_line(dir, ctr, g_v2 ? "cpu.max" : "cpu.cfs_quota_us", s->quota, sizeof(s->quota)) <
	    0)
		return -EAGAIN;
	snprintf(dir, sizeof(dir), "%s/%s", MEM_ROOT, r->name);
	if (read_line(dir, ctr, g_v2 ? "memory.max" : "memory.limit_in_bytes", s->mem,
		      sizeof(s->mem)) < 0)
		return -EAGAIN;
	if (g_v2) { /* cpu.max "QUOTA PERIOD" or "max PERIOD": the v1 quota's spelling */
		s->quota[strcspn(s->quota, " ")] = '\0';
		if (!strcmp(s->quota, "max"))
			snprintf(s->quota, sizeof(s->quota), "-1");
	}
	return 0;
}

/* Kernel state of all ctrs, once it held still for 300 ms (the plugin's updates are in). */
static void look_stable(const struct run *r, const char *const *ctrs, size_t n, struct seen *out)
{
	struct seen prev[8];
	bool same = false;

	assert_true(n <= 8);
	for (int tries = 0; tries < 40 && !same; tries++) {
		int bad = 0;

		usleep(300 * 1000);
		for (size_t i = 0; i < n; i++)
			bad += look(r, ctrs[i], &out[i]) < 0;
		same = !bad && tries > 0 && !memcmp(prev, out, n * sizeof(*out));
		memcpy(prev, out, n * sizeof(*out));
	}
	if (!same)
		fail_msg("the container cgroups of %s never held still", r->name);
}

static bool cgroup_exists(const char *root, const char *name, const char *ctr)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s%s%s", root, name, ctr ? "/" : "", ctr ? ctr : "");
	return stat(path, &st) == 0;
}

static void assert_no_cgroup_left(const char *name)
{
	const char *const roots[] = {CPUSET_ROOT, CPU_ROOT, MEM_ROOT};

	for (size_t i = 0; i < 3; i++) {
		if (cgroup_exists(roots[i], name, NULL))
			fail_msg("%s/%s is still there", roots[i], name);
	}
}

static void assert_same_set(const char *what, const char *a, const char *b)
{
	struct cpuset x = set_of(a), y = set_of(b);

	if (!cpuset_equal(&x, &y))
		fail_msg("%s: \"%s\" != \"%s\"", what, a, b);
}

static json_object *cgroup_of(json_object *rep, const char *id)
{
	json_object *c = e2e_report_container(rep, id), *g;

	if (!c)
		fail_msg("container %s missing from the report", id);
	g = e2e_jget(c, "cgroup");
	if (!g)
		fail_msg("container %s has no cgroup in the report", id);
	return g;
}

static bool errors_contain(json_object *rep, const char *needle)
{
	json_object *errs = e2e_jget(rep, "errors");

	for (size_t i = 0; errs && i < json_object_array_length(errs); i++) {
		if (strstr(json_object_get_string(json_object_array_get_idx(errs, i)), needle))
			return true;
	}
	return false;
}

static int setup(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r || e2e_setup(&r->e) < 0) {
		free(r);
		return -1;
	}
	/* a prefix of our own: other suites' cleanups sweep /tmp/tg-e2e-* */
	rmdir(r->e.dir);
	snprintf(r->e.dir, sizeof(r->e.dir), "/tmp/tg-simcg-XXXXXX");
	if (!mkdtemp(r->e.dir)) {
		free(r);
		return -1;
	}
	snprintf(r->name, sizeof(r->name), "tg-simcg-%d", (int)getpid());
	e2e_path(&r->e, r->report, sizeof(r->report), "report.json");
	e2e_path(&r->e, r->log, sizeof(r->log), "sim.log");
	e2e_path(&r->e, r->sock, sizeof(r->sock), "nri.sock");
	*state = r;
	return 0;
}

/* Fails the case unless the daemon, when one ran, exited 0 on SIGTERM. */
static int teardown(void **state)
{
	struct run *r = *state;
	char log[256];
	int ret = 0;

	if (r->daemon > 0) {
		e2e_path(&r->e, log, sizeof(log), "daemon.log");
		ret = e2e_stop_daemon(r->daemon, log, 5000);
	}
	if (r->sim > 0)
		e2e_stop(r->sim, 5000);
	if (getenv("E2E_KEEP"))
		fprintf(stderr, "kept %s\n", r->e.dir);
	else
		e2e_teardown(&r->e);
	free(r);
	return ret;
}

static void start_sim(struct run *r, const char *scenario, const char *const *mode)
{
	char scen[256];
	const char *args[24] = {"--scenario",	   scen,   "--report", r->report,
				"--apply-cgroups", r->name};
	size_t n = 6;

	e2e_path(&r->e, scen, sizeof(scen), "scenario.scn");
	assert_int_equal(e2e_write(&r->e, "scenario.scn", scenario), 0);
	for (; *mode && n < 22; mode++)
		args[n++] = *mode;
	args[n] = NULL;
	r->sim = e2e_spawn(r->e.sim, args, r->log);
	assert_true(r->sim > 0);
}

static json_object *finish_sim(struct run *r)
{
	int rc = e2e_wait_exit(r->sim, 30000);
	json_object *rep = e2e_load_json(r->report);

	r->sim = 0;
	if (rc != 0 || !rep)
		fail_msg("nri-sim exit %d (log %s)", rc, r->log);
	return rep;
}

/* What the kernel showed equals what the report says the runtime applied and read. */
static void check_ctr(json_object *rep, const char *id, const struct seen *k)
{
	json_object *c = e2e_report_container(rep, id), *g = cgroup_of(rep, id);
	const char *applied = e2e_jstr(c, "cpus");

	assert_same_set("report cgroup.cpus vs kernel", e2e_jstr(g, "cpus"), k->cpus);
	assert_same_set("report cgroup.allowed vs /proc", e2e_jstr(g, "allowed"), k->allowed);
	assert_same_set("kernel cpuset vs process", k->cpus, k->allowed);
	if (*applied) /* unset: the runtime inherits the parent's set */
		assert_same_set("applied cpus vs kernel", applied, k->cpus);
	if (e2e_jget(c, "memory_limit"))
		assert_int_equal(json_object_get_int64(e2e_jget(c, "memory_limit")),
				 strtoll(k->mem, NULL, 10));
	if (e2e_jget(c, "cpu_quota"))
		assert_int_equal(json_object_get_int64(e2e_jget(c, "cpu_quota")),
				 strtoll(k->quota, NULL, 10));
}

static const char stub_scenario[] =
	"existing pod p0 kube-system/sys uid=u0\n"
	"existing create c0 pod=p0 name=sys cpu-request=100 mem-limit=67108864\n"
	"pod p1 default/app uid=u1 qos=guaranteed\n"
	"create c1 pod=p1 name=one cpu-request=1000 cpu-limit=1000 mem-limit=134217728 "
	"annotation " ANNOT_CPUS "=0\n"
	"start c1\n"
	"create c2 pod=p1 name=bad cpu-request=500 annotation " ANNOT_CPUS "=1000\n"
	"start c2\n"
	"create c3 pod=p1 name=gone cpu-request=200 cpu-limit=500 mem-limit=33554432\n"
	"start c3\n"
	"remove c3\n"
	"create c4 pod=p1 name=upd cpu-request=100 annotation " ANNOT_UPD "=c0:0:50331648\n"
	"start c4\n"
	"update c4 cpu-limit=300 mem-limit=41943040\n"
	"sleep 2500\n";

static void test_apply_cgroups_stub_plugin(void **state)
{
	struct run *r = *state;
	static const char *const ctrs[] = {"c0", "c1", "c4"};
	const char *const mode[] = {"--launch", g_self, "--launch-name", "10-h8test", NULL};
	struct seen k[3];
	json_object *rep, *g3;
	char root_cpus[256];

	start_sim(r, stub_scenario, mode);
	look_stable(r, ctrs, 3, k);
	assert_false(cgroup_exists(CPUSET_ROOT, r->name, "c3")); /* removed: rmdir'ed */
	assert_false(cgroup_exists(MEM_ROOT, r->name, "c3"));
	rep = finish_sim(r);
	assert_no_cgroup_left(r->name);

	for (size_t i = 0; i < 3; i++)
		check_ctr(rep, ctrs[i], &k[i]);
	assert_same_set("c1 adjusted by the plugin", k[1].cpus, "0");
	assert_string_equal(k[1].mem, "134217728");
	assert_string_equal(k[1].quota, "100000");
	assert_int_equal(read_line(CPUSET_ROOT, "", g_v2 ? "cpuset.cpus.effective" : "cpuset.cpus",
				   root_cpus, sizeof(root_cpus)),
			 0);
	assert_same_set("c4 inherits the parent's cpus", k[2].cpus, root_cpus);
	assert_string_equal(k[2].quota, "30000"); /* UpdateContainer reached the kernel */
	assert_string_equal(k[2].mem, "41943040");
	/* an unsolicited UpdateContainers reached the kernel: c0 was 0-N and 64 MiB */
	assert_int_equal(
		json_object_get_int(e2e_jget(e2e_jget(rep, "unsolicited_updates"), "calls")), 1);
	assert_same_set("c0 after UpdateContainers", k[0].cpus, "0");
	assert_string_equal(k[0].mem, "50331648");
	/*
	 * The plugin's invalid cpuset is reported. On v1 c2's cpuset stays empty and its
	 * process cannot start; on v2 an unwritten cpuset takes the parent's, so it can.
	 */
	assert_true(errors_contain(rep, "cgroup c2: write cpuset.cpus=\"1000\""));
	assert_true(errors_contain(rep, "cgroup c2: start a process") == !g_v2);
	/* c3 lived and was removed: read back before its process was killed */
	g3 = cgroup_of(rep, "c3");
	assert_true(json_object_get_boolean(e2e_jget(g3, "removed")));
	assert_true(*e2e_jstr(g3, "allowed"));
	json_object_put(rep);
}

static const char daemon_scenario[] =
	"existing pod p0 kube-system/sys uid=u0\n"
	"existing create c0 pod=p0 name=sys cpu-request=100 mem-limit=67108864\n"
	"pod p1 default/gua uid=u1 qos=guaranteed\n"
	"create c1 pod=p1 name=app cpu-request=1000 cpu-limit=1000 mem-limit=134217728\n"
	"start c1\n"
	"pod p2 default/web uid=u2 qos=burstable\n"
	"create c2 pod=p2 name=web cpu-request=250 cpu-limit=1000 mem-limit=67108864\n"
	"start c2\n"
	"sleep 3000\n";

static void start_daemon(struct run *r)
{
	char log[256], status[256];
	const char *const args[] = {"run",   "--socket",
				    r->sock, "--status-socket",
				    status,  "--metrics-address",
				    "none",  "--log-file",
				    log,     NULL};

	e2e_path(&r->e, log, sizeof(log), "daemon.log");
	e2e_path(&r->e, status, sizeof(status), "status.sock");
	r->daemon = e2e_spawn(r->e.topoguard, args, log);
	assert_true(r->daemon > 0);
}

static void test_apply_cgroups_topoguard(void **state)
{
	struct run *r = *state;
	static const char *const ctrs[] = {"c0", "c1", "c2"};
	const char *const mode[] = {"--listen", r->sock, NULL};
	struct cpuset c1, c2;
	struct seen k[3];
	json_object *rep;

	if (access(r->e.topoguard, X_OK) < 0)
		tg_skip("%s is not built: the stub plugin test covers the simulator",
			r->e.topoguard);
	start_sim(r, daemon_scenario, mode);
	assert_int_equal(e2e_wait_path(r->sock, 5000), 0);
	start_daemon(r);
	look_stable(r, ctrs, 3, k);
	rep = finish_sim(r);
	assert_no_cgroup_left(r->name);
	for (size_t i = 0; i < 3; i++)
		check_ctr(rep, ctrs[i], &k[i]);
	/* the daemon's promise, as the kernel enforced it: one exclusive CPU for c1 */
	c1 = set_of(k[1].cpus);
	c2 = set_of(k[2].cpus);
	assert_int_equal(cpuset_count(&c1), 1);
	if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
		assert_false(cpuset_intersects(&c1, &c2));
	assert_string_equal(k[1].mem, "134217728");
	assert_string_equal(k[2].mem, "67108864");
	json_object_put(rep);
}

/* ---- real NUMA placement (issue 15): the vmtest guests have two nodes --------------- */

#define NODE_DIR  "/sys/devices/system/node"
#define TOUCH_MIB 64
#define STR_(x)	  #x
#define STR(x)	  STR_(x)

static int numa_nodes(void)
{
	char path[64];
	int n = 0;

	for (;; n++) {
		snprintf(path, sizeof(path), NODE_DIR "/node%d", n);
		if (access(path, F_OK) < 0)
			return n;
	}
}

/* The node whose CPUs hold all of cpus, -1 if none does. */
static int node_holding(const struct cpuset *cpus, int nodes)
{
	char name[32], list[256];

	for (int i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "node%d", i);
		if (read_line(NODE_DIR, name, "cpulist", list, sizeof(list)) == 0) {
			struct cpuset n = set_of(list), rest;

			cpuset_andnot(&rest, cpus, &n);
			if (cpuset_count(&rest) == 0)
				return i;
		}
	}
	return -1;
}

/*
 * Anonymous memory per node from ctr's memory.numa_stat into per_node[] (bytes on v2,
 * pages on v1: only the ratio is used); the number of nodes read, or -errno.
 * v2: "anon N0=<bytes> N1=<bytes>"; v1: "anon=<pages> N0=<pages> N1=<pages>".
 */
static int anon_per_node(const struct run *r, const char *ctr, uint64_t *per_node, int max)
{
	char path[512], line[1024];
	int n = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s/memory.numa_stat", MEM_ROOT, r->name, ctr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (n < 0 && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "anon ", 5) && strncmp(line, "anon=", 5))
			continue;
		n = 0;
		for (char *t = strtok(line + 5, " \n"); t; t = strtok(NULL, " \n")) {
			int node;
			unsigned long long v;

			if (sscanf(t, "N%d=%llu", &node, &v) == 2 && node >= 0 && node < max) {
				per_node[node] = v;
				n = node + 1 > n ? node + 1 : n;
			}
		}
	}
	fclose(f);
	return n;
}

static const char numa_scenario[] =
	"pod p0 default/db uid=u0 qos=guaranteed\n"
	"create c0 pod=p0 name=big cpu-request=4000 cpu-limit=4000 mem-limit=268435456\n"
	"start c0 touch=" STR(
		TOUCH_MIB) "\n"
			   "pod p1 default/db uid=u1 qos=guaranteed\n"
			   "create c1 pod=p1 name=db cpu-request=2000 cpu-limit=2000 "
			   "mem-limit=268435456\n"
			   "start c1 touch=" STR(
				   TOUCH_MIB) "\n"
					      "pod p2 default/web uid=u2 qos=burstable\n"
					      "create c2 pod=p2 name=web cpu-request=250 "
					      "cpu-limit=1000 mem-limit=67108864\n"
					      "start c2\n"
					      "sleep 4000\n";

/*
 * ctr's kernel cpuset lies on one node, its cpuset.mems is that node, and at least 90 %
 * of the anonymous memory its process wrote is there; the node.
 */
static int assert_on_one_node(const struct run *r, const char *ctr, const struct seen *k, int nodes)
{
	uint64_t anon[64] = {0}, total = 0;
	char dir[256], mems[64], want[16];
	struct cpuset cpus = set_of(k->cpus);
	int node = node_holding(&cpus, nodes), got;

	if (node < 0)
		fail_msg("%s's exclusive CPUs %s span NUMA nodes", ctr, k->cpus);
	snprintf(dir, sizeof(dir), "%s/%s", CPUSET_ROOT, r->name);
	assert_int_equal(read_line(dir, ctr, g_v2 ? "cpuset.mems.effective" : "cpuset.mems", mems,
				   sizeof(mems)),
			 0);
	snprintf(want, sizeof(want), "%d", node);
	assert_string_equal(mems, want);
	got = anon_per_node(r, ctr, anon, 64);
	assert_true(got > node);
	for (int i = 0; i < got; i++)
		total += anon[i];
	fprintf(stderr, "%s on node %d (cpus %s, mems %s): anon %llu of %llu on its node\n", ctr,
		node, k->cpus, mems, (unsigned long long)anon[node], (unsigned long long)total);
	assert_true(total > 0);
	assert_true(anon[node] * 10 >= total * 9); /* the rest: page tables, the stack */
	return node;
}

/*
 * On a machine with two NUMA nodes (4 CPUs each in the guests), through the real daemon
 * and the kernel: a 4-CPU exclusive container fills one node, a 2-CPU one lands on the
 * other; each one's cpuset lies on its node, its cpuset.mems is that node and the memory
 * its process wrote after joining the cgroup is there (memory.numa_stat); the shared
 * container runs on every CPU they do not have.
 */
static void test_apply_cgroups_numa_placement(void **state)
{
	struct run *r = *state;
	static const char *const ctrs[] = {"c0", "c1", "c2"};
	const char *const mode[] = {"--listen", r->sock, NULL};
	int nodes = numa_nodes(), n0, n1;
	char online[256];
	struct cpuset c0, c1, c2, all, both;
	struct seen k[3];
	json_object *rep;

	if (nodes < 2)
		tg_skip("needs two NUMA nodes (%d here; the make vmtest guests have two)", nodes);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 8)
		tg_skip("needs 8 CPUs: two exclusive containers and a shared one on two nodes");
	if (access(r->e.topoguard, X_OK) < 0)
		tg_skip("%s is not built", r->e.topoguard);
	start_sim(r, numa_scenario, mode);
	assert_int_equal(e2e_wait_path(r->sock, 5000), 0);
	start_daemon(r);
	look_stable(r, ctrs, 3, k);
	c0 = set_of(k[0].cpus);
	c1 = set_of(k[1].cpus);
	c2 = set_of(k[2].cpus);
	assert_int_equal(cpuset_count(&c0), 4);
	assert_int_equal(cpuset_count(&c1), 2);
	n0 = assert_on_one_node(r, "c0", &k[0], nodes);
	n1 = assert_on_one_node(r, "c1", &k[1], nodes);
	assert_int_not_equal(n0, n1);
	/* the shared container: every CPU the exclusive ones do not have */
	assert_int_equal(read_line("/sys/devices/system/cpu", "", "online", online, sizeof(online)),
			 0);
	all = set_of(online);
	assert_false(cpuset_intersects(&c0, &c2) || cpuset_intersects(&c1, &c2));
	cpuset_or(&both, &c0, &c1);
	cpuset_or(&both, &both, &c2);
	assert_true(cpuset_equal(&both, &all));
	rep = finish_sim(r);
	assert_no_cgroup_left(r->name);
	json_object_put(rep);
}

/* SIGTERM mid-scenario: the process is killed and NAME removed before nri-sim is gone. */
static void test_apply_cgroups_sigterm_cleans_up(void **state)
{
	struct run *r = *state;
	const char *const mode[] = {"--listen", r->sock, "--accept-timeout", "20000", NULL};
	struct seen k;
	int rc, tries = 0;

	start_sim(r,
		  "existing pod p0 default/x uid=u0\n"
		  "existing create c0 pod=p0 name=x cpu-request=100\n",
		  mode);
	while (look(r, "c0", &k) < 0 && tries++ < 500)
		usleep(10000);
	assert_true(k.pid > 0);
	rc = e2e_stop(r->sim, 5000);
	r->sim = 0;
	assert_int_equal(rc, -1); /* died of the signal, after the cleanup */
	assert_no_cgroup_left(r->name);
	for (tries = 0; kill(k.pid, 0) == 0 && tries < 200; tries++)
		usleep(10000); /* reparented to init, reaped there */
	assert_int_equal(kill(k.pid, 0), -1);
}

/* Without root: a clear message and exit 2 (make demo only passes it as root). */
static void test_apply_cgroups_needs_root(void **state)
{
	struct run *r = *state;
	char log[256];
	pid_t pid;
	int rc;

	e2e_path(&r->e, log, sizeof(log), "nobody.log");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the log first: the test's directory is private to root */
		if (!freopen(log, "w", stderr) || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(126);
		execl(r->e.sim, r->e.sim, "--listen", "/tmp/none.sock", "--apply-cgroups", "x",
		      (char *)NULL);
		_exit(127);
	}
	/*
	 * It exits at once; the deadline only guards against a hang. 5 s was too short
	 * once, in the QEMU guest beside a loaded host (-1: killed at the deadline, or a
	 * signal; the log says which).
	 */
	rc = e2e_wait_exit(pid, 60000);
	if (rc == 126 || rc == 127)
		tg_skip("user nobody cannot run %s here (permissions of the tree)", r->e.sim);
	if (rc != 2) {
		print_message("nri-sim as nobody: exit %d (-1: killed at the deadline or by a "
			      "signal)\n",
			      rc);
		e2e_print_tail(log, 20);
	}
	assert_int_equal(rc, 2);
	assert_int_equal(e2e_file_count(log, "needs root"), 1);
}

static const char *skip_reason(void)
{
	char ctl[256] = "";

	if (geteuid() != 0)
		return "needs root (creates cgroups)";
	g_v2 = access(CG_FS "/cgroup.controllers", F_OK) == 0;
	if (g_v2) {
		read_line(CG_FS, "", "cgroup.subtree_control", ctl, sizeof(ctl));
		if (!strstr(ctl, "cpuset") || !strstr(ctl, "memory") || !strstr(ctl, "cpu "))
			return "cgroup v2: cpuset, cpu and memory not in " CG_FS
			       "/cgroup.subtree_control";
		return NULL;
	}
	if (access(CG_FS "/cpuset/cpuset.cpus", F_OK) < 0)
		return "needs the cgroup v1 cpuset controller at " CG_FS "/cpuset, or cgroup v2";
	if (access(CG_FS "/cpu/cpu.cfs_quota_us", F_OK) < 0 ||
	    access(CG_FS "/memory/memory.limit_in_bytes", F_OK) < 0)
		return "needs the cgroup v1 cpu and memory controllers";
	return NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_cgroups_stub_plugin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_cgroups_topoguard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_cgroups_numa_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_cgroups_sigterm_cleans_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply_cgroups_needs_root, setup, teardown),
	};
	const char *why;
	ssize_t n;

	if (getenv("NRI_PLUGIN_SOCKET")) /* re-executed by nri-sim --launch */
		return plugin_main();
	why = skip_reason();
	if (why) {
		fprintf(stderr, "%s\n", why);
		return 77;
	}
	n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
	if (n <= 0)
		return 1;
	g_self[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
