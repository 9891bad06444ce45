/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logging in logfmt:
 *   ts=2026-11-23T06:40:00.123Z level=info msg="pool resized" pool=shared cpus=2-7
 *
 * One process-wide logger (the only global of the daemon's infrastructure): lines go to
 * stderr unless log_open_file() redirected them (pre-launched plugins have stderr on
 * /dev/null). Every line is written with a single write(2), so lines from the HTTP
 * thread and the main loop never interleave. The level is atomic and may change at
 * any time (config reload).
 *
 * The *_errno() variants append err="strerror" and return -abs(err), so a caller can
 * write `return log_error_errno(r, "...")` (systemd style). Key/value pairs are given
 * as an array of alternating const char * keys and values (LOG_KV); a NULL value is
 * logged as an empty string. No function keeps a pointer to its arguments.
 */
#pragma once

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO = 1,
	LOG_LEVEL_WARN = 2,
	LOG_LEVEL_ERROR = 3,
};

/* Longest line the logger writes; longer lines are cut and end in "...". */
#define LOG_LINE_MAX 8192

/* "debug", "info", "warn"/"warning", "error" -> level; -EINVAL otherwise. */
int log_level_from_string(const char *s, enum log_level *ret);
const char *log_level_to_string(enum log_level level);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/*
 * Append to path (created 0640, O_CLOEXEC) instead of stderr; replaces a file opened
 * before. NULL or "" or "-" goes back to stderr. -errno on failure (target unchanged).
 */
int log_open_file(const char *path);
/* Write to fd (borrowed, not closed); -1 means stderr. For tests and the daemon. */
void log_set_fd(int fd);
/* Close a file opened by log_open_file(); logging continues on stderr. */
void log_close(void);

/* kv: n_kv strings, alternating key, value (n_kv even). Returns -abs(err). */
int log_emit(enum log_level level, int err, const char *const *kv, size_t n_kv, const char *fmt,
	     ...) __attribute__((format(printf, 5, 6)));

/*
 * Format one line into buf without writing it (used by log_emit and the tests).
 * Returns the line length (including the trailing '\n').
 */
size_t log_format_line(char *buf, size_t size, enum log_level level, int err, const char *const *kv,
		       size_t n_kv, const char *msg);

/* Append key=value to buf at *pos with logfmt quoting; never overruns size. */
void log_append_pair(char *buf, size_t size, size_t *pos, const char *key, const char *value);

#define LOG_KV(...)                           \
	((const char *const[]){__VA_ARGS__}), \
		(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

#define log_debug(...)		log_emit(LOG_LEVEL_DEBUG, 0, NULL, 0, __VA_ARGS__)
#define log_info(...)		log_emit(LOG_LEVEL_INFO, 0, NULL, 0, __VA_ARGS__)
#define log_warn(...)		log_emit(LOG_LEVEL_WARN, 0, NULL, 0, __VA_ARGS__)
#define log_error(...)		log_emit(LOG_LEVEL_ERROR, 0, NULL, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_emit(LOG_LEVEL_DEBUG, (e), NULL, 0, __VA_ARGS__)
#define log_info_errno(e, ...)	log_emit(LOG_LEVEL_INFO, (e), NULL, 0, __VA_ARGS__)
#define log_warn_errno(e, ...)	log_emit(LOG_LEVEL_WARN, (e), NULL, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_emit(LOG_LEVEL_ERROR, (e), NULL, 0, __VA_ARGS__)
/* With fields: log_info_kv(LOG_KV("pod", name, "pool", pool), "allocated %u CPUs", n); */
#define log_debug_kv(kv, ...) log_emit(LOG_LEVEL_DEBUG, 0, kv, __VA_ARGS__)
#define log_info_kv(kv, ...)  log_emit(LOG_LEVEL_INFO, 0, kv, __VA_ARGS__)
#define log_warn_kv(kv, ...)  log_emit(LOG_LEVEL_WARN, 0, kv, __VA_ARGS__)
#define log_error_kv(kv, ...) log_emit(LOG_LEVEL_ERROR, 0, kv, __VA_ARGS__)
