#!/usr/bin/env bash
# The pods' sandbox ("pause") image without a registry: Debian's static catatonit in pause mode (-P; it exits
# on SIGTERM and reaps nothing it does not own), packed with umoci as localhost/pause:catatonit, the CRI
# sandbox_image of every node (hack/cluster/render.ts). Prints the OCI archive's path; cached per catatonit version.
set -euo pipefail
log() { printf '[pause-image] %s\n' "$*" >&2; }
if ! command -v umoci >/dev/null || [ ! -x /usr/bin/catatonit ]; then
  log "needs umoci and catatonit: bash hack/install-cluster-deps.sh"
  exit 1
fi
version=$(dpkg-query -W -f='${Version}' catatonit)
cache="${PLB_CACHE:-$HOME/.cache/portable-lb}/cluster"
out="$cache/pause-catatonit-${version}.oci.tar"
if [ -e "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/pause.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"
chmod 0755 "$work/rootfs"
install -m 0755 /usr/bin/catatonit "$work/rootfs/catatonit"
umoci init --layout "$work/oci"
umoci new --image "$work/oci:catatonit"
umoci insert --image "$work/oci:catatonit" --history.created_by "catatonit $version (Debian)" "$work/rootfs" /
umoci config --image "$work/oci:catatonit" --config.entrypoint /catatonit --config.entrypoint -P --config.user 65535
umoci gc --layout "$work/oci"
tar -C "$work/oci" -cf "$out.tmp" .
mv "$out.tmp" "$out"
log "packed $out"
echo "$out"
