/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for bpf/usageprog.c: loads the real skeleton (root + BTF needed;
 * exit 77 otherwise) and checks the map plumbing. The tp_btf programs cannot be
 * driven with BPF_PROG_TEST_RUN (the kernel only supports test runs of fentry/
 * fexit/fmod_ret among tracing programs); test_usageprog_test_run_unsupported
 * pins that down so we notice if it changes. Their behaviour is covered by
 * tests/integration/test_bpf_*.c on real cgroups.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/btf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>

#include "bpf/usageprog.h"

_Static_assert(sizeof(struct usage_slot_stats) % 8 == 0, "per-CPU values are 8-byte padded");
_Static_assert(sizeof(struct usage_oom_event) == 32, "ring buffer record layout");

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int load(void **state)
{
	struct usageprog_opts o = {.cgroup_mode = USAGE_CGROUP_V2, .no_attach = true};
	struct usageprog *p = NULL;
	int r = usageprog_open(&o, &p);

	if (r < 0) {
		fprintf(stderr, "usageprog_open: %s\n", strerror(-r));
		return -1;
	}
	*state = p;
	return 0;
}

static int unload(void **state)
{
	usageprog_free(*state);
	return 0;
}

static void test_usageprog_open_bad_mode(void **state)
{
	struct usageprog_opts o = {.cgroup_mode = 7};
	struct usageprog *p = (struct usageprog *)0x1;

	(void)state;
	assert_int_equal(usageprog_open(&o, &p), -EINVAL);
	assert_ptr_equal(p, (struct usageprog *)0x1);
	o.cgroup_mode = USAGE_CGROUP_V1;
	o.rq_source = 9;
	assert_int_equal(usageprog_open(&o, &p), -EINVAL);
	assert_ptr_equal(p, (struct usageprog *)0x1);
	assert_int_equal(usageprog_open(NULL, NULL), -EINVAL);
	usageprog_free(NULL);
}

static void test_usageprog_test_run_unsupported(void **state)
{
	struct usageprog *p = *state;
	__u64 args[5] = {0}, before[USAGE_CNT_NR], after[USAGE_CNT_NR];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));

	assert_int_equal(usageprog_read_counters(p, before), 0);
	/* Linux 6.18 answers -EFAULT, older kernels -ENOTSUPP: either way it must not run. */
	assert_true(bpf_prog_test_run_opts(usageprog_prog_fd(p, 0), &opts) < 0);
	assert_int_equal(usageprog_read_counters(p, after), 0);
	assert_int_equal(after[USAGE_CNT_SWITCH], before[USAGE_CNT_SWITCH]);
}

static void test_usageprog_slot_set_zeroes_and_clear(void **state)
{
	struct usageprog *p = *state;
	struct usage_slot_stats s;

	assert_int_equal(usageprog_slot_set(p, 123456, 5), 0);
	assert_int_equal(usageprog_read_slot(p, 5, &s), 0);
	assert_int_equal(s.cpu_ns, 0);
	assert_int_equal(s.rq_count, 0);
	assert_int_equal(usageprog_slot_clear(p, 123456), 0);
	assert_int_equal(usageprog_slot_clear(p, 123456), -ENOENT);
	assert_int_equal(usageprog_slot_set(p, 1, 0), -EINVAL); /* slot 0 is "other" */
	assert_int_equal(usageprog_slot_set(p, 1, USAGE_MAX_SLOTS), -EINVAL);
	assert_int_equal(usageprog_read_slot(p, USAGE_MAX_SLOTS, &s), -EINVAL);
}

static void test_usageprog_owner_set_bounds(void **state)
{
	struct usageprog *p = *state;
	unsigned int n = (unsigned int)usageprog_nr_cpus(p);

	assert_true(n >= 1);
	assert_int_equal(usageprog_owner_set(p, 0, 3), 0);
	assert_int_equal(usageprog_owner_set(p, 0, 0), 0);
	assert_int_equal(usageprog_owner_set(p, n, 1), -EINVAL);
	assert_int_equal(usageprog_owner_set(p, 0, USAGE_MAX_SLOTS), -EINVAL);
}

static void test_usageprog_fresh_state(void **state)
{
	struct usageprog *p = *state;
	struct usage_exit_info e;
	__u64 c[USAGE_CNT_NR];
	__u64 intr = 1;

	assert_int_equal(usageprog_read_exit(p, &e), 0);
	assert_int_equal(e.reason, USAGE_EXIT_NONE);
	assert_int_equal(usageprog_read_counters(p, c), 0);
	assert_int_equal(c[USAGE_CNT_SWITCH], 0); /* loaded, not attached */
	assert_int_equal(usageprog_read_intrusion(p, 0, &intr), 0);
	assert_int_equal(intr, 0);
	assert_int_equal(usageprog_oom_poll(p, NULL, NULL), 0);
	assert_int_equal(usageprog_prog_fd(p, 4), -EINVAL);
	/* The default (schedstat) source does not even load the wakeup hooks. */
	assert_int_equal(usageprog_prog_fd(p, 1), -ENOENT);
	assert_int_equal(usageprog_prog_fd(p, 2), -ENOENT);
	assert_true(usageprog_prog_fd(p, 0) >= 0);
}

