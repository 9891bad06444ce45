/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin/obs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one logger. The fd is swapped only at start-up or on explicit reopen. */
static struct {
	atomic_int level;
	atomic_int fd;	  /* -1: stderr */
	atomic_int owned; /* fd came from log_open_file() */
} logger = {LOG_LEVEL_INFO, -1, 0};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_from_string(const char *s, enum log_level *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(s, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	if (!strcmp(s, "warning")) {
		*ret = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_to_string(enum log_level level)
{
	if ((unsigned int)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "unknown";
	return level_names[level];
}

void log_set_level(enum log_level level)
{
	atomic_store(&logger.level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&logger.level);
}

static void log_drop_fd(void)
{
	int old = atomic_exchange(&logger.fd, -1);

	if (atomic_exchange(&logger.owned, 0) && old >= 0)
		close(old);
}

int log_open_file(const char *path)
{
	int fd;

	if (!path || !*path || !strcmp(path, "-")) {
		log_drop_fd();
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	log_drop_fd();
	atomic_store(&logger.fd, fd);
	atomic_store(&logger.owned, 1);
	return 0;
}

void log_set_fd(int fd)
{
	log_drop_fd();
	atomic_store(&logger.fd, fd);
}

void log_close(void)
{
	log_drop_fd();
}

/* logfmt needs quotes for empty values and anything with space, '=', '"' or control bytes. */
static bool log_needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
			return true;
	return false;
}

static void log_putc(char *buf, size_t size, size_t *pos, char c)
{
	if (*pos + 1 < size)
		buf[(*pos)++] = c;
}

static void log_puts(char *buf, size_t size, size_t *pos, const char *s)
{
	while (*s)
		log_putc(buf, size, pos, *s++);
}

static void log_put_escaped(char *buf, size_t size, size_t *pos, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':
	case '\\':
		log_putc(buf, size, pos, '\\');
		log_putc(buf, size, pos, (char)c);
		return;
	case '\n':
		log_puts(buf, size, pos, "\\n");
		return;
	case '\r':
		log_puts(buf, size, pos, "\\r");
		return;
	case '\t':
		log_puts(buf, size, pos, "\\t");
		return;
	default:
		break;
	}
	if (c < ' ' || c == 0x7f) {
		log_puts(buf, size, pos, "\\x");
		log_putc(buf, size, pos, hex[c >> 4]);
		log_putc(buf, size, pos, hex[c & 15]);
		return;
	}
	log_putc(buf, size, pos, (char)c);
}

void log_append_pair(char *buf, size_t size, size_t *pos, const char *key, const char *value)
{
	if (!value)
		value = "";
	if (*pos > 0)
		log_putc(buf, size, pos, ' ');
	log_puts(buf, size, pos, key);
	log_putc(buf, size, pos, '=');
	if (!log_needs_quotes(value)) {
		log_puts(buf, size, pos, value);
		return;
	}
	log_putc(buf, size, pos, '"');
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		log_put_escaped(buf, size, pos, *p);
	log_putc(buf, size, pos, '"');
}

static void log_timestamp(char *ts, size_t size)
{
	struct timespec now;
	struct tm tm;

	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, size - n, ".%03uZ", (unsigned int)(now.tv_nsec / 1000000) % 1000u);
}

size_t log_format_line(char *buf, size_t size, enum log_level level, int err, const char *const *kv,
		       size_t n_kv, const char *msg)
{
	char ts[64];
	size_t pos = 0;

	if (size < 8)
		return 0;
	log_timestamp(ts, sizeof(ts));
	log_append_pair(buf, size, &pos, "ts", ts);
	log_append_pair(buf, size, &pos, "level", log_level_to_string(level));
	/* msg is always quoted: grep-friendly and stable for parsers. */
	log_puts(buf, size, &pos, " msg=\"");
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		log_put_escaped(buf, size, &pos, *p);
	log_putc(buf, size, &pos, '"');
	for (size_t i = 0; kv && i + 1 < n_kv; i += 2)
		log_append_pair(buf, size, &pos, kv[i] ? kv[i] : "key", kv[i + 1]);
	if (err)
		log_append_pair(buf, size, &pos, "err", strerror(abs(err)));
	if (pos + 1 >= size) { /* truncated: mark it so nobody trusts a cut value */
		pos = size - 5;
		memcpy(buf + pos, "...", 3);
		pos += 3;
	}
	buf[pos++] = '\n';
	buf[pos] = '\0';
	return pos;
}

int log_emit(enum log_level level, int err, const char *const *kv, size_t n_kv, const char *fmt,
	     ...)
{
	char msg[LOG_LINE_MAX / 2], line[LOG_LINE_MAX];
	int saved_errno = errno, fd;
	va_list ap;
	size_t len;

	if ((int)level < atomic_load(&logger.level))
		return -abs(err);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = log_format_line(line, sizeof(line), level, err, kv, n_kv, msg);
	fd = atomic_load(&logger.fd);
	/* A failing log write has nowhere to be reported; dropping the line is the only option. */
	if (write(fd >= 0 ? fd : STDERR_FILENO, line, len) < 0)
		(void)0;
	errno = saved_errno;
	return -abs(err);
}
