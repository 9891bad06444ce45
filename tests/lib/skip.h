/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmocka's skip() with a reason. skip() alone prints only the case name, so a skipped
 * case looks the same whether it lacked root, a tool or a built binary. tg_skip() first
 * prints "SKIP: <reason>" on stderr; tests/run.sh pairs these lines, in order, with the
 * cases cmocka reports skipped, and shows each reason next to its case.
 *
 * Use it once per skipped case (skip() ends the case), with a literal format.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#define tg_skip(...)                                   \
	do {                                           \
		fprintf(stderr, "SKIP: " __VA_ARGS__); \
		fputc('\n', stderr);                   \
		skip();                                \
	} while (0)