/* Attaching makes the switch handler run; detaching stops it. */
static void test_usageprog_attach_detach_counts(void **state)
{
	struct usageprog *p = *state;
	__u64 a[USAGE_CNT_NR], b[USAGE_CNT_NR], c[USAGE_CNT_NR];

	assert_int_equal(usageprog_attach(p), 0);
	assert_int_equal(usageprog_read_counters(p, a), 0);
	for (int i = 0; i < 20; i++)
		usleep(1000); /* each sleep is at least two context switches */
	assert_int_equal(usageprog_read_counters(p, b), 0);
	assert_true(b[USAGE_CNT_SWITCH] >= a[USAGE_CNT_SWITCH] + 20);
	usageprog_detach(p);
	assert_int_equal(usageprog_read_counters(p, b), 0);
	for (int i = 0; i < 20; i++)
		usleep(1000);
	assert_int_equal(usageprog_read_counters(p, c), 0);
	assert_int_equal(c[USAGE_CNT_SWITCH], b[USAGE_CNT_SWITCH]);
}

/* Run statistics count while this object holds them on; the flag follows. */
static void test_usageprog_stats_enable_toggles(void **state)
{
	struct usageprog *p = *state;
	struct usageprog_stats s0, s1, s2;

	assert_int_equal(usageprog_attach(p), 0);
	assert_int_equal(usageprog_stats_enable(p, true), 0);
	assert_int_equal(usageprog_stats_enable(p, true), 0); /* idempotent */
	assert_int_equal(usageprog_read_stats(p, &s0), 0);
	for (int i = 0; i < 20; i++)
		usleep(1000);
	assert_int_equal(usageprog_read_stats(p, &s1), 0);
	assert_true(s1.enabled);
	assert_true(s1.run_cnt >= s0.run_cnt + 20);
	assert_true(s1.run_time_ns > s0.run_time_ns);
	assert_int_equal(usageprog_stats_enable(p, false), 0);
	assert_int_equal(usageprog_stats_enable(p, false), 0);
	assert_int_equal(usageprog_read_stats(p, &s2), 0);
	assert_false(s2.enabled);
	/*
	 * Whether the counters then stand still cannot be asserted: the switch is
	 * host-wide and reference-counted, and any other process may hold it (the
	 * sysctl shows only its own setting, not the fd holders).
	 */
	usageprog_detach(p);
	assert_int_equal(usageprog_stats_enable(p, true), 0); /* as load() left it */
}

/* The name of the program the kernel holds as the switch handler (index 0). */
static void loaded_switch_name(struct usageprog *p, char *buf, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(usageprog_prog_fd(p, 0), &info, &ilen), 0);
	snprintf(buf, len, "%s", info.name);
}

/*
 * The default configuration loads the program with its configuration compiled
 * in, per cgroup mode; each option that leaves the default loads the generic
 * one, and the kernel holds exactly the one chosen.
 */
static void test_usageprog_switch_variant(void **state)
{
	struct usageprog_opts dflt = {.cgroup_mode = USAGE_CGROUP_V1, .no_attach = true};
	struct usageprog_opts o[] = {dflt, dflt, dflt, dflt, dflt, dflt};
	enum usageprog_switch want[] = {USAGEPROG_SWITCH_V1,  USAGEPROG_SWITCH_V2,
					USAGEPROG_SWITCH_ANY, USAGEPROG_SWITCH_ANY,
					USAGEPROG_SWITCH_ANY, USAGEPROG_SWITCH_ANY};
	char name[BPF_OBJ_NAME_LEN];

	(void)state;
	o[1].cgroup_mode = USAGE_CGROUP_V2;
	o[2].rq_source = USAGE_RQ_WAKEUP;
	o[3].no_rq_latency = true;
	o[4].no_preemption = true;
	o[5].blind_tgid = 1;
	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
		struct usageprog *p = NULL;

		assert_int_equal(usageprog_switch_for(&o[i]), want[i]);
		assert_int_equal(usageprog_open(&o[i], &p), 0);
		assert_int_equal(usageprog_switch_loaded(p), want[i]);
		loaded_switch_name(p, name, sizeof(name));
		assert_string_equal(name, usageprog_switch_name(want[i]));
		usageprog_free(p);
	}
	o[0].rq_source = USAGE_RQ_SCHEDSTAT_TASK;
	assert_int_equal(usageprog_switch_for(&o[0]), USAGEPROG_SWITCH_ANY);
	assert_string_equal(usageprog_switch_name(USAGEPROG_SWITCH_ANY), "tg_sched_switch");
	assert_null(usageprog_switch_name((enum usageprog_switch)3));
}

/* floor(log2(ns / 1000)) the slow way, capped as the histogram is. */
static __u32 ref_wait_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = 0;

	while (us >>= 1)
		b++;
	return b < USAGE_HIST_BUCKETS ? b : USAGE_HIST_BUCKETS - 1;
}

