/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/obs/log.h"

/* Everything written to the pipe so far (non-blocking read). */
static size_t drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void test_log_level_from_string_names(void **state)
{
	enum log_level l = LOG_LEVEL_ERROR;

	(void)state;
	assert_int_equal(log_level_from_string("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_from_string("warning", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_from_string("loud", &l), -EINVAL);
	assert_int_equal(log_level_from_string(NULL, &l), -EINVAL);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_string_equal(log_level_to_string(LOG_LEVEL_ERROR), "error");
	assert_string_equal(log_level_to_string((enum log_level)42), "unknown");
}

static void test_log_format_line_logfmt_quoting(void **state)
{
	char line[1024];
	const char *kv[] = {"pool", "shared", "pod", "web 1", "q",   "say \"hi\"", "nl",
			    "a\nb", "empty",  "",    "eq",    "a=b", "nil",	   NULL};
	size_t n =
		log_format_line(line, sizeof(line), LOG_LEVEL_WARN, -EIO, kv, 14, "resized \"x\"");

	(void)state;
	assert_int_equal(n, strlen(line));
	assert_int_equal(strncmp(line, "ts=20", 5), 0);
	assert_int_equal(line[26], 'Z'); /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
	assert_non_null(strstr(line, " level=warn msg=\"resized \\\"x\\\"\" pool=shared "));
	assert_non_null(strstr(line, " pod=\"web 1\" "));
	assert_non_null(strstr(line, " q=\"say \\\"hi\\\"\" "));
	assert_non_null(strstr(line, " nl=\"a\\nb\" "));
	assert_non_null(strstr(line, " empty=\"\" "));
	assert_non_null(strstr(line, " eq=\"a=b\" "));
	assert_non_null(strstr(line, " nil=\"\" "));
	assert_non_null(strstr(line, " err=\"Input/output error\"\n"));
	assert_ptr_equal(strchr(line, '\n'), line + n - 1); /* one line, raw newlines escaped */
}

static void test_log_format_line_control_bytes_escaped(void **state)
{
	char line[256];
	const char *kv[] = {"k", "\x01\x7f"};

	(void)state;
	log_format_line(line, sizeof(line), LOG_LEVEL_INFO, 0, kv, 2, "m");
	assert_non_null(strstr(line, " k=\"\\x01\\x7f\"\n"));
}

static void test_log_format_line_truncates(void **state)
{
	char line[64];
	size_t n;

	(void)state;
	n = log_format_line(line, sizeof(line), LOG_LEVEL_INFO, 0, NULL, 0,
			    "a very long message that cannot possibly fit in sixty-four bytes");
	assert_int_equal(n, sizeof(line) - 1);
	assert_int_equal(strlen(line), n);
	assert_string_equal(line + n - 4, "...\n");
}

static void test_log_emit_returns_negative_errno(void **state)
{
	(void)state;
	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(log_info_errno(EIO, "ignored"), -EIO);
	assert_int_equal(log_info_errno(-ENOENT, "ignored"), -ENOENT);
	assert_int_equal(log_info("ok"), 0);
	log_set_level(LOG_LEVEL_INFO);
}

static void test_log_emit_filters_by_level(void **state)
{
	char buf[4096];
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	log_set_fd(p[1]);
	log_set_level(LOG_LEVEL_WARN);
	log_info("hidden");
	assert_int_equal(drain(p[0], buf, sizeof(buf)), 0);
	assert_int_equal(log_warn_kv(LOG_KV("id", "c1"), "shown %d", 7), 0);
	assert_true(drain(p[0], buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "level=warn msg=\"shown 7\" id=c1\n"));
	log_set_level(LOG_LEVEL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_debug("now visible");
	drain(p[0], buf, sizeof(buf));
	assert_non_null(strstr(buf, "level=debug msg=\"now visible\""));
	log_set_fd(-1);
	log_set_level(LOG_LEVEL_INFO);
	close(p[0]);
	close(p[1]);
}

static void test_log_open_file_appends(void **state)
{
	char path[] = "/tmp/test_log_XXXXXX", buf[4096];
	int fd = mkstemp(path);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(log_open_file(path), 0);
	log_error("to the file");
	assert_int_equal(log_open_file("/nonexistent/dir/x.log"), -ENOENT);
	log_error("still the file"); /* a failed reopen keeps the old target */
	log_close();
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "msg=\"to the file\""));
	assert_non_null(strstr(buf, "msg=\"still the file\""));
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_level_from_string_names),
		cmocka_unit_test(test_log_format_line_logfmt_quoting),
		cmocka_unit_test(test_log_format_line_control_bytes_escaped),
		cmocka_unit_test(test_log_format_line_truncates),
		cmocka_unit_test(test_log_emit_returns_negative_errno),
		cmocka_unit_test(test_log_emit_filters_by_level),
		cmocka_unit_test(test_log_open_file_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
