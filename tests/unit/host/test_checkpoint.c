/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/host/checkpoint.c: round trip, checksum, limits, atomicity. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/host/checkpoint.h"

struct fx {
	char dir[64], path[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-ckpt.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/checkpoint.json", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct checkpoint_entry entry(char *id, char *cpus, char *excl)
{
	return (struct checkpoint_entry){.id = id,
					 .pod_uid = (char *)"u-1",
					 .pod_namespace = (char *)"default",
					 .pod_name = (char *)"db",
					 .name = (char *)"main",
					 .qos = (char *)"Guaranteed",
					 .cpu_request_mcpu = 2000,
					 .cpu_limit_mcpu = 2000,
					 .mem_limit = 1 << 30,
					 .hide_hyperthreads = -1,
					 .isolated = 1,
					 .cpus = cpus,
					 .exclusive = excl};
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_true(fread(buf, 1, (1 << 16) - 1, f) > 0);
	fclose(f);
	return buf;
}

/* Written without fsync (before a reply) it reads back the same, replacing the old. */
static void test_checkpoint_fast_write_replaces(void **state)
{
	struct fx *f = *state;
	struct checkpoint_entry e[1] = {entry((char *)"c1", (char *)"4-5", (char *)"4-5")};
	struct checkpoint in = {e, 1}, out;

	assert_int_equal(checkpoint_write(f->path, &in, true), 0);
	e[0].id = (char *)"c2";
	assert_int_equal(checkpoint_write(f->path, &in, false), 0);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.e[0].id, "c2");
	checkpoint_done(&out);
}

/*
 * Strings with every byte 1..255 (ids and names come from the runtime): the text is
 * written by hand and must spell them as json-c does, else the reader, which checks
 * the checksum over json-c's serialization of what it parsed, calls the file corrupt.
 */
static void test_checkpoint_every_byte_round_trips(void **state)
{
	struct fx *f = *state;
	char all[256], tail[64];
	struct checkpoint_entry e[2] = {entry((char *)"c1", (char *)"4-5", (char *)"4-5"),
					entry((char *)"c2", (char *)"0-3", (char *)"")};
	struct checkpoint in = {e, 2}, out;

	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	snprintf(tail, sizeof(tail), "a/b\\c\"d\x7f\xc3\xa9\x01");
	e[0].id = all;
	e[1].name = tail;
	e[1].pod_uid = (char *)"";
	e[1].mem_limit = INT64_MIN;
	e[1].cpu_request_mcpu = INT64_MAX;
	assert_int_equal(checkpoint_write(f->path, &in, false), 0);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.e[0].id, all);
	assert_string_equal(out.e[1].name, tail);
	assert_string_equal(out.e[1].pod_uid, "");
	assert_true(out.e[1].mem_limit == INT64_MIN);
	assert_true(out.e[1].cpu_request_mcpu == INT64_MAX);
	checkpoint_done(&out);
}

static void test_checkpoint_round_trip(void **state)
{
	struct fx *f = *state;
	struct checkpoint_entry e[2] = {entry((char *)"c1", (char *)"4-5", (char *)"4-5"),
					entry((char *)"c2", (char *)"0-3,6-7", (char *)"")};
	struct checkpoint in = {e, 2}, out;

	assert_int_equal(checkpoint_write(f->path, &in, true), 0);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.e[0].id, "c1");
	assert_string_equal(out.e[0].exclusive, "4-5");
	assert_string_equal(out.e[1].cpus, "0-3,6-7");
	assert_string_equal(out.e[1].exclusive, "");
	assert_string_equal(out.e[0].pod_namespace, "default");
	assert_string_equal(out.e[0].qos, "Guaranteed");
	assert_int_equal(out.e[0].cpu_limit_mcpu, 2000);
	assert_int_equal(out.e[0].mem_limit, 1 << 30);
	assert_int_equal(out.e[0].hide_hyperthreads, -1);
	assert_int_equal(out.e[0].isolated, 1);
	assert_int_equal(out.e[0].reserved, 0);
	checkpoint_done(&out);
	/* no temp file is left behind */
	strcat(f->path, ".tmp");
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_checkpoint_missing_is_enoent(void **state)
{
	struct fx *f = *state;
	struct checkpoint out;

	assert_int_equal(checkpoint_read(f->path, &out), -ENOENT);
	assert_int_equal(out.n, 0);
	assert_null(out.e);
}

