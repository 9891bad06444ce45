/* SPDX-License-Identifier: Apache-2.0 */
/* Loader for usage.bpf.c; see usageprog.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/btf.h>
#include <bpf/libbpf.h>

#include "bpf/usageprog.h"
#include "usage.skel.h"

#define USAGEPROG_NR_PROGS 4
#define USAGEPROG_MAX_FDS  48 /* maps and programs the loader child hands over */

struct usageprog {
	struct usage_bpf *skel;
	struct ring_buffer *oom_rb;
	int nr_cpus;
	int stats_fd; /* keeps BPF_STATS_RUN_TIME on while open; -1 if off */
	bool have_oom;
	bool have_wakeup; /* rq_source == USAGE_RQ_WAKEUP */
	bool attached;
	enum usageprog_switch switch_prog; /* the one switch program loaded */
	int prog_fd[USAGEPROG_NR_PROGS];   /* from the loader child; -1: not loaded */
	int link_fd[USAGEPROG_NR_PROGS];   /* while attached; -1 otherwise */
	void *percpu_buf;		   /* nr_cpus * sizeof(struct usage_slot_stats) */
	usageprog_oom_fn oom_fn;
	void *oom_userdata;
};

static const char *const usageprog_switch_names[] = {
	[USAGEPROG_SWITCH_ANY] = "tg_sched_switch",
	[USAGEPROG_SWITCH_V2] = "tg_switch_v2",
	[USAGEPROG_SWITCH_V1] = "tg_switch_v1",
};

enum usageprog_switch usageprog_switch_for(const struct usageprog_opts *o)
{
	if (o->no_rq_latency || o->rq_source != USAGE_RQ_SCHEDSTAT || o->no_preemption ||
	    o->blind_tgid)
		return USAGEPROG_SWITCH_ANY;
	return o->cgroup_mode == USAGE_CGROUP_V1 ? USAGEPROG_SWITCH_V1 : USAGEPROG_SWITCH_V2;
}

const char *usageprog_switch_name(enum usageprog_switch which)
{
	return which <= USAGEPROG_SWITCH_V1 ? usageprog_switch_names[which] : NULL;
}

static struct bpf_program *usageprog_switch_prog(const struct usageprog *p,
						 enum usageprog_switch which)
{
	switch (which) {
	case USAGEPROG_SWITCH_V2:
		return p->skel->progs.tg_switch_v2;
	case USAGEPROG_SWITCH_V1:
		return p->skel->progs.tg_switch_v1;
	default:
		return p->skel->progs.tg_sched_switch;
	}
}

static struct bpf_program *usageprog_prog(const struct usageprog *p, unsigned int idx)
{
	struct bpf_program *progs[USAGEPROG_NR_PROGS] = {
		usageprog_switch_prog(p, p->switch_prog),
		p->skel->progs.tg_sched_wakeup,
		p->skel->progs.tg_wakeup_new,
		p->skel->progs.tg_mark_victim,
	};

	return idx < USAGEPROG_NR_PROGS ? progs[idx] : NULL;
}

/* The string section of the BTF in fd: *ret_off (from the file start) and *ret_len. */
static int usageprog_btf_strings(int fd, off_t *ret_off, size_t *ret_len)
{
	struct btf_header h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);

	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h) || h.magic != BTF_MAGIC || h.hdr_len < sizeof(h))
		return -EBADMSG;
	*ret_off = (off_t)h.hdr_len + h.str_off;
	*ret_len = h.str_len;
	return 0;
}

int usageprog_btf_has_string(int fd, const char *name)
{
	enum { CHUNK = 32 * 1024 };
	char buf[CHUNK + 1 + USAGEPROG_BTF_NAME_MAX + 1], needle[USAGEPROG_BTF_NAME_MAX + 2];
	size_t nlen = strlen(name), keep = 0, left = 0;
	off_t off;
	int r;

	if (nlen == 0 || nlen > USAGEPROG_BTF_NAME_MAX)
		return -EINVAL;
	if ((r = usageprog_btf_strings(fd, &off, &left)) < 0)
		return r;
	needle[0] = '\0'; /* strings are NUL-separated; the section starts with "" */
	memcpy(needle + 1, name, nlen + 1);
	while (left > 0) {
		size_t want = left < CHUNK ? left : CHUNK;
		ssize_t n = pread(fd, buf + keep, want, off);
		size_t have;

		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;
		have = keep + (size_t)n;
		if (memmem(buf, have, needle, nlen + 2))
			return 1;
		off += n;
		left -= (size_t)n;
		/* A match may straddle two reads: carry the tail over. */
		keep = have < nlen + 1 ? have : nlen + 1;
		memmove(buf, buf + have - keep, keep);
	}
	return 0;
}

