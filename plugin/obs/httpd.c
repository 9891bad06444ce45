/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP/1.1 server of our own instead of libmicrohttpd: three GET endpoints on
 * plain HTTP need no TLS, and libmicrohttpd brought GnuTLS, p11-kit, nettle and gmp
 * into every daemon (about 2.4 MiB resident, issue #17). One thread polls the
 * listening socket, a wake-up eventfd and up to HTTPD_CONN_LIMIT connections, all
 * non-blocking: a request head is read whole (at most HTTPD_REQ_MAX bytes), answered
 * with Connection: close, and written as the peer reads it; a connection that takes
 * longer than HTTPD_CONN_TIMEOUT in all is closed.
 */
#define _GNU_SOURCE
#include "plugin/obs/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plugin/obs/log.h"

#define HTTPD_CONN_LIMIT   32
#define HTTPD_CONN_TIMEOUT 10 /* seconds; Prometheus' default scrape timeout */
#define HTTPD_REQ_MAX	   8192
#define CONTENT_TYPE_PROM  "text/plain; version=0.0.4; charset=utf-8"
#define CONTENT_TYPE_TEXT  "text/plain; charset=utf-8"

struct httpd_conn {
	int fd;		   /* -1: free slot */
	uint64_t deadline; /* CLOCK_MONOTONIC ms */
	size_t len;	   /* of req */
	char *out;	   /* the whole answer, once the request is read */
	size_t out_len, out_off;
	char req[HTTPD_REQ_MAX + 1];
};

struct httpd {
	struct metrics *metrics;
	atomic_bool ready;
	uint16_t port;
	int listen_fd, wake_fd;
	pthread_t thread;
	struct httpd_conn conn[HTTPD_CONN_LIMIT];
};

static int httpd_parse_port(const char *s, uint16_t *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* Fills *ss; *any6 tells the caller a ":PORT" wildcard asked for dual stack. */
static int httpd_parse_address(const char *addr, struct sockaddr_storage *ss, bool *any6)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[64];
	size_t hl;
	uint16_t port;

	if (!colon || httpd_parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	hl = (size_t)(colon - addr);
	*any6 = hl == 0;
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (hl == 0 || (hl > 2 && host[0] == '[' && host[hl - 1] == ']')) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_any;
		if (hl == 0)
			return 0;
		host[hl - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

static uint64_t httpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *httpd_reason(unsigned int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* The answer (head, and body unless head_only) into one malloc'd buffer on c. */
static int httpd_answer(struct httpd_conn *c, unsigned int status, const char *type,
			const char *body, size_t len, bool head_only)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, httpd_reason(status), type, len);
	size_t total = (size_t)n + (head_only ? 0 : len);

	c->out = malloc(total);
	if (!c->out)
		return -ENOMEM;
	memcpy(c->out, head, (size_t)n);
	if (!head_only)
		memcpy(c->out + n, body, len);
	c->out_len = total;
	c->out_off = 0;
	return 0;
}

static int httpd_text(struct httpd_conn *c, unsigned int status, const char *text, bool head_only)
{
	return httpd_answer(c, status, CONTENT_TYPE_TEXT, text, strlen(text), head_only);
}

static int httpd_metrics(struct httpd *h, struct httpd_conn *c, bool head_only)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (metrics_render(h->metrics, &buf, &len) < 0)
		return httpd_text(c, 500, "rendering failed\n", head_only);
	r = httpd_answer(c, 200, CONTENT_TYPE_PROM, buf, len, head_only);
	free(buf);
	return r;
}

void httpd_parse_head(char *req, struct httpd_head *ret)
{
	char *save = NULL, *method = strtok_r(req, " ", &save);
	char *url = method ? strtok_r(NULL, " \r\n", &save) : NULL;

	*ret = (struct httpd_head){.head_only = method && !strcmp(method, "HEAD")};
	if (!url || *url != '/') {
		ret->status = 400;
		ret->head_only = false;
		return;
	}
	if (strcmp(method, "GET") && !ret->head_only) {
		ret->status = 405;
		return;
	}
	url[strcspn(url, "?#")] = '\0';
	if (!strcmp(url, "/metrics"))
		ret->route = HTTPD_ROUTE_METRICS;
	else if (!strcmp(url, "/healthz"))
		ret->route = HTTPD_ROUTE_HEALTHZ;
	else if (!strcmp(url, "/readyz"))
		ret->route = HTTPD_ROUTE_READYZ;
	else
		ret->status = 404;
}

/* c->req holds a whole request head: route it. */
static int httpd_route(struct httpd *h, struct httpd_conn *c)
{
	struct httpd_head hd;

	httpd_parse_head(c->req, &hd);
	switch (hd.status) {
	case 400:
		return httpd_text(c, 400, "bad request\n", false);
	case 405:
		return httpd_text(c, 405, "method not allowed\n", false);
	case 404:
		return httpd_text(c, 404, "not found (try /metrics, /healthz, /readyz)\n",
				  hd.head_only);
	default:
		break;
	}
	if (hd.route == HTTPD_ROUTE_METRICS)
		return httpd_metrics(h, c, hd.head_only);
	if (hd.route == HTTPD_ROUTE_HEALTHZ)
		return httpd_text(c, 200, "ok\n", hd.head_only);
	return atomic_load(&h->ready) ? httpd_text(c, 200, "ready\n", hd.head_only)
				      : httpd_text(c, 503, "not ready\n", hd.head_only);
}

static void httpd_conn_close(struct httpd_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->len = c->out_len = c->out_off = 0;
}

/* Reads what is there; answers once the head is whole. false: close it. */
static bool httpd_conn_read(struct httpd *h, struct httpd_conn *c)
{
	ssize_t n = recv(c->fd, c->req + c->len, HTTPD_REQ_MAX - c->len, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		return httpd_route(h, c) == 0;
	if (c->len == HTTPD_REQ_MAX)
		return httpd_text(c, 431, "request head too large\n", false) == 0;
	return true;
}

/* Writes what the peer takes; false once all is sent (or it failed): close it. */
static bool httpd_conn_write(struct httpd_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->out_off += (size_t)n;
	return c->out_off < c->out_len;
}

static void httpd_accept(struct httpd *h)
{
	for (int i = 0; i < HTTPD_CONN_LIMIT; i++) {
		struct httpd_conn *c = &h->conn[i];

		if (c->fd >= 0)
			continue;
		c->fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c->fd < 0)
			return;
		c->deadline = httpd_now_ms() + HTTPD_CONN_TIMEOUT * 1000;
	}
}

/* pfd[0] wake, pfd[1] listen, then one per used slot (idx maps back); how many. */
static nfds_t httpd_poll_set(struct httpd *h, struct pollfd *pfd, int *idx)
{
	nfds_t n = 2;
	bool full = true;

	pfd[0] = (struct pollfd){.fd = h->wake_fd, .events = POLLIN};
	for (int i = 0; i < HTTPD_CONN_LIMIT; i++) {
		if (h->conn[i].fd < 0) {
			full = false;
			continue;
		}
		idx[n] = i;
		pfd[n++] = (struct pollfd){.fd = h->conn[i].fd,
					   .events = h->conn[i].out ? POLLOUT : POLLIN};
	}
	/* At the limit, new connections wait in the backlog. */
	pfd[1] = (struct pollfd){.fd = full ? -1 : h->listen_fd, .events = POLLIN};
	return n;
}

static void httpd_serve(struct httpd *h, const struct pollfd *pfd, const int *idx, nfds_t n)
{
	uint64_t now = httpd_now_ms();

	for (nfds_t k = 2; k < n; k++) {
		struct httpd_conn *c = &h->conn[idx[k]];
		bool keep = true;

		if (pfd[k].revents & (POLLERR | POLLNVAL))
			keep = false;
		else if (pfd[k].revents & POLLOUT)
			keep = httpd_conn_write(c);
		else if (pfd[k].revents & (POLLIN | POLLHUP))
			keep = httpd_conn_read(h, c);
		if (keep && c->out && !(pfd[k].revents & POLLOUT))
			keep = httpd_conn_write(c); /* most answers fit the socket buffer */
		if (!keep || now >= c->deadline)
			httpd_conn_close(c);
	}
	if (pfd[1].revents & POLLIN)
		httpd_accept(h);
}

static void *httpd_thread(void *arg)
{
	struct httpd *h = arg;
	struct pollfd pfd[HTTPD_CONN_LIMIT + 2];
	int idx[HTTPD_CONN_LIMIT + 2];

	for (;;) {
		nfds_t n = httpd_poll_set(h, pfd, idx);

		if (poll(pfd, n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			break;
		httpd_serve(h, pfd, idx, n);
	}
	for (int i = 0; i < HTTPD_CONN_LIMIT; i++)
		httpd_conn_close(&h->conn[i]);
	return NULL;
}

static int httpd_listen(const struct sockaddr_storage *ss, bool dual)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, v6only = !dual;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* ":PORT" on a host without IPv6 falls back to IPv4 INADDR_ANY. */
static int httpd_listen_any(struct sockaddr_storage *ss, bool any6)
{
	int fd = httpd_listen(ss, any6);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	uint16_t port;

	if (fd >= 0 || !any6 || fd == -EADDRINUSE)
		return fd;
	port = ((struct sockaddr_in6 *)ss)->sin6_port;
	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = port;
	s4->sin_addr.s_addr = htonl(INADDR_ANY);
	return httpd_listen(ss, false);
}

static uint16_t httpd_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static void httpd_release(struct httpd *h)
{
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	free(h);
}

int httpd_start(const char *address, struct metrics *m, struct httpd **ret)
{
	struct sockaddr_storage ss;
	struct httpd *h;
	bool any6;
	int r;

	if (!m || !ret || httpd_parse_address(address, &ss, &any6) < 0)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->metrics = m;
	atomic_init(&h->ready, false);
	for (int i = 0; i < HTTPD_CONN_LIMIT; i++)
		h->conn[i].fd = -1;
	h->wake_fd = eventfd(0, EFD_CLOEXEC);
	h->listen_fd = httpd_listen_any(&ss, any6);
	r = h->wake_fd < 0 ? -errno : h->listen_fd < 0 ? h->listen_fd : 0;
	if (r == 0)
		r = -pthread_create(&h->thread, NULL, httpd_thread, h);
	if (r < 0) {
		httpd_release(h);
		return log_error_errno(r, "cannot serve metrics on %s", address);
	}
	h->port = httpd_bound_port(h->listen_fd);
	*ret = h;
	return 0;
}

void httpd_free(struct httpd *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	if (write(h->wake_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(h->thread, NULL);
	httpd_release(h);
}

uint16_t httpd_port(const struct httpd *h)
{
	return h ? h->port : 0;
}

void httpd_set_ready(struct httpd *h, bool ready)
{
	if (!h)
		return;
	atomic_store(&h->ready, ready);
	metrics_tg_ready(h->metrics, ready);
}
