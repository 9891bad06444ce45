/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration: intrusions on a container's exclusive CPU, and OOM kill events
 * from a memory-limited cgroup. Root, real cgroups, real BPF.
 */
#include "bpf_cgtest.h" /* first: it defines _GNU_SOURCE */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct fixture {
	struct cgt t;
	struct usage *u;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct usage_opts o = {.backend = USAGE_BACKEND_BPF, .hierarchy = cgt_usage_hier()};

	if (!f)
		return -1;
	if (cgt_init(&f->t) < 0 || usage_new(&o, &f->u) != 0) {
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

/* Runs a burner in leaf on cpu for ms; returns owner's and intruder's totals. */
static void intrude(struct fixture *f, const char *leaf, int cpu, unsigned int ms,
		    struct usage_sample *own, struct usage_sample *intr)
{
	pid_t pid;

	memset(own, 0, sizeof(*own));
	memset(intr, 0, sizeof(*intr));
	assert_int_equal(cgt_collect(f->u, "owner", own), 0);
	assert_int_equal(cgt_collect(f->u, "intruder", intr), 0);
	pid = cgt_spawn(&f->t, leaf, cpu, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(ms);
	cgt_reap(&f->t, pid, true);
	assert_int_equal(cgt_collect(f->u, "owner", own), 0);
	assert_int_equal(usage_get(f->u, "intruder", intr), 0);
}

static void test_usage_collect_intrusion_on_exclusive_cpu(void **state)
{
	struct fixture *f = *state;
	struct usage_sample own, intr;
	unsigned int cpu1 = 1;

	add_leaf(f, "owner", "1");
	add_leaf(f, "intruder", "0-1");
	assert_int_equal(usage_set_exclusive(f->u, "owner", &cpu1, 1), 0);
	/* Baselines: two collects so that usage_get() has a sample. */
	assert_int_equal(usage_collect(f->u, cgt_now()), 0);

	intrude(f, "intruder", 1, 500, &own, &intr);
	print_message("intrusion: on CPU 1 %llu ns in %llu ns, intruder ran %llu ns\n",
		      (unsigned long long)own.intrusion_ns, (unsigned long long)own.interval_ns,
		      (unsigned long long)intr.cpu_ns);
	assert_true(own.valid & USAGE_F_INTRUSION);
	assert_true(intr.cpu_ns > 20000000ULL);
	/* All of the intruder's time (it ran only on CPU 1) is intrusion, plus others'. */
	assert_true((double)own.intrusion_ns >= 0.95 * (double)intr.cpu_ns);
	assert_true((double)own.intrusion_ns <= 1.05 * (double)own.interval_ns);

	/*
	 * The owner's own time there is never intrusion. (Other tenants of this
	 * machine may still run on CPU 1, so the bound is owner + intrusion <= wall.)
	 */
	intrude(f, "owner", 1, 500, &own, &intr);
	print_message("intrusion: owner ran %llu ns on CPU 1, intrusion %llu ns in %llu ns\n",
		      (unsigned long long)own.cpu_ns, (unsigned long long)own.intrusion_ns,
		      (unsigned long long)own.interval_ns);
	assert_true(own.cpu_ns > 0); /* may be starved by other tenants; it must run */
	assert_true((double)(own.cpu_ns + own.intrusion_ns) <= 1.05 * (double)own.interval_ns);

	/* Released CPUs stop counting. */
	assert_int_equal(usage_set_exclusive(f->u, "owner", NULL, 0), 0);
	intrude(f, "intruder", 1, 200, &own, &intr);
	assert_true(intr.cpu_ns > 0);
	assert_int_equal(own.intrusion_ns, 0);
}

static void hog_memory(void *arg)
{
	size_t size = 64u << 20;
	char *p = malloc(size);

	(void)arg;
	if (!p)
		_exit(2);
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	_exit(3); /* not reached under a 16M limit */
}

static void test_usage_collect_oom_kill_event(void **state)
{
	struct fixture *f = *state;
	struct usage_sample s;
	int status;
	pid_t pid;

	add_leaf(f, "oom", "0-1");
	assert_int_equal(cgt_set_mem_limit(&f->t, "oom", "16M"), 0);
	assert_int_equal(usage_collect(f->u, cgt_now()), 0);
	pid = cgt_spawn(&f->t, "oom", -1, hog_memory, NULL);
	assert_true(pid > 0);
	status = cgt_reap(&f->t, pid, false);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(usage_collect(f->u, cgt_now()), 0);
	assert_int_equal(usage_get(f->u, "oom", &s), 0);
	assert_true(s.valid & USAGE_F_OOM);
	print_message("oom: %llu kill(s) seen\n", (unsigned long long)s.oom_kills);
	assert_int_equal(s.oom_kills, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_collect_intrusion_on_exclusive_cpu,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_oom_kill_event, setup, teardown),
	};
	const char *why = cgt_skip_reason();

	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "skip: needs 2 CPUs (CPU 1 is made exclusive)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