/*
 * mark_victim is not in every kernel's BTF; OOM events are optional. Its typedef's
 * name in the string section tells, without parsing the kernel's BTF into memory a
 * second time (libbpf parses it once more at load: two parses set the daemon's peak
 * RSS, issue #17). A name without its typedef at worst fails the load of that one
 * program, which usage.c reports.
 */
static bool usageprog_kernel_has(const char *btf_typedef)
{
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return false;
	r = usageprog_btf_has_string(fd, btf_typedef);
	close(fd);
	return r > 0;
}

static int usageprog_oom_cb(void *ctx, void *data, size_t size)
{
	struct usageprog *p = ctx;

	if (size >= sizeof(struct usage_oom_event) && p->oom_fn)
		p->oom_fn(data, p->oom_userdata);
	return 0;
}

/* Open, configure and load the skeleton in this process (the loader child). */
static int usageprog_build(const struct usageprog_opts *opts, bool have_oom, struct usage_bpf **ret)
{
	struct usage_bpf *skel = usage_bpf__open();
	bool wakeup = opts->rq_source == USAGE_RQ_WAKEUP && !opts->no_rq_latency;
	enum usageprog_switch sw = usageprog_switch_for(opts);
	int r;

	if (!skel)
		return -errno;
	skel->rodata->cfg_cgroup_mode = opts->cgroup_mode;
	skel->rodata->cfg_blind_tgid = opts->blind_tgid;
	skel->rodata->cfg_track_rq_latency = !opts->no_rq_latency;
	skel->rodata->cfg_track_preemption = !opts->no_preemption;
	skel->rodata->cfg_rq_source = opts->rq_source;
	skel->rodata->cfg_tick_pin = !opts->no_tick_pin;
	bpf_program__set_autoload(skel->progs.tg_sched_switch, sw == USAGEPROG_SWITCH_ANY);
	bpf_program__set_autoload(skel->progs.tg_switch_v2, sw == USAGEPROG_SWITCH_V2);
	bpf_program__set_autoload(skel->progs.tg_switch_v1, sw == USAGEPROG_SWITCH_V1);
	/* The default source needs no wakeup hooks: do not even load them. */
	bpf_program__set_autoload(skel->progs.tg_sched_wakeup, wakeup);
	bpf_program__set_autoload(skel->progs.tg_wakeup_new, wakeup);
	bpf_program__set_autoload(skel->progs.tg_mark_victim, have_oom);
	r = usage_bpf__load(skel);
	if (r < 0) {
		usage_bpf__destroy(skel);
		return r;
	}
	*ret = skel;
	return 0;
}

struct usageprog_msg {
	int err;
	unsigned int n_maps;
	bool loaded[USAGEPROG_NR_PROGS];
};

/*
 * The loader child: builds the skeleton and hands its maps' and programs' fds to the
 * parent over sock. Its memory (libbpf's two copies of the kernel's BTF, ~11 MiB)
 * goes with it; the daemon's peak RSS is not set by it (issue #17).
 */
