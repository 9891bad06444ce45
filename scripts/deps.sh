#!/usr/bin/env bash
# Install the Debian packages topoguard needs, only those missing.
# Used by `make test` and `make demo` so both work on a fresh machine.
#   scripts/deps.sh      the build and the tests on this machine
#   scripts/deps.sh vm   also QEMU and busybox-static for the guests of scripts/vmtest.sh
set -euo pipefail
pkgs=(gcc make clang llvm pkg-config protobuf-c-compiler libprotobuf-c-dev
      libbpf-dev bpftool libcmocka-dev libcgroup-dev libyaml-dev libmicrohttpd-dev
      libjson-c-dev libcurl4-openssl-dev libclang-rt-14-dev clang-format yamllint curl
      openssl iproute2 jq)
[ "${1:-}" = vm ] && pkgs+=(qemu-system-x86 busybox-static)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
