/* SPDX-License-Identifier: Apache-2.0 */
/* Container -> cgroup path resolution; see cgroups.h. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/usage.h"
#include "plugin/host/cgroups.h"

#define SLICE_SUFFIX  ".slice"
#define UNIT_NAME_MAX 256 /* systemd's limit; also bounds the expansion below */

int cgroups_driver_from_string(const char *s, enum cgroups_driver *ret)
{
	static const struct {
		const char *name;
		enum cgroups_driver driver;
	} table[] = {
		{"auto", CGROUPS_DRIVER_AUTO},
		{"cgroupfs", CGROUPS_DRIVER_CGROUPFS},
		{"systemd", CGROUPS_DRIVER_SYSTEMD},
	};

	if (!s || !ret)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(s, table[i].name) == 0) {
			*ret = table[i].driver;
			return 0;
		}
	}
	return -EINVAL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* systemd unit-name rules that matter here: no '/', no empty dash-separated part. */
static bool slice_stem_valid(const char *stem, size_t len)
{
	if (len == 0 || stem[0] == '-' || stem[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (stem[i] == '/' || (stem[i] == '-' && stem[i + 1] == '-'))
			return false;
	}
	return true;
}

int cgroups_expand_slice(const char *slice, char **ret)
{
	size_t len, stem_len, cap, pos = 0;
	char *out;

	if (!slice || !ret || !ends_with(slice, SLICE_SUFFIX))
		return -EINVAL;
	if (strcmp(slice, "-" SLICE_SUFFIX) == 0)
		return (*ret = strdup("")) ? 0 : -ENOMEM;
	len = strlen(slice);
	if (len >= UNIT_NAME_MAX)
		return -EINVAL;
	stem_len = len - strlen(SLICE_SUFFIX);
	if (!slice_stem_valid(slice, stem_len))
		return -EINVAL;
	/* Each dash adds one "/<prefix>.slice" level; bound: levels * (len + 1). */
	cap = (stem_len + 1) * (len + 2) + 1;
	out = malloc(cap);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i <= stem_len; i++) {
		if (i < stem_len && slice[i] != '-')
			continue;
		pos += (size_t)snprintf(out + pos, cap - pos, "/%.*s" SLICE_SUFFIX, (int)i, slice);
	}
	*ret = out;
	return 0;
}

/* "slice:prefix:name" -> "<expanded slice>/<prefix>-<name>.scope" */
static int cgroups_resolve_systemd(const char *path, char **ret)
{
	const char *c1 = strchr(path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *slice, *parent = NULL, *out;
	int r;

	if (!c2 || strchr(c2 + 1, ':') || strchr(path, '/') || !c2[1])
		return -EINVAL;
	slice = strndup(path, (size_t)(c1 - path));
	if (!slice)
		return -ENOMEM;
	r = cgroups_expand_slice(*slice ? slice : "-" SLICE_SUFFIX, &parent);
	free(slice);
	if (r < 0)
		return r;
	if (ends_with(c2 + 1, SLICE_SUFFIX) || c2 == c1 + 1)
		r = asprintf(&out, "%s/%s", parent, c2 + 1);
	else
		r = asprintf(&out, "%s/%.*s-%s.scope", parent, (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
	free(parent);
	if (r < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/* Collapses "//" and "/./", rejects "..", always starts with '/'. */
static int cgroups_normalise(const char *path, char **ret)
{
	size_t len = strlen(path), pos = 0;
	char *out = malloc(len + 2);

	if (!out)
		return -ENOMEM;
	for (const char *s = path; *s;) {
		size_t n;

		s += strspn(s, "/");
		n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.')) {
			s += n;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			free(out);
			return -EINVAL;
		}
		out[pos++] = '/';
		memcpy(out + pos, s, n);
		pos += n;
		s += n;
	}
	if (pos == 0)
		out[pos++] = '/';
	out[pos] = '\0';
	*ret = out;
	return 0;
}

static bool looks_systemd(const char *path)
{
	const char *c1 = strchr(path, ':');

	return path[0] != '/' && c1 && strchr(c1 + 1, ':');
}

int cgroups_resolve(const char *cgroups_path, enum cgroups_driver driver, char **ret)
{
	char *raw = NULL;
	int r;

	if (!cgroups_path || !ret || !*cgroups_path)
		return -EINVAL;
	if (driver == CGROUPS_DRIVER_AUTO)
		driver = looks_systemd(cgroups_path) ? CGROUPS_DRIVER_SYSTEMD
						     : CGROUPS_DRIVER_CGROUPFS;
	if (driver == CGROUPS_DRIVER_SYSTEMD) {
		r = cgroups_resolve_systemd(cgroups_path, &raw);
		if (r < 0)
			return r;
		r = cgroups_normalise(raw, ret);
		free(raw);
		return r;
	}
	if (driver != CGROUPS_DRIVER_CGROUPFS)
		return -EINVAL;
	return cgroups_normalise(cgroups_path, ret);
}

int cgroups_register(struct usage *u, const char *container_id, const char *cgroups_path,
		     enum cgroups_driver driver)
{
	char *path;
	int r;

	if (!u)
		return -EINVAL;
	r = cgroups_resolve(cgroups_path, driver, &path);
	if (r < 0)
		return r;
	r = usage_register(u, container_id, path);
	free(path);
	return r;
}
