#!/usr/bin/env bash
# Runs every test binary the build produced and prints one closing line:
#   "tests: N passed, N failed, N skipped"
# Exit code 77 from a test means "skipped" (with its reason on stderr), as in automake.
# Unit tests run twice: plain (-O2) and under ASan+UBSan.
set -u
B=${B:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
pass=0 fail=0 skip=0
failed=()
log_dir=$B/test-logs
mkdir -p "$log_dir"

run_one() { # name, command...
	local name=$1; shift
	local log="$log_dir/$(echo "$name" | tr '/ ' '__').log"
	local start=$(date +%s%N)
	"$@" >"$log" 2>&1
	local rc=$?
	local ms=$((($(date +%s%N) - start) / 1000000))
	local dur=$((ms / 1000)).$((ms % 1000 / 100))
	case $rc in
	0) pass=$((pass + 1)); printf 'PASS %-55s %6ss\n' "$name" "$dur" ;;
	77) skip=$((skip + 1)); printf 'SKIP %-55s (%s)\n' "$name" "$(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name"); printf 'FAIL %-55s rc=%d\n' "$name" $rc
	   sed 's/^/    | /' "$log" | tail -n 40 ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TOPOGUARD_BIN=$B/rel/topoguard NRI_SIM_BIN=$B/rel/nri-sim
export TOPOGUARD_SRC=$(pwd)

for variant in rel asan; do
	for t in $(find "$B/$variant/tests/unit" -type f -executable -name 'test_*' 2>/dev/null | sort); do
		run_one "unit/$variant/${t#$B/$variant/tests/unit/}" "$t"
	done
done
# The policy property test again with a fresh random seed (it prints the seed to replay).
props=$B/rel/tests/unit/policy/test_alloc_props
[ -x "$props" ] && run_one "unit/rel/policy/test_alloc_props (random seed)" env TOPOGUARD_SEED=random "$props"
for t in $(find "$B/rel/tests/integration" -type f -executable -name 'test_*' 2>/dev/null | sort); do
	run_one "integration/${t##*/}" "$t"
done
# e2e twice: the -O2 daemon and simulator, then everything (test, daemon, simulator)
# built with ASan+UBSan.
for variant in rel asan; do
	for t in $(find "$B/$variant/tests/e2e" -type f -executable -name 'test_*' 2>/dev/null | sort); do
		run_one "e2e/$variant/${t##*/}" env TOPOGUARD_BIN="$B/$variant/topoguard" \
			NRI_SIM_BIN="$B/$variant/nri-sim" "$t"
	done
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] && run_one "e2e/${t##*/}" bash "$t"
done
# The NRI wire decoder (mux + ttRPC + protobuf) gets FUZZ_SECONDS (default 60); the
# other targets a third of that, to keep CI short. `make fuzz` runs each for 10 minutes.
for f in $(find "$B/fuzz" -maxdepth 1 -type f -executable -name 'fuzz_*' 2>/dev/null | sort); do
	secs=$FUZZ_SECONDS
	[ "${f##*/}" = fuzz_nri_wire ] || secs=$(((FUZZ_SECONDS + 2) / 3))
	run_one "fuzz/${f##*/} (${secs}s)" env FUZZ_SECONDS=$secs B="$B" bash tests/fuzz/run.sh "$f"
done
run_one "lint/clang-format" make -s --no-print-directory lint

# The root tests again in a QEMU guest (scripts/vmtest.sh): cgroup v2 on 2 sockets x
# 2 cores x 2 threads with 2 NUMA nodes, kernel 6.1 (VMTEST_GUESTS="v2 v1" adds the
# hybrid v1 guest; the host itself is hybrid v1 on a current kernel, so CI leaves it to
# `make vmtest` to stay inside its time budget). Its PASS/FAIL/SKIP/KFAIL
# lines print as they come; each guest's closing line adds its tests to the totals. If
# QEMU cannot run here (exit 77) that is one skip. VMTEST=0 leaves the guests out.
vm_tests() {
	local log=$log_dir/vmtest.log rc p f s
	B=$B bash scripts/vmtest.sh ${VMTEST_GUESTS:-v2} 2>&1 | tee "$log" | grep -E '^(PASS|FAIL|SKIP|KFAIL|KPASS|    \|) |^vmtest-[a-z0-9]+: [0-9]+ passed'
	rc=${PIPESTATUS[0]}
	while read -r p f s; do
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	done < <(sed -nE 's/^vmtest-[a-z0-9]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$log")
	failed+=($(sed -nE 's/^FAIL (vm\/[^ ]+) .*/\1/p' "$log"))
	case $rc in
	0 | 1) ;;
	77) skip=$((skip + 1)); printf 'SKIP %-55s (%s)\n' vm "$(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=(vm); printf 'FAIL %-55s rc=%d\n' vm "$rc"
	   sed 's/^/    | /' "$log" | tail -n 40 ;;
	esac
	# A guest that did not finish prints no closing line: one failure, with its reason.
	if grep -q 'did not finish' "$log"; then
		fail=$((fail + 1)); failed+=(vm)
		grep -A 32 'did not finish' "$log" | sed 's/^/    | /'
	fi
}
[ "${VMTEST:-1}" = 0 ] || vm_tests

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
