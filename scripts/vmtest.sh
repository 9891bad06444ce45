#!/usr/bin/env bash
# make vmtest: the root tests again on kernels and cgroup modes this machine lacks.
#
#   scripts/vmtest.sh [GUEST...]        run the root tests in each guest (default: v2 v1)
#   scripts/vmtest.sh --run GUEST CMD   boot GUEST and run CMD (bash -c) in it (make demo VM=1)
#
# Guests (Debian 12's kernel 6.1 under QEMU, 2 sockets x 2 cores x 2 threads, 2 NUMA nodes):
#   v2  cgroup v2 only (cgroup_no_v1=all), controllers enabled in the root's subtree_control
#   v1  hybrid: the v1 controllers as this CI machine mounts them, plus an empty cgroup2
#
# The guest is built once into $B/vm/: the uncompressed vmlinux cut out of Debian's
# linux-image package (apt-get download + dpkg-deb -x, never installed on the host) and a
# busybox-static initramfs with the virtio and 9p modules. The guest mounts the host's /usr
# and /etc read-only over 9p, so the host-built test binaries run unchanged, and this tree
# read-write at the same path. Each test's log lands in $B/vm/<guest>/logs/.
#
# Two guests boot side by side where there are two CPUs (VMTEST_PARALLEL=0: in turn);
# each one's output is printed whole when it is done.
#
# Output per test as tests/run.sh prints it ("PASS vm/v2/integration/test_x  12.3s"), then
# one closing line per guest ("vmtest-v2: N passed, N failed, N skipped"). A test listed in
# tests/vmtest-known-failures for that guest prints KFAIL with the reason and counts as
# skipped; if it passes it prints KPASS (remove it from the list). Exit: 0, 1 if a test
# failed or a guest did not finish, 77 (reason on the last line) only where QEMU cannot run.
#
# Settings that matter (see docs/bpf.md): single-threaded TCG (this host's /dev/kvm runs
# only special kernels, multi-threaded TCG hung), -cpu max,vendor=GenuineIntel (else one
# thread per core), direct PVH boot of the uncompressed vmlinux (4 s to init instead of 14).
set -uo pipefail
B=${B:-${tgbuild:-build}}   # tgbuild: the host's build dir, in the guest
# Several guests boot side by side (one single-threaded TCG each) when this machine has
# a CPU for each: VMTEST_PARALLEL=0 runs them one after the other. Side by side, each
# guest may get half a CPU on a busy machine, so its bounds double.
PARALLEL=${VMTEST_PARALLEL:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}
slow=$([ "$PARALLEL" = 1 ] && echo 2 || echo 1)
TIMEOUT=${VMTEST_TIMEOUT:-$((900 * slow))}   # seconds per guest, hard: qemu is killed after it
TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-$((300 * slow))}
MEM_MB=${VMTEST_MEM_MB:-2048}    # split evenly over the two NUMA nodes
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=$(mkdir -p "$B" && cd "$B" && pwd)
cache=$B/vm
self=$top/scripts/vmtest.sh

skip() { # reason: QEMU cannot run here
	echo "vmtest: skipped: $*"
	exit 77
}

# ---- guest side (run by the host's bash inside the guest) ----------------------------------

# Mounts what a node has: cgroups in the guest's mode, bpffs, debugfs, tracefs.
guest_mounts() { # mode
	mount -t bpf bpf /sys/fs/bpf
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
	if [ "$1" = v2 ]; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
		local c
		for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
			echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
		done
		return
	fi
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	local h
	for h in cpu cpuacct cpuset memory devices freezer blkio pids; do
		mkdir -p "/sys/fs/cgroup/$h" && mount -t cgroup -o "$h" cgroup "/sys/fs/cgroup/$h"
	done
	mkdir -p /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
}

guest_facts() {
	echo "guest: kernel $(uname -r), $(nproc) CPUs," \
		"$(ls -d /sys/devices/system/node/node* | wc -l) NUMA nodes," \
		"cpu0's SMT siblings $(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)," \
		"node distances '$(cat /sys/devices/system/node/node0/distance)'"
	echo "guest: cgroup mounts: $(awk '$3 ~ /cgroup/ {printf "%s(%s) ", $2, $3}' /proc/mounts)"
}

