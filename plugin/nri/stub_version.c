/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime NRI version: taken from ConfigureRequest.NRI_version when the runtime sends
 * a usable one (NRI >= 0.12), otherwise inferred from runtime_name/runtime_version with
 * the table of doc §10.1, exactly like the Go stub. The version decides which event
 * bits the runtime accepts: anything outside its mask makes Configure fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/nri/stub_priv.h"

struct version_row {
	const char *runtime; /* lowest runtime version of the row */
	const char *nri;
};

/* Sorted by runtime version; inference picks the last row <= the reported version. */
static const struct version_row containerd_rows[] = {
	{"v1.7.0", "v0.3.0"},  {"v1.7.7", "v0.4.0"}, {"v1.7.14", "v0.6.0"}, {"v1.7.16", "v0.6.1"},
	{"v1.7.26", "v0.8.0"}, {"v2.0.0", "v0.8.0"}, {"v2.2.0", "v0.10.0"}, {"v2.2.1", "v0.11.0"},
};

static const struct version_row crio_rows[] = {
	{"v1.26.0", "v0.2.0"}, {"v1.26.2", "v0.3.0"},  {"v1.26.4", "v0.3.1"},
	{"v1.27.0", "v0.3.0"}, {"v1.27.1", "v0.3.1"},  {"v1.29.0", "v0.5.0"},
	{"v1.29.2", "v0.6.0"}, {"v1.31.0", "v0.6.1"},  {"v1.32.0", "v0.9.0"},
	{"v1.33.0", "v0.9.1"}, {"v1.34.0", "v0.10.0"}, {"v1.35.0", "v0.11.0"},
};

/* "v1.2.3", "1.2.3-rc1" and "1.2" parse; anything else is -EINVAL. */
static int parse_semver(const char *s, long ret[3])
{
	char *end;

	if (!s)
		return -EINVAL;
	if (*s == 'v')
		s++;
	for (int i = 0; i < 3; i++) {
		ret[i] = 0;
		if (*s < '0' || *s > '9')
			return i >= 2 ? 0 : -EINVAL;
		errno = 0;
		ret[i] = strtol(s, &end, 10);
		if (errno)
			return -EINVAL;
		s = end;
		if (*s != '.')
			return i >= 1 ? 0 : -EINVAL;
		s++;
	}
	return 0;
}

int stub_version_cmp(const char *a, const char *b)
{
	long va[3], vb[3];
	int ra = parse_semver(a, va), rb = parse_semver(b, vb);

	if (ra < 0 || rb < 0)
		return (ra < 0 ? 0 : 1) - (rb < 0 ? 0 : 1);
	for (int i = 0; i < 3; i++) {
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	}
	return 0;
}

static const char *infer(const struct version_row *rows, size_t n, const char *version)
{
	const char *best = NULL;
	long v[3];

	if (parse_semver(version, v) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (stub_version_cmp(rows[i].runtime, version) <= 0)
			best = rows[i].nri;
	}
	return best;
}

static bool version_usable(const char *v)
{
	long parts[3];

	if (!v || !*v || !strcmp(v, "(devel)") || strstr(v, "0.0.0-unknown"))
		return false;
	return parse_semver(v, parts) == 0;
}

int stub_version_resolve(const char *reported, const char *runtime_name,
			 const char *runtime_version, char **ret)
{
	const char *v = NULL;
	char *copy;

	if (version_usable(reported))
		v = reported;
	else if (runtime_name && !strcmp(runtime_name, "containerd"))
		v = infer(containerd_rows, sizeof(containerd_rows) / sizeof(containerd_rows[0]),
			  runtime_version);
	else if (runtime_name && (!strcmp(runtime_name, "cri-o") || !strcmp(runtime_name, "crio")))
		v = infer(crio_rows, sizeof(crio_rows) / sizeof(crio_rows[0]), runtime_version);
	/* Unknown runtimes without NRI_version predate 0.12; assume the oldest mask. */
	copy = strdup(v ? v : "unknown");
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

uint32_t stub_version_mask(const char *v)
{
	long parts[3];

	if (parse_semver(v, parts) < 0 || stub_version_cmp(v, "v0.10.0") < 0)
		return STUB_MASK_PRE_0_10;
	return STUB_MASK_ALL;
}

bool nri_version_syncs_prelaunched(const char *v)
{
	long parts[3];

	return parse_semver(v, parts) == 0 && stub_version_cmp(v, "v0.7.0") >= 0;
}

bool nri_version_updates_safe(const char *v)
{
	long parts[3];

	return parse_semver(v, parts) == 0 && stub_version_cmp(v, "v0.12.1") >= 0;
}
