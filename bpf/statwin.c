/* SPDX-License-Identifier: Apache-2.0 */
/* Sampling window for the BPF run-time statistics; see statwin.h. */
#include "bpf/statwin.h"

void statwin_init(struct statwin *w, __u64 window_ns, __u64 period_ns)
{
	*w = (struct statwin){
		.window_ns = window_ns ? window_ns : STATWIN_DEFAULT_WINDOW_NS,
		.period_ns = period_ns ? period_ns : STATWIN_DEFAULT_PERIOD_NS,
	};
}

static bool statwin_always_on(const struct statwin *w)
{
	return w->window_ns >= w->period_ns;
}

enum statwin_action statwin_step(struct statwin *w, __u64 now)
{
	if (!w->open) {
		if (w->started && now < w->next_open)
			return STATWIN_NONE;
		w->open = w->started = true;
		w->opened_at = now;
		return STATWIN_OPEN;
	}
	/* A clock that went back cannot time the window: start it again. */
	if (now < w->opened_at) {
		w->opened_at = now;
		return STATWIN_OPEN;
	}
	if (now - w->opened_at < w->window_ns)
		return STATWIN_NONE;
	w->last_len = now - w->opened_at;
	if (statwin_always_on(w)) {
		w->opened_at = now;
		return STATWIN_ROLL;
	}
	/* Periods are counted from the opening, so a late collect does not drift them. */
	w->next_open = w->opened_at + w->period_ns;
	w->open = false;
	return STATWIN_CLOSE;
}

double statwin_duty(const struct statwin *w)
{
	if (statwin_always_on(w))
		return 1.0;
	return (double)w->window_ns / (double)w->period_ns;
}
