/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration: per-cgroup CPU time from the BPF programs against the kernel's
 * own accounting (cpuacct.usage on v1, cpu.stat usage_usec on v2), and the
 * polling fallback on the same workload. Every backend is also checked against
 * the burner's own CPU time (wait4() rusage): the polling backend reads
 * cpuacct.usage itself, so only a measure outside the cgroup can tell it wrong.
 * Root, real cgroups, real BPF; on a hybrid host (v1 controllers + cgroup2) or a
 * pure cgroup v2 one.
 */
#include "bpf_cgtest.h" /* first: it defines _GNU_SOURCE */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bpf/usageprog.h"
#include "tests/lib/skip.h"

struct fixture {
	struct cgt t;
	struct usage *u;
	struct usageprog *p; /* tests that drive the loader directly */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || cgt_init(&f->t) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	usage_free(f->u);
	usageprog_free(f->p);
	cgt_cleanup(&f->t);
	free(f);
	return 0;
}

static void open_usage(struct fixture *f, enum usage_backend b, enum usage_hierarchy h)
{
	struct usage_opts o = {.backend = b, .hierarchy = h};
	int r = usage_new(&o, &f->u);

	if (r < 0)
		fail_msg("usage_new: %s", strerror(-r));
	assert_int_equal(r, 0);
}

/*
 * Burn ~1 s in a fresh cgroup; the kernel counter starts at 0 there. The burner
 * is killed and reaped before the last collect so its final slice is charged on
 * both sides (the BPF side charges at switch-out).
 */
