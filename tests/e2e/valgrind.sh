#!/usr/bin/env bash
# tests/run.sh entry: the e2e daemon scenarios under valgrind (scripts/valgrind-e2e.sh).
# Exit 0 pass, 1 fail, 77 skip with the reason as the last line.
cd "$(dirname "$0")/../.." || exit 1
exec bash scripts/valgrind-e2e.sh "$@"
