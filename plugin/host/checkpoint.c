/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint file (checkpoint.h): JSON with a checksum, written atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "plugin/host/checkpoint.h"

void checkpoint_checksum(const char *text, char out[32])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(out, 32, "fnv1a64:%016" PRIx64, h);
}

/* A growing text; oom once an append failed (then everything is dropped). */
struct text {
	char *p;
	size_t n, cap;
	bool oom;
};

static void put_raw(struct text *t, const char *s, size_t len)
{
	if (t->oom)
		return;
	if (t->cap - t->n <= len) {
		size_t cap = (t->cap + len) * 2 + 256;
		char *p = realloc(t->p, cap);

		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, len);
	t->n += len;
	t->p[t->n] = '\0';
}

/*
 * v as a JSON string exactly as json-c prints it (json_escape_str(), without
 * NOSLASHESCAPE): the reader checks the checksum over json-c's own serialization of
 * what it parsed, so any other spelling would make a good file look corrupt.
 */
static void put_str(struct text *t, const char *v)
{
	static const char hex[] = "0123456789abcdef", from[] = "\b\n\r\t\f\"\\/",
			  to[] = "bnrtf\"\\/";
	const char *run = v;

	put_raw(t, "\"", 1);
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		const char *hit = strchr(from, ch); /* ch != 0 here */
		char esc[7] = "\\";
		size_t len = 2;

		if (hit) {
			esc[1] = to[hit - from];
		} else if (ch >= 0x20) {
			continue;
		} else {
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			len = 6;
		}
		put_raw(t, run, (size_t)(p - run));
		put_raw(t, esc, len);
		run = p + 1;
	}
	put_raw(t, run, strlen(run));
	put_raw(t, "\"", 1);
}

static void put_key(struct text *t, const char *key, bool first)
{
	put_raw(t, first ? "\"" : ",\"", first ? 1 : 2);
	put_raw(t, key, strlen(key));
	put_raw(t, "\":", 2);
}

static void put_field_str(struct text *t, const char *key, const char *v, bool first)
{
	put_key(t, key, first);
	put_str(t, v ? v : "");
}

/* As "%" PRId64 prints it, without printf's cost (it ran for every field). */
static void put_field_int(struct text *t, const char *key, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put_key(t, key, false);
	put_raw(t, p, (size_t)(buf + sizeof(buf) - p));
}

/* One entry as json-c prints an object of these keys, in this order (PLAIN). */
static void put_entry(struct text *t, const struct checkpoint_entry *e)
{
	put_raw(t, "{", 1);
	put_field_str(t, "id", e->id, true);
	put_field_str(t, "pod_uid", e->pod_uid, false);
	put_field_str(t, "pod_namespace", e->pod_namespace, false);
	put_field_str(t, "pod_name", e->pod_name, false);
	put_field_str(t, "name", e->name, false);
	put_field_str(t, "qos", e->qos, false);
	put_field_int(t, "cpu_request_mcpu", e->cpu_request_mcpu);
	put_field_int(t, "cpu_limit_mcpu", e->cpu_limit_mcpu);
	put_field_int(t, "mem_limit", e->mem_limit);
	put_field_int(t, "hide_hyperthreads", e->hide_hyperthreads);
	put_field_int(t, "isolated", e->isolated);
	put_field_int(t, "shared_only", e->shared_only);
	put_field_int(t, "reserved", e->reserved);
	put_field_str(t, "cpus", e->cpus, false);
	put_field_str(t, "exclusive", e->exclusive, false);
	put_raw(t, "}", 1);
}

/*
 * The file's text, malloc'd; NULL on ENOMEM: {"version", "entries", "checksum"} as
 * json-c prints it (PLAIN), the checksum over the entries' text. Written by hand: the
 * checkpoint is rewritten before replies on runtimes that never synchronize a restarted
 * plugin (restore.h), and building it as json-c objects cost ten times as much.
 */
static char *render(const struct checkpoint *c)
{
	struct text t = {0};
	char sum[32], *text = NULL;

	put_raw(&t, "[", 1);
	for (size_t i = 0; i < c->n; i++) {
		if (i > 0)
			put_raw(&t, ",", 1);
		put_entry(&t, &c->e[i]);
	}
	put_raw(&t, "]", 1);
	if (!t.oom) {
		struct text out = {0};
		char head[48];
		int n = snprintf(head, sizeof(head),
				 "{\"version\":%d,\"entries\":", CHECKPOINT_VERSION);

		checkpoint_checksum(t.p, sum);
		put_raw(&out, head, (size_t)n);
		put_raw(&out, t.p, t.n);
		put_raw(&out, ",\"checksum\":\"", 13);
		put_raw(&out, sum, strlen(sum));
		put_raw(&out, "\"}", 2);
		text = out.oom ? NULL : out.p;
		if (!text)
			free(out.p);
	}
	free(t.p);
	return text;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The checkpoint's directory, made (one level, 0700) if it is missing. */
static int make_dir_of(const char *path)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	if (mkdir(dirname(copy), 0700) < 0 && errno != EEXIST)
		r = -errno;
	free(copy);
	return r;
}

