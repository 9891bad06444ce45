/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CreateContainer round trip, runtime -> plugin -> runtime, over a real unix socket:
 * the plugin is the stub with an empty handler on its own thread, the runtime is a bare
 * trunk on the main thread. The baseline, measured in the same run, is a plain
 * write/read ping-pong of the same byte counts (request and reply as they appeared on
 * the wire) over another unix socket between two threads.
 *
 *   usage: nri_roundtrip [iterations]   (default 10000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "plugin/nri/stub.h"
#include "plugin/nri/trunk.h"

#define PB(x)  Nri__Pkg__Api__V1alpha1__##x
#define WARMUP 500

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return (double)v[(size_t)(p * (double)(n - 1))] / 1000.0;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return -1;
	return fd;
}

static int dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* ---- plugin thread ------------------------------------------------------------------- */

static int empty_create(struct nri_stub *s, const NriPodSandbox *pod, const NriContainer *ctr,
			struct nri_reply *reply, void *ud)
{
	(void)s, (void)pod, (void)ctr, (void)reply, (void)ud;
	return 0;
}

static void *plugin_thread(void *arg)
{
	const struct nri_stub_handlers h = {.create_container = empty_create};
	struct nri_stub_options o;
	struct nri_stub *s;

	nri_stub_options_init(&o);
	o.name = "bench";
	o.idx = "99";
	o.socket_path = arg;
	if (nri_stub_new(&h, &o, NULL, &s) < 0)
		return NULL;
	nri_stub_run(s); /* returns when the runtime closes the socket */
	nri_stub_free(s);
	return NULL;
}

/* ---- runtime side ---------------------------------------------------------------------- */

struct rt {
	struct nri_trunk *t;
	bool registered, done;
	int code;
};

static int rt_serve(struct nri_trunk *t, const struct nri_request *req, void *ud)
{
	struct rt *rt = ud;

	rt->registered |= !strcmp(req->method, "RegisterPlugin");
	return nri_trunk_reply(t, req->stream_id, NULL, 0);
}

static void rt_done(struct nri_trunk *t, int code, const char *msg, const uint8_t *p, size_t len,
		    void *ud)
{
	struct rt *rt = ud;

	(void)t, (void)msg, (void)p, (void)len;
	rt->done = true;
	rt->code = code;
}

static int rt_call(struct rt *rt, const char *method, const uint8_t *buf, size_t len)
{
	rt->done = false;
	if (nri_trunk_call(rt->t, "nri.pkg.api.v1alpha1.Plugin", method, buf, len, 2000000000LL,
			   rt_done, rt) < 0)
		return -EIO;
	while (!rt->done) {
		if (nri_trunk_run_once(rt->t, -1) < 0)
			return -ECONNRESET;
	}
	return rt->code;
}

/* A CreateContainerRequest of about the size containerd sends (~3.5 KB, see nri-vectors). */
static uint8_t *make_request(size_t *ret_len)
{
	static char keys[24][32], vals[24][160];
	PB(CreateContainerRequest) m = NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_REQUEST__INIT;
	PB(PodSandbox) pod = NRI__PKG__API__V1ALPHA1__POD_SANDBOX__INIT;
	PB(Container) ctr = NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	PB(Container__AnnotationsEntry) ann[20], *annp[20];
	uint8_t *buf;

	for (int i = 0; i < 20; i++) {
		snprintf(keys[i], sizeof(keys[i]), "io.kubernetes.annotation.%d", i);
		memset(vals[i], 'a' + i % 26, 150);
		ann[i] = (PB(Container__AnnotationsEntry))
			NRI__PKG__API__V1ALPHA1__CONTAINER__ANNOTATIONS_ENTRY__INIT;
		ann[i].key = keys[i];
		ann[i].value = vals[i];
		annp[i] = &ann[i];
	}
	pod.id = (char *)"6a3f0e2b9c1d4e5f6a3f0e2b9c1d4e5f6a3f0e2b9c1d4e5f6a3f0e2b9c1d4e5f";
	pod.name = (char *)"bench-pod";
	pod.namespace_ = (char *)"default";
	ctr.id = (char *)"9b8a7c6d5e4f3a2b9b8a7c6d5e4f3a2b9b8a7c6d5e4f3a2b9b8a7c6d5e4f3a2b";
	ctr.name = (char *)"app";
	ctr.annotations = annp;
	ctr.n_annotations = 20;
	m.pod = &pod;
	m.container = &ctr;
	*ret_len = nri__pkg__api__v1alpha1__create_container_request__get_packed_size(&m);
	buf = malloc(*ret_len);
	if (buf)
		nri__pkg__api__v1alpha1__create_container_request__pack(&m, buf);
	return buf;
}

static int handshake(struct rt *rt)
{
	PB(ConfigureRequest) c = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
	uint8_t buf[128];
	size_t len;

	while (!rt->registered) {
		if (nri_trunk_run_once(rt->t, 5000) < 0)
			return -ECONNRESET;
	}
	c.runtime_name = (char *)"bench";
	c.nri_version = (char *)"v0.12.2";
	len = nri__pkg__api__v1alpha1__configure_request__pack(&c, buf);
	if (rt_call(rt, "Configure", buf, len) != 0 || rt_call(rt, "Synchronize", NULL, 0) != 0)
		return -EPROTO;
	return 0;
}

