/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/obs/httpd.c at the byte level, over real sockets on
 * 127.0.0.1: what a scraper or a misbehaving peer sends, what comes back. The
 * endpoints' contents (metrics, probes through libcurl) are in test_metrics.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/obs/httpd.h"
#include "plugin/obs/metrics.h"

struct fx {
	struct metrics *m;
	struct httpd *h;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || metrics_new(&f->m) < 0 || httpd_start("127.0.0.1:0", f->m, &f->h) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	httpd_free(f->h);
	metrics_free(f->m);
	free(f);
	return 0;
}

static int dial(const struct fx *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(httpd_port(f->h))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Everything the server sends until it closes, NUL-terminated (malloc'd). */
static char *read_all(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	assert_non_null(buf);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		assert_true(len < cap - 1);
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

static char *exchange(const struct fx *f, const char *req)
{
	int fd = dial(f);

	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return read_all(fd);
}

static void test_httpd_methods_and_query(void **state)
{
	char *r = exchange(*state, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");

	assert_non_null(strstr(r, "HTTP/1.1 405 "));
	free(r);
	r = exchange(*state, "GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "Content-Length: 3\r\n"));
	assert_non_null(strstr(r, "Connection: close\r\n"));
	assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\nok\n");
	free(r);
	r = exchange(*state, "garbage\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.1 400 "));
	free(r);
}

/* HEAD: the GET's head, its Content-Length, and no body. */
static void test_httpd_head_has_no_body(void **state)
{
	char *r = exchange(*state, "HEAD /readyz HTTP/1.0\r\n\r\n");

	assert_non_null(strstr(r, "HTTP/1.1 503 "));
	assert_non_null(strstr(r, "Content-Length: 10\r\n"));
	assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n");
	free(r);
}

/* A head in pieces is answered once whole; one too large gets 431. */
static void test_httpd_split_and_oversized_heads(void **state)
{
	struct fx *f = *state;
	int fd = dial(f);
	char *big = malloc(9000), *r;

	assert_int_equal(write(fd, "GET /heal", 9), 9);
	usleep(50 * 1000);
	assert_int_equal(write(fd, "thz HTTP/1.1\r\n\r\n", 16), 16);
	r = read_all(fd);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	free(r);
	assert_non_null(big);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', 9000 - 27);
	big[8999] = '\0';
	r = exchange(f, big);
	assert_non_null(strstr(r, "HTTP/1.1 431 "));
	free(r);
	free(big);
}

/* A peer that connects and says nothing does not hold up the next scrape. */
static void test_httpd_idle_peer_does_not_block(void **state)
{
	struct fx *f = *state;
	int idle = dial(f);
	char *r = exchange(f, "GET /healthz HTTP/1.1\r\n\r\n");

	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	free(r);
	close(idle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_httpd_methods_and_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd_head_has_no_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_httpd_split_and_oversized_heads, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_httpd_idle_peer_does_not_block, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