int checkpoint_write(const char *path, const struct checkpoint *c, bool durable)
{
	char tmp[4096], *text;
	int fd, r;

	if (!path || !*path || !c || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -EINVAL;
	r = make_dir_of(path);
	if (r < 0)
		return r;
	text = render(c);
	if (!text)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		free(text);
		return r;
	}
	r = write_all(fd, text, strlen(text));
	free(text);
	if (r >= 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return durable ? fsync_dir_of(path) : 0;
}

/* ---- reading ---- */

static int get_str(json_object *o, const char *key, char **ret)
{
	json_object *v = NULL;

	if (json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = strdup(v ? json_object_get_string(v) : "");
	return *ret ? 0 : -ENOMEM;
}

static int get_int(json_object *o, const char *key, int64_t *ret)
{
	json_object *v = NULL;

	if (json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*ret = v ? json_object_get_int64(v) : 0;
	return 0;
}

static void entry_done(struct checkpoint_entry *e)
{
	free(e->id);
	free(e->pod_uid);
	free(e->pod_namespace);
	free(e->pod_name);
	free(e->name);
	free(e->qos);
	free(e->cpus);
	free(e->exclusive);
	memset(e, 0, sizeof(*e));
}

static int entry_from(json_object *o, struct checkpoint_entry *e)
{
	int64_t ht = -1, iso = 0, sh = 0, res = 0;
	int r = 0;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	r |= get_str(o, "id", &e->id);
	r |= get_str(o, "pod_uid", &e->pod_uid);
	r |= get_str(o, "pod_namespace", &e->pod_namespace);
	r |= get_str(o, "pod_name", &e->pod_name);
	r |= get_str(o, "name", &e->name);
	r |= get_str(o, "qos", &e->qos);
	r |= get_str(o, "cpus", &e->cpus);
	r |= get_str(o, "exclusive", &e->exclusive);
	r |= get_int(o, "cpu_request_mcpu", &e->cpu_request_mcpu);
	r |= get_int(o, "cpu_limit_mcpu", &e->cpu_limit_mcpu);
	r |= get_int(o, "mem_limit", &e->mem_limit);
	r |= get_int(o, "hide_hyperthreads", &ht);
	r |= get_int(o, "isolated", &iso);
	r |= get_int(o, "shared_only", &sh);
	r |= get_int(o, "reserved", &res);
	e->hide_hyperthreads = ht < 0 ? -1 : ht > 0;
	e->isolated = iso != 0;
	e->shared_only = sh != 0;
	e->reserved = res != 0;
	if (r == 0 && !*e->id)
		r = -EBADMSG;
	if (r != 0) {
		entry_done(e);
		return -EBADMSG; /* -ENOMEM folds in here too: the file is not used either way */
	}
	return 0;
}

/* root -> entries, with the version and the checksum checked. */
static int parse(json_object *root, struct checkpoint *ret)
{
	json_object *ver, *arr, *sum;
	char want[32];
	size_t n;

	if (!json_object_object_get_ex(root, "version", &ver) ||
	    json_object_get_int64(ver) != CHECKPOINT_VERSION ||
	    !json_object_object_get_ex(root, "entries", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    !json_object_object_get_ex(root, "checksum", &sum) ||
	    !json_object_is_type(sum, json_type_string))
		return -EBADMSG;
	checkpoint_checksum(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN), want);
	if (strcmp(want, json_object_get_string(sum)))
		return -EBADMSG;
	n = json_object_array_length(arr);
	ret->e = calloc(n ? n : 1, sizeof(*ret->e));
	if (!ret->e)
		return -ENOMEM;
	for (ret->n = 0; ret->n < n; ret->n++) {
		if (entry_from(json_object_array_get_idx(arr, ret->n), &ret->e[ret->n]) < 0) {
			checkpoint_done(ret);
			return -EBADMSG;
		}
	}
	return 0;
}

static int slurp(const char *path, char **ret)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EBADMSG;
	if (r < 0) {
		close(fd);
		return r;
	}
	if ((uint64_t)st.st_size > CHECKPOINT_MAX_BYTES) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	buf[got] = '\0';
	*ret = buf;
	return 0;
}

int checkpoint_read(const char *path, struct checkpoint *ret)
{
	struct checkpoint c = {0};
	json_object *root;
	char *text = NULL;
	int r;

	*ret = (struct checkpoint){0};
	if (!path || !*path)
		return -EINVAL;
	r = slurp(path, &text);
	if (r < 0)
		return r;
	root = json_tokener_parse(text);
	free(text);
	if (!root)
		return -EBADMSG;
	r = json_object_is_type(root, json_type_object) ? parse(root, &c) : -EBADMSG;
	json_object_put(root);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

void checkpoint_done(struct checkpoint *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_done(&c->e[i]);
	free(c->e);
	*c = (struct checkpoint){0};
}
