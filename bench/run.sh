#!/usr/bin/env bash
# Runs every benchmark binary of the build ($B/rel/bench/*) and prints its output.
# Benchmarks print figures and ratios against a baseline measured in the same run;
# they are not pass/fail tests, but a binary that exits non-zero is reported.
set -u
B=${B:-build}
export TOPOGUARD_BIN=${TOPOGUARD_BIN:-$B/rel/topoguard} NRI_SIM_BIN=${NRI_SIM_BIN:-$B/rel/nri-sim}
export TOPOGUARD_SRC=${TOPOGUARD_SRC:-$(pwd)}
failed=0
for b in $(find "$B/rel/bench" -maxdepth 1 -type f -executable 2>/dev/null | sort); do
	echo "=== ${b##*/}"
	"$b"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "bench: ${b##*/} exited with $rc"
		failed=1
	fi
	echo
done
exit $failed
