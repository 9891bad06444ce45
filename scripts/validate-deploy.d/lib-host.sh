# shellcheck shell=bash
# Host-install and man-page checks of scripts/validate-deploy.sh (sourced, see lib.sh).

# ---- pre-launched / systemd install -------------------------------------------------------------
check_install_prelaunched() {
	local d bin=${IMG_BIN:-/bin/true} inst=deploy/install-prelaunched.sh errs=()
	# Not under $B: the Makefile includes every "*.d" it finds there, conf.d included.
	d=$(mktemp -d) || { fail host "mktemp failed"; return; }
	DESTDIRS+=("$d")
	[ -f "$CONFIG" ] || { fail host "install-prelaunched.sh: needs $CONFIG"; return; }
	DESTDIR=$d bash "$inst" --binary "$bin" >/dev/null 2>&1 || errs+=("default install failed")
	[ "$(stat -c %a "$d/opt/nri/plugins/90-topoguard" 2>/dev/null)" = 755 ] ||
		errs+=("no mode-755 /opt/nri/plugins/90-topoguard")
	cmp -s "$CONFIG" "$d/etc/nri/conf.d/90-topoguard.conf" ||
		errs+=("/etc/nri/conf.d/90-topoguard.conf is not $CONFIG")
	DESTDIR=$d bash "$inst" --binary "$bin" --index 10 >/dev/null 2>&1 || errs+=("--index 10 failed")
	[ "$(find "$d/opt/nri/plugins" -type f | sed 's|.*/||')" = 10-topoguard ] ||
		errs+=("re-install under index 10 did not leave exactly 10-topoguard")
	if DESTDIR=$d bash "$inst" --binary "$bin" --index 9 >/dev/null 2>&1; then
		errs+=("accepted index '9' (the runtime would refuse to start NRI)")
	fi
	# Every executable in the plugin dir must be NN-name or NRI start-up fails.
	find "$d/opt/nri/plugins" -type f -perm -u+x | sed 's|.*/||' |
		grep -vqE '^[0-9]{2}-[A-Za-z0-9_.+-]+$' && errs+=("badly named plugin executable")
	DESTDIR=$d bash "$inst" --uninstall >/dev/null 2>&1 || errs+=("--uninstall failed")
	[ -z "$(find "$d/opt/nri/plugins" -type f)" ] || errs+=("--uninstall left files")
	DESTDIR=$d bash "$inst" --systemd --binary "$bin" >/dev/null 2>&1 || errs+=("--systemd failed")
	[ -x "$d/usr/local/bin/topoguard" ] && [ -f "$d/etc/systemd/system/topoguard.service" ] &&
		[ -f "$d/usr/local/share/man/man1/topoguard.1" ] ||
		errs+=("--systemd did not install binary, unit and man page")
	if [ ${#errs[@]} -eq 0 ]; then
		pass host "install-prelaunched.sh: NN-name files, modes, re-index, bad index refused, uninstall, --systemd"
	else
		fail host "install-prelaunched.sh: ${errs[*]}"
	fi
	check_systemd_unit "$d"
}

check_systemd_unit() { # destdir with an installed unit
	local unit=$1/etc/systemd/system/topoguard.service
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		note "systemd-analyze not installed: unit not verified"
		return
	fi
	[ -f "$unit" ] || { fail host "no installed unit to verify"; return; }
	# verify wants ExecStart to exist: point it at the DESTDIR copy.
	sed -i "s|^ExecStart=[^ ]*|ExecStart=$1/usr/local/bin/topoguard|" "$unit"
	if systemd-analyze verify --man=no "$unit" >"$OUT/systemd.log" 2>&1; then
		pass host "systemd-analyze verify deploy/systemd/topoguard.service"
	else
		fail host "systemd-analyze verify:"
		indent '      ' <"$OUT/systemd.log"
	fi
}

# Keys as documented for each runtime (docs/deploy.md); a typo is silently ignored there.
check_runtime_snippets() {
	if python3 - deploy/runtime >"$OUT/toml.log" 2>&1 <<-'EOF'; then
		import sys, tomllib, os
		nri = {"disable", "disable_connections", "socket_path", "plugin_path",
		       "plugin_config_path", "plugin_registration_timeout", "plugin_request_timeout",
		       "default_validator"}
		crio = {"enable_nri", "nri_listen", "nri_plugin_dir", "nri_plugin_config_dir",
		        "nri_plugin_registration_timeout", "nri_plugin_request_timeout",
		        "nri_disable_connections", "default_validator"}
		want = {"containerd-1.7.toml": ("containerd", 2), "containerd-2.x.toml": ("containerd", 3),
		        "crio-nri.conf": ("crio", None)}
		bad = 0
		for name, (kind, version) in want.items():
		    path = os.path.join(sys.argv[1], name)
		    try:
		        t = tomllib.load(open(path, "rb"))
		    except Exception as e:
		        print(f"{path}: {e}"); bad += 1; continue
		    if kind == "containerd":
		        sec = t.get("plugins", {}).get("io.containerd.nri.v1.nri")
		        keys, need = nri, "disable"
		        if t.get("version") != version:
		            print(f"{path}: config version must be {version}"); bad += 1
		    else:
		        sec = t.get("crio", {}).get("nri")
		        keys, need = crio, "enable_nri"
		    if sec is None:
		        print(f"{path}: no NRI section"); bad += 1; continue
		    for k in sorted(set(sec) - keys):
		        print(f"{path}: unknown key {k}"); bad += 1
		    if (sec.get(need) is not (kind == "crio")):
		        print(f"{path}: NRI is not enabled ({need})"); bad += 1
		    if sec.get("socket_path", sec.get("nri_listen")) != "/var/run/nri/nri.sock":
		        print(f"{path}: socket is not /var/run/nri/nri.sock"); bad += 1
		sys.exit(1 if bad else 0)
	EOF
		pass host "runtime snippets parse as TOML, enable NRI on /var/run/nri/nri.sock, known keys only"
	else
		fail host "runtime snippets:"
		indent '      ' <"$OUT/toml.log"
	fi
}

check_shell() {
	local f files=(deploy/install-prelaunched.sh scripts/validate-deploy.sh
		scripts/validate-deploy.d/lib.sh scripts/validate-deploy.d/lib-host.sh
		scripts/validate-deploy.d/lib-image.sh tests/e2e/deploy_validate.sh)
	for f in "${files[@]}"; do
		bash -n "$f" 2>>"$OUT/shell.log" || fail host "bash -n $f"
	done
	if ! command -v shellcheck >/dev/null 2>&1; then
		note "shellcheck not installed: shell scripts only syntax-checked"
		return
	fi
	if shellcheck -x "${files[@]}" >"$OUT/shellcheck.log" 2>&1; then
		pass host "shellcheck: ${#files[@]} scripts"
	else
		fail host "shellcheck:"
		indent '      ' <"$OUT/shellcheck.log"
	fi
}

check_host() {
	check_install_prelaunched
	check_runtime_snippets
	check_consistency
	check_shell
}

# ---- man page -------------------------------------------------------------------------------------
man_commands() {
	sed -n 's/^\.SS "\{0,1\}topoguard \([a-z-]*\).*/\1/p' docs/topoguard.1 | sort -u
}

# Long options documented under one command's .SS section.
man_options() { # command
	awk -v c="$1" '/^\.SS/ { f = ($0 ~ ("topoguard " c "([ \"]|$)")) } /^\.SH/ { f = 0 } f' \
		docs/topoguard.1 | sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

check_man() {
	local man=docs/topoguard.1 bin=$BREL/rel/topoguard help cmds opt out documented checked=0
	[ -f "$man" ] || { fail man "$man is missing"; return; }
	if groff -man -ww -z -Tutf8 "$man" >"$OUT/groff.log" 2>&1 && [ ! -s "$OUT/groff.log" ]; then
		pass man "groff -man -ww: $man formats without warnings"
	else
		fail man "groff warnings in $man:"
		indent '      ' <"$OUT/groff.log"
	fi
	if [ ! -x "$bin" ]; then
		note "no $bin: man page not compared with 'topoguard help'"
		return
	fi
	help=$("$bin" help 2>&1 | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }' | sort -u)
	cmds=$(man_commands)
	if [ -n "$help" ] && [ "$help" = "$cmds" ]; then
		pass man "man page documents exactly the $(wc -l <<<"$help") subcommands of 'topoguard help'"
	else
		fail man "subcommands differ (help vs man): $(diff <(echo "$help") <(echo "$cmds") | grep '^[<>]' | tr '\n' ' ')"
	fi
	for c in $cmds; do
		if ! out=$("$bin" "$c" --help 2>&1); then
			note "'topoguard $c --help' fails: its options in the man page are unchecked"
			continue
		fi
		documented=$(man_options "$c")
		for opt in $documented; do
			grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" <<<"$out" || fail man "man page documents $opt for $c; '$c --help' does not list it"
		done
		while read -r opt; do
			grep -qx -- "$opt" <<<"$documented" || fail man "'$c --help' lists $opt; the man page does not"
		done < <(grep -o -- '--[a-z][a-z0-9-]*' <<<"$out" | grep -vx -- --help | sort -u)
		checked=$((checked + 1))
	done
	pass man "options of $checked subcommands match between the man page and their --help"
}

# ---- the artefacts agree with the binary and with each other --------------------------------------
# Prints, per artefact, the `topoguard run` arguments it uses, and for each DaemonSet the
# facts that must match its ConfigMap: "args FILE ARG...", "fact FILE NAME VALUE".
deploy_facts() { # yaml files...
	# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
	node --input-type=module -e '
		import { createRequire } from "node:module";
		import { readFileSync } from "node:fs";
		const require = createRequire(process.argv[1] + "/x.js");
		const YAML = require("yaml");
		for (const f of process.argv.slice(2)) {
			const docs = YAML.parseAllDocuments(readFileSync(f, "utf8")).map((d) => d.toJS());
			const cm = docs.find((d) => d?.kind === "ConfigMap");
			const cfg = cm ? YAML.parse(cm.data["config.yaml"]) ?? {} : null;
			for (const ds of docs.filter((d) => d?.kind === "DaemonSet")) {
				const spec = ds.spec.template.spec, c = spec.containers[0];
				console.log(["args", f, ...(c.args ?? [])].join(" "));
				if (!cfg) continue;
				const port = c.ports?.find((p) => p.name === "metrics")?.containerPort;
				console.log(`fact ${f} metrics-port ${port} ${String(cfg.metrics?.address ?? ":9464").split(":").pop()}`);
				const sock = cfg.status?.socket ?? "/run/topoguard/status.sock";
				const dir = sock.slice(0, sock.lastIndexOf("/"));
				const m = c.volumeMounts.find((v) => v.mountPath === dir);
				console.log(`fact ${f} status-dir ${m ? dir : "unmounted"} ${dir}`);
				const cfgArg = (c.args ?? [])[(c.args ?? []).indexOf("--config") + 1] ?? "";
				const cm2 = c.volumeMounts.find((v) => cfgArg.startsWith(v.mountPath + "/"));
				const vol = spec.volumes.find((v) => v.name === cm2?.name);
				console.log(`fact ${f} config-from-configmap ${vol?.configMap?.name ?? "none"} ${cm.metadata.name}`);
			}
		}
	' "$NODE_MODULES" "$@"
}

check_consistency() {
	local bin=$BREL/rel/topoguard help file kind a b errs=() args n=0
	if [ ! -x "$bin" ] || ! help=$("$bin" run --help 2>&1); then
		note "no 'topoguard run --help': artefact arguments not checked"
		return
	fi
	# The unit's and the image's command lines, then every DaemonSet's.
	{
		sed -n 's|^ExecStart=[^ ]* run|args deploy/systemd/topoguard.service|p' deploy/systemd/topoguard.service
		sed -n 's|^CMD \[\(.*\)\]|args deploy/Containerfile \1|p' deploy/Containerfile | tr -d '",'
		deploy_facts "$OUT/kustomize.yaml" "$OUT"/helm-*.yaml 2>&1
	} >"$OUT/facts.txt"
	while read -r kind file a b; do
		case $kind in
		args)
			n=$((n + 1))
			for args in $a $b; do
				case $args in
				--*) grep -qE -- "(^|[ ,])${args}([ =]|\$)" <<<"$help" ||
					errs+=("${file##*/}: 'run $args' is not an option of topoguard run") ;;
				esac
			done
			;;
		fact) [ "${b%% *}" = "${b#* }" ] || errs+=("${file##*/}: $a: ${b%% *} vs ${b#* }") ;;
		*) errs+=("$kind $file $a $b") ;;
		esac
	done <"$OUT/facts.txt"
	if [ ${#errs[@]} -eq 0 ] && [ $n -gt 0 ]; then
		pass host "$n command lines use only options of 'topoguard run'; ports, status socket and ConfigMap line up"
	else
		fail host "artefacts disagree with the binary or each other:"
		printf '%s\n' "${errs[@]:-no command lines found}" | indent '      '
	fi
}
