/* SPDX-License-Identifier: Apache-2.0 */
#include "plugin/obs/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "plugin/obs/log.h"

#define HTTPD_CONN_LIMIT   32
#define HTTPD_CONN_TIMEOUT 10 /* seconds; Prometheus' default scrape timeout */
#define CONTENT_TYPE_PROM  "text/plain; version=0.0.4; charset=utf-8"

struct httpd {
	struct MHD_Daemon *daemon;
	struct metrics *metrics;
	atomic_bool ready;
	uint16_t port;
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

static enum MHD_Result httpd_reply(struct MHD_Connection *c, unsigned int status, const char *type,
				   char *body, size_t len, bool owned)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result httpd_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	return httpd_reply(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
			   false);
}

static enum MHD_Result httpd_metrics(struct httpd *h, struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;

	if (metrics_render(h->metrics, &buf, &len) < 0)
		return httpd_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "rendering failed\n");
	return httpd_reply(c, MHD_HTTP_OK, CONTENT_TYPE_PROM, buf, len, true);
}

static enum MHD_Result httpd_handle(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	struct httpd *h = cls;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return httpd_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return httpd_metrics(h, c);
	if (!strcmp(url, "/healthz"))
		return httpd_text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/readyz"))
		return atomic_load(&h->ready)
			       ? httpd_text(c, MHD_HTTP_OK, "ready\n")
			       : httpd_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
	return httpd_text(c, MHD_HTTP_NOT_FOUND, "not found (try /metrics, /healthz, /readyz)\n");
}

static struct MHD_Daemon *httpd_listen(struct httpd *h, const struct sockaddr_storage *ss,
				       bool dual)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

	if (ss->ss_family == AF_INET6)
		flags |= dual ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, httpd_handle, h, MHD_OPTION_SOCK_ADDR, ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_CONN_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_CONN_TIMEOUT,
				MHD_OPTION_END);
}

/* ":PORT" on a host without IPv6 falls back to IPv4 INADDR_ANY. */
static struct MHD_Daemon *httpd_listen_any(struct httpd *h, struct sockaddr_storage *ss, bool any6)
{
	struct MHD_Daemon *d = httpd_listen(h, ss, any6);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	uint16_t port;

	if (d || !any6)
		return d;
	port = ((struct sockaddr_in6 *)ss)->sin6_port;
	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = port;
	s4->sin_addr.s_addr = htonl(INADDR_ANY);
	return httpd_listen(h, ss, false);
}

int httpd_start(const char *address, struct metrics *m, struct httpd **ret)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	bool any6;

	if (!m || !ret || httpd_parse_address(address, &ss, &any6) < 0)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->metrics = m;
	atomic_init(&h->ready, false);
	h->daemon = httpd_listen_any(h, &ss, any6);
	if (!h->daemon) {
		free(h);
		return log_error_errno(EADDRINUSE, "cannot serve metrics on %s", address);
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*ret = h;
	return 0;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
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
