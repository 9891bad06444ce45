/* SPDX-License-Identifier: Apache-2.0 */
/* The key table, value parsing/formatting and the default file. YAML walking: config_yaml.c. */
#define _GNU_SOURCE
#include "plugin/config/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/config/config_priv.h"

#define US_PER_MS  INT64_C(1000)
#define US_PER_SEC INT64_C(1000000)

static const char *const memory_only_names[] = {"none", "nearest", "all", NULL};
/* Same order as enum config_core_kind. */
static const char *const core_kind_names[] = {"performance", "efficient", "any", NULL};
/* Same order as enum config_actuation. */
static const char *const actuation_names[] = {"auto", "nri", "direct", NULL};
/* Same order as enum log_level. */
static const char *const log_level_names[] = {"debug", "info", "warn", "error", NULL};

#define KEY(p, t, field, lo, hi, d, e, h, doc)                                                     \
	{                                                                                          \
		p, t, offsetof(struct config, field), sizeof(((struct config *)0)->field), lo, hi, \
			d, e, h, doc                                                               \
	}
#define KBOOL(p, field, d, h, doc)	  KEY(p, CONFIG_BOOL, field, 0, 0, d, NULL, h, doc)
#define KINT(p, field, lo, hi, d, h, doc) KEY(p, CONFIG_INT, field, lo, hi, d, NULL, h, doc)
#define KDUR(p, field, lo, hi, d, h, doc) KEY(p, CONFIG_DURATION, field, lo, hi, d, NULL, h, doc)
#define KSTR(p, field, d, h, doc)	  KEY(p, CONFIG_STRING, field, 0, 0, d, NULL, h, doc)
#define KNS(p, field, d, h, doc)	  KEY(p, CONFIG_NAMESPACES, field, 0, 0, d, NULL, h, doc)

