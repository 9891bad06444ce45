#!/usr/bin/env bash
# The layout check of `make lint`: every #include "ROOM/..." of the product code must
# go down the room map of docs/architecture.md (the ```rooms block: "room: the rooms it
# uses"), never up or sideways. It fails when
#   - a file of one room includes a header of a room it does not use, directly or
#     through the rooms it uses (a back-include makes two rooms depend on each other);
#   - the map itself has a circle, or names a room twice;
#   - a source file sits directly in plugin/ (every file belongs to a room), or in a
#     folder the map does not name.
# tests/ and bench/ may include anything. Includes without a folder (generated
# skeletons, vmlinux.h) stay in their room.
#
# Usage: scripts/check-layout.sh [ROOT]      check the tree at ROOT (default: .)
#        scripts/check-layout.sh --self-test  check that a back-include, a stray file and
#                                             a circle in the map each fail (temp copy)
set -u

map_rooms() { # doc -> "room: deps" lines of the ```rooms block
	awk '/^```rooms$/ {on = 1; next} on && /^```/ {exit} on && NF' "$1"
}

declare -A USES REACH
ROOMS=()
errors=0

err() {
	echo "layout: $*" >&2
	errors=$((errors + 1))
}

load_map() { # doc
	local line room deps
	while IFS= read -r line; do
		room=${line%%:*}
		room=${room// /}
		deps=${line#*:}
		[ -n "${USES[$room]+x}" ] && err "the map names room $room twice"
		USES[$room]=$deps
		ROOMS+=("$room")
	done < <(map_rooms "$1")
	[ ${#ROOMS[@]} -gt 0 ] || err "no \`\`\`rooms block in $1"
}

# reach ROOM: every room ROOM uses, directly or not; a circle through ROOM is an error.
reach() {
	local start=$1 todo=(${USES[$1]:-}) seen=" " r
	while [ ${#todo[@]} -gt 0 ]; do
		r=${todo[0]}
		todo=("${todo[@]:1}")
		[ "$r" = "$start" ] && { err "the map has a circle through $start"; break; }
		case $seen in *" $r "*) continue ;; esac
		[ -n "${USES[$r]+x}" ] || err "room $start uses $r, which the map does not name"
		seen+="$r "
		todo+=(${USES[$r]:-})
	done
	REACH[$start]=$seen
}

room_of() { # path -> the longest room of the map that contains it, or ""
	local best="" r
	for r in "${ROOMS[@]}"; do
		case $1 in "$r"/*) [ ${#r} -gt ${#best} ] && best=$r ;; esac
	done
	echo "$best"
}

check_file() { # path (relative to the root)
	local f=$1 room target troom line
	room=$(room_of "$f")
	if [ -z "$room" ]; then
		err "$f is in no room of the map (docs/architecture.md)"
		return
	fi
	while IFS= read -r line; do
		target=${line#*\"}
		target=${target%%\"*}
		case $target in */*) ;; *) continue ;; esac
		troom=$(room_of "$target")
		[ -z "$troom" ] || [ "$troom" = "$room" ] && continue
		case ${REACH[$room]} in
		*" $troom "*) ;;
		*) err "$f includes $target: room $room does not use $troom" ;;
		esac
	done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$f")
}

check_tree() { # root
	local f
	cd "$1" || return 2
	load_map docs/architecture.md
	for r in "${ROOMS[@]}"; do reach "$r"; done
	while IFS= read -r f; do
		case $f in
		plugin/*/*) ;;
		plugin/*) err "$f sits directly in plugin/: put it in a room" ;;
		esac
		check_file "$f"
	done < <(find policy bpf proto plugin -type f \( -name '*.c' -o -name '*.h' \) | sort)
	if [ $errors -gt 0 ]; then
		echo "layout: $errors problem(s); the room map is in docs/architecture.md" >&2
		return 1
	fi
	echo "layout: ${#ROOMS[@]} rooms, every include goes down the map"
}

expect_fail() { # what, root, pattern
	local out
	if out=$(bash "$self" "$2" 2>&1); then
		echo "self-test: FAIL: $1 was not caught" >&2
		return 1
	fi
	if ! grep -q -- "$3" <<<"$out"; then
		echo "self-test: FAIL: $1: expected '$3' in: $out" >&2
		return 1
	fi
	echo "self-test: $1 caught: $(grep -m1 -- "$3" <<<"$out")"
}

self_test() {
	local rc=0
	tmp=$(mktemp -d /tmp/tg-layout.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	fresh() { rm -rf "$tmp/t"; mkdir -p "$tmp/t"; tar -cf - docs/architecture.md policy bpf \
		proto plugin | tar -xf - -C "$tmp/t"; }
	fresh
	bash "$self" "$tmp/t" >/dev/null || { echo "self-test: FAIL: the copy does not pass" >&2; return 1; }
	echo '#include "plugin/daemon/state.h"' >>"$tmp/t/plugin/obs/log.c"
	expect_fail "a back-include (obs -> daemon)" "$tmp/t" \
		'plugin/obs/log.c includes plugin/daemon/state.h: room plugin/obs does not use plugin/daemon' || rc=1
	fresh
	echo '#include "plugin/kube/kube.h"' >>"$tmp/t/plugin/host/sysfs.h"
	expect_fail "a sideways include (host -> kube)" "$tmp/t" 'room plugin/host does not use plugin/kube' || rc=1
	fresh
	touch "$tmp/t/plugin/stray.c"
	expect_fail "a file directly in plugin/" "$tmp/t" 'plugin/stray.c sits directly in plugin/' || rc=1
	fresh
	sed -i 's/^policy:.*/policy: plugin\/obs/; s/^plugin\/obs:.*/plugin\/obs: policy/' "$tmp/t/docs/architecture.md"
	expect_fail "a circle in the map" "$tmp/t" 'the map has a circle' || rc=1
	return $rc
}

self=$(realpath "$0")
if [ "${1:-}" = --self-test ]; then
	cd "$(dirname "$self")/.." || exit 2
	self_test
	exit $?
fi
check_tree "${1:-.}"
