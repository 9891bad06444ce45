/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin/daemon/annotations.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LATENCY_TARGET_MAX_US 1000000
#define OWN_DOMAIN	      "topoguard.io"
#define ALIAS_DOMAIN	      ".resource-policy.nri.io"
#define CONTAINER_NAME_MAX    63

enum value_kind { KIND_BOOL, KIND_BOOL_INVERTED, KIND_LATENCY };

struct annotation_name {
	const char *key;
	enum annotations_pref pref;
	enum value_kind kind;
	bool alias;
};

static const struct annotation_name names[] = {
	{"exclusive-cpus.topoguard.io", ANNOTATIONS_EXCLUSIVE, KIND_BOOL, false},
	{"shared-cpus.topoguard.io", ANNOTATIONS_EXCLUSIVE, KIND_BOOL_INVERTED, false},
	{"isolated-cpus.topoguard.io", ANNOTATIONS_ISOLATED, KIND_BOOL, false},
	{"reserved-cpus.topoguard.io", ANNOTATIONS_RESERVED, KIND_BOOL, false},
	{"hide-hyperthreads.topoguard.io", ANNOTATIONS_HIDE_HT, KIND_BOOL, false},
	{"cpu.preserve.topoguard.io", ANNOTATIONS_CPU_PRESERVE, KIND_BOOL, false},
	{"memory.preserve.topoguard.io", ANNOTATIONS_MEM_PRESERVE, KIND_BOOL, false},
	{"latency-target-us.topoguard.io", ANNOTATIONS_LATENCY, KIND_LATENCY, false},
	{"device-affinity.topoguard.io", ANNOTATIONS_DEVICE_AFFINITY, KIND_BOOL, false},
	{"device-affinity-strict.topoguard.io", ANNOTATIONS_DEVICE_STRICT, KIND_BOOL, false},
	{"prefer-shared-cpus" ALIAS_DOMAIN, ANNOTATIONS_EXCLUSIVE, KIND_BOOL_INVERTED, true},
	{"prefer-isolated-cpus" ALIAS_DOMAIN, ANNOTATIONS_ISOLATED, KIND_BOOL, true},
	{"prefer-reserved-cpus" ALIAS_DOMAIN, ANNOTATIONS_RESERVED, KIND_BOOL, true},
	{"hide-hyperthreads" ALIAS_DOMAIN, ANNOTATIONS_HIDE_HT, KIND_BOOL, true},
	{"cpu.preserve" ALIAS_DOMAIN, ANNOTATIONS_CPU_PRESERVE, KIND_BOOL, true},
	{"memory.preserve" ALIAS_DOMAIN, ANNOTATIONS_MEM_PRESERVE, KIND_BOOL, true},
};

/* Everything one annotation contributes, before precedence is applied. */
struct annotation_hit {
	const struct annotation_name *name;
	bool container_scope;
	int8_t value;
	int64_t latency_us;
};

void annotations_prefs_init(struct annotations_prefs *p)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < ANNOTATIONS_PREF_COUNT; i++)
		p->value[i] = -1;
}

const char *annotations_pref_name(enum annotations_pref p)
{
	static const char *const n[] = {"exclusive",	     "isolated",	"reserved",
					"hide-hyperthreads", "cpu-preserve",	"memory-preserve",
					"latency",	     "device-affinity", "device-strict"};

	return (unsigned int)p < ANNOTATIONS_PREF_COUNT ? n[p] : "unknown";
}

const char *annotations_source_name(enum annotations_source s)
{
	static const char *const n[] = {"none", "pod-alias", "pod", "container-alias", "container"};

	return (unsigned int)s <= ANNOTATIONS_SRC_CONTAINER ? n[s] : "unknown";
}

/* strconv.ParseBool, as the nri-plugins read the same annotations. */
static int parse_bool(const char *v)
{
	static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
	static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcmp(v, t[i]))
			return 1;
		if (!strcmp(v, f[i]))
			return 0;
	}
	return -EINVAL;
}

static int parse_latency(const char *v, int64_t *ret)
{
	int64_t n = 0;

	if (!*v)
		return -EINVAL;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		n = n * 10 + (*p - '0');
		if (n > LATENCY_TARGET_MAX_US)
			return -ERANGE;
	}
	if (n == 0)
		return -ERANGE;
	*ret = n;
	return 0;
}