static const struct config_key keys[] = {
	KEY("reserved.cpus", CONFIG_CPUSET, reserved_cpus, 0, 0, "", NULL, true,
	    "CPUs for system daemons and reserved namespaces (cpulist); empty: use reserved.count"),
	KINT("reserved.count", reserved_count, 0, CPUSET_MAX, "0", true,
	     "CPUs to reserve when reserved.cpus is empty (whole cores around CPU 0); 0 = none"),
	KNS("reserved.namespaces", reserved_namespaces, "kube-system", true,
	    "pods in these namespaces run on the reserved CPUs"),
	KBOOL("pinning.exclusive", pinning_exclusive, "true", true,
	      "give Guaranteed containers with integer CPU requests exclusive CPUs"),
	KBOOL("pinning.prefer_whole_cores", pinning_prefer_whole_cores, "true", true,
	      "allocate whole physical cores (all hyperthread siblings) when possible"),
	KINT("pinning.shared_min_cpus", pinning_shared_min_cpus, 1, CPUSET_MAX, "1", true,
	     "never shrink the shared pool below this many CPUs"),
	KBOOL("pinning.burstable_unlimited_wide", pinning_burstable_unlimited_wide, "false", true,
	      "Burstable containers without a CPU limit may run on shared and reserved CPUs"),
	KBOOL("pinning.prefer_same_numa", pinning_prefer_same_numa, "true", true,
	      "keep a container's CPUs (and memory) in one NUMA node when it fits"),
	KEY("pinning.prefer_core_kind", CONFIG_ENUM, pinning_prefer_core_kind, 0, 0, "performance",
	    core_kind_names, true,
	    "hybrid CPUs: exclusive CPUs from performance, efficient or any cores first "
	    "(never mixed while one kind has room)"),
	KBOOL("quota.drop_for_exclusive", quota_drop_for_exclusive, "true", true,
	      "remove the CFS quota of exclusively pinned containers (kubernetes#70585)"),
	KINT("quota.cfs_period_us", quota_cfs_period_us, 1000, 1000000, "100000", true,
	     "cpu.cfs_period_us handed out with CPU quotas"),
	KBOOL("hide_hyperthreads", hide_hyperthreads, "false", true,
	      "by default give exclusive containers one hyperthread per core"),
	KBOOL("isolated.allow", isolated_allow, "true", true,
	      "give kernel-isolated CPUs (isolcpus=) to Guaranteed containers that ask for them"),
	KEY("memory.memory_only_nodes", CONFIG_ENUM, memory_only_nodes, 0, 0, "none",
	    memory_only_names, true,
	    "CPU-less memory nodes (CXL, HBM) in cpuset.mems: none, nearest or all"),
	KBOOL("memory.pin_mems", memory_pin_mems, "true", true,
	      "set cpuset.mems to the NUMA nodes of the allocated CPUs"),
	KBOOL("annotations.enabled", annotations_enabled, "true", true,
	      "honour per-pod topoguard annotations (docs/annotations.md)"),
	KBOOL("annotations.allow_aliases", annotations_allow_aliases, "true", true,
	      "also accept the nri-plugins *.resource-policy.nri.io annotation keys"),
	KNS("annotations.allow_reserved_namespaces", annotations_allow_reserved_namespaces,
	    "kube-system", true, "namespaces whose pods may ask for reserved CPUs by annotation"),
	KBOOL("live.enabled", live_enabled, "true", false,
	      "measure live usage with BPF on cgroups (cgroupfs polling where BPF cannot load)"),
	KDUR("live.sampling_interval", live_sampling_interval_us, 10 * US_PER_MS, 10 * US_PER_SEC,
	     "100ms", true, "live controller: how often usage is sampled"),
	KINT("live.runqueue_p99_target_us", live_runqueue_p99_target_us, 1, 1000000, "2000", true,
	     "live controller: run-queue latency p99 target of latency-sensitive containers (µs)"),
	KINT("live.throttle_step_percent", live_throttle_step_percent, 1, 100, "10", true,
	     "live controller: quota change per step, in percent of the CPU limit"),
	KINT("live.throttle_min_quota_percent", live_throttle_min_quota_percent, 0, 100, "20", true,
	     "live controller: never throttle below this percent of the container's request "
	     "(of one CPU without a request; 0 = the kernel's 1 ms)"),
	KDUR("live.throttle_period", live_throttle_period_us, 0, 1000 * US_PER_MS, "0s", true,
	     "live controller: CFS period while throttled, if longer than the container's "
	     "(longer = rarer bursts)"),
	KINT("live.hysteresis_percent", live_hysteresis_percent, 0, 100, "10", true,
	     "live controller: act only when a signal is this far past its threshold"),
	KDUR("live.cooldown", live_cooldown_us, 0, 3600 * US_PER_SEC, "30s", true,
	     "live controller: how long every latency target must hold before throttles relax"),
	KDUR("live.relax_interval", live_relax_interval_us, 0, 3600 * US_PER_SEC, "5s", true,
	     "live controller: minimum time between two relax steps of one container"),
	KDUR("live.throttle_interval", live_throttle_interval_us, 0, 60 * US_PER_SEC, "100ms", true,
	     "live controller: minimum time between two throttle steps of one container"),
	KINT("live.intrusion_target_percent", live_intrusion_target_percent, 0, 100, "5", true,
	     "live controller: others' share of an LS container's exclusive CPUs that is a breach "
	     "(0 = off)"),
	KINT("live.actions_per_second", live_actions_per_second, 0, 10000, "20", true,
	     "live controller: throttle and relax steps per second, each (0 = no limit)"),
	KBOOL("live.shield", live_shield, "true", true,
	      "live controller: move the neighbours off a latency-sensitive container on a "
	      "saturated shared pool (lend it CPUs of its own) instead of throttling them"),
	KINT("live.pool_saturation_percent", live_pool_saturation_percent, 1, 100, "80", true,
	     "live controller: what the shared pool's CPUs are wanted for (use, throttled time, "
	     "other load), in percent of its CPUs, that is saturation"),
	KDUR("live.pool_persist", live_pool_persist_us, 0, 60 * US_PER_SEC, "100ms", true,
	     "live controller: the shared pool must stay saturated this long before a shield"),
	KINT("live.unshield_percent", live_unshield_percent, 0, 100, "50", true,
	     "live controller: give a shield back once the pool is wanted for less than this "
	     "percent of its CPUs and the container was calm for live.cooldown"),
	KINT("live.blame_percent", live_blame_percent, 0, 100, "50", true,
	     "live controller: act against neighbours only when at least this percent of a "
	     "latency-sensitive container's recent waits were beside another container's task "
	     "(not beside host processes; steal makes none); 0 = act on every breach"),
	KINT("live.blame_min_waits", live_blame_min_waits, 1, 1000000, "4", true,
	     "live controller: and at least this many such waits (recent, halved every interval)"),
	KINT("live.verify_intervals", live_verify_intervals, 0, 1000, "5", true,
	     "live controller: judge a throttle or shield over this many sampling intervals after "
	     "it first acted, and undo it if it did not help (0 = never judge)"),
	KINT("live.verify_margin_percent", live_verify_margin_percent, 0, 100, "20", true,
	     "live controller: an action helped when the container's run-queue p99 fell this many "
	     "percent under its level before the action (or the breach ended)"),
	KDUR("live.ineffective", live_ineffective_us, 0, 3600 * US_PER_SEC, "30s", true,
	     "live controller: how long a lever that did not help a container is not used for it"),
	KBOOL("live.protect_exclusive", live_protect_exclusive, "false", true,
	      "live controller: Guaranteed containers with exclusive CPUs are latency-sensitive"),
	KBOOL("live.dry_run", live_dry_run, "false", true,
	      "live controller: only log and count the quota changes and shields it would make"),
	KBOOL("eviction.enabled", eviction_enabled, "false", true,
	      "live controller: evict pods under memory pressure"),
	KBOOL("eviction.dry_run", eviction_dry_run, "true", true,
	      "live controller: only log and count evictions that would happen"),
	KINT("eviction.memory_watermark_percent", eviction_memory_watermark_percent, 1, 100, "95",
	     true, "live controller: node memory use that triggers eviction"),
	KINT("eviction.psi_threshold_percent", eviction_psi_threshold_percent, 1, 100, "40", true,
	     "live controller: memory PSI 'some avg10' that triggers eviction"),
	KINT("eviction.rate_limit_per_minute", eviction_rate_limit_per_minute, 0, 600, "1", true,
	     "live controller: at most this many evictions per minute (0 = none)"),
	KINT("eviction.memory_watermark_bytes", eviction_memory_watermark_bytes, 0, INT64_MAX, "0",
	     true,
	     "live controller: the followed containers' memory that triggers eviction (0 = off)"),
	KDUR("eviction.persist", eviction_persist_us, 0, 3600 * US_PER_SEC, "1s", true,
	     "live controller: memory pressure must last this long before an eviction"),
	KDUR("eviction.settle", eviction_settle_us, 0, 3600 * US_PER_SEC, "30s", true,
	     "live controller: after an eviction, wait this long for the victim to go before the "
	     "next"),
	KDUR("eviction.latency_after", eviction_latency_after_us, 0, 3600 * US_PER_SEC, "0s", true,
	     "live controller: evict when a latency target stays breached this long with every "
	     "throttle at its floor (0 = never)"),
	KBOOL("eviction.guaranteed", eviction_guaranteed, "false", true,
	      "live controller: Guaranteed pods may be evicted"),
	KBOOL("kubernetes.enabled", kubernetes_enabled, "false", false,
	      "talk to the Kubernetes API (node events, pod QoS cross-check)"),
	KSTR("kubernetes.api_server", kubernetes_api_server, "", false,
	     "API server URL; empty: in-cluster (KUBERNETES_SERVICE_HOST/PORT)"),
	KSTR("kubernetes.token_file", kubernetes_token_file,
	     "/var/run/secrets/kubernetes.io/serviceaccount/token", false, "service account token"),
	KSTR("kubernetes.ca_file", kubernetes_ca_file,
	     "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", false, "API server CA bundle"),
	KSTR("kubernetes.node_name", kubernetes_node_name, "", false,
	     "this node's name; empty: $NODE_NAME (downward API)"),
	KDUR("kubernetes.timeout", kubernetes_timeout_us, 100 * US_PER_MS, 300 * US_PER_SEC, "5s",
	     true, "timeout of one API request"),
	KINT("kubernetes.qps", kubernetes_qps, 1, 1000, "5", true,
	     "API requests per second, at most"),
	KDUR("reconcile.interval", reconcile_interval_us, 0, 3600 * US_PER_SEC, "10s", true,
	     "how often every placed container's cgroup is compared with what topoguard intends "
	     "(and after each Synchronize); 0 = never"),
	KDUR("reconcile.ghost_after", reconcile_ghost_after_us, 0, 3600 * US_PER_SEC, "30s", true,
	     "a container not started this long after its CreateContainer (and with no process in "
	     "its cgroup) is a ghost: its CPUs go back to the others (0 = never)"),
	KEY("actuation", CONFIG_ENUM, actuation, 0, 0, "auto", actuation_names, true,
	    "changes outside a runtime request: nri (unsolicited UpdateContainers), direct "
	    "(cgroup files, the runtime told in its next reply; safe before NRI v0.12.1, "
	    "containerd#13733) or auto (nri from NRI v0.12.1, else direct)"),
	KEY("log.level", CONFIG_ENUM, log_level, 0, 0, "info", log_level_names, true,
	    "debug, info, warn or error"),
	KSTR("metrics.address", metrics_address, ":9464", false,
	     "HOST:PORT of /metrics, /healthz, /readyz; \":9464\" = all addresses; \"\" = off"),
	KSTR("status.socket", status_socket, "/run/topoguard/status.sock", false,
	     "unix socket of 'topoguard status' and 'topoguard explain'"),
	KSTR("state.checkpoint", checkpoint_path, "/run/topoguard/checkpoint.json", false,
	     "where topoguard keeps its assignments, to restart without a Synchronize; \"\" = off"),
};

