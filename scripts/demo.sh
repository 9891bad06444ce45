#!/usr/bin/env bash
# make demo: the topoguard daemon against the project's NRI runtime simulator.
#
#   make demo                                          this machine's topology
#   make demo DEMO_SYSFS=tests/fixtures/sysfs/skx-4s-smt   a recorded 144-CPU server
#
# The simulator plays containerd: it replays scripts/demo/scenario.scn (system pods
# already running, a latency-sensitive Guaranteed pod, Burstable and BestEffort pods,
# a fractional Guaranteed pod, an in-place resize, removals), applies every adjustment
# and update topoguard returns and, as root, puts each container in real cgroups
# (cpuset, cpu, memory) with a real process inside.
set -euo pipefail
B=${B:-build}
SYSFS=${DEMO_SYSFS:-/sys}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/topoguard-demo.XXXXXX)
sim_pid= tg_pid=

cleanup() {
	[ -n "$tg_pid" ] && kill "$tg_pid" 2>/dev/null && wait "$tg_pid" 2>/dev/null || true
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

config_args=()
[ -n "${DEMO_SYSFS:-}" ] && config_args=(--config "$here/demo/large.yaml")
cgroup_args=()
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/cgroup/cpuset ] && [ -z "${DEMO_SYSFS:-}" ]; then
	cgroup_args=(--apply-cgroups "topoguard-demo-$$")
	cg_note="real cgroups under /sys/fs/cgroup/{cpuset,cpu,memory}/topoguard-demo-$$"
else
	cg_note="no real cgroups (needs root and this machine's topology)"
fi
if ! "$B/rel/nri-sim" --help 2>&1 | grep -q -- --apply-cgroups; then
	cgroup_args=()
	cg_note="no real cgroups (this nri-sim has no --apply-cgroups)"
fi

echo "== topoguard demo: topology from $SYSFS; $cg_note"
"$B/rel/topoguard" topology --sysfs-root "$SYSFS" | head -n 12
echo

"$B/rel/nri-sim" --listen "$work/nri.sock" --scenario "$here/demo/scenario.scn" \
	--report "$work/report.json" "${cgroup_args[@]}" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 100); do [ -S "$work/nri.sock" ] && break; sleep 0.05; done

"$B/rel/topoguard" run --socket "$work/nri.sock" --sysfs-root "$SYSFS" \
	--status-socket "$work/status.sock" --metrics-address none \
	--log-file "$work/topoguard.log" "${config_args[@]}" &
tg_pid=$!

# Wait until the scenario's first half is placed, then show the daemon's own view.
for _ in $(seq 100); do
	n=$("$B/rel/topoguard" status --socket "$work/status.sock" --json 2>/dev/null |
		jq '.containers | length' 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 8 ] && break
	sleep 0.05
done
echo "== topoguard status (the daemon's view, mid-scenario)"
"$B/rel/topoguard" status --socket "$work/status.sock"
echo
echo "== topoguard explain finance/order-matcher/matcher"
"$B/rel/topoguard" explain --socket "$work/status.sock" finance/order-matcher/matcher
echo

rc=0
wait "$sim_pid" || rc=$?
sim_pid=
echo "== after the resize and removals (the runtime simulator's view: what it applied)"
jq -r '
  ["CONTAINER","STATE","CPUS","MEMS","SHARES","QUOTA","MEMORY"],
  (.containers[] | [.id, .state, (.cpus // "-"), (.mems // "-"),
     (.cpu_shares // "-" | tostring), (.cpu_quota // "-" | tostring),
     (.memory_limit // "-" | tostring)])
  | @tsv' "$work/report.json" | column -t
if jq -e '.containers[0].cgroup' "$work/report.json" >/dev/null 2>&1; then
	echo
	echo "== real cgroups (read back from the kernel while the process ran)"
	jq -r '.containers[] | select(.cgroup) |
	  "\(.id)\tcpuset.cpus=\(.cgroup.cpus)\tprocess Cpus_allowed_list=\(.cgroup.allowed)"' \
	  "$work/report.json" | column -t
fi
echo
echo "== NRI requests: $(jq '[.requests[] | select(.outcome == "ok")] | length' "$work/report.json") ok," \
	"$(jq '[.requests[] | select(.outcome != "ok")] | length' "$work/report.json") failed;" \
	"CreateContainer latency p50 $(jq '[.requests[] | select(.method == "CreateContainer") | .latency_us] | sort | .[length/2|floor]' "$work/report.json") µs"
echo "== unsolicited updates from topoguard: $(jq '.unsolicited_updates.calls' "$work/report.json")"
kill "$tg_pid"
wait "$tg_pid" || true
tg_pid=
echo "== topoguard log (last lines)"
tail -n 6 "$work/topoguard.log"
[ "$rc" -eq 0 ] && echo "demo: done" || { echo "demo: the simulator reported a failure (rc=$rc)"; cat "$work/sim.log"; }
exit "$rc"
