#!/usr/bin/env bash
# Install topoguard on a host, without Kubernetes.
#
#   install-prelaunched.sh [--index NN] [--binary PATH] [--config PATH]
#       Pre-launched NRI plugin: the runtime starts it at its own start-up, with the
#       connection on fd 3. Installs PATH as $NRI_PLUGIN_DIR/NN-topoguard and the config
#       as $NRI_CONF_DIR/NN-topoguard.conf (the runtime hands its content to the plugin
#       in the Configure request). Restart the runtime afterwards.
#   install-prelaunched.sh --systemd [--binary PATH] [--config PATH]
#       Host daemon: $PREFIX/bin/topoguard, /etc/topoguard/config.yaml, the systemd
#       unit and the man page; the daemon connects to /var/run/nri/nri.sock itself.
#   install-prelaunched.sh --uninstall [--systemd]
#
# DESTDIR (default empty) is prepended to every installed path, for packaging and tests.
# PREFIX (default /usr/local), NRI_PLUGIN_DIR (default /opt/nri/plugins) and NRI_CONF_DIR
# (default /etc/nri/conf.d) match the runtimes' defaults (docs/deploy.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
NRI_PLUGIN_DIR=${NRI_PLUGIN_DIR:-/opt/nri/plugins}
NRI_CONF_DIR=${NRI_CONF_DIR:-/etc/nri/conf.d}
NAME=topoguard
index=90
binary=${TOPOGUARD_BIN:-$here/../build/rel/topoguard}
config=$here/config/topoguard.yaml
mode=prelaunched
uninstall=0

die() {
	echo "install-prelaunched: $*" >&2
	exit 1
}

usage() {
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--index) [ $# -ge 2 ] || die "--index needs a value"; index=$2; shift 2 ;;
	--binary) [ $# -ge 2 ] || die "--binary needs a value"; binary=$2; shift 2 ;;
	--config) [ $# -ge 2 ] || die "--config needs a value"; config=$2; shift 2 ;;
	--systemd) mode=systemd; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "install-prelaunched: unknown argument '$1'" >&2; usage 2 ;;
	esac
done

# The runtime refuses to start NRI at all if an executable in the plugin directory is
# not named NN-name, so never install one that is not.
[[ $index =~ ^[0-9][0-9]$ ]] || die "index must be two digits 00-99, got '$index'"

plugin_dir=$DESTDIR$NRI_PLUGIN_DIR
conf_dir=$DESTDIR$NRI_CONF_DIR
unit=$DESTDIR/etc/systemd/system/topoguard.service

if [ $uninstall -eq 1 ]; then
	if [ $mode = systemd ]; then
		rm -f "$DESTDIR$PREFIX/bin/topoguard" "$unit" "$DESTDIR$PREFIX/share/man/man1/topoguard.1"
		echo "removed $DESTDIR$PREFIX/bin/topoguard $unit (config in /etc/topoguard kept)"
	else
		rm -f "$plugin_dir"/[0-9][0-9]-"$NAME" "$conf_dir"/[0-9][0-9]-"$NAME".conf
		echo "removed $plugin_dir/NN-$NAME and $conf_dir/NN-$NAME.conf; restart the runtime"
	fi
	exit 0
fi

{ [ -f "$binary" ] && [ -x "$binary" ]; } || die "no executable at '$binary' (build with make, or pass --binary)"
head -c 4 "$binary" | od -An -c | grep -q 'E   L   F' || die "'$binary' is not an ELF executable"
[ -f "$config" ] || die "no config file at '$config' (pass --config)"

if [ $mode = systemd ]; then
	install -D -m 0755 "$binary" "$DESTDIR$PREFIX/bin/topoguard"
	# Never overwrite a config the administrator may have edited.
	if [ -e "$DESTDIR/etc/topoguard/config.yaml" ]; then
		echo "kept existing $DESTDIR/etc/topoguard/config.yaml"
	else
		install -D -m 0644 "$config" "$DESTDIR/etc/topoguard/config.yaml"
	fi
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	sed "s|/usr/local/bin/topoguard|$PREFIX/bin/topoguard|" "$here/systemd/topoguard.service" >"$tmp"
	install -D -m 0644 "$tmp" "$unit"
	# The unit's Documentation= points at the man page.
	if [ -f "$here/../docs/topoguard.1" ]; then
		install -D -m 0644 "$here/../docs/topoguard.1" "$DESTDIR$PREFIX/share/man/man1/topoguard.1"
	fi
	echo "installed $DESTDIR$PREFIX/bin/topoguard, $unit"
	echo "next: systemctl daemon-reload && systemctl enable --now topoguard"
	exit 0
fi

# One instance only: a copy under another index would register as a second plugin.
for old in "$plugin_dir"/[0-9][0-9]-"$NAME" "$conf_dir"/[0-9][0-9]-"$NAME".conf; do
	[ -e "$old" ] || continue
	case $old in
	"$plugin_dir/$index-$NAME" | "$conf_dir/$index-$NAME.conf") ;;
	*) rm -f "$old"; echo "removed $old (other index)" ;;
	esac
done
install -D -m 0755 "$binary" "$plugin_dir/$index-$NAME"
install -D -m 0644 "$config" "$conf_dir/$index-$NAME.conf"
echo "installed $plugin_dir/$index-$NAME and $conf_dir/$index-$NAME.conf"
echo "next: restart the runtime (pre-launched plugins are only started at runtime start-up)"
