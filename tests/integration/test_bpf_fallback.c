/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration: when BPF cannot load (here: CAP_BPF, CAP_PERFMON and
 * CAP_SYS_ADMIN dropped, as in an unprivileged container), usage_new() says so
 * distinctly and the polling fallback still measures CPU through the same API.
 * Starts as root (to have something to drop) and uses real cgroups.
 */
#include "bpf_cgtest.h" /* first: it defines _GNU_SOURCE */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <cmocka.h>
#include <bpf/libbpf.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static struct cgt tree;

static int drop_bpf_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	const int caps[] = {CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF};

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		data[caps[i] / 32].effective &= ~(1u << (caps[i] % 32));
		data[caps[i] / 32].permitted &= ~(1u << (caps[i] % 32));
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void test_usage_new_bpf_unavailable_is_distinct(void **state)
{
	struct usage_opts o = {.backend = USAGE_BACKEND_BPF, .hierarchy = cgt_usage_hier()};
	struct usage *u = (struct usage *)0x1;

	(void)state;
	assert_int_equal(usage_new(&o, &u), USAGE_E_NOBPF);
	assert_ptr_equal(u, (struct usage *)0x1);
}

static void test_usage_new_auto_falls_back_to_polling(void **state)
{
	struct usage_opts o = {.backend = USAGE_BACKEND_AUTO, .hierarchy = cgt_usage_hier()};
	struct usage_sample acc = {0}, s;
	struct usage *u = NULL;
	char rel[128];
	__u64 kernel = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(usage_new(&o, &u), 1);
	assert_int_equal(usage_backend(u), USAGE_BACKEND_POLL);
	print_message("fallback: BPF error %d (%s)\n", usage_bpf_error(u),
		      strerror(-usage_bpf_error(u)));
	assert_true(usage_bpf_error(u) < 0);
	assert_int_equal(cgt_leaf(&tree, "poll", "0-1"), 0);
	cgt_rel(&tree, "poll", rel, sizeof(rel));
	assert_int_equal(usage_register(u, "poll", rel), 0);
	assert_int_equal(cgt_collect(u, "poll", &acc), 0);
	pid = cgt_spawn(&tree, "poll", -1, cgt_burn, NULL);
	assert_true(pid > 0);
	cgt_sleep_ms(300);
	cgt_reap(&tree, pid, true);
	assert_int_equal(cgt_collect(u, "poll", &acc), 0);
	assert_int_equal(usage_get(u, "poll", &s), 0);
	assert_true(s.valid & USAGE_F_CPU);
	assert_true(s.valid & USAGE_F_MEMORY);
	/* Scheduler-event fields are marked unavailable, not zero-and-valid. */
	assert_false(s.valid & (USAGE_F_RQ_LATENCY | USAGE_F_PREEMPT | USAGE_F_INTRUSION));
	assert_int_equal(cgt_cpu_usage_ns(&tree, "poll", &kernel), 0);
	assert_int_equal(acc.cpu_ns, kernel); /* the fallback reads exactly this counter */
	assert_true(kernel > 0);
	usage_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_new_bpf_unavailable_is_distinct),
		cmocka_unit_test(test_usage_new_auto_falls_back_to_polling),
	};
	const char *why = cgt_skip_reason();
	int r;

	if (why) {
		fprintf(stderr, "skip: %s\n", why);
		return 77;
	}
	libbpf_set_print(silent);
	/* Make the tree while still privileged, then drop what BPF needs. */
	if (cgt_init(&tree) < 0) {
		fprintf(stderr, "cannot create test cgroups: %s\n", strerror(errno));
		return 1;
	}
	r = drop_bpf_caps();
	if (r < 0) {
		cgt_cleanup(&tree);
		fprintf(stderr, "skip: cannot drop capabilities: %s\n", strerror(-r));
		return 77;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	cgt_cleanup(&tree);
	return r;
}
