#!/usr/bin/env bash
# Runs libFuzzer targets for FUZZ_SECONDS each. With arguments: just those binaries.
# Without: every target the sources define (tests/fuzz/fuzz_*.c -> $B/fuzz/fuzz_*, as the
# Makefile builds them), so a deleted target's stale binary does not run.
# Corpus seeds come from $FUZZ_SEEDS/<target>/ (default tests/fuzz/corpus, checked in);
# new finds go to $B/fuzz/corpus/<target>/ so the tree stays clean.
#
# Exit 0 when every target ran its time clean, 1 otherwise. A crash, a leak, a timeout
# or an out-of-memory fails: libFuzzer's own exit codes are not passed through (it exits
# 77 on a crash, which tests/run.sh would otherwise read as "skipped"). The reproducer
# (crash-*, leak-*, timeout-* or oom-* under $B/fuzz/artifacts/<target>/) is printed last,
# with the command that replays it.
set -u
B=${B:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SEEDS=${FUZZ_SEEDS:-tests/fuzz/corpus}

# Artifacts written by this run: newer than the stamp.
new_artifacts() { # artifact dir, stamp
	find "$1" -maxdepth 1 -type f -newer "$2" \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | sort
}

fuzz_one() { # binary
	local f=$1 name=${1##*/} work art stamp rc found a
	local seeds=()
	work=$B/fuzz/corpus/$name
	art=$B/fuzz/artifacts/$name
	[ -d "$FUZZ_SEEDS/$name" ] && seeds=("$FUZZ_SEEDS/$name")
	if [ ! -x "$f" ]; then
		echo "fuzz: $f is not built"
		return 1
	fi
	mkdir -p "$work" "$art" || return 1
	stamp=$(mktemp) || return 1
	echo "fuzz: $name for ${FUZZ_SECONDS}s"
	"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 -error_exitcode=1 \
		-timeout_exitcode=1 -artifact_prefix="$art/" -print_final_stats=1 "$work" \
		"${seeds[@]}"
	rc=$?
	mapfile -t found < <(new_artifacts "$art" "$stamp")
	rm -f "$stamp"
	[ $rc -eq 0 ] && [ ${#found[@]} -eq 0 ] && return 0
	echo "fuzz: $name FAILED (libFuzzer exit $rc)"
	[ ${#found[@]} -gt 0 ] || echo "fuzz: $name: no artifact written"
	for a in "${found[@]}"; do
		echo "fuzz: reproducer: $a"
		echo "fuzz:   replay: $f $a"
	done
	return 1
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		[ -f "$src" ] || continue
		base=${src##*/}
		targets+=("$B/fuzz/${base%.c}")
	done
fi
rc=0
for f in "${targets[@]}"; do
	fuzz_one "$f" || rc=1
done
exit $rc
