/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the checkpoint file (plugin/host/checkpoint.c). Its text is written
 * by hand to spell what json-c's reader checks; its reader must take any file without
 * crashing. Oracles:
 *   - the input as a file: read it; when it reads, writing what was read and reading
 *     that again gives the same entries (the writer's spelling is the reader's);
 *   - the input as entries (strings split at '\n', any byte but NUL, the numbers drawn
 *     from the bytes): written, they read back exactly, checksum and all.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/host/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 8
#define STRS	    7 /* string fields of an entry */

static char path[64];

static const char *file_path(void)
{
	if (!path[0]) {
		const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		snprintf(path, sizeof(path), "%s/fuzz-checkpoint-%d.json", dir, (int)getpid());
	}
	return path;
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool entry_eq(const struct checkpoint_entry *a, const struct checkpoint_entry *b)
{
	return str_eq(a->id, b->id) && str_eq(a->pod_uid, b->pod_uid) &&
	       str_eq(a->pod_namespace, b->pod_namespace) && str_eq(a->pod_name, b->pod_name) &&
	       str_eq(a->name, b->name) && str_eq(a->qos, b->qos) && str_eq(a->cpus, b->cpus) &&
	       str_eq(a->exclusive, b->exclusive) && a->cpu_request_mcpu == b->cpu_request_mcpu &&
	       a->cpu_limit_mcpu == b->cpu_limit_mcpu && a->mem_limit == b->mem_limit &&
	       a->hide_hyperthreads == b->hide_hyperthreads && a->isolated == b->isolated &&
	       a->shared_only == b->shared_only && a->reserved == b->reserved;
}

static bool same(const struct checkpoint *a, const struct checkpoint *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!entry_eq(&a->e[i], &b->e[i]))
			return false;
	}
	return true;
}

/* The input as a file: whatever reads must survive a write and a read unchanged. */
static void as_file(const uint8_t *data, size_t size)
{
	struct checkpoint first, again;
	FILE *f = fopen(file_path(), "we");

	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (checkpoint_read(file_path(), &first) != 0)
		return;
	if (checkpoint_write(file_path(), &first, false) != 0 ||
	    checkpoint_read(file_path(), &again) != 0)
		abort();
	if (!same(&first, &again))
		abort();
	checkpoint_done(&first);
	checkpoint_done(&again);
}

static int64_t number(const char *s, int k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (int64_t)h;
}

/* The input as entries: STRS strings each, cut at '\n' (NUL ends the input). */
static void as_entries(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size), *save = NULL, *tok;
	struct checkpoint_entry e[MAX_ENTRIES];
	struct checkpoint in = {e, 0}, out;
	char *s[MAX_ENTRIES * STRS] = {0};
	size_t n = 0;

	if (!text)
		return;
	for (tok = strtok_r(text, "\n", &save); tok && n < MAX_ENTRIES * STRS;
	     tok = strtok_r(NULL, "\n", &save))
		s[n++] = tok;
	for (size_t i = 0; i * STRS < n || (i == 0 && n == 0); i++) {
		char **f = s + i * STRS;

		e[i] = (struct checkpoint_entry){
			.id = f[0] ? f[0] : (char *)"x",
			.pod_uid = f[1],
			.pod_namespace = f[2],
			.pod_name = f[3],
			.name = f[4],
			.qos = f[5],
			.cpus = f[6],
			.exclusive = f[0],
			.cpu_request_mcpu = number(f[0] ? f[0] : "", 1),
			.cpu_limit_mcpu = number(f[1] ? f[1] : "", 2),
			.mem_limit = number(f[2] ? f[2] : "", 3),
			/* the reader keeps these as -1/0/1 and booleans */
			.hide_hyperthreads = (int)((uint64_t)number(f[3] ? f[3] : "", 4) % 3) - 1,
			.isolated = (int)((uint64_t)number(f[4] ? f[4] : "", 5) & 1),
			.shared_only = (int)((uint64_t)number(f[5] ? f[5] : "", 6) & 1),
			.reserved = (int)((uint64_t)number(f[6] ? f[6] : "", 7) & 1)};
		in.n = i + 1;
	}
	if (checkpoint_write(file_path(), &in, false) != 0)
		abort();
	if (checkpoint_read(file_path(), &out) != 0 || !same(&in, &out))
		abort();
	checkpoint_done(&out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_file(data, size);
	as_entries(data, size);
	unlink(file_path());
	return 0;
}