static void usageprog_child(int sock, const struct usageprog_opts *opts, bool have_oom)
{
	int fds[USAGEPROG_MAX_FDS];
	char cbuf[CMSG_SPACE(sizeof(fds))] = {0};
	struct usageprog_msg m = {0};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct usageprog tmp = {.switch_prog = usageprog_switch_for(opts)};
	struct bpf_map *map;
	struct cmsghdr *cm;
	size_t n = 0;
	int rc;

	libbpf_set_print(NULL); /* the parent's log may be locked by a thread that is not here */
	m.err = usageprog_build(opts, have_oom, &tmp.skel);
	if (m.err == 0) {
		bpf_object__for_each_map(map, tmp.skel->obj) if (n < USAGEPROG_MAX_FDS -
									     USAGEPROG_NR_PROGS)
			fds[n++] = bpf_map__fd(map);
		m.n_maps = (unsigned int)n;
		for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++) {
			int fd = bpf_program__fd(usageprog_prog(&tmp, i));

			m.loaded[i] = fd >= 0;
			if (fd >= 0)
				fds[n++] = fd;
		}
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	}
	rc = sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? 1 : 0;
	/*
	 * The fds in flight hold the kernel objects for the parent. Free the skeleton
	 * before leaving: under valgrind the child's exit is leak-checked too, and
	 * whether a dead frame still pointed at it depended on the compiler.
	 */
	usage_bpf__destroy(tmp.skel);
	_exit(rc);
}

/* The child's answer: its message and the fds (*ret_n of them, owned by the caller). */
static int usageprog_receive(int sock, struct usageprog_msg *m, int *fds, size_t *ret_n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * USAGEPROG_MAX_FDS)];
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	struct cmsghdr *cm = got > 0 ? CMSG_FIRSTHDR(&mh) : NULL;

	*ret_n = 0;
	if (got < 0)
		return -errno;
	if ((size_t)got != sizeof(*m))
		return -EPROTO; /* the child died before answering */
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		*ret_n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), *ret_n * sizeof(int));
	}
	return m->err;
}

/* Map the kernel's .bss over the skeleton's copy, as a load would have. */
static int usageprog_map_bss(struct usageprog *p)
{
	size_t sz, page = (size_t)sysconf(_SC_PAGESIZE);
	void *at = (void *)bpf_map__initial_value(p->skel->maps.bss, &sz);
	size_t len = (((sz + 7) / 8 * 8) + page - 1) / page * page;

	if (!at)
		return -EINVAL;
	if (mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 bpf_map__fd(p->skel->maps.bss), 0) == MAP_FAILED)
		return -errno;
	return 0;
}

/* The parent's skeleton: opened, not loaded; maps and programs are the child's. */
static int usageprog_adopt(struct usageprog *p, const struct usageprog_msg *m, const int *fds,
			   size_t n)
{
	struct bpf_map *map;
	size_t i = 0, k = m->n_maps;
	int r = 0;

	p->skel = usage_bpf__open();
	if (!p->skel)
		return -errno;
	bpf_object__for_each_map(map, p->skel->obj) if (r == 0) r =
		i < m->n_maps ? bpf_map__reuse_fd(map, fds[i++]) : -EPROTO;
	for (unsigned int j = 0; r == 0 && j < USAGEPROG_NR_PROGS; j++)
		if (m->loaded[j])
			p->prog_fd[j] = k < n ? fcntl(fds[k++], F_DUPFD_CLOEXEC, 3) : -1;
	if (r == 0 && i != m->n_maps)
		r = -EPROTO;
	return r < 0 ? r : usageprog_map_bss(p);
}

static int usageprog_load_child(struct usageprog *p, const struct usageprog_opts *opts)
{
	int sv[2], fds[USAGEPROG_MAX_FDS], r, status;
	struct usageprog_msg m = {0};
	size_t n = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		usageprog_child(sv[1], opts, p->have_oom);
	}
	close(sv[1]);
	r = pid < 0 ? -errno : usageprog_receive(sv[0], &m, fds, &n);
	close(sv[0]);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (r == 0)
		r = usageprog_adopt(p, &m, fds, n);
	for (size_t i = 0; i < n; i++)
		close(fds[i]); /* reuse_fd and F_DUPFD_CLOEXEC took copies */
	return r;
}

