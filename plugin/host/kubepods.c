/* SPDX-License-Identifier: Apache-2.0 */
/* The kubelet's container cgroups, read back (kubepods.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/host/kubepods.h"

#define DEFAULT_ROOT "/sys/fs/cgroup"

/* Where the cpuset and the cpu files live: one dir on v2, two on v1. */
struct hier {
	char cpuset[1024], cpu[1024];
	bool v2; /* cpu.max and cpu.weight; v1: cpu.cfs_*_us and cpu.shares */
};

struct scan {
	struct hier h;
	struct kubepods_ctr *c;
	size_t n, cap;
};

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first line of dir/file into buf (newline cut); -errno. */
static int read_line(const char *dir, const char *rel, const char *file, char *buf, size_t n)
{
	char path[2048];
	ssize_t got;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, rel, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, n - 1);
	close(fd);
	if (got < 0)
		return -EIO;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int hier_detect(const char *root, struct hier *h)
{
	char p[1100];

	snprintf(p, sizeof(p), "%s/cgroup.controllers", root);
	h->v2 = access(p, F_OK) == 0;
	if (h->v2) {
		snprintf(h->cpuset, sizeof(h->cpuset), "%s", root);
		snprintf(h->cpu, sizeof(h->cpu), "%s", root);
		return 0;
	}
	snprintf(h->cpuset, sizeof(h->cpuset), "%s/cpuset", root);
	snprintf(h->cpu, sizeof(h->cpu), "%s/cpu,cpuacct", root);
	if (!is_dir(h->cpu))
		snprintf(h->cpu, sizeof(h->cpu), "%s/cpu", root);
	return is_dir(h->cpuset) || is_dir(h->cpu) ? 0 : -ENOENT;
}