# Runs the root test binaries as tests/run.sh does; results into $2/results.
guest_tests() { # guest, result dir
	local g=$1 res=$2 t name log start ms rc
	export TOPOGUARD_BIN=$B/rel/topoguard NRI_SIM_BIN=$B/rel/nri-sim TOPOGUARD_SRC=$top
	# TCG makes a daemon's start-up (BPF load) several times slower: the simulator's
	# accept and registration windows stretch by this much (tests/sim/sim_main.c).
	export NRI_SIM_WINDOW_SCALE=${VMTEST_WINDOW_SCALE:-4}
	# Tests whose bounds assume real CPUs (test_closed_loop) skip, saying so.
	export TOPOGUARD_EMULATED_CPUS=1
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	mkdir -p "$res/logs"
	for t in $(find "$B/rel/tests/integration" "$B/rel/tests/e2e" -type f -executable \
		-name 'test_*' 2>/dev/null | sort); do
		name=${t#"$B"/rel/tests/}
		log=$res/logs/$(echo "$name" | tr '/' '_').log
		start=$(date +%s%N)
		timeout -k 10 "${tgtesttimeout:-$TEST_TIMEOUT}" "$t" >"$log" 2>&1
		rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		echo "$name $rc $ms" >>"$res/results"
		echo "vmtest-$g: $name rc=$rc $((ms / 1000)).$((ms % 1000 / 100))s"
	done
}

# The sysfs fixtures are thousands of small files: each open over 9p costs milliseconds
# under TCG (a daemon reading the 144-CPU tree missed the simulator's 10 s handshake).
# The host packs them once per boot; here they go to tmpfs, mounted over the tree's copy.
# Into /tmp's tmpfs, as on the host: test_faults_env hard-links a fixture into /tmp.
guest_fixtures() { # result dir
	[ -f "$1/fixtures.tar" ] || return 0
	mkdir -p /tmp/.vmtest && tar -xf "$1/fixtures.tar" -C /tmp/.vmtest &&
		mount --bind /tmp/.vmtest/fixtures "$top/tests/fixtures"
}

guest_main() { # guest, mode, result dir, command (empty: the tests)
	local g=$1 mode=$2 res=$3 cmd=$4 rc=0
	export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin B
	guest_mounts "$mode"
	guest_facts | tee "$res/facts"
	guest_fixtures "$res" || echo "guest: fixtures stay on 9p (slow)"
	if [ -n "$cmd" ]; then
		bash -c "$cmd"
		rc=$?
	else
		guest_tests "$g" "$res"
	fi
	echo "$rc" >"$res/done"
}

if [ "${1:-}" = --in-guest ]; then
	shift
	guest_main "$@"
	exit 0
fi

# ---- host side: the guest image ---------------------------------------------------------

# Where Debian's packages are: qemu-system-x86 and busybox-static (installed if missing).
host_tools() {
	command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] &&
		/bin/busybox --list | grep -qx cpio && return 0
	bash scripts/deps.sh vm >&2 || true
	command -v qemu-system-x86_64 >/dev/null ||
		skip "qemu-system-x86_64 not installed and apt-get could not install qemu-system-x86"
	[ -x /bin/busybox ] || skip "no /bin/busybox (busybox-static) for the guest's initramfs"
}

