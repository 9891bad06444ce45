#!/usr/bin/env bash
# Self-test of the test runner: tiny fixtures built in a temp dir go through the real
# code (tests/run.sh with TEST_SRC/B pointed at a fixture tree, tests/lib/runner.sh,
# tests/fuzz/run.sh, tests/e2e/valgrind.sh -> scripts/valgrind-e2e.sh), and the verdicts
# must be:
#   (a) a libFuzzer target that crashes on its seed: FAIL, its crash-* reproducer printed,
#       the run exits non-zero;
#   (b) a cmocka binary whose only case calls tg_skip(): SKIP with the reason, not PASS;
#       the cases count one by one in the closing line;
#   (c) under the valgrind wrapper, a definite leak fails the step, and so does a test
#       case that fails; a clean run passes; the run exits non-zero;
#   (d) a test whose source was deleted does not run although its binary is still in the
#       build directory (unit and fuzz); a source without a binary is a FAIL (not built).
# tests/run.sh runs it as the step runner/selftest.sh. Exit 0 all held, 1 a check failed,
# 77 a tool is missing (clang, cmocka, valgrind; the reason on the last line).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/tg-runner-selftest.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0 missing=()

check() { # description, command...: the command must succeed
	if "${@:2}"; then
		echo "ok   $1"
	else
		echo "FAIL $1"
		failed=$((failed + 1))
	fi
}

has() { # file, extended regex
	grep -Eq -- "$2" "$1"
}

lacks() { # file, extended regex
	! grep -Eq -- "$2" "$1"
}

show() { # file: the output a failed check was about
	sed 's/^/    > /' "$1"
}

# tests/run.sh on the fixture tree; output in $tmp/<out>, exit status in $tmp/<out>.rc
run_tests() { # out, TEST_FILTER
	(cd "$REPO" && TEST_SRC=$tmp/src B=$tmp/build TEST_FILTER=$2 FUZZ_SECONDS=3 \
		bash tests/run.sh) >"$tmp/$1" 2>&1
	echo $? >"$tmp/$1.rc"
}

exited_nonzero() { # out
	[ "$(cat "$tmp/$1.rc")" != 0 ]
}

stale() { # path: a stale binary that leaves a mark if anything runs it
	mkdir -p "${1%/*}"
	printf '#!/bin/sh\ntouch %s/stale-ran\n' "$tmp" >"$1"
	chmod +x "$1"
}

# ---- (b) skips and (d) stale binaries, through tests/run.sh --------------------------

build_cmocka() { # name, C body: into both variants of the unit area "x"
	local src=$tmp/src/tests/unit/x/$1.c v
	printf '#include "tests/lib/skip.h"\n%s\n' "$2" >"$src"
	for v in rel asan; do
		mkdir -p "$tmp/build/$v/tests/unit/x"
		gcc -I"$REPO" -o "$tmp/build/$v/tests/unit/x/$1" "$src" -lcmocka || return 1
	done
}

unit_fixtures() {
	local main='int main(void) { const struct CMUnitTest t[] = {cmocka_unit_test(c)};
		return cmocka_run_group_tests(t, NULL, NULL); }'
	mkdir -p "$tmp/src/tests/unit/x"
	build_cmocka test_skip "static void c(void **s) { (void)s;
		tg_skip(\"fixture needs %s\", \"a unicorn\"); } $main" || return 1
	build_cmocka test_pass "static void c(void **s) { (void)s; assert_true(1); } $main" ||
		return 1
	stale "$tmp/build/rel/tests/unit/x/test_gone"
	touch "$tmp/src/tests/unit/x/test_unbuilt.c"
}

selftest_unit() {
	local o=$tmp/unit.out before=$failed
	if ! unit_fixtures >"$tmp/unit-build.log" 2>&1; then
		missing+=("gcc with cmocka cannot build a test: $(tail -n 1 "$tmp/unit-build.log")")
		return
	fi
	run_tests unit.out unit/rel/x
	check "(b) a binary whose cases all skip is a SKIP" has "$o" '^SKIP unit/rel/x/test_skip '
	check "(b) ... with the reason tg_skip() gave" \
		has "$o" '^ +skipped c: fixture needs a unicorn$'
	check "(b) ... and not a PASS" lacks "$o" '^PASS unit/rel/x/test_skip'
	check "(b) a passing binary is a PASS" has "$o" '^PASS unit/rel/x/test_pass '
	check "(d) a deleted test's stale binary does not run" \
		eval "lacks $o test_gone && [ ! -e $tmp/stale-ran ]"
	check "(d) a test that was not built is a FAIL" \
		has "$o" '^FAIL unit/rel/x/test_unbuilt .*not built'
	check "(b) the closing line counts cases" has "$o" '^tests: 1 passed, 1 failed, 1 skipped$'
	check "(d) the run exits non-zero" exited_nonzero unit.out
	[ $failed -eq $before ] || show "$o"
}