/* A cpuset file, or its .effective twin when it is empty (inherited); "" if neither. */
static char *read_set(const struct hier *h, const char *rel, const char *file)
{
	char buf[16384], eff[64]; /* a cpulist of thousands of scattered CPUs */

	if (read_line(h->cpuset, rel, file, buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	snprintf(eff, sizeof(eff), "%s.effective", file);
	if (!*buf && read_line(h->cpuset, rel, eff, buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	return strdup(buf);
}

static void read_cpus(const struct hier *h, const char *rel, struct kubepods_ctr *c)
{
	c->cpus = read_set(h, rel, "cpuset.cpus");
	c->mems = read_set(h, rel, "cpuset.mems");
}

static void read_limits(const struct hier *h, const char *rel, struct kubepods_ctr *c)
{
	char buf[128], q[32];
	unsigned long long a, b;

	read_cpus(h, rel, c);
	/* only the files of the hierarchy there is: a pass reads hundreds of cgroups */
	if (h->v2 && read_line(h->cpu, rel, "cpu.max", buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%31s %llu", q, &b) == 2) {
		c->quota = strcmp(q, "max") ? strtoll(q, NULL, 10) : -1;
		c->period = b;
	} else if (!h->v2 && read_line(h->cpu, rel, "cpu.cfs_quota_us", buf, sizeof(buf)) == 0) {
		c->quota = strtoll(buf, NULL, 10);
		if (read_line(h->cpu, rel, "cpu.cfs_period_us", buf, sizeof(buf)) == 0)
			c->period = strtoull(buf, NULL, 10);
	}
	if (h->v2 && read_line(h->cpu, rel, "cpu.weight", buf, sizeof(buf)) == 0 &&
	    sscanf(buf, "%llu", &a) == 1 && a >= 1) {
		/* the least shares the kubelet turns into this weight (its map is lossy) */
		c->shares = 2 + ((a - 1) * 262142 + 9998) / 9999;
		c->weight = a;
	} else if (!h->v2 && read_line(h->cpu, rel, "cpu.shares", buf, sizeof(buf)) == 0)
		c->shares = strtoull(buf, NULL, 10);
	c->has_procs = (read_line(h->cpu, rel, "cgroup.procs", buf, sizeof(buf)) == 0 ||
			read_line(h->cpuset, rel, "cgroup.procs", buf, sizeof(buf)) == 0) &&
		       *buf;
}

/* A container id out of a directory name, or NULL for anything else. */
static const char *ctr_id(const char *name, char *buf, size_t n)
{
	const char *dash, *dot;
	size_t len;

	if (!strncmp(name, "crio-conmon-", 12))
		return NULL;
	dot = strstr(name, ".scope");
	if (dot) { /* systemd: <runtime>-<id>.scope */
		dash = memrchr(name, '-', (size_t)(dot - name));
		if (!dash || dot[6])
			return NULL;
		name = dash + 1;
		len = (size_t)(dot - name);
	} else {
		len = strlen(name);
	}
	if (len < 12 || len >= n)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]))
			return NULL;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return buf;
}

/* A pod uid out of "pod<uid>" or "kubepods[-qos]-pod<uid_>.slice", dashes restored. */
static const char *pod_uid(const char *name, char *buf, size_t n)
{
	const char *p = strncmp(name, "pod", 3) ? strstr(name, "-pod") : name;
	size_t len;

	if (!p)
		return NULL;
	p += *p == '-' ? 4 : 3;
	len = strcspn(p, ".");
	if (!len || len >= n || (p[len] && strcmp(p + len, ".slice")))
		return NULL;
	for (size_t i = 0; i < len; i++)
		buf[i] = p[i] == '_' ? '-' : p[i];
	buf[len] = '\0';
	return buf;
}

static int add(struct scan *s, const char *rel, const char *id, const char *uid, enum qos_class q)
{
	struct kubepods_ctr *c;

	if (s->n == KUBEPODS_MAX)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;

		c = realloc(s->c, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		s->c = c;
		s->cap = cap;
	}
	c = &s->c[s->n];
	*c = (struct kubepods_ctr){.qos = q, .id = strdup(id), .pod_uid = strdup(uid)};
	read_limits(&s->h, rel, c);
	s->n++;
	if (!c->id || !c->pod_uid || !c->cpus || !c->mems)
		return -ENOMEM;
	return 0;
}

static DIR *open_rel(const struct scan *s, const char *rel)
{
	char p[2048];

	snprintf(p, sizeof(p), "%s/%s", s->h.cpuset, rel);
	if (is_dir(p))
		return opendir(p);
	snprintf(p, sizeof(p), "%s/%s", s->h.cpu, rel);
	return opendir(p);
}

static int scan_pod(struct scan *s, const char *pod_rel, const char *uid, enum qos_class q)
{
	char rel[1024], idb[128];
	DIR *d = open_rel(s, pod_rel);
	struct dirent *e;
	int r = 0;

	if (!d)
		return 0;
	while (r >= 0 && (e = readdir(d))) {
		const char *id = e->d_type == DT_DIR ? ctr_id(e->d_name, idb, sizeof(idb)) : NULL;

		if (!id ||
		    snprintf(rel, sizeof(rel), "%s/%s", pod_rel, e->d_name) >= (int)sizeof(rel))
			continue;
		r = add(s, rel, id, uid, q);
	}
	closedir(d);
	return r;
}

static int scan_level(struct scan *s, const char *level_rel, enum qos_class q)
{
	char rel[1024], uidb[128];
	DIR *d = open_rel(s, level_rel);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -ENOENT;
	while (r >= 0 && (e = readdir(d))) {
		const char *uid =
			e->d_type == DT_DIR ? pod_uid(e->d_name, uidb, sizeof(uidb)) : NULL;

		if (!uid ||
		    snprintf(rel, sizeof(rel), "%s/%s", level_rel, e->d_name) >= (int)sizeof(rel))
			continue;
		r = scan_pod(s, rel, uid, q);
	}
	closedir(d);
	return r;
}

/* The three QoS levels of one driver's layout; -ENOENT if its root is not there. */
static int scan_driver(struct scan *s, bool systemd)
{
	static const char *const fs[] = {"kubepods", "kubepods/burstable", "kubepods/besteffort"};
	static const char *const sd[] = {"kubepods.slice",
					 "kubepods.slice/kubepods-burstable.slice",
					 "kubepods.slice/kubepods-besteffort.slice"};
	static const enum qos_class q[] = {QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT};
	const char *const *levels = systemd ? sd : fs;
	int r = scan_level(s, levels[0], q[0]);

	if (r < 0)
		return r;
	for (int i = 1; i < 3 && r >= 0; i++) {
		r = scan_level(s, levels[i], q[i]);
		if (r == -ENOENT)
			r = 0;
	}
	return r;
}

int kubepods_scan(const char *cgroup_root, struct kubepods_ctr **ret, size_t *ret_n)
{
	struct scan s = {0};
	int r, rs;

	*ret = NULL;
	*ret_n = 0;
	r = hier_detect(cgroup_root ? cgroup_root : DEFAULT_ROOT, &s.h);
	if (r < 0)
		return r;
	r = scan_driver(&s, false);
	rs = scan_driver(&s, true);
	if (r == -ENOENT || (r == 0 && rs != -ENOENT))
		r = rs; /* -ENOENT only when neither layout is there */
	if (r < 0) {
		kubepods_free(s.c, s.n);
		return r;
	}
	*ret = s.c;
	*ret_n = s.n;
	return 0;
}

void kubepods_ctr_done(struct kubepods_ctr *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->pod_uid);
	free(c->cpus);
	free(c->mems);
	c->id = c->pod_uid = c->cpus = c->mems = NULL;
}

void kubepods_free(struct kubepods_ctr *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		kubepods_ctr_done(&c[i]);
	free(c);
}

static bool has_dir(const char *root, const char *rel)
{
	char p[2048];

	return snprintf(p, sizeof(p), "%s/%s", root, rel) < (int)sizeof(p) && is_dir(p);
}

struct kubepods_root {
	struct hier h;
};

int kubepods_root_open(const char *cgroup_root, struct kubepods_root **ret)
{
	struct kubepods_root *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	e = hier_detect(cgroup_root ? cgroup_root : DEFAULT_ROOT, &r->h);
	if (e < 0) {
		free(r);
		return e;
	}
	*ret = r;
	return 0;
}

void kubepods_root_free(struct kubepods_root *r)
{
	free(r);
}

int kubepods_read_at(const struct kubepods_root *r, const char *rel, struct kubepods_ctr *ret)
{
	struct kubepods_ctr c = {0};

	if (!has_dir(r->h.cpuset, rel) && (r->h.v2 || !has_dir(r->h.cpu, rel)))
		return -ENOENT;
	read_limits(&r->h, rel, &c);
	if (!c.cpus || !c.mems)
		return -ENOMEM;
	*ret = c;
	return 0;
}

/* text into dir/rel/file, which must exist (a cgroup file is never created); -errno. */
static int write_line(const char *dir, const char *rel, const char *file, const char *text)
{
	char path[2048];
	size_t len = strlen(text);
	ssize_t put;
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/%s/%s", dir, rel, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC); /* O_TRUNC: fake trees are files */
	if (fd < 0)
		return -errno;
	put = write(fd, text, len);
	if (put < 0)
		r = -errno;
	else if ((size_t)put != len)
		r = -EIO;
	close(fd);
	return r;
}

static int write_quota(const struct hier *h, const char *rel, const struct kubepods_cpu *w)
{
	uint64_t period = w->period ? w->period : 100000;
	char q[32], p[32], max[64];
	int r;

	snprintf(q, sizeof(q), "%lld", w->quota > 0 ? (long long)w->quota : -1LL);
	snprintf(p, sizeof(p), "%llu", (unsigned long long)period);
	if (h->v2) {
		snprintf(max, sizeof(max), "%s %s", w->quota > 0 ? q : "max", p);
		return write_line(h->cpu, rel, "cpu.max", max);
	}
	r = write_line(h->cpu, rel, "cpu.cfs_period_us", p); /* as runc: period first */
	return r < 0 ? r : write_line(h->cpu, rel, "cpu.cfs_quota_us", q);
}

int kubepods_write_at(const struct kubepods_root *r, const char *rel, const struct kubepods_cpu *w)
{
	int e = 0, q = 0;

	if (!rel || strstr(rel, ".."))
		return -EINVAL;
	if (w->cpus && *w->cpus)
		e = write_line(r->h.cpuset, rel, "cpuset.cpus", w->cpus);
	if (w->has_quota)
		q = write_quota(&r->h, rel, w);
	return e < 0 ? e : q;
}

int kubepods_read(const char *cgroup_root, const char *rel, struct kubepods_ctr *ret)
{
	struct kubepods_root *r;
	int e = kubepods_root_open(cgroup_root, &r);

	if (e < 0)
		return e == -ENOMEM ? e : -ENOENT;
	e = kubepods_read_at(r, rel, ret);
	kubepods_root_free(r);
	return e;
}

uint64_t kubepods_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}
