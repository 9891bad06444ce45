# shellcheck shell=bash
# `scripts/validate-deploy.sh --build-image`: build deploy/Containerfile for real with
# buildah and run the result. Opt-in (root, about 5 minutes the first time), because no
# container registry is reachable here: the debian:bookworm and debian:bookworm-slim base
# images are stand-ins made with `debootstrap --variant=minbase` (what the official slim
# image is built from) and tagged locally, so the build never pulls.

IMAGE=localhost/topoguard:validate
# Outside $B on purpose: a root file system is full of "*.d" directories, and the
# Makefile includes every "*.d" it finds under $B.
IMAGE_CACHE=${TOPOGUARD_IMAGE_CACHE:-/var/tmp/topoguard-image-cache}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs} BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}

image_base() { # make debian:bookworm(-slim) exist in local storage
	local ctr
	buildah images -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1 &&
		buildah images -q docker.io/library/debian:bookworm >/dev/null 2>&1 && return 0
	if [ ! -x "$IMAGE_CACHE/rootfs/bin/sh" ]; then
		rm -rf "$IMAGE_CACHE/rootfs"
		mkdir -p "$IMAGE_CACHE"
		debootstrap --variant=minbase bookworm "$IMAGE_CACHE/rootfs" \
			>"$OUT/debootstrap.log" 2>&1 || return 1
	fi
	ctr=$(buildah from scratch) || return 1
	buildah copy "$ctr" "$IMAGE_CACHE/rootfs" / >/dev/null &&
		buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr" &&
		buildah commit -q "$ctr" docker.io/library/debian:bookworm-slim >/dev/null &&
		buildah tag docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm
	local r=$?
	buildah rm "$ctr" >/dev/null 2>&1
	return $r
}

# The build context: tracked and untracked-but-not-ignored files, as a clean checkout
# plus work in progress would have (never build/).
image_context() { # dir
	local f
	git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f" # deleted in the work tree: not in the context
	done | tar --null -T - -cf - | tar -C "$1" -xf -
}

image_run() { # label command...
	local label=$1 ctr out
	shift
	ctr=$(buildah from "$IMAGE") || { fail image "buildah from $IMAGE"; return; }
	if out=$(buildah run "$ctr" -- "$@" 2>&1); then
		pass image "in the image: $label"
	else
		fail image "in the image: $label:"
		indent '      ' <<<"$out"
	fi
	buildah rm "$ctr" >/dev/null 2>&1
}

check_image_build() {
	local ctx
	[ "$(id -u)" -eq 0 ] || skip77 "--build-image needs root (buildah, debootstrap)"
	need_cmd buildah buildah
	need_cmd debootstrap debootstrap
	command -v crun >/dev/null 2>&1 || command -v runc >/dev/null 2>&1 || apt_install crun
	if ! image_base; then
		fail image "base images (debootstrap, see $OUT/debootstrap.log)"
		return
	fi
	# vfs keeps a full copy per layer: drop what earlier runs left behind.
	buildah rmi --prune >/dev/null 2>&1
	ctx=$(mktemp -d) && DESTDIRS+=("$ctx")
	image_context "$ctx" || { fail image "cannot assemble the build context"; return; }
	if ! buildah bud --pull=never --network=host --build-arg VERSION=0.1.0+validate \
		-f "$ctx/deploy/Containerfile" -t "$IMAGE" "$ctx" >"$OUT/buildah.log" 2>&1; then
		fail image "buildah bud deploy/Containerfile (see $OUT/buildah.log):"
		tail -n 20 "$OUT/buildah.log" | indent '      '
		return
	fi
	pass image "buildah bud deploy/Containerfile -> $IMAGE"
	image_run "topoguard version" /usr/bin/topoguard version
	image_run "topoguard validate-config /etc/topoguard/config.yaml" \
		/usr/bin/topoguard validate-config /etc/topoguard/config.yaml
	image_run "topoguard topology" /usr/bin/topoguard topology
	image_run "ldd resolves every library" sh -c '! ldd /usr/bin/topoguard | grep "not found"'
	local ep
	ep=$(buildah inspect --format '{{.OCIv1.Config.Entrypoint}} {{.OCIv1.Config.User}}' "$IMAGE")
	if [ "$ep" = "[/usr/bin/topoguard run] 0:0" ]; then
		pass image "entrypoint '/usr/bin/topoguard run', user 0:0"
	else
		fail image "entrypoint/user is '$ep'"
	fi
}
