#!/usr/bin/env bash
# Runs the tests (`make test`, from the repository root) and prints one PASS/FAIL/SKIP
# line per step and a closing line:
#   "tests: N passed, N failed, N skipped"
# counting test cases: each case of a cmocka binary, and each other step (a script, a
# fuzz target, lint) as one. The verdict logic is tests/lib/runner.sh (read its header):
# exit 77 from a step means "skipped" (reason: its last output line), as in automake,
# except for fuzzers, where libFuzzer's 77 means a crash; a cmocka case skipped with
# tg_skip() is a skip, with its reason, not a pass. Exit status 0 iff nothing failed and
# something passed.
#
# What runs comes from the sources, mapped to binaries as the Makefile builds them, so a
# deleted test's stale binary does not run and a test that was not built fails:
#   tests/unit/*/test_*.c, twice: $B/rel/... (-O2) and $B/asan/... (ASan+UBSan)
#   tests/integration/test_*.c     $B/rel/tests/integration/test_*   (root)
#   tests/e2e/test_*.c, twice: $B/rel/... and $B/asan/... (daemon and simulator alike)
#   tests/e2e/*.sh, tests/runner/*.sh   scripts (valgrind, deploy validation, runner self-test)
#   tests/fuzz/fuzz_*.c            $B/fuzz/fuzz_*, for FUZZ_SECONDS (tests/fuzz/run.sh)
#   the root tests again in QEMU guests (scripts/vmtest.sh, which finds its own binaries)
#
# Environment:
#   B=build           the build directory
#   TEST_FILTER=...   run only the steps whose name starts with one of these
#                     space-separated bash patterns, e.g. TEST_FILTER=unit/rel,
#                     TEST_FILTER='unit/*/test_kube e2e/rel/test_daemon', TEST_FILTER=fuzz
#                     (the names are those printed on the PASS/FAIL/SKIP lines)
#   FUZZ_SECONDS=60   the NRI wire decoder's fuzz time; the other targets get a third
#   TEST_SRC=.        where the test sources are looked for (the self-test points it at
#                     a fixture tree)
#   VMTEST=0          leaves out the QEMU guest(s) (scripts/vmtest.sh, step names vm/...)
#   VMTEST_GUESTS="v2 v1"  the guests to run (side by side where there are 2 CPUs)
set -u
B=${B:-build}
SRC=${TEST_SRC:-.}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
# shellcheck source=tests/lib/runner.sh
. "$(dirname "$0")/lib/runner.sh"
runner_init "$B/test-logs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TOPOGUARD_BIN=$B/rel/topoguard NRI_SIM_BIN=$B/rel/nri-sim
TOPOGUARD_SRC=$(pwd)
export TOPOGUARD_SRC

