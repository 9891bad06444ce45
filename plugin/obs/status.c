#define _GNU_SOURCE
/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status socket: one request line in, one JSON document out, then close.
 * Kept deliberately tiny: serving happens on the daemon's single loop, so every
 * read and write is bounded by STATUS_CLIENT_TIMEOUT_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "plugin/obs/status.h"

struct status_server {
	int fd;
	char *path;
	status_render_fn render;
	void *ud;
};

static int sockaddr_for(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

static int make_parent_dir(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	free(dir);
	return r;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;
	mode_t old;

	r = sockaddr_for(path, &sa);
	if (r < 0)
		return r;
	r = make_parent_dir(path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int status_server_new(const char *path, status_render_fn render, void *ud,
		      struct status_server **ret)
{
	struct status_server *s;
	int fd;

	if (!path || !render || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return -ENOMEM;
	}
	fd = listen_at(path);
	if (fd < 0) {
		free(s->path);
		free(s);
		return fd;
	}
	s->fd = fd;
	s->render = render;
	s->ud = ud;
	*ret = s;
	return 0;
}

void status_server_free(struct status_server *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		close(s->fd);
		(void)unlink(s->path);
	}
	free(s->path);
	free(s);
}

int status_server_fd(const struct status_server *s)
{
	return s ? s->fd : -1;
}

/* Read until '\n', EOF or the buffer is full, waiting at most timeout_ms in total. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		int r = poll(&p, 1, timeout_ms);

		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return errno == EINTR ? -EINTR : -errno;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return (int)len;
}

static int write_all(int fd, const char *buf, size_t len, int timeout_ms)
{
	while (len > 0) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int status_server_process(struct status_server *s)
{
	char req[STATUS_MAX_REQUEST];
	char *answer = NULL;
	int cfd, r;

	cfd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	r = read_line(cfd, req, sizeof(req), STATUS_CLIENT_TIMEOUT_MS);
	if (r >= 0)
		r = s->render(req, &answer, s->ud);
	if (r >= 0) {
		r = write_all(cfd, answer, strlen(answer), STATUS_CLIENT_TIMEOUT_MS);
		if (r >= 0)
			r = write_all(cfd, "\n", 1, STATUS_CLIENT_TIMEOUT_MS);
	}
	free(answer);
	close(cfd);
	return r < 0 ? r : 0;
}

static int read_all(int fd, int timeout_ms, char **ret)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
}

int status_client_request(const char *path, const char *request, int timeout_ms, char **ret)
{
	struct sockaddr_un sa;
	int fd, r;

	r = sockaddr_for(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = write_all(fd, request, strlen(request), timeout_ms);
	if (r >= 0)
		r = write_all(fd, "\n", 1, timeout_ms);
	if (r >= 0)
		r = read_all(fd, timeout_ms, ret);
	close(fd);
	return r;
}
