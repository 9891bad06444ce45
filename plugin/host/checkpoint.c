/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint file (checkpoint.h): JSON with a checksum, written atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
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

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static json_object *entry_json(const struct checkpoint_entry *e)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add_str(o, "id", e->id);
	add_str(o, "pod_uid", e->pod_uid);
	add_str(o, "pod_namespace", e->pod_namespace);
	add_str(o, "pod_name", e->pod_name);
	add_str(o, "name", e->name);
	add_str(o, "qos", e->qos);
	add_int(o, "cpu_request_mcpu", e->cpu_request_mcpu);
	add_int(o, "cpu_limit_mcpu", e->cpu_limit_mcpu);
	add_int(o, "mem_limit", e->mem_limit);
	add_int(o, "hide_hyperthreads", e->hide_hyperthreads);
	add_int(o, "isolated", e->isolated);
	add_int(o, "shared_only", e->shared_only);
	add_int(o, "reserved", e->reserved);
	add_str(o, "cpus", e->cpus);
	add_str(o, "exclusive", e->exclusive);
	return o;
}

/* The file's text, malloc'd; NULL on ENOMEM. */
static char *render(const struct checkpoint *c)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char sum[32], *text = NULL;

	if (!root || !arr)
		goto out;
	for (size_t i = 0; i < c->n; i++) {
		json_object *e = entry_json(&c->e[i]);

		if (!e || json_object_array_add(arr, e) < 0)
			goto out;
	}
	checkpoint_checksum(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN), sum);
	add_int(root, "version", CHECKPOINT_VERSION);
	json_object_object_add(root, "entries", arr);
	arr = NULL;
	add_str(root, "checksum", sum);
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(arr);
	json_object_put(root);
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

int checkpoint_write(const char *path, const struct checkpoint *c)
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
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_dir_of(path);
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