const struct config_key *config_keys(size_t *ret_n)
{
	*ret_n = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

const struct config_key *config_key_find(const char *path)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].path, path))
			return &keys[i];
	return NULL;
}

void config_errors_done(struct config_errors *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = 0;
}

int config_errors_add(struct config_errors *e, const char *fmt, ...)
{
	char **m;
	char *s;
	va_list ap;
	int r;

	if (!e)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	m = realloc(e->msg, (e->n + 1) * sizeof(*m));
	if (!m) {
		free(s);
		return -ENOMEM;
	}
	m[e->n++] = s;
	e->msg = m;
	return 0;
}

static void *config_field(struct config *c, const struct config_key *k)
{
	return (char *)c + k->offset;
}

static const void *config_cfield(const struct config *c, const struct config_key *k)
{
	return (const char *)c + k->offset;
}

int config_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
									       "off"};

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_int(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int config_parse_duration(const char *s, int64_t *ret_us)
{
	static const struct {
		const char *unit;
		int64_t us;
	} units[] = {{"us", 1},
		     {"µs", 1},
		     {"ms", US_PER_MS},
		     {"s", US_PER_SEC},
		     {"m", 60 * US_PER_SEC},
		     {"h", 3600 * US_PER_SEC}};
	char *end;
	long long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (!*end && v == 0) {
		*ret_us = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > INT64_MAX / units[i].us)
			return -ERANGE;
		*ret_us = v * units[i].us;
		return 0;
	}
	return -EINVAL;
}

