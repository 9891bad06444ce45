/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE
#include "plugin/config/watch.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "plugin/config/config.h"
#include "plugin/obs/log.h"

#define WATCH_MASK                                                                          \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB | \
	 IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
	char *path, *dir, *base;
	int epfd, ifd, tfd;
	unsigned int debounce_ms;
	char *content; /* last content read, NULL if never */
	size_t len;
	bool missing; /* warned about a deleted file */
};

static int watch_split(struct watch *w, const char *path)
{
	char *a = strdup(path), *b = strdup(path);
	int r = 0;

	w->path = strdup(path);
	if (!a || !b || !w->path)
		r = -ENOMEM;
	if (!r) {
		w->dir = strdup(dirname(a));
		w->base = strdup(basename(b));
		if (!w->dir || !w->base)
			r = -ENOMEM;
	}
	free(a);
	free(b);
	return r;
}

static int watch_add_epoll(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int watch_open_fds(struct watch *w)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->ifd < 0 || w->tfd < 0)
		return -errno;
	if (inotify_add_watch(w->ifd, w->dir, WATCH_MASK) < 0)
		return -errno;
	if (watch_add_epoll(w->epfd, w->ifd) < 0 || watch_add_epoll(w->epfd, w->tfd) < 0)
		return -errno;
	return 0;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w->path);
	free(w->dir);
	free(w->base);
	free(w->content);
	free(w);
}

int watch_new(const char *path, unsigned int debounce_ms, struct watch **ret)
{
	struct watch *w;
	int r;

	if (!path || !*path || !ret)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->epfd = w->ifd = w->tfd = -1;
	w->debounce_ms = debounce_ms ? debounce_ms : 100;
	r = watch_split(w, path);
	if (r >= 0)
		r = watch_open_fds(w);
	if (r < 0) {
		watch_free(w);
		return r;
	}
	/* Baseline; a missing file is fine (it may appear later). */
	if (config_read_file(w->path, &w->content, &w->len) < 0)
		w->content = NULL;
	*ret = w;
	return 0;
}

int watch_fd(const struct watch *w)
{
	return w ? w->epfd : -EINVAL;
}

const char *watch_content(const struct watch *w, size_t *ret_len)
{
	if (ret_len)
		*ret_len = w ? w->len : 0;
	return w ? w->content : NULL;
}

const char *watch_path(const struct watch *w)
{
	return w ? w->path : NULL;
}

static bool watch_event_relevant(const struct watch *w, const struct inotify_event *ev)
{
	if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		return true;
	if (!ev->len)
		return false;
	/* kubelet's "..data" symlink and "..2026_..." directories, or the file itself. */
	return !strcmp(ev->name, w->base) || !strncmp(ev->name, "..", 2);
}

/* Reads every queued event; 1 if one of them matters. */
static int watch_drain(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false;

	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? -errno : relevant;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			relevant |= watch_event_relevant(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	return relevant;
}

static int watch_arm(struct watch *w)
{
	struct itimerspec its = {
		.it_value.tv_sec = w->debounce_ms / 1000,
		.it_value.tv_nsec = (long)(w->debounce_ms % 1000) * 1000000L,
	};

	/* Re-arming restarts the quiet period: a burst of events is read once. */
	return timerfd_settime(w->tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

static bool watch_timer_expired(struct watch *w)
{
	uint64_t ticks;

	return read(w->tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks);
}

static int watch_reread(struct watch *w)
{
	char *buf = NULL;
	size_t len = 0;
	int r = config_read_file(w->path, &buf, &len);

	if (r == -ENOENT) {
		if (!w->missing)
			log_warn_kv(
				LOG_KV("path", w->path),
				"configuration file deleted; keeping the current configuration");
		w->missing = true;
		return 0;
	}
	if (r < 0)
		return log_warn_errno(r, "cannot read %s; keeping the current configuration",
				      w->path);
	w->missing = false;
	if (w->content && len == w->len && !memcmp(buf, w->content, len)) {
		free(buf);
		return 0;
	}
	free(w->content);
	w->content = buf;
	w->len = len;
	return 1;
}

int watch_process(struct watch *w)
{
	int r;

	if (!w)
		return -EINVAL;
	r = watch_drain(w);
	if (r < 0)
		return r;
	if (r > 0) {
		r = watch_arm(w);
		if (r < 0)
			return r;
	}
	if (!watch_timer_expired(w))
		return 0;
	return watch_reread(w);
}