/* One changed byte in an entry: the checksum no longer matches. */
static void test_checkpoint_corrupt_is_ebadmsg(void **state)
{
	struct fx *f = *state;
	struct checkpoint_entry e[1] = {entry((char *)"c1", (char *)"4-5", (char *)"4-5")};
	struct checkpoint in = {e, 1}, out;
	char *text, *p;

	assert_int_equal(checkpoint_write(f->path, &in, true), 0);
	text = read_text(f->path);
	p = strstr(text, "\"4-5\"");
	assert_non_null(p);
	p[1] = '6';
	write_text(f->path, text);
	assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
	/* truncated */
	text[strlen(text) / 2] = '\0';
	write_text(f->path, text);
	assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
	free(text);
	write_text(f->path, "not json at all");
	assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
	write_text(f->path, "[]");
	assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
}

/* The checksum is right, but a field has the wrong type or the version is unknown. */
static void test_checkpoint_bad_fields_are_ebadmsg(void **state)
{
	static const char *const arrays[] = {"[{\"id\":\"c1\",\"cpus\":5}]", "[{\"cpus\":\"1\"}]",
					     "[7]"};
	struct fx *f = *state;
	struct checkpoint out;
	char sum[32], text[512];

	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
		checkpoint_checksum(arrays[i], sum);
		snprintf(text, sizeof(text), "{\"version\":1,\"entries\":%s,\"checksum\":\"%s\"}",
			 arrays[i], sum);
		write_text(f->path, text);
		assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
	}
	checkpoint_checksum("[]", sum);
	snprintf(text, sizeof(text), "{\"version\":2,\"entries\":[],\"checksum\":\"%s\"}", sum);
	write_text(f->path, text);
	assert_int_equal(checkpoint_read(f->path, &out), -EBADMSG);
	snprintf(text, sizeof(text), "{\"version\":1,\"entries\":[],\"checksum\":\"%s\"}", sum);
	write_text(f->path, text);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	assert_int_equal(out.n, 0);
	checkpoint_done(&out);
}

/* A file of exactly CHECKPOINT_MAX_BYTES is read; one byte more is refused. */
static void test_checkpoint_size_limit_both_sides(void **state)
{
	struct fx *f = *state;
	struct checkpoint in = {NULL, 0}, out;
	struct stat st;
	FILE *fp;

	assert_int_equal(checkpoint_write(f->path, &in, true), 0);
	assert_int_equal(stat(f->path, &st), 0);
	fp = fopen(f->path, "a");
	assert_non_null(fp);
	for (off_t i = st.st_size; i < (off_t)CHECKPOINT_MAX_BYTES; i++)
		fputc(' ', fp); /* JSON allows trailing blanks */
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	checkpoint_done(&out);
	fp = fopen(f->path, "a");
	fputc(' ', fp);
	fclose(fp);
	assert_int_equal(checkpoint_read(f->path, &out), -EFBIG);
}

/* A failed write leaves the old checkpoint as it was. */
static void test_checkpoint_failed_write_keeps_the_old_file(void **state)
{
	struct fx *f = *state;
	struct checkpoint_entry e[1] = {entry((char *)"c1", (char *)"4-5", (char *)"4-5")};
	struct checkpoint in = {e, 1}, out;
	char tmp[160];

	assert_int_equal(checkpoint_write(f->path, &in, true), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	assert_int_equal(mkdir(tmp, 0700), 0); /* the temp file cannot be created */
	e[0].id = (char *)"c2";
	assert_true(checkpoint_write(f->path, &in, false) < 0);
	assert_int_equal(checkpoint_read(f->path, &out), 0);
	assert_string_equal(out.e[0].id, "c1");
	checkpoint_done(&out);
	rmdir(tmp);
	assert_int_equal(checkpoint_write("/nonexistent-dir/sub/x.json", &in, true), -ENOENT);
	assert_int_equal(checkpoint_write("", &in, true), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_checkpoint_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_fast_write_replaces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_every_byte_round_trips, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_missing_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_corrupt_is_ebadmsg, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_bad_fields_are_ebadmsg, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_size_limit_both_sides, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_failed_write_keeps_the_old_file,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