/* The division-free bucket of the switch handler agrees with the definition. */
static void test_usage_wait_bucket(void **state)
{
	__u64 x = 88172645463325252ULL;

	(void)state;
	for (__u64 ns = 0; ns < 300000; ns++)
		assert_int_equal(usage_wait_bucket(ns), ref_wait_bucket(ns));
	for (unsigned int k = 0; k < 64; k++) {
		__u64 p = 1ULL << k;

		for (__u64 d = 0; d < 3; d++) {
			assert_int_equal(usage_wait_bucket(p - d), ref_wait_bucket(p - d));
			assert_int_equal(usage_wait_bucket(p + d), ref_wait_bucket(p + d));
		}
		if (k < 54) { /* 1000 << k still fits */
			__u64 t = 1000ULL << k;

			assert_int_equal(usage_wait_bucket(t - 1), ref_wait_bucket(t - 1));
			assert_int_equal(usage_wait_bucket(t), ref_wait_bucket(t));
		}
	}
	for (int i = 0; i < 1000000; i++) { /* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		assert_int_equal(usage_wait_bucket(x >> (i % 64)), ref_wait_bucket(x >> (i % 64)));
	}
	assert_int_equal(usage_wait_bucket(1999), 0);
	assert_int_equal(usage_wait_bucket(2000), 1);
	assert_int_equal(usage_wait_bucket(3999), 1);
	assert_int_equal(usage_wait_bucket(4000), 2);
	assert_int_equal(usage_wait_bucket(~0ULL), USAGE_HIST_BUCKETS - 1);
}

/* A raw BTF file with no types whose string section is strs (len bytes). */
static int fake_btf(const char *strs, size_t len, __u16 magic)
{
	struct btf_header h = {.magic = magic,
			       .version = 1,
			       .hdr_len = sizeof(h),
			       .type_off = 0,
			       .type_len = 0,
			       .str_off = 0,
			       .str_len = (__u32)len};
	int fd = memfd_create("btf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	assert_int_equal(write(fd, strs, len), (ssize_t)len);
	return fd;
}

/* A name straddling the 32 KiB read boundary is found; a suffix of a name is not. */
static void test_usageprog_btf_has_string_straddle(void **state)
{
	static const char name[] = "btf_trace_mark_victim";
	size_t len = 100000, at = 32 * 1024 - 7;
	char *strs = calloc(1, len);
	int fd;

	(void)state;
	assert_non_null(strs);
	memset(strs + 1, 'x', len - 2); /* one long string: no whole name but ours */
	strs[at - 1] = '\0';
	memcpy(strs + at, name, sizeof(name));
	memcpy(strs + 70000, "xtrace_mark_victim", sizeof("xtrace_mark_victim"));
	fd = fake_btf(strs, len, BTF_MAGIC);
	assert_int_equal(usageprog_btf_has_string(fd, name), 1);
	assert_int_equal(usageprog_btf_has_string(fd, "trace_mark_victim"), 0);
	assert_int_equal(usageprog_btf_has_string(fd, "btf_trace_mark"), 0);
	assert_int_equal(usageprog_btf_has_string(fd, ""), -EINVAL);
	close(fd);
	fd = fake_btf(strs, len, 0x1234);
	assert_int_equal(usageprog_btf_has_string(fd, name), -EBADMSG);
	close(fd);
	free(strs);
}

/* On the kernel's BTF, the scan agrees with libbpf's full parse. */
static void test_usageprog_btf_has_string_kernel(void **state)
{
	static const char *const names[] = {"btf_trace_mark_victim", "btf_trace_sched_switch",
					    "task_struct", "topoguard_no_such_type"};
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(vmlinux);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool parsed = btf__find_by_name(vmlinux, names[i]) > 0;

		assert_int_equal(usageprog_btf_has_string(fd, names[i]), parsed);
	}
	assert_int_equal(usageprog_btf_has_string(fd, "task_struct"), 1);
	btf__free(vmlinux);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usageprog_open_bad_mode),
		cmocka_unit_test(test_usageprog_test_run_unsupported),
		cmocka_unit_test(test_usageprog_slot_set_zeroes_and_clear),
		cmocka_unit_test(test_usageprog_owner_set_bounds),
		cmocka_unit_test(test_usageprog_fresh_state),
		cmocka_unit_test(test_usageprog_attach_detach_counts),
		cmocka_unit_test(test_usageprog_stats_enable_toggles),
		cmocka_unit_test(test_usageprog_btf_has_string_straddle),
		cmocka_unit_test(test_usageprog_btf_has_string_kernel),
		cmocka_unit_test(test_usageprog_switch_variant),
		cmocka_unit_test(test_usage_wait_bucket),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "skip: needs root to load BPF programs\n");
		return 77;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "skip: no kernel BTF (/sys/kernel/btf/vmlinux)\n");
		return 77;
	}
	libbpf_set_print(silent);
	return cmocka_run_group_tests(tests, load, unload);
}