static int usageprog_load(struct usageprog *p, const struct usageprog_opts *opts)
{
	int r;

	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0)
		return -errno; /* no BTF: CO-RE and tp_btf cannot work */
	p->have_wakeup = opts->rq_source == USAGE_RQ_WAKEUP && !opts->no_rq_latency;
	p->switch_prog = usageprog_switch_for(opts);
	p->have_oom = usageprog_kernel_has("btf_trace_mark_victim");
	r = usageprog_load_child(p, opts);
	if (r < 0)
		return r;
	p->oom_rb =
		ring_buffer__new(bpf_map__fd(p->skel->maps.oom_events), usageprog_oom_cb, p, NULL);
	if (!p->oom_rb)
		return -errno;
	return 0;
}

int usageprog_open(const struct usageprog_opts *opts, struct usageprog **ret)
{
	struct usageprog_opts defaults = {0};
	struct usageprog *p;
	int r;

	if (!ret)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->cgroup_mode != USAGE_CGROUP_V1 && opts->cgroup_mode != USAGE_CGROUP_V2)
		return -EINVAL;
	if (opts->rq_source != USAGE_RQ_SCHEDSTAT && opts->rq_source != USAGE_RQ_WAKEUP &&
	    opts->rq_source != USAGE_RQ_SCHEDSTAT_TASK)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->stats_fd = -1;
	for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++)
		p->prog_fd[i] = p->link_fd[i] = -1;
	p->nr_cpus = libbpf_num_possible_cpus();
	if (p->nr_cpus <= 0 || p->nr_cpus > USAGE_MAX_CPUS) {
		r = p->nr_cpus < 0 ? p->nr_cpus : -ERANGE;
		goto fail;
	}
	p->percpu_buf = calloc((size_t)p->nr_cpus, sizeof(struct usage_slot_stats));
	if (!p->percpu_buf) {
		r = -ENOMEM;
		goto fail;
	}
	r = usageprog_load(p, opts);
	if (r < 0)
		goto fail;
	if (!opts->no_stats)
		usageprog_stats_enable(p, true); /* failure: stats reported unavailable */
	if (!opts->no_attach) {
		r = usageprog_attach(p);
		if (r < 0)
			goto fail;
	}
	*ret = p;
	return 0;
fail:
	usageprog_free(p);
	return r;
}

void usageprog_free(struct usageprog *p)
{
	if (!p)
		return;
	ring_buffer__free(p->oom_rb);
	usageprog_detach(p);
	for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++)
		if (p->prog_fd[i] >= 0)
			close(p->prog_fd[i]);
	usage_bpf__destroy(p->skel);
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	free(p->percpu_buf);
	free(p);
}

int usageprog_attach(struct usageprog *p)
{
	int r;

	if (p->attached)
		return 0;
	/* Runs that began while detached were not seen switching in: not from a stash. */
	__atomic_add_fetch(&p->skel->bss->attach_gen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&p->skel->bss->ticks_off, 0, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++) {
		if (p->prog_fd[i] < 0)
			continue;
		/* tp_btf: the kernel knows the hook from the program's attach_btf_id */
		r = bpf_raw_tracepoint_open(NULL, p->prog_fd[i]);
		if (r < 0) {
			r = -errno;
			p->attached = true; /* so that detach closes what is open */
			usageprog_detach(p);
			return r;
		}
		p->link_fd[i] = r;
	}
	p->attached = true;
	return 0;
}

void usageprog_detach(struct usageprog *p)
{
	if (!p->attached)
		return;
	for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++) {
		if (p->link_fd[i] >= 0)
			close(p->link_fd[i]);
		p->link_fd[i] = -1;
	}
	/* The per-CPU progress timers see this at their next tick and stop. */
	__atomic_store_n(&p->skel->bss->ticks_off, 1, __ATOMIC_RELEASE);
	p->attached = false;
}

static int usageprog_zero_slot(struct usageprog *p, __u32 slot)
{
	size_t sz = (size_t)p->nr_cpus * sizeof(struct usage_slot_stats);

	memset(p->percpu_buf, 0, sz);
	return bpf_map__update_elem(p->skel->maps.slot_stats, &slot, sizeof(slot), p->percpu_buf,
				    sz, BPF_ANY);
}

/* Tasks cache their slot; a new generation makes them look it up again. */
static void usageprog_bump_gen(struct usageprog *p)
{
	__atomic_add_fetch(&p->skel->bss->slots_gen, 1, __ATOMIC_RELEASE);
}

