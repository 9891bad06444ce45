/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hot reload through a real inotify on a temp dir laid out exactly like a kubelet
 * ConfigMap volume: "..<timestamp>/config.yaml", "..data -> ..<timestamp>",
 * "config.yaml -> ..data/config.yaml"; updates rename a fresh "..data_tmp" symlink
 * over "..data".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "plugin/config/config.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"
#include "plugin/config/watch.h"

struct fixture {
	char dir[64];
	char path[256];
	int generation;
	char current[256]; /* the data dir ..data points to */
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void rm_data_dir(struct fixture *fx, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s/config.yaml", fx->dir, name);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	rmdir(p);
}

/* What kubelet's atomic writer does for one update. */
static void kubelet_update(struct fixture *fx, const char *text)
{
	char name[64], p[256], tmp[256], data[256];

	snprintf(name, sizeof(name), "..2026_11_23_06_%02d_00.00000000%d", fx->generation,
		 fx->generation);
	fx->generation++;
	snprintf(p, sizeof(p), "%s/%s", fx->dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/%s/config.yaml", fx->dir, name);
	write_file(p, text);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", fx->dir);
	snprintf(data, sizeof(data), "%s/..data", fx->dir);
	assert_int_equal(symlink(name, tmp), 0);
	assert_int_equal(rename(tmp, data), 0);
	if (fx->current[0])
		rm_data_dir(fx, fx->current);
	snprintf(fx->current, sizeof(fx->current), "%s", name);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char link[256];

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_watch_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	kubelet_update(fx, "log: {level: info}\n");
	snprintf(link, sizeof(link), "%s/config.yaml", fx->dir);
	assert_int_equal(symlink("..data/config.yaml", link), 0);
	snprintf(fx->path, sizeof(fx->path), "%s", link);
	log_set_fd(-1);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char p[256];

	snprintf(p, sizeof(p), "%s/config.yaml", fx->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/..data", fx->dir);
	unlink(p);
	if (fx->current[0])
		rm_data_dir(fx, fx->current);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/*
 * Poll and process until the watch reports a change (1) or nothing happens for
 * quiet_ms (0). Not a timing assertion: quiet_ms only bounds how long "nothing" is.
 */
static int pump(struct watch *w, int quiet_ms)
{
	struct pollfd p = {.fd = watch_fd(w), .events = POLLIN};

	for (int i = 0; i < 1000; i++) {
		int r = poll(&p, 1, quiet_ms);

		if (r == 0)
			return 0;
		assert_true(r > 0);
		r = watch_process(w);
		assert_true(r >= 0);
		if (r == 1)
			return 1;
	}
	fail_msg("watch never went quiet");
	return -1;
}

static void test_watch_process_kubelet_symlink_swap(void **state)
{
	struct fixture *fx = *state;
	struct watch *w = NULL;
	size_t len;
	const char *text;

	assert_int_equal(watch_new(fx->path, 20, &w), 0);
	text = watch_content(w, &len);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "log: {level: info}\n", len), 0);
	assert_int_equal(watch_process(w), 0); /* nothing pending */

	kubelet_update(fx, "log: {level: debug}\n");
	assert_int_equal(pump(w, 2000), 1);
	text = watch_content(w, &len);
	assert_int_equal(len, strlen("log: {level: debug}\n"));
	assert_memory_equal(text, "log: {level: debug}\n", len);

	/* Same content in a new data dir: events, but no change. */
	kubelet_update(fx, "log: {level: debug}\n");
	assert_int_equal(pump(w, 300), 0);
	watch_free(w);
}

static void test_watch_process_bad_config_refused(void **state)
{
	struct fixture *fx = *state;
	struct watch *w = NULL;
	struct metrics *m = NULL;
	struct config run;
	const char *text;
	size_t len;
	char *out = NULL;

	assert_int_equal(metrics_new(&m), 0);
	assert_int_equal(watch_new(fx->path, 20, &w), 0);
	config_init(&run);
	kubelet_update(fx, "log: {level: loud}\n");
	assert_int_equal(pump(w, 2000), 1);
	text = watch_content(w, &len);
	assert_int_equal(config_reload(&run, watch_path(w), text, len, m), -EINVAL);
	assert_int_equal(run.log_level, LOG_LEVEL_INFO); /* the old config stays */
	assert_int_equal(metrics_render(m, &out, NULL), 0);
	assert_non_null(strstr(out, "topoguard_config_reloads_total{result=\"refused\"} 1\n"));
	assert_non_null(strstr(out, "topoguard_config_errors 1\n"));
	free(out);

	kubelet_update(fx, "log: {level: error}\n");
	assert_int_equal(pump(w, 2000), 1);
	text = watch_content(w, &len);
	assert_int_equal(config_reload(&run, watch_path(w), text, len, m), 1);
	assert_int_equal(run.log_level, LOG_LEVEL_ERROR);
	log_set_level(LOG_LEVEL_INFO);
	watch_free(w);
	metrics_free(m);
}

static void test_watch_process_deleted_file_keeps_content(void **state)
{
	struct fixture *fx = *state;
	struct watch *w = NULL;
	const char *text;
	size_t len;

	assert_int_equal(watch_new(fx->path, 20, &w), 0);
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(pump(w, 300), 0);
	text = watch_content(w, &len);
	assert_non_null(text);
	assert_memory_equal(text, "log: {level: info}\n", len);
	/* It comes back with new content: a change again. */
	assert_int_equal(symlink("..data/config.yaml", fx->path), 0);
	kubelet_update(fx, "log: {level: warn}\n");
	assert_int_equal(pump(w, 2000), 1);
	text = watch_content(w, &len);
	assert_memory_equal(text, "log: {level: warn}\n", len);
	watch_free(w);
}

static void test_watch_process_plain_file_rewrite(void **state)
{
	struct fixture *fx = *state;
	struct watch *w = NULL;
	char plain[256];
	const char *text;
	size_t len;

	snprintf(plain, sizeof(plain), "%s/plain.yaml", fx->dir);
	write_file(plain, "a\n");
	assert_int_equal(watch_new(plain, 20, &w), 0);
	write_file(plain, "b\n");
	assert_int_equal(pump(w, 2000), 1);
	text = watch_content(w, &len);
	assert_memory_equal(text, "b\n", len);
	watch_free(w);
	unlink(plain);
}

static void test_watch_new_missing_dir(void **state)
{
	struct watch *w = NULL;

	(void)state;
	assert_int_equal(watch_new("/nonexistent/dir/config.yaml", 0, &w), -ENOENT);
	assert_null(w);
	assert_int_equal(watch_new("", 0, &w), -EINVAL);
	watch_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_watch_process_kubelet_symlink_swap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch_process_bad_config_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_watch_process_deleted_file_keeps_content,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_process_plain_file_rewrite, setup,
						teardown),
		cmocka_unit_test(test_watch_new_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
