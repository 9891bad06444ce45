/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP endpoint: GET /metrics (Prometheus text 0.0.4), /healthz (200 while the
 * process serves), /readyz (200 once httpd_set_ready(true), else 503).
 *
 * One thread of its own serves them (httpd.c); the registry it renders is thread-safe.
 * The registry is borrowed and must outlive the server. httpd_free() stops the
 * thread and is NULL-safe.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plugin/obs/metrics.h"

struct httpd;

/*
 * address: ":PORT" (all addresses, IPv6 dual-stack when available), "IPV4:PORT" or
 * "[IPV6]:PORT"; PORT 0 picks a free port (see httpd_port()). -EINVAL for a bad
 * address, -EADDRINUSE / -EIO when the server cannot start.
 */
int httpd_start(const char *address, struct metrics *m, struct httpd **ret);
void httpd_free(struct httpd *h);

uint16_t httpd_port(const struct httpd *h);
/* Ready once the NRI plugin is registered and synchronized; also sets topoguard_ready. */
void httpd_set_ready(struct httpd *h, bool ready);

/* How a request head is answered (httpd_parse_head; exposed for the fuzz target). */
enum httpd_route {
	HTTPD_ROUTE_NONE = 0,
	HTTPD_ROUTE_METRICS,
	HTTPD_ROUTE_HEALTHZ,
	HTTPD_ROUTE_READYZ,
};

struct httpd_head {
	unsigned int status;	/* 0: serve route; else 400, 404 or 405 */
	enum httpd_route route; /* NONE unless status is 0 */
	bool head_only;		/* HEAD: the answer has no body */
};

/*
 * A whole request head as a peer sent it (NUL-terminated; split in place): the method
 * (GET or HEAD, else 405), the path (must start with '/', else 400; query and fragment
 * ignored) and which endpoint it names (else 404).
 */
void httpd_parse_head(char *req, struct httpd_head *ret);