/* Runs n CreateContainer calls; per-call latencies in lat, wire sizes in *req_b / *resp_b. */
static int measure_nri(const char *path, size_t n, uint64_t *lat, size_t *req_b, size_t *resp_b)
{
	struct nri_trunk_stats a, b;
	struct rt rt = {0};
	pthread_t th;
	size_t len;
	uint8_t *req = make_request(&len);
	int lfd = listen_at(path), fd, r = 0;

	if (!req || lfd < 0 || pthread_create(&th, NULL, plugin_thread, (void *)path) != 0)
		return -EIO;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 ||
	    nri_trunk_new(fd, NRI_CONN_RUNTIME, NRI_CONN_PLUGIN, rt_serve, &rt, &rt.t) < 0)
		return -EIO;
	r = handshake(&rt);
	for (size_t i = 0; r == 0 && i < WARMUP; i++)
		r = rt_call(&rt, "CreateContainer", req, len);
	nri_trunk_get_stats(rt.t, &a);
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint64_t t0 = now_ns();
		r = rt_call(&rt, "CreateContainer", req, len);
		lat[i] = now_ns() - t0;
	}
	nri_trunk_get_stats(rt.t, &b);
	*req_b = (size_t)((b.bytes_out - a.bytes_out) / n);
	*resp_b = (size_t)((b.bytes_in - a.bytes_in) / n);
	nri_trunk_free(rt.t);
	pthread_join(th, NULL);
	close(lfd);
	unlink(path);
	free(req);
	return r;
}

/* ---- raw baseline ---------------------------------------------------------------------- */

struct raw {
	const char *path;
	size_t req_b, resp_b, n;
};

static int io_full(int fd, uint8_t *buf, size_t len, bool wr)
{
	for (size_t off = 0; off < len;) {
		ssize_t k = wr ? write(fd, buf + off, len - off) : read(fd, buf + off, len - off);
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return 0;
}

static void *raw_echo(void *arg)
{
	struct raw *r = arg;
	uint8_t *buf = calloc(1, r->req_b + r->resp_b);
	int fd = buf ? dial(r->path) : -1;

	while (fd >= 0 && io_full(fd, buf, r->req_b, false) == 0 &&
	       io_full(fd, buf, r->resp_b, true) == 0)
		;
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static int measure_raw(struct raw *r, uint64_t *lat)
{
	uint8_t *buf = calloc(1, r->req_b + r->resp_b);
	int lfd = listen_at(r->path), fd, ret = 0;
	pthread_t th;

	if (!buf || lfd < 0 || pthread_create(&th, NULL, raw_echo, r) != 0)
		return -EIO;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	for (size_t i = 0; fd >= 0 && ret == 0 && i < WARMUP + r->n; i++) {
		uint64_t t0 = now_ns();
		ret = io_full(fd, buf, r->req_b, true) | io_full(fd, buf, r->resp_b, false);
		if (i >= WARMUP)
			lat[i - WARMUP] = now_ns() - t0;
	}
	if (fd >= 0)
		close(fd);
	pthread_join(th, NULL);
	close(lfd);
	unlink(r->path);
	free(buf);
	return fd < 0 ? -EIO : ret;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	uint64_t *nri = calloc(n ? n : 1, sizeof(*nri)), *raw = calloc(n ? n : 1, sizeof(*raw));
	char path[108];
	struct raw r = {.path = path, .n = n};
	double p50, p99, r50, r99;

	if (!n || !nri || !raw)
		return 2;
	snprintf(path, sizeof(path), "/tmp/tg-bench-%d.sock", (int)getpid());
	if (measure_nri(path, n, nri, &r.req_b, &r.resp_b) != 0) {
		fprintf(stderr, "nri_roundtrip: NRI round trip failed\n");
		return 1;
	}
	if (measure_raw(&r, raw) != 0) {
		fprintf(stderr, "nri_roundtrip: raw ping-pong failed\n");
		return 1;
	}
	p50 = pct_us(nri, n, 0.50);
	p99 = pct_us(nri, n, 0.99);
	r50 = pct_us(raw, n, 0.50);
	r99 = pct_us(raw, n, 0.99);
	printf("nri_roundtrip: %zu CreateContainer round trips, request %zu B, reply %zu B on the "
	       "wire\n",
	       n, r.req_b, r.resp_b);
	printf("  NRI stub (trunk <-> stub, empty handler)  p50 %8.1f us   p99 %8.1f us\n", p50,
	       p99);
	printf("  raw unix socket ping-pong (same bytes)     p50 %8.1f us   p99 %8.1f us\n", r50,
	       r99);
	printf("  ratio p50 NRI / raw = %.2fx (target <= 3x)   ratio p99 = %.2fx\n", p50 / r50,
	       p99 / r99);
	free(nri);
	free(raw);
	return 0;
}