/* Kubernetes namespace names are RFC 1123 DNS labels. */
bool config_is_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CONFIG_NAMESPACE_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

int config_namespaces_add(struct config_namespaces *ns, const char *name, const char **why)
{
	if (!config_is_dns_label(name)) {
		*why = "not a valid namespace name (RFC 1123 label: a-z, 0-9, '-', at most 63)";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < ns->n; i++)
		if (!strcmp(ns->name[i], name))
			return 0; /* duplicates are harmless */
	if (ns->n >= CONFIG_LIST_MAX) {
		*why = "too many namespaces (at most 32)";
		return -E2BIG;
	}
	strcpy(ns->name[ns->n++], name); /* length checked by config_is_dns_label() */
	return 0;
}

static int config_set_range(const struct config_key *k, int64_t v, int64_t *dst, const char **why)
{
	if (v < k->min || v > k->max) {
		*why = "out of range";
		return -ERANGE;
	}
	*dst = v;
	return 0;
}

static int config_set_enum(const struct config_key *k, const char *text, int *dst, const char **why)
{
	for (int i = 0; k->enum_names[i]; i++)
		if (!strcmp(text, k->enum_names[i])) {
			*dst = i;
			return 0;
		}
	*why = "not one of the allowed values";
	return -EINVAL;
}

static int config_set_string(const struct config_key *k, const char *text, char *dst,
			     const char **why)
{
	size_t n = strlen(text);

	if (n >= k->size) {
		*why = "too long";
		return -ENAMETOOLONG;
	}
	memset(dst, 0, k->size);
	memcpy(dst, text, n);
	return 0;
}

