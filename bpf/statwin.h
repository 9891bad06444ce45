/* SPDX-License-Identifier: Apache-2.0 */
/*
 * statwin: when to have the kernel's BPF run-time statistics on. They cost two
 * clock reads per program run (for every BPF program on the host, not only
 * ours), so usage.c turns them on for a window of window_ns out of every
 * period_ns, driven by the caller's clock (usage_collect's now). Pure logic,
 * no I/O: the caller does what the returned action says.
 *
 * Ownership: plain data embedded by the caller; no allocation, nothing to free.
 * Every function takes a non-NULL window.
 */
#ifndef TOPOGUARD_BPF_STATWIN_H
#define TOPOGUARD_BPF_STATWIN_H

#include <stdbool.h>
#include <linux/types.h>

#define STATWIN_DEFAULT_WINDOW_NS 1000000000ULL	 /* 1 s on ... */
#define STATWIN_DEFAULT_PERIOD_NS 10000000000ULL /* ... out of every 10 s */

enum statwin_action {
	STATWIN_NONE = 0, /* nothing to do */
	STATWIN_OPEN,	  /* turn statistics on, snapshot the counters */
	STATWIN_CLOSE,	  /* snapshot, publish the window, turn statistics off */
	STATWIN_ROLL,	  /* always on: publish the window and start the next one now */
};

struct statwin {
	__u64 window_ns;
	__u64 period_ns;
	__u64 opened_at; /* valid while open */
	__u64 next_open; /* valid once started and closed */
	__u64 last_len;	 /* length of the window CLOSE/ROLL just ended */
	bool open;
	bool started;
};

/* 0 for either value picks its default; window_ns >= period_ns keeps them always on. */
void statwin_init(struct statwin *w, __u64 window_ns, __u64 period_ns);
/* Advances the window to now; the first call opens it. */
enum statwin_action statwin_step(struct statwin *w, __u64 now);
/* Fraction of the time statistics are on (1.0 = always). */
double statwin_duty(const struct statwin *w);

#endif