test_name() { # source [prefix to drop]: the name on the PASS/FAIL/SKIP line
	local n=${1%.c}
	if [ $# -gt 1 ]; then
		echo "${n#"$2"}"
	else
		echo "${n##*/}"
	fi
}

cmocka_test() { # name, binary, command prefix...
	local name=$1 bin=$2
	shift 2
	runner_require_bin "$name" "$bin" && runner_cmocka "$name" "$@" "$bin"
}

unit_tests() {
	local variant src
	for variant in rel asan; do
		for src in $(runner_sources "$SRC" 'tests/unit/*/test_*.c'); do
			cmocka_test "unit/$variant/$(test_name "$src" tests/unit/)" \
				"$(runner_bin "$B" $variant "$src")"
		done
	done
	# The policy property test again with a fresh random seed (it prints the seed to replay).
	for src in $(runner_sources "$SRC" 'tests/unit/*/test_alloc_props.c'); do
		cmocka_test "unit/rel/$(test_name "$src" tests/unit/) (random seed)" \
			"$(runner_bin "$B" rel "$src")" env TOPOGUARD_SEED=random
	done
}

integration_tests() {
	local src
	for src in $(runner_sources "$SRC" 'tests/integration/test_*.c'); do
		cmocka_test "integration/$(test_name "$src")" "$(runner_bin "$B" rel "$src")"
	done
}

# e2e twice: the -O2 daemon and simulator, then everything (test, daemon, simulator)
# built with ASan+UBSan.
e2e_tests() {
	local variant src
	for variant in rel asan; do
		for src in $(runner_sources "$SRC" 'tests/e2e/test_*.c'); do
			cmocka_test "e2e/$variant/$(test_name "$src")" \
				"$(runner_bin "$B" $variant "$src")" env \
				TOPOGUARD_BIN="$B/$variant/topoguard" NRI_SIM_BIN="$B/$variant/nri-sim"
		done
	done
}

scripts() { # directory under tests/
	local t
	for t in $(runner_sources "$SRC" "tests/$1/*.sh"); do
		runner_step "$1/${t##*/}" bash "$SRC/$t"
	done
}

# The NRI wire decoder (mux + ttRPC + protobuf) gets FUZZ_SECONDS; the other targets a
# third of that, to keep CI short. `make fuzz` runs each for 10 minutes.
fuzz_targets() {
	local src f secs name
	for src in $(runner_sources "$SRC" 'tests/fuzz/fuzz_*.c'); do
		f=$(runner_fuzz_bin "$B" "$src")
		secs=$FUZZ_SECONDS
		[ "${f##*/}" = fuzz_nri_wire ] || secs=$(((FUZZ_SECONDS + 2) / 3))
		name="fuzz/${f##*/} (${secs}s)"
		runner_require_bin "$name" "$f" || continue
		runner_strict_step "$name" env FUZZ_SECONDS="$secs" B="$B" \
			FUZZ_SEEDS="$SRC/tests/fuzz/corpus" bash tests/fuzz/run.sh "$f"
	done
}

# The root tests again in QEMU guests (scripts/vmtest.sh): cgroup v2 and hybrid v1, each
# on 2 sockets x 2 cores x 2 threads with 2 NUMA nodes, kernel 6.1, booted side by side
# (VMTEST_GUESTS=v2 for one). Its PASS/FAIL/SKIP/KFAIL
# lines print as they come; each guest's closing line adds its tests to the totals. If
# QEMU cannot run here (exit 77) that is one skip.
vm_tests() {
	local log=$RUNNER_LOG_DIR/vmtest.log rc p f s
	runner_selected vm || return 0
	runner_selected_steps=$((runner_selected_steps + 1))
	# shellcheck disable=SC2086 # a list of guests
	B=$B bash scripts/vmtest.sh ${VMTEST_GUESTS:-v2 v1} 2>&1 | tee "$log" |
		grep -E '^(PASS|FAIL|SKIP|KFAIL|KPASS|    \|) |^vmtest-[a-z0-9]+: [0-9]+ passed'
	rc=${PIPESTATUS[0]}
	while read -r p f s; do
		runner_pass=$((runner_pass + p)) runner_fail=$((runner_fail + f))
		runner_skip=$((runner_skip + s))
	done < <(sed -nE 's/^vmtest-[a-z0-9]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$log")
	mapfile -t -O ${#runner_failed[@]} runner_failed < <(sed -nE 's/^FAIL (vm\/[^ ]+) .*/\1/p' "$log")
	case $rc in
	0 | 1) ;;
	77) runner__skip vm 1 "($(tail -n 1 "$log"))" ;;
	*) runner__fail vm 1 "rc=$rc" "$log" ;;
	esac
	# A guest that did not finish prints no closing line: one failure, with its reason.
	if grep -q 'did not finish' "$log"; then
		runner_fail=$((runner_fail + 1))
		runner_failed+=(vm)
		grep -A 32 'did not finish' "$log" | sed 's/^/    | /'
	fi
}

scripts runner
unit_tests
integration_tests
e2e_tests
scripts e2e
fuzz_targets
runner_step "lint/clang-format" make -s --no-print-directory lint
[ "${VMTEST:-1}" = 0 ] || vm_tests
runner_summary