static void burn_and_compare(struct fixture *f, const char *kernel_hier, const char *file,
			     __u64 scale)
{
	struct usage_sample acc = {0}, live;
	char rel[128];
	__u64 kernel = 0, own = 0;
	pid_t pid;

	assert_int_equal(cgt_leaf(&f->t, "burn", "0-1"), 0);
	cgt_rel(&f->t, "burn", rel, sizeof(rel));
	assert_int_equal(usage_register(f->u, "burn", rel), 0);
	assert_int_equal(cgt_collect(f->u, "burn", &acc), 0);
	pid = cgt_spawn(&f->t, "burn", -1, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(500);
	assert_int_equal(cgt_collect(f->u, "burn", &acc), 0);
	assert_int_equal(usage_get(f->u, "burn", &live), 0);
	assert_true(live.valid & USAGE_F_CPU);
	print_message("cpu: live rate %.3f cores over %.0f ms\n", live.cpu_cores,
		      (double)live.interval_ns / 1e6);
	/* PSI exists per cgroup only on v2; v1 must say "unavailable", not 0. */
	if (usage_hierarchy(f->u) == USAGE_HIER_V2)
		assert_true(live.valid & USAGE_F_PSI_CPU);
	else
		assert_false(live.valid & (USAGE_F_PSI_CPU | USAGE_F_PSI_MEMORY));
	/* One spinning thread: at most one core; other tenants of this VM may take most. */
	assert_true(live.cpu_cores > 0.0 && live.cpu_cores < 1.05);
	cgt_sleep_ms(500);
	cgt_reap_cpu(&f->t, pid, true, &own);
	/* The parent can be told of the exit before the child's last switch-out. */
	cgt_sleep_ms(20);
	assert_int_equal(cgt_collect(f->u, "burn", &acc), 0);
	if (strcmp(file, "cpu.stat") == 0) {
		char path[512], buf[1024];

		assert_int_equal(cgt_path(path, sizeof(path), kernel_hier, f->t.top, "burn", file),
				 0);
		assert_int_equal(cgt_read(path, buf, sizeof(buf)), 0);
		assert_int_equal(sscanf(buf, "usage_usec %llu", (unsigned long long *)&kernel), 1);
	} else {
		assert_int_equal(cgt_get_u64(&f->t, kernel_hier, "burn", file, &kernel), 0);
	}
	kernel *= scale;
	if (usage_backend(f->u) == USAGE_BACKEND_BPF) {
		struct usage_overhead oh;

		assert_int_equal(usage_overhead(f->u, &oh), 0);
		print_message(
			"overhead: %llu runs measured, %.1f ns/event over them, %.1f ns/event "
			"and %.4f%% of the CPUs over the last statistics window\n",
			(unsigned long long)oh.run_cnt, (double)oh.run_time_ns / (double)oh.run_cnt,
			oh.ns_per_event, 100.0 * oh.cpu_fraction);
		assert_true(oh.available);
		assert_true(oh.run_cnt > 0 && oh.ns_per_event > 0);
		assert_true(oh.cpu_fraction > 0 && oh.cpu_fraction < 0.5);
	}
	print_message("cpu: usage %llu ns, kernel %s %llu ns (%.2f%%), burner's rusage %llu ns "
		      "(%.2f%%)\n",
		      (unsigned long long)acc.cpu_ns, file, (unsigned long long)kernel,
		      100.0 * ((double)acc.cpu_ns - (double)kernel) / (double)kernel,
		      (unsigned long long)own,
		      100.0 * ((double)acc.cpu_ns - (double)own) / (double)own);
	assert_true(own > CGT_NS / 20); /* it ran, even on a busy machine */
	/* the burner was the cgroup's only task, from its first instruction of work */
	assert_true((double)acc.cpu_ns >= 0.9 * (double)own);
	assert_true((double)acc.cpu_ns <= 1.1 * (double)own);
	/* the kernel's counter is independent of the BPF side only */
	if (usage_backend(f->u) == USAGE_BACKEND_BPF) {
		assert_true((double)acc.cpu_ns >= 0.9 * (double)kernel);
		assert_true((double)acc.cpu_ns <= 1.1 * (double)kernel);
	}
}

/* The native hierarchy's kernel counter: cpuacct.usage (v1) or cpu.stat (v2 only). */
static void burn_and_compare_native(struct fixture *f)
{
	if (cgt_v2_only())
		burn_and_compare(f, "unified", "cpu.stat", 1000);
	else
		burn_and_compare(f, "cpuacct", "cpuacct.usage", 1);
}

static void test_usage_collect_cpu_matches_cpuacct_v1(void **state)
{
	struct fixture *f = *state;

	if (cgt_v2_only())
		tg_skip("a cgroup v1 test, and this host has cgroup v2 only");
	open_usage(f, USAGE_BACKEND_BPF, USAGE_HIER_V1);
	burn_and_compare(f, "cpuacct", "cpuacct.usage", 1);
}

static void test_usage_collect_cpu_matches_cpu_stat_v2(void **state)
{
	struct fixture *f = *state;

	if (!f->t.has_v2)
		tg_skip("no cgroup v2 hierarchy at " CGT_ROOT "/unified");
	open_usage(f, USAGE_BACKEND_BPF, USAGE_HIER_V2);
	burn_and_compare(f, "unified", "cpu.stat", 1000);
}

static void test_usage_collect_cpu_poll_fallback(void **state)
{
	struct fixture *f = *state;

	open_usage(f, USAGE_BACKEND_POLL, cgt_usage_hier());
	assert_int_equal(usage_backend(f->u), USAGE_BACKEND_POLL);
	burn_and_compare_native(f);
}

static int cmp_s64(const void *a, const void *b)
{
	__s64 x = *(const __s64 *)a, y = *(const __s64 *)b;

	return (x > y) - (x < y);
}

/*
 * Kernels before 6.7 cannot pin the progress timer (BPF_F_TIMER_CPU_PIN): the BPF side
 * then starts it unpinned. A burner alone on CPU 1 is never switched out, so without a
 * working tick the BPF figure would stay at 0 and then jump by the whole run. Forced
 * unpinned here, it must follow the kernel's own counter to within a few ticks.
 *
 * The kernel's counter is read just BEFORE each collect, so kernel - usage is at most
 * the lag at the collect's moment: a stall of the test process between the two reads
 * (tens of milliseconds in the QEMU guest beside a loaded host) cannot count as lag.
 * What remains is the tick's own delay, plus, in the guest, a jump of guest time that
 * the kernel has charged and the overdue tick not yet: the typical lag (the median)
 * must stay under 50 ms and the largest under 250 ms. With the tick disabled the lag
 * grows until another task's switch charges the run: median 188 ms, largest 640 ms on
 * the build VM.
 */
static void test_usage_collect_cpu_steady_without_pinned_tick(void **state)
{
	struct fixture *f = *state;
	struct usage_opts o = {.backend = USAGE_BACKEND_BPF, .no_tick_pin = true};
	struct usage_sample acc = {0};
	__s64 lags[20], max_lag = 0, mid;
	const char *notes[2];
	__u64 kernel = 0;
	char rel[128];
	pid_t pid;

	assert_int_equal(usage_new(&o, &f->u), 0);
	assert_int_equal(cgt_leaf(&f->t, "steady", "1"), 0);
	cgt_rel(&f->t, "steady", rel, sizeof(rel));
	assert_int_equal(usage_register(f->u, "steady", rel), 0);
	assert_int_equal(cgt_collect(f->u, "steady", &acc), 0);
	pid = cgt_spawn(&f->t, "steady", 1, cgt_burn, NULL);
	assert_true(pid > 0);
	for (int i = 0; i < 20; i++) {
		cgt_sleep_ms(50);
		assert_int_equal(cgt_cpu_usage_ns(&f->t, "steady", &kernel), 0);
		assert_int_equal(cgt_collect(f->u, "steady", &acc), 0);
		lags[i] = (__s64)kernel - (__s64)acc.cpu_ns;
		max_lag = lags[i] > max_lag ? lags[i] : max_lag;
	}
	qsort(lags, 20, sizeof(lags[0]), cmp_s64);
	mid = lags[10];
	print_message("unpinned tick: usage %.1f ms, kernel %.1f ms, lag median %.1f ms, "
		      "largest %.1f ms\n",
		      (double)acc.cpu_ns / 1e6, (double)kernel / 1e6, (double)mid / 1e6,
		      (double)max_lag / 1e6);
	assert_int_equal(usage_notes(f->u, notes, 2), 1);
	print_message("note: %s\n", notes[0]);
	assert_true(kernel > CGT_NS / 20); /* it ran, even on a busy machine */
	assert_true(mid < 50 * 1000000LL);
	assert_true(max_lag < 250 * 1000000LL);
}

/*
 * A switch the tracepoint does not deliver must not lose the run that follows.
 * Some hosts do not report every switch (on the development VMs, perf sees no
 * sched_switch for switches away from the VM agent's threads), so a burner
 * preempted by such a thread resumed unseen and its whole next run was lost:
 * -46 % against cpuacct.usage in test_usage_collect_cpu_matches_cpuacct_v1 on a
 * loaded machine. Here the programs ignore every switch away from a sleeper
 * that wakes each millisecond on the burner's CPU, so most of the burner's runs
 * start unseen; all of its time must still be charged (without the fix: 7-43 %
 * of it, five runs out of five failed).
 */
static void test_usageprog_cpu_unseen_switch_in_charged(void **state)
{
	struct fixture *f = *state;
	volatile unsigned long *wakeups = cgt_shared(sizeof(*wakeups));
	struct usageprog_opts o = {.cgroup_mode = USAGE_CGROUP_V1, .no_stats = true};
	__u64 before[USAGE_CNT_NR], after[USAGE_CNT_NR], kernel = 0;
	struct usage_slot_stats s;
	char path[512];
	struct stat st;
	pid_t blind, pid;
	int r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tg_skip("needs 2 CPUs (the sleeper and the burner share CPU 1)");
	assert_non_null(wakeups);
	assert_int_equal(cgt_leaf(&f->t, "blind", "1"), 0);
	assert_int_equal(cgt_leaf(&f->t, "burn", "1"), 0);
	blind = cgt_spawn(&f->t, "blind", 1, cgt_sleeper, (void *)wakeups);
	assert_true(blind > 0);
	o.blind_tgid = (__u32)blind;
	r = usageprog_open(&o, &f->p);
	if (r < 0)
		fail_msg("usageprog_open: %s", strerror(-r));
	assert_int_equal(cgt_path(path, sizeof(path), "cpu", f->t.top, "burn", NULL), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(usageprog_slot_set(f->p, st.st_ino, 1), 0);
	assert_int_equal(usageprog_read_counters(f->p, before), 0);
	pid = cgt_spawn(&f->t, "burn", 1, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(1000);
	cgt_reap(&f->t, pid, true);
	cgt_sleep_ms(20); /* the dying burner's last switch-out */
	assert_int_equal(usageprog_read_slot(f->p, 1, &s), 0);
	assert_int_equal(usageprog_read_counters(f->p, after), 0);
	assert_int_equal(cgt_cpu_usage_ns(&f->t, "burn", &kernel), 0);
	print_message(
		"unseen: %lu sleeper wakeups, %llu runs whose switch-in went unseen; "
		"usage %llu ns, kernel %llu ns (%.2f%%)\n",
		*wakeups,
		(unsigned long long)(after[USAGE_CNT_RUN_UNSEEN] - before[USAGE_CNT_RUN_UNSEEN]),
		(unsigned long long)s.cpu_ns, (unsigned long long)kernel,
		100.0 * ((double)s.cpu_ns - (double)kernel) / (double)kernel);
	assert_true(*wakeups > 100); /* the sleeper shared the CPU */
	/* The blinding worked: many runs began with a switch-in the programs did not see. */
	assert_true(after[USAGE_CNT_RUN_UNSEEN] - before[USAGE_CNT_RUN_UNSEEN] > 100);
	assert_true(kernel > CGT_NS / 20);
	assert_true((double)s.cpu_ns >= 0.9 * (double)kernel);
	assert_true((double)s.cpu_ns <= 1.1 * (double)kernel);
}

/* Unregistered work lands in slot 0, never in a registered container. */
static void test_usage_collect_cpu_not_charged_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct usage_sample acc = {0};
	char rel[128];
	pid_t pid;

	open_usage(f, USAGE_BACKEND_BPF, cgt_usage_hier());
	assert_int_equal(cgt_leaf(&f->t, "idle", "0-1"), 0);
	assert_int_equal(cgt_leaf(&f->t, "busy", "0-1"), 0);
	cgt_rel(&f->t, "idle", rel, sizeof(rel));
	assert_int_equal(usage_register(f->u, "idle", rel), 0);
	assert_int_equal(cgt_collect(f->u, "idle", &acc), 0);
	pid = cgt_spawn(&f->t, "busy", -1, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(300);
	cgt_reap(&f->t, pid, true);
	assert_int_equal(cgt_collect(f->u, "idle", &acc), 0);
	assert_int_equal(acc.cpu_ns, 0);
}

/* A 10 % CFS quota: throttling shows up, and usage stays near the quota. */
static void test_usage_collect_throttling(void **state)
{
	struct fixture *f = *state;
	struct usage_sample s;
	char rel[128];
	pid_t pid;

	open_usage(f, USAGE_BACKEND_BPF, cgt_usage_hier());
	assert_int_equal(cgt_leaf(&f->t, "quota", "0-1"), 0);
	assert_int_equal(cgt_set_quota(&f->t, "quota", 10000, 100000), 0);
	cgt_rel(&f->t, "quota", rel, sizeof(rel));
	assert_int_equal(usage_register(f->u, "quota", rel), 0);
	pid = cgt_spawn(&f->t, "quota", -1, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(100);
	assert_int_equal(usage_collect(f->u, cgt_now()), 0);
	cgt_sleep_ms(600);
	assert_int_equal(usage_collect(f->u, cgt_now()), 0);
	assert_int_equal(usage_get(f->u, "quota", &s), 0);
	print_message("throttle: %llu periods throttled for %llu ns, %.3f cores\n",
		      (unsigned long long)s.nr_throttled, (unsigned long long)s.throttled_ns,
		      s.cpu_cores);
	assert_true(s.valid & USAGE_F_THROTTLE);
	assert_true(s.nr_throttled >= 3);
	assert_true(s.throttled_ns > 0);
	assert_true(s.cpu_cores < 0.15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_collect_cpu_matches_cpuacct_v1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_cpu_matches_cpu_stat_v2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_cpu_poll_fallback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usageprog_cpu_unseen_switch_in_charged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_cpu_not_charged_elsewhere, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_cpu_steady_without_pinned_tick,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_throttling, setup, teardown),
	};
	const char *why = cgt_skip_reason();

	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