/* Drops every preemption pair involving slot (a slot being reused). */
static int usageprog_pairs_forget(struct usageprog *p, __u32 slot)
{
	struct usage_pair key, next;
	bool have_key = false;

	while (bpf_map__get_next_key(p->skel->maps.preempt_pairs, have_key ? &key : NULL, &next,
				     sizeof(next)) == 0) {
		if (next.from == slot || next.to == slot) {
			bpf_map__delete_elem(p->skel->maps.preempt_pairs, &next, sizeof(next), 0);
			/* The iteration restarts: deleted keys cannot be continued from. */
			have_key = false;
			continue;
		}
		key = next;
		have_key = true;
	}
	return 0;
}

int usageprog_slot_set(struct usageprog *p, __u64 cgroup_id, __u32 slot)
{
	int r;

	if (slot == 0 || slot >= USAGE_MAX_SLOTS)
		return -EINVAL;
	/* Zero first, so the new owner never sees the previous owner's counts. */
	r = usageprog_zero_slot(p, slot);
	if (r < 0)
		return r;
	usageprog_pairs_forget(p, slot);
	r = bpf_map__update_elem(p->skel->maps.cgroup_slots, &cgroup_id, sizeof(cgroup_id), &slot,
				 sizeof(slot), BPF_ANY);
	if (r == 0)
		usageprog_bump_gen(p);
	return r;
}

int usageprog_slot_clear(struct usageprog *p, __u64 cgroup_id)
{
	int r = bpf_map__delete_elem(p->skel->maps.cgroup_slots, &cgroup_id, sizeof(cgroup_id), 0);

	if (r == 0)
		usageprog_bump_gen(p);
	return r;
}

int usageprog_owner_set(struct usageprog *p, unsigned int cpu, __u32 slot)
{
	if (cpu >= (unsigned int)p->nr_cpus || slot >= USAGE_MAX_SLOTS)
		return -EINVAL;
	return bpf_map__update_elem(p->skel->maps.cpu_owner, &cpu, sizeof(cpu), &slot, sizeof(slot),
				    BPF_ANY);
}

static void usageprog_add_stats(struct usage_slot_stats *sum, const struct usage_slot_stats *s)
{
	sum->cpu_ns += s->cpu_ns;
	sum->preempt_received += s->preempt_received;
	sum->preempt_inflicted += s->preempt_inflicted;
	sum->rq_count += s->rq_count;
	sum->rq_sum_ns += s->rq_sum_ns;
	for (int b = 0; b < USAGE_HIST_BUCKETS; b++)
		sum->rq_hist[b] += s->rq_hist[b];
}

int usageprog_read_slot(struct usageprog *p, __u32 slot, struct usage_slot_stats *ret)
{
	size_t sz = (size_t)p->nr_cpus * sizeof(struct usage_slot_stats);
	const struct usage_slot_stats *v = p->percpu_buf;
	struct usage_slot_stats sum = {0};
	int r;

	if (slot >= USAGE_MAX_SLOTS)
		return -EINVAL;
	r = bpf_map__lookup_elem(p->skel->maps.slot_stats, &slot, sizeof(slot), p->percpu_buf, sz,
				 0);
	if (r < 0)
		return r;
	for (int c = 0; c < p->nr_cpus; c++)
		usageprog_add_stats(&sum, &v[c]);
	*ret = sum;
	return 0;
}

int usageprog_read_intrusion(struct usageprog *p, unsigned int cpu, __u64 *ret_ns)
{
	if (cpu >= (unsigned int)p->nr_cpus)
		return -EINVAL;
	return bpf_map__lookup_elem(p->skel->maps.cpu_intrusion_ns, &cpu, sizeof(cpu), ret_ns,
				    sizeof(*ret_ns), 0);
}