int config_set_scalar(struct config *c, const struct config_key *k, const char *text,
		      const char **why)
{
	void *f = config_field(c, k);
	int64_t v;
	int r;

	switch (k->type) {
	case CONFIG_BOOL:
		r = config_parse_bool(text, f);
		if (r < 0)
			*why = "expected a boolean (true or false)";
		return r;
	case CONFIG_INT:
		r = config_parse_int(text, &v);
		if (r < 0) {
			*why = "expected an integer";
			return r;
		}
		return config_set_range(k, v, f, why);
	case CONFIG_DURATION:
		r = config_parse_duration(text, &v);
		if (r < 0) {
			*why = "expected a duration such as 250us, 100ms, 5s, 2m or 1h";
			return r;
		}
		return config_set_range(k, v, f, why);
	case CONFIG_STRING:
		return config_set_string(k, text, f, why);
	case CONFIG_CPUSET:
		r = cpuset_parse(text, strlen(text), f);
		if (r < 0)
			*why = r == -ERANGE ? "CPU id too large"
					    : "expected a CPU list such as 0-3,8";
		return r;
	case CONFIG_ENUM:
		return config_set_enum(k, text, f, why);
	case CONFIG_NAMESPACES:
		break;
	}
	*why = "expected a list";
	return -EINVAL;
}

static void config_set_default(struct config *c, const struct config_key *k)
{
	const char *why = NULL;
	char buf[256];

	if (k->type != CONFIG_NAMESPACES) {
		(void)config_set_scalar(c, k, k->def, &why);
		return;
	}
	/* Namespace defaults are comma-separated in the table. */
	snprintf(buf, sizeof(buf), "%s", k->def);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		(void)config_namespaces_add(config_field(c, k), t, &why);
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		config_set_default(c, &keys[i]);
}

size_t config_diff(const struct config *a, const struct config *b, const struct config_key **out,
		   size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!memcmp(config_cfield(a, &keys[i]), config_cfield(b, &keys[i]), keys[i].size))
			continue;
		if (n < max)
			out[n] = &keys[i];
		n++;
	}
	return n < max ? n : max;
}

void config_apply_hot(struct config *dst, const struct config *src)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].hot)
			memcpy(config_field(dst, &keys[i]), config_cfield(src, &keys[i]),
			       keys[i].size);
}

static int config_format_duration(int64_t us, char *buf, size_t size)
{
	if (us != 0 && us % (3600 * US_PER_SEC) == 0)
		return snprintf(buf, size, "%" PRId64 "h", us / (3600 * US_PER_SEC));
	if (us != 0 && us % (60 * US_PER_SEC) == 0)
		return snprintf(buf, size, "%" PRId64 "m", us / (60 * US_PER_SEC));
	if (us % US_PER_SEC == 0)
		return snprintf(buf, size, "%" PRId64 "s", us / US_PER_SEC);
	if (us % US_PER_MS == 0)
		return snprintf(buf, size, "%" PRId64 "ms", us / US_PER_MS);
	return snprintf(buf, size, "%" PRId64 "us", us);
}

/* Appends n bytes of t at buf[*pos] if they fit with a NUL after them; *pos counts on. */
static void config_put(char *buf, size_t size, size_t *pos, const char *t, size_t n)
{
	if (*pos + n < size)
		memcpy(buf + *pos, t, n);
	*pos += n;
}

/*
 * The escape of the character at s (YAML double-quoted), or NULL if it stands for
 * itself; *len is the bytes of s it covers. What libyaml refuses raw (C0 and C1
 * controls, DEL, U+FEFF, U+FFFE, U+FFFF) is escaped, and so are the line breaks NEL,
 * LS and PS, which it would fold into spaces.
 */
static const char *config_escape(const char *s, size_t *len, char tmp[8])
{
	const unsigned char *u = (const unsigned char *)s;

	*len = 1;
	if (*u == '"' || *u == '\\') {
		snprintf(tmp, 8, "\\%c", *u);
		return tmp;
	}
	if (*u < 0x20 || *u == 0x7f) {
		snprintf(tmp, 8, "\\x%02x", *u);
		return tmp;
	}
	if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) { /* U+0080..U+009F */
		*len = 2;
		if (u[1] == 0x85)
			return "\\N";
		snprintf(tmp, 8, "\\x%02x", u[1]);
		return tmp;
	}
	if (u[0] == 0xef &&
	    ((u[1] == 0xbb && u[2] == 0xbf) || (u[1] == 0xbf && (u[2] == 0xbe || u[2] == 0xbf)))) {
		*len = 3;
		return u[1] == 0xbb ? "\\uFEFF" : u[2] == 0xbe ? "\\uFFFE" : "\\uFFFF";
	}
	if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9)) {
		*len = 3;
		return u[2] == 0xa8 ? "\\L" : "\\P";
	}
	return NULL;
}

