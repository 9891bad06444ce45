#!/usr/bin/env bash
# e2e: the deployment artefacts under deploy/ validate offline (see scripts/validate-deploy.sh
# for the list of checks). tests/run.sh runs it: exit 0 pass, 77 skip (reason on the last
# stderr line), anything else fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
B=${B:-build} bash scripts/validate-deploy.sh 2>"$log"
rc=$?
if [ $rc -eq 77 ]; then
	# run.sh shows the last line as the skip reason.
	cat "$log" >&2
	exit 77
fi
cat "$log" >&2
exit $rc
