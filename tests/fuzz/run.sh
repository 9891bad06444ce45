#!/usr/bin/env bash
# Runs libFuzzer targets for a bounded time. With arguments: just those binaries.
# Corpus seeds come from tests/fuzz/corpus/<target>/ (checked in); new finds go to
# $B/fuzz/corpus/<target>/ so the tree stays clean.
set -euo pipefail
B=${B:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(find "$B/fuzz" -maxdepth 1 -type f -executable -name 'fuzz_*' | sort)
for f in "${targets[@]}"; do
	name=${f##*/}
	work=$B/fuzz/corpus/$name
	mkdir -p "$work"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	echo "fuzz: $name for ${FUZZ_SECONDS}s"
	"$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$B/fuzz/" -print_final_stats=1 "$work" $seeds
done