/* YAML double-quoted scalar; our strings are paths and addresses, but be exact anyway. */
static int config_format_quoted(const char *s, char *buf, size_t size)
{
	size_t pos = 0, len;
	char tmp[8];

	config_put(buf, size, &pos, "\"", 1);
	for (; *s; s += len) {
		const char *esc = config_escape(s, &len, tmp);

		if (esc)
			config_put(buf, size, &pos, esc, strlen(esc));
		else
			config_put(buf, size, &pos, s, 1);
	}
	config_put(buf, size, &pos, "\"", 1);
	if (pos >= size) {
		if (size)
			buf[0] = '\0';
		return -ENOSPC;
	}
	buf[pos] = '\0';
	return (int)pos;
}

static int config_format_namespaces(const struct config_namespaces *ns, char *buf, size_t size)
{
	size_t pos = 0;
	int r;

	for (unsigned int i = 0; i <= ns->n; i++) {
		r = snprintf(buf + pos, size - pos, "%s%s", i == 0 ? "[" : ", ",
			     i < ns->n ? ns->name[i] : "");
		if (r < 0 || (size_t)r >= size - pos)
			return -ENOSPC;
		pos += (size_t)r;
	}
	if (pos >= 2 && buf[pos - 2] == ',')
		pos -= 2;
	if (pos + 2 > size)
		return -ENOSPC;
	buf[pos++] = ']';
	buf[pos] = '\0';
	return (int)pos;
}

static int config_format_cpuset(const struct cpuset *s, char *buf, size_t size)
{
	char *tmp = malloc(size);
	int r;

	if (!tmp)
		return -ENOMEM;
	r = cpuset_format(s, tmp, size);
	if (r >= 0)
		r = config_format_quoted(tmp, buf, size);
	free(tmp);
	return r;
}

int config_format_value(const struct config *c, const struct config_key *k, char *buf, size_t size)
{
	const void *f = config_cfield(c, k);
	int r = -EINVAL;

	switch (k->type) {
	case CONFIG_BOOL:
		r = snprintf(buf, size, "%s", *(const bool *)f ? "true" : "false");
		break;
	case CONFIG_INT:
		r = snprintf(buf, size, "%" PRId64, *(const int64_t *)f);
		break;
	case CONFIG_DURATION:
		r = config_format_duration(*(const int64_t *)f, buf, size);
		break;
	case CONFIG_STRING:
		return config_format_quoted(f, buf, size);
	case CONFIG_CPUSET:
		return config_format_cpuset(f, buf, size);
	case CONFIG_ENUM:
		r = snprintf(buf, size, "%s", k->enum_names[*(const int *)f]);
		break;
	case CONFIG_NAMESPACES:
		return config_format_namespaces(f, buf, size);
	}
	if (r < 0 || (size_t)r >= size)
		return -ENOSPC;
	return r;
}

int config_print(FILE *f, const struct config *c)
{
	const char *section = "";
	size_t seclen = 0;
	char *val = malloc(CONFIG_VALUE_MAX);

	if (!val)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct config_key *k = &keys[i];
		const char *dot = strchr(k->path, '.');
		size_t len = dot ? (size_t)(dot - k->path) : 0;
		int r = config_format_value(c, k, val, CONFIG_VALUE_MAX);

		if (r < 0) {
			free(val);
			return r;
		}
		if (len != seclen || strncmp(section, k->path, len)) {
			fprintf(f, "\n");
			if (len)
				fprintf(f, "%.*s:\n", (int)len, k->path);
			section = k->path;
			seclen = len;
		}
		fprintf(f, "%s# %s%s\n%s%s: %s\n", len ? "  " : "", k->doc,
			k->hot ? "" : " [restart]", len ? "  " : "", dot ? dot + 1 : k->path, val);
	}
	free(val);
	return ferror(f) ? -EIO : 0;
}

int config_print_defaults(FILE *f)
{
	struct config c;

	config_init(&c);
	fprintf(f,
		"# topoguard configuration: every key with its default (docs/configuration.md).\n"
		"# Keys marked [restart] take effect only after a restart.\n");
	return config_print(f, &c);
}

unsigned int config_edit_distance(const char *a, const char *b, unsigned int cap)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned int row[CONFIG_PATH_MAX + 1];

	if (la > CONFIG_PATH_MAX || lb > CONFIG_PATH_MAX)
		return cap + 1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0], best;

		row[0] = (unsigned int)i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j], v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			diag = up;
			row[j] = v;
			if (v < best)
				best = v;
		}
		if (best > cap) /* no path can get back under the cap */
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}
