/* SPDX-License-Identifier: Apache-2.0 */
/* cgroupfs readers; see cgstat.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/cgstat.h"

/* cgroup control files are small; cpu.stat with all v2 keys is < 512 bytes. */
#define CGSTAT_BUF 4096

static int cgstat_strtou64(const char *s, const char **end, __u64 *ret)
{
	unsigned long long v;
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno)
		return -EBADMSG;
	*ret = v;
	if (end)
		*end = e;
	return 0;
}

int cgstat_parse_u64(const char *buf, __u64 *ret)
{
	const char *end;
	__u64 v;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	r = cgstat_strtou64(buf, &end, &v);
	if (r < 0)
		return r;
	end += strspn(end, " \t\n");
	if (*end)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int cgstat_parse_key(const char *buf, const char *key, __u64 *ret)
{
	size_t klen;

	if (!buf || !key || !ret)
		return -EINVAL;
	klen = strlen(key);
	for (const char *l = buf; l && *l;) {
		if (strncmp(l, key, klen) == 0 && (l[klen] == ' ' || l[klen] == '\t'))
			return cgstat_strtou64(l + klen, NULL, ret);
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return -ENOENT;
}

int cgstat_parse_cpu_stat(const char *buf, struct cgstat_cpu *ret)
{
	struct cgstat_cpu c = {0};
	__u64 v;

	if (!buf || !ret)
		return -EINVAL;
	if (cgstat_parse_key(buf, "usage_usec", &v) == 0) {
		c.has_usage = true;
		c.usage_ns = v * 1000;
	}
	if (cgstat_parse_key(buf, "nr_periods", &v) == 0)
		c.nr_periods = v;
	if (cgstat_parse_key(buf, "nr_throttled", &v) == 0) {
		c.nr_throttled = v;
		if (cgstat_parse_key(buf, "throttled_usec", &v) == 0) {
			c.has_throttle = true;
			c.throttled_ns = v * 1000;
		} else if (cgstat_parse_key(buf, "throttled_time", &v) == 0) {
			c.has_throttle = true;
			c.throttled_ns = v;
		}
	}
	if (!c.has_usage && !c.has_throttle)
		return -EBADMSG;
	*ret = c;
	return 0;
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" */
static int cgstat_parse_psi_line(const char *l, double *avg10, __u64 *total)
{
	unsigned long long t;
	double a10, a60, a300;

	if (sscanf(l, "%*s avg10=%lf avg60=%lf avg300=%lf total=%llu", &a10, &a60, &a300, &t) != 4)
		return -EBADMSG;
	*avg10 = a10;
	*total = t;
	return 0;
}

int cgstat_parse_psi(const char *buf, struct cgstat_psi *ret)
{
	struct cgstat_psi p = {0};
	const char *full;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	if (strncmp(buf, "some ", 5) != 0)
		return -EBADMSG;
	r = cgstat_parse_psi_line(buf, &p.some_avg10, &p.some_total_us);
	if (r < 0)
		return r;
	full = strstr(buf, "\nfull ");
	if (full) {
		r = cgstat_parse_psi_line(full + 1, &p.full_avg10, &p.full_total_us);
		if (r < 0)
			return r;
		p.has_full = true;
	}
	*ret = p;
	return 0;
}

int cgstat_read_file(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!name || !buf || size < 2 || name[0] == '/')
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	n = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return (int)n;
	buf[len] = '\0';
	return (int)len;
}

int cgstat_read_u64(int dirfd, const char *name, __u64 *ret)
{
	char buf[64];
	int r = cgstat_read_file(dirfd, name, buf, sizeof(buf));

	return r < 0 ? r : cgstat_parse_u64(buf, ret);
}

int cgstat_read_cpu_stat(int dirfd, struct cgstat_cpu *ret)
{
	char buf[CGSTAT_BUF];
	int r = cgstat_read_file(dirfd, "cpu.stat", buf, sizeof(buf));

	return r < 0 ? r : cgstat_parse_cpu_stat(buf, ret);
}

int cgstat_read_psi(int dirfd, const char *name, struct cgstat_psi *ret)
{
	char buf[512];
	int r = cgstat_read_file(dirfd, name, buf, sizeof(buf));

	/* PSI files exist but fail with EOPNOTSUPP when psi=0 on the command line. */
	return r < 0 ? r : cgstat_parse_psi(buf, ret);
}

int cgstat_read_key(int dirfd, const char *name, const char *key, __u64 *ret)
{
	char buf[CGSTAT_BUF];
	int r = cgstat_read_file(dirfd, name, buf, sizeof(buf));

	return r < 0 ? r : cgstat_parse_key(buf, key, ret);
}
