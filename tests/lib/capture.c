/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "tests/lib/capture.h"

struct redir {
	FILE *tmp;
	int saved;
};

static int redirect(int fd, FILE *f, struct redir *r)
{
	fflush(f);
	r->tmp = tmpfile();
	if (!r->tmp)
		return -errno;
	r->saved = dup(fd);
	if (r->saved < 0 || dup2(fileno(r->tmp), fd) < 0) {
		int e = -errno;

		if (r->saved >= 0)
			close(r->saved);
		fclose(r->tmp);
		return e;
	}
	return 0;
}

static void restore(int fd, FILE *f, struct redir *r, char *buf, size_t size)
{
	size_t n;

	fflush(f);
	dup2(r->saved, fd);
	close(r->saved);
	rewind(r->tmp);
	n = size ? fread(buf, 1, size - 1, r->tmp) : 0;
	if (size)
		buf[n] = '\0';
	fclose(r->tmp);
}

int capture_cmd(int (*fn)(int, char **), int argc, char **argv, char *out, size_t n_out, char *err,
		size_t n_err)
{
	struct redir ro, re;
	int r, rc;

	if (n_out)
		out[0] = '\0';
	if (n_err)
		err[0] = '\0';
	r = redirect(STDOUT_FILENO, stdout, &ro);
	if (r < 0)
		return r;
	r = redirect(STDERR_FILENO, stderr, &re);
	if (r < 0) {
		restore(STDOUT_FILENO, stdout, &ro, out, n_out);
		return r;
	}
	rc = fn(argc, argv);
	restore(STDERR_FILENO, stderr, &re, err, n_err);
	restore(STDOUT_FILENO, stdout, &ro, out, n_out);
	return rc;
}
