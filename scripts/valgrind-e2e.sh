#!/usr/bin/env bash
# Runs the daemon/simulator end-to-end tests (tests/e2e/test_daemon, or the test
# binaries given as arguments) with topoguard and nri-sim under valgrind memcheck:
# TOPOGUARD_BIN / NRI_SIM_BIN point at wrappers that exec the real binaries under
#   valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
# Every valgrind log must end with "ERROR SUMMARY: 0 errors" (leaks of the definite
# and indirect kinds count as errors). A process SIGKILLed on purpose, or the forked
# child of a launching nri-sim that exec'd the plugin, has no summary; those are counted
# and listed, not judged. scripts/valgrind-bpf.supp hides valgrind's reports on libbpf's
# bpf(2) attributes (see there); nothing else is hidden.
#
# Every test case must pass under valgrind too: its assertions, and the daemon's exit
# status at teardown (99 when valgrind found an error). The processes run 20-50x slower,
# so the tests get TOPOGUARD_TIMEOUT_SCALE (default 20): the e2e helpers (tests/lib)
# multiply their waits by it, and nri-sim gets scaled accept and registration timeouts.
# The runtime's request timeout stays at 2 s: the daemon must answer in time even here.
#
# BPF once: the first daemon of the run loads its BPF programs under valgrind, which
# takes it 15-30 s (libbpf parses the kernel's 5 MB BTF). The later ones start as on a
# kernel without BTF (/sys/kernel/btf hidden in a private mount namespace) and take the
# cgroupfs-polling fallback, in 1-2 s; so both paths are checked and the run stays a few
# minutes long. Without root or unshare(1), every daemon loads BPF, slowly.
#
# Exit: 0 clean, 1 a failing test case or errors/leaks, 77 skipped (reason on the last
# line).
set -u
B=${B:-build}
scale=${TOPOGUARD_TIMEOUT_SCALE:-20}
VALGRIND=${VALGRIND:-$(command -v valgrind || true)}
tests=("$@")
[ ${#tests[@]} -eq 0 ] && tests=("$B/rel/tests/e2e/test_daemon")

if [ -z "$VALGRIND" ] || [ ! -x "$VALGRIND" ]; then
	echo "valgrind is not installed" >&2
	exit 77
fi
for f in "$B/rel/topoguard" "$B/rel/nri-sim" "${tests[@]}"; do
	if [ ! -x "$f" ]; then
		echo "$f is not built" >&2
		exit 77
	fi
done

work=$(mktemp -d /tmp/tg-valgrind.XXXXXX)
[ -n "${VALGRIND_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs"

# Absolute paths only: a pre-launched plugin gets an environment without PATH.
vg_opts() { # name: the options, with the log file named after it
	echo "--error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect" \
		"--errors-for-leak-kinds=definite,indirect" \
		"--suppressions=$(realpath scripts/valgrind-bpf.supp)" \
		"--log-file=$work/logs/$1.%p.log"
}

wrap() { # name, real binary, extra arguments placed before the caller's
	cat >"$work/$1" <<WRAP
#!/bin/sh
exec $VALGRIND $(vg_opts "$1") \
	$(realpath "$2") $3 "\$@"
WRAP
	chmod +x "$work/$1"
}
# The daemon's wrapper: "BPF once" (see the top).
wrap_daemon() {
	local vg hide
	vg="$VALGRIND $(vg_opts topoguard) $(realpath "$B/rel/topoguard")"
	if ! unshare -m true 2>/dev/null; then
		printf '#!/bin/sh\nexec %s "$@"\n' "$vg" >"$work/topoguard"
		chmod +x "$work/topoguard"
		return
	fi
	hide="$(command -v mount) -t tmpfs tg-no-btf /sys/kernel/btf"
	cat >"$work/topoguard" <<WRAP
#!/bin/sh
if mkdir $work/bpf-loaded 2>/dev/null; then
	exec $vg "\$@"
fi
exec $(command -v unshare) -m $(command -v sh) -c '$hide && exec "\$0" "\$@"' \
	$vg "\$@"
WRAP
	chmod +x "$work/topoguard"
}
wrap_daemon
# A daemon under valgrind needs seconds to read the 144-CPU fixture and load BPF: more
# than the runtime's 5 s registration and 10 s accept timeouts.
wrap nri-sim "$B/rel/nri-sim" \
	"--registration-timeout $((5000 * scale)) --accept-timeout $((10000 * scale))"

rc=0
for t in "${tests[@]}"; do
	echo "valgrind-e2e: ${t##*/}"
	TOPOGUARD_BIN=$work/topoguard NRI_SIM_BIN=$work/nri-sim TOPOGUARD_SRC=$(pwd) \
		TOPOGUARD_TIMEOUT_SCALE=$scale timeout 600 "$t"
	t_rc=$?
	if [ $t_rc -ne 0 ]; then
		echo "valgrind-e2e: ${t##*/} FAILED under valgrind (exit $t_rc, see above)"
		rc=1
	fi
done

runs=0 unfinished=0 bad=0
for log in "$work"/logs/*.log; do
	[ -f "$log" ] || continue
	runs=$((runs + 1))
	summary=$(grep -h 'ERROR SUMMARY:' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		unfinished=$((unfinished + 1))
		echo "valgrind-e2e: no summary (exec'd by a launcher fork, or killed): ${log##*/}"
	elif ! grep -q 'ERROR SUMMARY: 0 errors' <<<"$summary"; then
		bad=$((bad + 1))
		echo "valgrind-e2e: ERRORS in ${log##*/}:"
		sed 's/^/    | /' "$log" | grep -v '^    | ==[0-9]*== *$' | head -n 80
	fi
done
echo "valgrind-e2e: $runs processes checked, $bad with errors or leaks, $unfinished without a summary"
[ "$runs" -gt 0 ] || { echo "valgrind-e2e: no process ran under valgrind"; rc=1; }
[ "$bad" -eq 0 ] || rc=1
exit $rc
