/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the metrics endpoint's request-head parser (plugin/obs/httpd.c),
 * which reads whatever a peer on the node's network sends. Oracle: the verdict is one
 * of the documented ones and agrees with the bytes — an endpoint is served only for a
 * GET or HEAD whose path is that endpoint's, HEAD only when the input says HEAD, and a
 * 405 only for a method that is neither.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/obs/httpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const paths[] = {NULL, "/metrics", "/healthz", "/readyz"};

/* The first token as strtok_r(" ") sees it. */
static size_t first_token(const char *s, const char **ret)
{
	s += strspn(s, " ");
	*ret = s;
	return strcspn(s, " ");
}

static void check(const char *in, const struct httpd_head *h)
{
	const char *m;
	size_t mlen = first_token(in, &m);
	bool get = mlen == 3 && !memcmp(m, "GET", 3), head = mlen == 4 && !memcmp(m, "HEAD", 4);

	if (h->status != 0 && h->status != 400 && h->status != 404 && h->status != 405)
		abort();
	if ((h->status == 0) != (h->route != HTTPD_ROUTE_NONE))
		abort();
	if (h->head_only && !head)
		abort();
	if (h->status == 405 && (get || head))
		abort();
	if (h->status == 0) { /* the second token, without query or fragment, is the path */
		const char *u = m + mlen;
		size_t ulen;

		u += strspn(u, " \r\n");
		ulen = strcspn(u, " \r\n");
		ulen = ulen < strcspn(u, "?#") ? ulen : strcspn(u, "?#");
		if (!(get || head) || ulen != strlen(paths[h->route]) ||
		    memcmp(u, paths[h->route], ulen))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *req = malloc(size + 1), *orig = malloc(size + 1);
	struct httpd_head h;

	if (!req || !orig)
		goto out;
	memcpy(req, data, size);
	req[size] = '\0';
	memcpy(orig, req, size + 1);
	httpd_parse_head(req, &h);
	check(orig, &h);
out:
	free(req);
	free(orig);
	return 0;
}