/* Container names are DNS labels (Kubernetes validates them the same way). */
static bool is_container_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONTAINER_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Is this key in a domain we answer for? (Other domains are not our business.) */
static bool is_our_domain(const char *key, bool allow_aliases)
{
	const char *slash = strchr(key, '/');
	size_t dl = slash ? (size_t)(slash - key) : strlen(key);
	size_t own = strlen(OWN_DOMAIN), alias = strlen(ALIAS_DOMAIN);

	if (dl >= own && !strncmp(key + dl - own, OWN_DOMAIN, own))
		return dl == own || key[dl - own - 1] == '.';
	return allow_aliases && dl >= alias && !strncmp(key + dl - alias, ALIAS_DOMAIN, alias);
}

static void report_bad(annotations_report_fn report, void *ud, const char *key, const char *reason)
{
	char shown[80];

	if (!report)
		return;
	/* Never hand a hostile 100 KiB key to the logger. */
	snprintf(shown, sizeof(shown), "%.64s%s", key, strlen(key) > 64 ? "..." : "");
	report(ud, shown, reason);
}

/*
 * Match key against the table and its scope suffix. Returns 1 and fills hit (value
 * not yet parsed) when the key is ours and applies to container, 0 when it is not
 * ours or not for this container, -EINVAL with *why when it is ours but malformed.
 */
static int match_key(const char *key, const char *container, bool allow_aliases,
		     struct annotation_hit *hit, const char **why)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].key);
		const char *rest = key + n;

		if (strncmp(key, names[i].key, n) || (*rest && *rest != '/'))
			continue;
		if (names[i].alias && !allow_aliases)
			return 0;
		hit->name = &names[i];
		hit->container_scope = false;
		if (!*rest || !strcmp(rest, "/pod"))
			return 1;
		if (strncmp(rest, "/container.", 11)) {
			*why = "unknown scope (use /pod or /container.NAME)";
			return -EINVAL;
		}
		if (!is_container_name(rest + 11)) {
			*why = "invalid container name in scope";
			return -EINVAL;
		}
		hit->container_scope = true;
		return container && !strcmp(rest + 11, container) ? 1 : 0;
	}
	if (is_our_domain(key, false)) {
		*why = "unknown topoguard annotation";
		return -EINVAL;
	}
	return 0;
}

static int parse_value(const char *value, struct annotation_hit *hit, const char **why)
{
	int b;

	if (hit->name->kind == KIND_LATENCY) {
		if (parse_latency(value, &hit->latency_us) < 0) {
			*why = "expected microseconds, an integer 1..1000000";
			return -EINVAL;
		}
		hit->value = 1;
		return 0;
	}
	b = parse_bool(value);
	if (b < 0) {
		*why = "expected true or false";
		return -EINVAL;
	}
	hit->value = (int8_t)(hit->name->kind == KIND_BOOL_INVERTED ? !b : b);
	/* "shared: false" asks for nothing: it must not turn into "exclusive: true". */
	if (hit->name->kind == KIND_BOOL_INVERTED && !b)
		hit->value = -1;
	return 0;
}

static enum annotations_source hit_rank(const struct annotation_hit *h)
{
	if (h->container_scope)
		return h->name->alias ? ANNOTATIONS_SRC_CONTAINER_ALIAS : ANNOTATIONS_SRC_CONTAINER;
	return h->name->alias ? ANNOTATIONS_SRC_POD_ALIAS : ANNOTATIONS_SRC_POD;
}

/* Returns true on a same-rank conflict (resolved to the conservative value). */
static bool apply_hit(struct annotations_prefs *p, const struct annotation_hit *h)
{
	enum annotations_pref i = h->name->pref;
	enum annotations_source rank = hit_rank(h);
	bool conflict;

	if (h->value < 0 || rank < p->source[i])
		return false;
	if (rank > p->source[i]) {
		p->value[i] = h->value;
		p->source[i] = rank;
		if (i == ANNOTATIONS_LATENCY)
			p->latency_target_us = h->latency_us;
		return false;
	}
	conflict = p->value[i] != h->value ||
		   (i == ANNOTATIONS_LATENCY && p->latency_target_us != h->latency_us);
	if (h->value < p->value[i])
		p->value[i] = h->value;
	if (i == ANNOTATIONS_LATENCY && h->latency_us < p->latency_target_us)
		p->latency_target_us = h->latency_us; /* the tighter target is the safer one */
	return conflict;
}