# ---- (a) a crashing fuzz target, (d) a stale one ----------------------------------

fuzz_fixtures() {
	mkdir -p "$tmp/src/tests/fuzz/corpus/fuzz_crash" "$tmp/build/fuzz"
	cat >"$tmp/src/tests/fuzz/fuzz_crash.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { if (n > 0 && d[0] == 'X') abort(); return 0; }
C
	printf X >"$tmp/src/tests/fuzz/corpus/fuzz_crash/seed"
	stale "$tmp/build/fuzz/fuzz_gone"
	clang -fsanitize=fuzzer -o "$tmp/build/fuzz/fuzz_crash" "$tmp/src/tests/fuzz/fuzz_crash.c"
}

selftest_fuzz() {
	local o=$tmp/fuzz.out before=$failed
	if ! fuzz_fixtures >"$tmp/fuzz-build.log" 2>&1; then
		missing+=("clang cannot build a libFuzzer target: $(tail -n 1 "$tmp/fuzz-build.log")")
		return
	fi
	run_tests fuzz.out fuzz/
	check "(a) a crashing fuzz target is a FAIL" has "$o" '^FAIL fuzz/fuzz_crash '
	check "(a) ... and its reproducer is printed" \
		has "$o" "reproducer: $tmp/build/fuzz/artifacts/fuzz_crash/crash-[0-9a-f]+\$"
	check "(a) the run exits non-zero" exited_nonzero fuzz.out
	check "(d) a deleted fuzz target's stale binary does not run" \
		eval "lacks $o fuzz_gone && [ ! -e $tmp/stale-ran ]"
	[ $failed -eq $before ] || show "$o"
}

# ---- (c) valgrind: memcheck errors and failing cases fail ----------------------------

valgrind_fixtures() {
	local b=$tmp/vg
	mkdir -p "$b/rel"
	# "leak": one definite leak; anything else: clean
	cat >"$b/proc.c" <<'C'
#include <stdlib.h>
#include <string.h>
static char *volatile keep;
int main(int argc, char **argv)
{
	keep = malloc(64);
	if (argc < 2 || strcmp(argv[1], "leak"))
		free(keep);
	keep = NULL;
	return 0;
}
C
	gcc -O0 -g -o "$b/rel/topoguard" "$b/proc.c" || return 1
	cp "$b/rel/topoguard" "$b/rel/nri-sim"
	valgrind_case leak leak 0
	valgrind_case fails ok 1
	valgrind_case clean ok 0
}

# A test case: runs the daemon ($TOPOGUARD_BIN, the valgrind wrapper) and the simulator.
valgrind_case() { # name, the daemon's argument, the case's exit status
	cat >"$tmp/vg/test_$1" <<SH
#!/bin/sh
"\$TOPOGUARD_BIN" $2
"\$NRI_SIM_BIN"
exit $3
SH
	chmod +x "$tmp/vg/test_$1"
}

valgrind_run() { # the same verdicts as tests/run.sh's step e2e/valgrind.sh
	local t
	# shellcheck source=tests/lib/runner.sh
	. "$REPO/tests/lib/runner.sh"
	runner_init "$tmp/vg/logs"
	for t in leak fails clean; do
		B=$tmp/vg runner_step "e2e/valgrind.sh $t" bash "$REPO/tests/e2e/valgrind.sh" \
			"$tmp/vg/test_$t"
	done
	runner_summary
}

selftest_valgrind() {
	local o=$tmp/vg.out before=$failed
	if ! command -v valgrind >/dev/null; then
		missing+=("valgrind is not installed")
		return
	fi
	if ! valgrind_fixtures >"$tmp/vg-build.log" 2>&1; then
		missing+=("gcc cannot build the valgrind fixture: $(tail -n 1 "$tmp/vg-build.log")")
		return
	fi
	(TEST_FILTER='' valgrind_run) >"$o" 2>&1
	echo $? >"$o.rc"
	check "(c) a definite leak under valgrind is a FAIL" has "$o" '^FAIL e2e/valgrind.sh leak '
	check "(c) ... naming the leak" has "$o" 'definitely lost: 64 bytes in 1 blocks'
	check "(c) a case failing under valgrind is a FAIL" has "$o" '^FAIL e2e/valgrind.sh fails '
	check "(c) a clean run under valgrind is a PASS" has "$o" '^PASS e2e/valgrind.sh clean '
	check "(c) the run exits non-zero" exited_nonzero vg.out
	[ $failed -eq $before ] || show "$o"
}

selftest_unit
selftest_fuzz
selftest_valgrind
if [ $failed -gt 0 ]; then
	echo "runner self-test: $failed checks failed"
	exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
	printf 'runner self-test: not run: %s\n' "${missing[@]}"
	echo "runner self-test incomplete: ${missing[*]}"
	exit 77
fi
echo "runner self-test: every check held"
