/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hot reload of one file, ConfigMap style.
 *
 * kubelet updates a mounted ConfigMap by writing a new "..2026_11_23_..." directory and
 * renaming a "..data_tmp" symlink over "..data"; the file itself is a symlink
 * "config.yaml -> ..data/config.yaml" and never changes. So the DIRECTORY is watched
 * (inotify: create, moved-to/from, delete, close-write, attrib) and, after a debounce,
 * the file is re-read through its symlinks; only a change of content counts.
 *
 * The daemon polls watch_fd() (POLLIN) in its loop and calls watch_process(), which
 * never blocks. A deleted file keeps the last content (with one warning) until it
 * comes back. watch_free() is NULL-safe; the path is copied.
 */
#pragma once

#include <stddef.h>

struct watch;

/*
 * Watch path (its directory must exist: -ENOENT otherwise). debounce_ms: quiet time
 * after the last event before re-reading (0: 100 ms). The current content, if the
 * file exists, is the baseline.
 */
int watch_new(const char *path, unsigned int debounce_ms, struct watch **ret);
void watch_free(struct watch *w);

/* One fd for the caller's poll loop (an epoll set of the inotify fd and a timer). */
int watch_fd(const struct watch *w);

/*
 * Handle what is pending. 1: the content changed (read it with watch_content()),
 * 0: nothing to do (yet), -errno on a hard error (the watch stays usable).
 */
int watch_process(struct watch *w);

/* The last content read; NULL when the file never existed. Owned by w. */
const char *watch_content(const struct watch *w, size_t *ret_len);
const char *watch_path(const struct watch *w);