/* -EINVAL (reported) when refused, 0 otherwise. */
static int parse_one(const struct annotations_kv *a, const char *container, bool allow_aliases,
		     annotations_report_fn report, void *ud, struct annotations_prefs *p)
{
	struct annotation_hit hit = {0};
	const char *why = NULL;
	int r;

	if (!a->key || !a->value) {
		report_bad(report, ud, a->key ? a->key : "(null)", "missing key or value");
		return -EINVAL;
	}
	if (strnlen(a->key, ANNOTATIONS_KEY_MAX + 1) > ANNOTATIONS_KEY_MAX) {
		if (!is_our_domain(a->key, allow_aliases))
			return 0;
		report_bad(report, ud, a->key, "key longer than 253 bytes");
		return -EINVAL;
	}
	if (!is_our_domain(a->key, true))
		return 0; /* the common case: somebody else's annotation */
	r = match_key(a->key, container, allow_aliases, &hit, &why);
	if (r == 0)
		return 0;
	if (r > 0 && strnlen(a->value, ANNOTATIONS_VALUE_MAX + 1) > ANNOTATIONS_VALUE_MAX)
		why = "value longer than 4096 bytes";
	else if (r > 0 && parse_value(a->value, &hit, &why) == 0) {
		if (apply_hit(p, &hit))
			report_bad(report, ud, a->key,
				   "conflicts with another annotation of the same precedence; "
				   "using the conservative value");
		return 0;
	}
	report_bad(report, ud, a->key, why);
	return -EINVAL;
}

int annotations_parse(const struct annotations_kv *kv, size_t n, const char *container,
		      bool allow_aliases, annotations_report_fn report, void *ud,
		      struct annotations_prefs *ret)
{
	struct annotations_prefs p;
	int refused = 0;

	if ((!kv && n) || !ret)
		return -EINVAL;
	annotations_prefs_init(&p);
	for (size_t i = 0; i < n; i++)
		if (parse_one(&kv[i], container, allow_aliases, report, ud, &p) < 0)
			refused++;
	*ret = p;
	return refused;
}

static bool namespace_in(const struct config_namespaces *l, const char *ns)
{
	for (unsigned int i = 0; l && i < l->n; i++)
		if (!strcmp(l->name[i], ns))
			return true;
	return false;
}

static void refuse(annotations_report_fn report, void *ud, enum annotations_pref p, const char *why)
{
	if (report)
		report(ud, annotations_pref_name(p), why);
}

void annotations_entitle(const struct annotations_prefs *a, const struct annotations_entitlement *e,
			 annotations_report_fn report, void *ud, struct alloc_prefs *ret)
{
	const int8_t *v = a->value;
	const char *ns = e->pod_namespace ? e->pod_namespace : "";
	bool guaranteed = e->qos == QOS_GUARANTEED;

	if (v[ANNOTATIONS_EXCLUSIVE] == 0)
		ret->shared_only = true;
	else if (v[ANNOTATIONS_EXCLUSIVE] == 1 && !guaranteed)
		refuse(report, ud, ANNOTATIONS_EXCLUSIVE, "exclusive CPUs need Guaranteed QoS");
	if (v[ANNOTATIONS_ISOLATED] == 1) {
		if (guaranteed)
			ret->isolated = true;
		else
			refuse(report, ud, ANNOTATIONS_ISOLATED,
			       "isolated CPUs need Guaranteed QoS");
	}
	if (v[ANNOTATIONS_HIDE_HT] >= 0)
		ret->hide_hyperthreads = v[ANNOTATIONS_HIDE_HT];
	if (v[ANNOTATIONS_DEVICE_AFFINITY] == 0)
		ret->device_mode = ALLOC_DEVICE_OFF;
	else if (v[ANNOTATIONS_DEVICE_STRICT] == 1)
		ret->device_mode = ALLOC_DEVICE_STRICT;
	if (v[ANNOTATIONS_RESERVED] == 1) {
		if (namespace_in(e->allow_reserved, ns) || namespace_in(e->reserved, ns))
			ret->reserved = true;
		else
			refuse(report, ud, ANNOTATIONS_RESERVED,
			       "namespace not allowed to use reserved CPUs");
	}
}
