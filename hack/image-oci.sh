#!/usr/bin/env bash
# The project's image without a registry or a container engine: packs what hack/image-rootfs.sh builds from
# hack/image-contents.txt (the list the Dockerfile installs) as an OCI image archive with umoci, and prints the
# archive's path. hack/cluster/load-image.sh imports it into every node (`ctr images import`), as `kind load`
# does for the Dockerfile's image.
#   bash hack/image-oci.sh [repository:tag]        default localhost/portable-lb:dev
# Two layers: the Debian part (cached per package list: packed once, ~1 min) and the application part (the
# built package, node and the links; packed anew each run). The image configuration (user, environment, working
# directory, ports, command, labels) is the list's too; the OCI version label is package.json's version.
# Needs root, umoci (hack/install-cluster-deps.sh) and a built tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[image-oci] %s\n' "$*" >&2; }

ref=${1:-localhost/portable-lb:dev}
repository=${ref%:*}
tag=${ref##*:}
[[ "$ref" == *:* && -n "$tag" && "$tag" != latest ]] || { log "$ref: give repository:tag, not :latest (nodes never pull)"; exit 2; }
command -v umoci >/dev/null || { log "umoci is missing: bash hack/install-cluster-deps.sh"; exit 1; }

cache="${PLB_CACHE:-$HOME/.cache/portable-lb}/rootfs"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
export PLB_IMAGE_LOCKED=1
start=$(date +%s)
mapfile -t parts < <(bash "$root/hack/image-rootfs.sh" --layers)
base=${parts[0]} app=${parts[1]}

# The Debian part as a one-layer image, kept beside the root filesystem it was packed from.
layout="$base.oci"
if [ ! -e "$layout.complete" ]; then
  t=$(date +%s)
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:base"
  umoci insert --image "$layout:base" --history.created_by "debootstrap bookworm minbase + hack/image-contents.txt packages" "$base" /
  touch "$layout.complete"
  log "Debian layer packed in $(( $(date +%s) - t ))s"
fi

entries() { awk -v kind="$1" '$1 == kind { $1 = ""; sub(/^ /, ""); print }' "$root/hack/image-contents.txt"; }
config=(--config.user "$(entries user | awk '{ print $1 }')" --config.workingdir "$(entries workdir)")
while read -r e; do config+=(--config.env "$e"); done < <(entries env)
while read -r p; do config+=(--config.exposedports "$p"); done < <(entries expose)
while read -r c; do config+=(--config.cmd "$c"); done < <(entries cmd)
while read -r l; do config+=(--config.label "$l"); done < <(entries label)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
config+=(--config.label "org.opencontainers.image.version=$version")

work=$(mktemp -d "$cache/oci.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$layout/." "$work/"
umoci insert --image "$work:base" --tag "$tag" --history.created_by "hack/image-contents.txt copy and link entries" "$app" /
umoci config --image "$work:$tag" "${config[@]}" --clear config.entrypoint
umoci rm --image "$work:base"
umoci gc --layout "$work"
out="$cache/${repository//\//_}_$tag.oci.tar"
tar -C "$work" -cf "$out.tmp" .
mv "$out.tmp" "$out"
log "$ref packed in $(( $(date +%s) - start ))s: $out ($(du -h "$out" | cut -f1); import with --base-name $repository)"
echo "$out"