# The uncompressed vmlinux of Debian's current 6.1 kernel and its modules, once: sets kdir.
guest_kernel() {
	local k
	k=$(ls -d "$cache"/kernel/*/vmlinux 2>/dev/null | tail -n 1)
	if [ -n "$k" ]; then
		kdir=${k%/vmlinux}
		return
	fi
	local pkg dl
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	if [ -z "$pkg" ]; then
		apt-get update -qq >&2 || true
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-/ {print $2; exit}')
	fi
	[ -n "$pkg" ] || skip "apt knows no linux-image-amd64 (the guest's kernel)"
	dl=$cache/dl
	rm -rf "$dl" && mkdir -p "$dl" && chmod 777 "$dl"
	(cd "$dl" && apt-get download -q "$pkg" >&2) ||
		skip "apt-get download $pkg failed (the guest's kernel)"
	echo "vmtest: unpacking $pkg" >&2
	dpkg-deb -x "$dl"/*.deb "$dl/x" || skip "dpkg-deb -x $pkg failed"
	k=$cache/kernel/${pkg#linux-image-}
	mkdir -p "$k"
	extract_vmlinux "$dl"/x/boot/vmlinuz-* >"$k/vmlinux.tmp" ||
		{ echo "vmtest: no ELF vmlinux inside $(ls "$dl"/x/boot/vmlinuz-*)" >&2; exit 1; }
	cp "$dl"/x/boot/config-* "$k/config"
	mkdir -p "$k/modules"
	find "$dl/x/lib/modules" -name '*.ko' \( -path '*/virtio/*' -o -path '*/9p/*' \
		-o -path '*/netfs/*' -o -path '*/fscache/*' \) -exec cp {} "$k/modules/" \;
	mv "$k/vmlinux.tmp" "$k/vmlinux"
	rm -rf "$dl"
	kdir=$k
}

# scripts/extract-vmlinux of the kernel tree: the first compressed stream that is an ELF.
extract_vmlinux() { # bzImage
	local magic tool off
	for magic in '\xfd7zXZ\x00:xz -dc' '\x1f\x8b\x08:gzip -dc' '\x28\xb5\x2f\xfd:zstd -dc' \
		'\x02\x21\x4c\x18:lz4 -dc'; do
		tool=${magic#*:}
		for off in $(LC_ALL=C grep -aboP "${magic%%:*}" "$1" | cut -d: -f1); do
			tail -c +$((off + 1)) "$1" | $tool 2>/dev/null >"$cache/vmlinux.try"
			if [ "$(head -c 4 "$cache/vmlinux.try" | tail -c 3)" = ELF ]; then
				cat "$cache/vmlinux.try"
				rm -f "$cache/vmlinux.try"
				return 0
			fi
		done
	done
	rm -f "$cache/vmlinux.try"
	return 1
}

# Module load order for the wanted modules, dependencies first (from each .ko's modinfo).
module_order() { # module dir, names...
	local dir=$1 m d
	shift
	for m in "$@"; do
		case " $seen " in *" $m "*) continue ;; esac
		seen="$seen $m"
		for d in $(LC_ALL=C grep -ao 'depends=[a-z0-9_,-]*' "$dir/$m.ko" | head -n 1 |
			cut -d= -f2 | tr ',' ' '); do
			module_order "$dir" "$d"
		done
		echo "$m"
	done
}

# The initramfs: busybox, the modules, /init; sets initrd. Rebuilt when this script changes.
guest_initramfs() { # kernel dir
	local k=$1 out=$cache/initramfs.cpio root=$cache/initramfs
	initrd=$out
	if [ -f "$out" ] && [ "$out" -nt "$self" ] && [ "$out" -nt "$k/vmlinux" ]; then
		return
	fi
	rm -rf "$root" && mkdir -p "$root"/{.bb,modules,proc,sys,dev,usr,etc,tmp,run,var,root,mnt}
	cp /bin/busybox "$root/.bb/busybox"
	for l in bin sbin lib lib64 lib32; do ln -s "usr/$l" "$root/$l"; done
	local seen=""
	module_order "$k/modules" virtio_pci 9pnet_virtio 9p >"$root/modules/order"
	while read -r m; do cp "$k/modules/$m.ko" "$root/modules/"; done <"$root/modules/order"
	cat >"$root/init" <<'EOF'
#!/.bb/busybox sh
/.bb/busybox --install -s /.bb
export PATH=/.bb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "init: insmod $m failed"; done
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $opts,ro,cache=loose usr /usr || echo "init: no /usr"
mount -t 9p -o $opts,ro,cache=loose etc /etc || echo "init: no /etc"
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var
mkdir -p /var/tmp /var/lib /var/log && ln -s /run /var/run
mkdir -p "$tgtree" && mount -t 9p -o $opts,cache=mmap tree "$tgtree" || echo "init: no tree"
if ! [ -d "$tgbuild" ]; then
	mkdir -p "$tgbuild" && mount -t 9p -o $opts,cache=mmap build "$tgbuild"
fi
ip link set lo up
hostname vmtest-$tgguest
cd "$tgtree"
/usr/bin/bash "$tgtree/scripts/vmtest.sh" --in-guest "$tgguest" "$tgmode" "$tgres" "$(cat "$tgres/cmd" 2>/dev/null)"
sync
reboot -f
EOF
	chmod +x "$root/init"
	(cd "$root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) >"$out.tmp" &&
		mv "$out.tmp" "$out"
}

# ---- host side: booting ----------------------------------------------------------------

guest_mode() { # guest -> mode
	case $1 in
	v2) echo v2 ;;
	v1) echo hybrid ;;
	*) echo "vmtest: unknown guest '$1' (v2 or v1)" >&2; exit 2 ;;
	esac
}

# Boots one guest and waits for it to power off; its console goes to $res/console.log.
guest_boot() { # guest, result dir, kernel dir, initramfs
	local g=$1 res=$2 k=$3 initrd=$4 mode append node_mb build_share=()
	mode=$(guest_mode "$g")
	append="console=ttyS0 panic=-1 mitigations=off quiet loglevel=4 tgguest=$g tgmode=$mode"
	append="$append tgtree=$top tgres=$res tgbuild=$B tgtesttimeout=$TEST_TIMEOUT"
	[ "$mode" = v2 ] && append="$append cgroup_no_v1=all"
	case $B/ in
	"$top"/*) ;;
	*) build_share=(-virtfs "local,path=$B,mount_tag=build,security_model=passthrough") ;;
	esac
	node_mb=$((MEM_MB / 2))
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
		-M pc -accel tcg,thread=single -cpu max,vendor=GenuineIntel \
		-m "$MEM_MB" -smp 8,sockets=2,cores=2,threads=2 \
		-object memory-backend-ram,id=m0,size=${node_mb}M \
		-object memory-backend-ram,id=m1,size=${node_mb}M \
		-numa node,nodeid=0,cpus=0-3,memdev=m0 -numa node,nodeid=1,cpus=4-7,memdev=m1 \
		-numa dist,src=0,dst=1,val=21 \
		-kernel "$k/vmlinux" -initrd "$initrd" -append "$append" \
		-virtfs local,path=/usr,mount_tag=usr,security_model=none,readonly=on \
		-virtfs local,path=/etc,mount_tag=etc,security_model=none,readonly=on \
		-virtfs "local,path=$top,mount_tag=tree,security_model=passthrough" \
		"${build_share[@]}" \
		-display none -monitor none -serial "file:$res/console.log" -no-reboot \
		-nic none -device virtio-rng-pci </dev/null >"$res/qemu.log" 2>&1
}

# Known failures: "GUEST TEST reason" lines of tests/vmtest-known-failures.
known_reason() { # guest, test
	awk -v g="$1" -v t="$2" '$1 == g && $2 == t { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' \
		tests/vmtest-known-failures 2>/dev/null
}

# Prints one guest's results as tests/run.sh does and its closing line; 1 if a test failed.
guest_report() { # guest, result dir
	local g=$1 res=$2 name rc ms dur why pass=0 fail=0 skip=0 log
	while read -r name rc ms; do
		dur=$((ms / 1000)).$((ms % 1000 / 100))
		log=$res/logs/$(echo "$name" | tr '/' '_').log
		why=$(known_reason "$g" "$name")
		if [ -n "$why" ] && [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
			skip=$((skip + 1))
			printf 'KFAIL %-54s (known: %s)\n' "vm/$g/$name" "$why"
			continue
		fi
		case $rc in
		0) pass=$((pass + 1))
		   printf 'PASS %-55s %6ss\n' "vm/$g/$name" "$dur"
		   [ -n "$why" ] && printf 'KPASS %-54s (listed as known failure: %s)\n' "vm/$g/$name" "$why" ;;
		77) skip=$((skip + 1)); printf 'SKIP %-55s (%s)\n' "vm/$g/$name" "$(tail -n 1 "$log")" ;;
		*) fail=$((fail + 1)); printf 'FAIL %-55s rc=%d\n' "vm/$g/$name" "$rc"
		   sed 's/^/    | /' "$log" | tail -n 40 ;;
		esac
	done <"$res/results"
	echo "vmtest-$g: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

run_guest() { # guest, command (empty: the tests)
	local g=$1 cmd=${2:-} res start rc tail_pid mode
	res=$cache/$g
	mode=$(guest_mode "$g") || exit 2
	rm -rf "$res" && mkdir -p "$res"
	[ -n "$cmd" ] && printf '%s' "$cmd" >"$res/cmd"
	tar -C tests -cf "$res/fixtures.tar" fixtures
	echo "vmtest-$g: booting kernel ${kdir##*/} ($mode cgroups, 2 sockets x 2 cores x 2 threads, 2 NUMA nodes)"
	start=$(date +%s)
	: >"$res/console.log"
	# The guest's own lines, live (the kernel's console is quiet).
	tail -n +1 -F "$res/console.log" 2>/dev/null | grep --line-buffered -E '^(vmtest-|guest:|init:)' &
	tail_pid=$!
	[ -n "$cmd" ] && { kill "$tail_pid"; tail -n +1 -F "$res/console.log" 2>/dev/null & tail_pid=$!; }
	guest_boot "$g" "$res" "$kdir" "$initrd"
	rc=$?
	sleep 0.5
	kill "$tail_pid" 2>/dev/null
	wait "$tail_pid" 2>/dev/null
	local secs=$(($(date +%s) - start)) boot="?"
	[ -f "$res/facts" ] && boot="$(($(stat -c %Y "$res/facts") - start))s"
	if [ ! -f "$res/done" ]; then
		[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "vmtest-$g: guest killed after ${TIMEOUT}s (VMTEST_TIMEOUT)"
		echo "vmtest-$g: the guest did not finish (qemu rc=$rc); last console lines:"
		tail -n 30 "$res/console.log" "$res/qemu.log" | sed 's/^/    | /'
		[ -f "$res/results" ] && guest_report "$g" "$res" >/dev/null
		echo "vmtest-$g: guest ran ${secs}s"
		return 1
	fi
	echo "vmtest-$g: guest ran ${secs}s (boot to first command ${boot})"
	[ -n "$cmd" ] && return "$(cat "$res/done")"
	guest_report "$g" "$res"
}

# One function called from the last line: bash has read all of it before it runs, so
# editing this file while a run is under way cannot make that run execute other bytes.
main() {
	host_tools
	mkdir -p "$cache"
	guest_kernel
	guest_initramfs "$kdir"
	[ -x "$B/rel/topoguard" ] || { echo "vmtest: build first: make tests (no $B/rel/topoguard)"; exit 1; }

	if [ "${1:-}" = --run ]; then
		[ $# -ge 3 ] || { echo "usage: $0 --run GUEST CMD" >&2; exit 2; }
		run_guest "$2" "$3"
		return $?
	fi
	[ $# -gt 0 ] || set -- v2 v1
	failed=0
	if [ "$PARALLEL" != 1 ] || [ $# -lt 2 ]; then
		for g in "$@"; do
			run_guest "$g" || failed=1
		done
		return $failed
	fi
	run_side_by_side "$@"
}

# Every guest at once, each one's output kept apart and printed whole, in the order
# given, once it is done (tests/run.sh reads the lines as they come).
run_side_by_side() { # guests
	local g pids=() failed=0 i=0
	echo "vmtest: guests $* side by side (VMTEST_PARALLEL=0: one after the other)"
	for g in "$@"; do
		run_guest "$g" >"$cache/$g.out" 2>&1 &
		pids+=($!)
	done
	for g in "$@"; do
		wait "${pids[$i]}" || failed=1
		cat "$cache/$g.out"
		i=$((i + 1))
	done
	return $failed
}

main "$@"; exit $?