/* Switches seen on all CPUs: the first __u64 of each CPU's cpu_run value. */
static int usageprog_read_switches(struct usageprog *p, __u64 *ret)
{
	size_t vsz = (bpf_map__value_size(p->skel->maps.cpu_run) + 7) / 8 * 8;
	size_t sz = (size_t)p->nr_cpus * vsz;
	__u32 zero = 0;
	char *v = malloc(sz);
	int r;

	if (!v)
		return -ENOMEM;
	r = bpf_map__lookup_elem(p->skel->maps.cpu_run, &zero, sizeof(zero), v, sz, 0);
	for (int c = 0; r == 0 && c < p->nr_cpus; c++) {
		__u64 n;

		memcpy(&n, v + (size_t)c * vsz, sizeof(n));
		*ret += n;
	}
	free(v);
	return r;
}

int usageprog_read_counters(struct usageprog *p, __u64 ret[USAGE_CNT_NR])
{
	__u64 *v = p->percpu_buf; /* USAGE_CNT_NR u64 per CPU fits easily */
	size_t sz = (size_t)p->nr_cpus * sizeof(__u64);
	int r;

	for (__u32 i = 0; i < USAGE_CNT_NR; i++) {
		r = bpf_map__lookup_elem(p->skel->maps.counters, &i, sizeof(i), v, sz, 0);
		if (r < 0)
			return r;
		ret[i] = 0;
		for (int c = 0; c < p->nr_cpus; c++)
			ret[i] += v[c];
	}
	return usageprog_read_switches(p, &ret[USAGE_CNT_SWITCH]);
}

bool usageprog_tick_unpinned(const struct usageprog *p)
{
	return __atomic_load_n(&p->skel->bss->tick_unpinned, __ATOMIC_RELAXED) != 0;
}

int usageprog_read_exit(struct usageprog *p, struct usage_exit_info *ret)
{
	/* bss is mmap()ed; reason is written last by the BPF side. */
	*ret = p->skel->bss->exit_info;
	return 0;
}

int usageprog_read_stats(struct usageprog *p, struct usageprog_stats *ret)
{
	struct usageprog_stats s = {.enabled = p->stats_fd >= 0};

	for (unsigned int i = 0; i < USAGEPROG_NR_PROGS; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = usageprog_prog_fd(p, i);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			return -errno;
		s.run_cnt += info.run_cnt;
		s.run_time_ns += info.run_time_ns;
	}
	*ret = s;
	return 0;
}

int usageprog_stats_enable(struct usageprog *p, bool on)
{
	int fd;

	if (!on) {
		if (p->stats_fd >= 0)
			close(p->stats_fd);
		p->stats_fd = -1;
		return 0;
	}
	if (p->stats_fd >= 0)
		return 0;
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return fd; /* libbpf 1.x: -errno */
	p->stats_fd = fd;
	return 0;
}

int usageprog_pairs_foreach(struct usageprog *p, usageprog_pair_fn fn, void *userdata)
{
	size_t sz = (size_t)p->nr_cpus * sizeof(__u64);
	struct usage_pair key, next;
	struct usage_pair *prev = NULL;
	__u64 *v = p->percpu_buf;
	int r;

	while (bpf_map__get_next_key(p->skel->maps.preempt_pairs, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		r = bpf_map__lookup_elem(p->skel->maps.preempt_pairs, &key, sizeof(key), v, sz, 0);
		if (r == -ENOENT)
			continue; /* deleted under us */
		if (r < 0)
			return r;
		__u64 total = 0;
		for (int c = 0; c < p->nr_cpus; c++)
			total += v[c];
		fn(key.from, key.to, total, userdata);
	}
	return 0;
}

int usageprog_oom_poll(struct usageprog *p, usageprog_oom_fn fn, void *userdata)
{
	int r;

	p->oom_fn = fn;
	p->oom_userdata = userdata;
	r = ring_buffer__consume(p->oom_rb);
	p->oom_fn = NULL;
	return r;
}

enum usageprog_switch usageprog_switch_loaded(const struct usageprog *p)
{
	return p->switch_prog;
}

int usageprog_nr_cpus(const struct usageprog *p)
{
	return p->nr_cpus;
}

int usageprog_prog_fd(const struct usageprog *p, unsigned int idx)
{
	if (idx >= USAGEPROG_NR_PROGS)
		return -EINVAL;
	return p->prog_fd[idx] >= 0 ? p->prog_fd[idx] : -ENOENT;
}
