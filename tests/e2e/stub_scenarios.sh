#!/usr/bin/env bash
# Runs every tests/e2e/scenarios/*.scn through nri-sim with the e2e test binary as a
# pre-launched plugin (it becomes the plugin when it finds NRI_PLUGIN_SOCKET). Extra
# nri-sim options come from a "# nri-sim-args:" line in the scenario. Exit 77 when the
# binaries are not built.
set -u
B=${B:-build}
SIM=${NRI_SIM_BIN:-$B/rel/nri-sim}
PLUGIN=$B/rel/tests/e2e/test_stub_sim
if [ ! -x "$SIM" ] || [ ! -x "$PLUGIN" ]; then
	echo "needs $SIM and $PLUGIN (make B=$B)" >&2
	exit 77
fi
dir=$(mktemp -d /tmp/tg-scn-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail=0
for scn in tests/e2e/scenarios/*.scn; do
	name=$(basename "$scn" .scn)
	args=$(sed -n 's/^# nri-sim-args://p' "$scn")
	# shellcheck disable=SC2086 # args are words by design
	if "$SIM" --launch "$PLUGIN" --launch-name 20-e2e --scenario "$scn" \
		--report "$dir/$name.json" $args 2>"$dir/$name.err"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		sed 's/^/    /' "$dir/$name.err"
		fail=1
	fi
done
exit $fail
