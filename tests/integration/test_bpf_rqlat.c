/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration: run-queue latency is charged to the WOKEN task's cgroup, and
 * preemptions are attributed (preemptor -> preempted). A periodic sleeper and
 * a CPU burner share one CPU (cpuset + affinity), each in its own cgroup.
 * Root, real cgroups, real BPF.
 */
#include "bpf_cgtest.h" /* first: it defines _GNU_SOURCE */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define RUN_MS 1000

struct fixture {
	struct cgt t;
	struct usage *u;
	volatile unsigned long *wakeups;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->wakeups = cgt_shared(4096);
	if (!f->wakeups || cgt_init(&f->t) < 0) {
		cgt_cleanup(&f->t);
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
	cgt_cleanup(&f->t);
	munmap((void *)f->wakeups, 4096);
	free(f);
	return 0;
}

static void add_leaf(struct fixture *f, const char *leaf, const char *cpus)
{
	char rel[128];

	assert_int_equal(cgt_leaf(&f->t, leaf, cpus), 0);
	cgt_rel(&f->t, leaf, rel, sizeof(rel));
	assert_int_equal(usage_register(f->u, leaf, rel), 0);
}

/*
 * The sleeper's own count of its wakeups just before and just after a collect: the
 * BPF counters were read somewhere in between. In the QEMU guest the test process
 * can stall for tens of milliseconds between two statements, tens of the
 * sleeper's wakeups, so one read of the count beside the collect is not the
 * collect's moment.
 */
struct woke_mark {
	unsigned long before, after;
};

static struct woke_mark collect_both(struct fixture *f, struct usage_sample *s,
				     struct usage_sample *b)
{
	struct woke_mark m = {.before = *f->wakeups};
	struct usage_sample x;

	assert_int_equal(usage_collect(f->u, cgt_now()), 0);
	m.after = *f->wakeups;
	if (usage_get(f->u, "sleeper", &x) == 0) {
		*s = x;
		assert_int_equal(usage_get(f->u, "burner", b), 0);
	}
	return m;
}

struct pair_sum {
	__u64 sleeper_on_burner;
	__u64 burner_on_sleeper;
};

static void on_pair(const char *from, const char *to, __u64 count, void *userdata)
{
	struct pair_sum *ps = userdata;

	if (from && to && !strcmp(from, "sleeper") && !strcmp(to, "burner"))
		ps->sleeper_on_burner += count;
	if (from && to && !strcmp(from, "burner") && !strcmp(to, "sleeper"))
		ps->burner_on_sleeper += count;
}

static void rq_latency_charged_to_woken(struct fixture *f, bool from_wakeups, bool per_task)
{
	struct usage_opts o = {.backend = USAGE_BACKEND_BPF,
			       .hierarchy = cgt_usage_hier(),
			       .rq_from_wakeups = from_wakeups,
			       .rq_migration_waits = per_task};
	struct usage_sample s = {0}, b = {0};
	struct woke_mark m0, m1;
	unsigned long woke_min, woke_max;
	pid_t sl, bu;

	assert_int_equal(usage_new(&o, &f->u), 0);

	add_leaf(f, "sleeper", "1");
	add_leaf(f, "burner", "1");
	bu = cgt_spawn(&f->t, "burner", 1, cgt_burn, NULL);
	assert_true(bu > 0);
	sl = cgt_spawn(&f->t, "sleeper", 1, cgt_sleeper, (void *)f->wakeups);
	assert_true(sl > 0);
	cgt_sleep_ms(100); /* let both settle on CPU 1 */
	m0 = collect_both(f, &s, &b);
	cgt_sleep_ms(RUN_MS);
	m1 = collect_both(f, &s, &b);
	/* Wakeups surely between the two collects, and at most between them. */
	woke_min = m1.before - m0.after;
	woke_max = m1.after - m0.before;
	print_message(
		"rq (%s): sleeper woke %lu..%lu: samples %llu p50 %.1f us p99 %.1f us, preempted "
		"%llu times, preempting %llu\n",
		from_wakeups ? "wakeup hooks"
		: per_task   ? "schedstat per task"
			     : "schedstat",
		woke_min, woke_max, (unsigned long long)s.rq_samples, s.rq_p50_us, s.rq_p99_us,
		(unsigned long long)s.preempt_received, (unsigned long long)s.preempt_inflicted);
	print_message("rq: burner samples %llu p50 %.1f us p99 %.1f us, preempted %llu times, "
		      "preempting %llu, cpu %.2f cores\n",
		      (unsigned long long)b.rq_samples, b.rq_p50_us, b.rq_p99_us,
		      (unsigned long long)b.preempt_received,
		      (unsigned long long)b.preempt_inflicted, b.cpu_cores);
	assert_true(woke_min > 50);
	assert_true(s.valid & USAGE_F_RQ_LATENCY);
	/* Every wakeup of the sleeper is one sample in the sleeper's own cgroup ... */
	assert_true((double)s.rq_samples >= 0.9 * (double)woke_min);
	/* (plus one per time it was itself preempted, which re-queues it) */
	assert_true(s.rq_samples <= woke_max + s.preempt_received + 10);
	/*
	 * ... and none in the burner's: it never sleeps, so its only samples are its
	 * waits after being preempted (one per preemption received).
	 */
	assert_true((double)b.rq_samples <= 1.03 * (double)b.preempt_received + 5);
	assert_true((double)b.rq_samples + 5 >= 0.97 * (double)b.preempt_received);
	/*
	 * The sleeper preempts when it wakes. (No upper bounds across cgroups:
	 * other tenants of this machine also run on CPU 1 and take part.)
	 */
	assert_true(s.preempt_inflicted > 0);
	/* And the pair map names who preempted whom. */
	struct pair_sum ps = {0};

	assert_int_equal(usage_preemption_pairs(f->u, on_pair, &ps), 0);
	print_message("rq: pairs sleeper->burner %llu, burner->sleeper %llu\n",
		      (unsigned long long)ps.sleeper_on_burner,
		      (unsigned long long)ps.burner_on_sleeper);
	assert_true(ps.sleeper_on_burner > 0);
	assert_true(ps.burner_on_sleeper < ps.sleeper_on_burner);
}

static void test_usage_collect_rq_latency_charged_to_woken(void **state)
{
	rq_latency_charged_to_woken(*state, false, false);
}

static void test_usage_collect_rq_latency_charged_to_woken_per_task(void **state)
{
	rq_latency_charged_to_woken(*state, false, true);
}

static void test_usage_collect_rq_latency_charged_to_woken_wakeup_hooks(void **state)
{
	rq_latency_charged_to_woken(*state, true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_collect_rq_latency_charged_to_woken,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_usage_collect_rq_latency_charged_to_woken_wakeup_hooks, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_usage_collect_rq_latency_charged_to_woken_per_task, setup, teardown),
	};
	const char *why = cgt_skip_reason();

	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "skip: needs 2 CPUs (the workloads are pinned to CPU 1)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
