/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Redial when the runtime's socket reappears. After a loss an external plugin
 * redials with a doubling backoff (100 ms .. 5 s); a runtime restart takes about
 * 1.5 s, so blind redials found it 1.5-3.1 s late. While waiting, the stub also
 * watches the socket's directory (inotify: created, moved in, attributes changed)
 * and dials as soon as the socket's name shows up. The backoff stays as the
 * fallback: a directory that does not exist, or inotify refused, just means the
 * old behaviour.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/nri/stub_priv.h"

#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)

/*
 * Arms the watch if it is not armed. True when it was just armed and the socket is
 * already there. After a dial that found no socket, it appeared between that dial and
 * the watch, an event the watch never sees (a minute's wait with a long backoff, seen
 * on a loaded machine): the caller dials again now.
 */
bool stub_watch_arm(struct nri_stub *s)
{
	struct stat st;
	char *dir;

	if (s->prelaunched || s->watch_fd >= 0 || getenv("TOPOGUARD_NO_SOCKET_WATCH"))
		return false;
	dir = strdup(s->socket_path);
	if (!dir)
		return false;
	s->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->watch_fd >= 0 && inotify_add_watch(s->watch_fd, dirname(dir), WATCH_MASK) < 0)
		stub_watch_disarm(s);
	free(dir);
	return s->watch_fd >= 0 && stat(s->socket_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

void stub_watch_disarm(struct nri_stub *s)
{
	if (s->watch_fd >= 0)
		close(s->watch_fd);
	s->watch_fd = -1;
}

/* Drain the events; true if one names the socket. */
bool stub_watch_seen(struct nri_stub *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *base = strrchr(s->socket_path, '/');
	bool seen = false;
	ssize_t n;

	base = base ? base + 1 : s->socket_path;
	while ((n = read(s->watch_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->len && !strcmp(e->name, base))
				seen = true;
			p += sizeof(*e) + e->len;
		}
	}
	return seen;
}
