#!/usr/bin/env bash
# Builds the Dockerfile's runtime stage as a plain root filesystem, without a container engine, and prints its
# path: Debian bookworm minbase (debootstrap) + hack/image-runtime-packages.txt (the list the Dockerfile installs)
# + the plb user + /opt/portable-lb laid out as the Dockerfile lays it out + plb-operator/plb-agent on PATH.
# The one difference from the image: node is this machine's node binary, not the node:20-slim image's.
# Needs root (debootstrap, chroot) and a built tree (dist/, build/dataplane/, node_modules/).
# The Debian part is cached per package list under ${PLB_CACHE:-~/.cache/portable-lb}/rootfs/; the
# application layer is copied anew on every run (seconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[image-rootfs] %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap and chroot)"; exit 1; }
for f in dist/src/operator/main.js dist/src/agent/main.js build/dataplane/plb_bpf.node node_modules; do
  [ -e "$root/$f" ] || { log "$f is missing: build first (npm run build && bash hack/build-dataplane.sh)"; exit 1; }
done
command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install debootstrap"; exit 1; }

cache="${PLB_CACHE:-$HOME/.cache/portable-lb}/rootfs"
mapfile -t packages < <(grep -v -e '^#' -e '^$' "$root/hack/image-runtime-packages.txt")
key=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-12)
base="$cache/bookworm-$key"
# The mirror this machine's apt already uses (Debian is the only package source the image needs).
mirror=${DEBOOTSTRAP_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { log "no Debian mirror found in /etc/apt: set DEBOOTSTRAP_MIRROR"; exit 1; }

if [ ! -e "$base/.complete" ]; then
  rm -rf "$base.tmp"
  mkdir -p "$cache"
  start=$(date +%s)
  log "debootstrap bookworm minbase (about 1-2 min) ..."
  debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >&2
  cp /etc/resolv.conf "$base.tmp/etc/resolv.conf"
  log "apt-get install ${packages[*]}"
  chroot "$base.tmp" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive chroot "$base.tmp" apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
  chroot "$base.tmp" apt-get clean
  rm -rf "$base.tmp/var/lib/apt/lists/"*
  # The same user as the Dockerfile's, for the operator (the chart's runAsUser).
  chroot "$base.tmp" groupadd --system --gid 65532 plb
  chroot "$base.tmp" useradd --system --uid 65532 --gid plb --no-create-home --shell /usr/sbin/nologin plb
  touch "$base.tmp/.complete"
  mv "$base.tmp" "$base"
  log "Debian part ready in $(( $(date +%s) - start ))s"
fi

out="$cache/image"
rm -rf "$out"
cp -a "$base" "$out"
app="$out/opt/portable-lb"
mkdir -p "$app/dist" "$app/build"
cp "$root/package.json" "$root/package-lock.json" "$app/"
cp -a "$root/dist/src" "$app/dist/src"
cp -a "$root/build/dataplane" "$app/build/dataplane"
cp -a "$root/node_modules" "$app/node_modules"
# Runtime dependencies only, as `npm prune --omit=dev` leaves them in the image (offline: it only deletes).
(cd "$app" && npm prune --omit=dev --offline --no-audit --no-fund >&2)
rm "$app/package-lock.json"
install -m 0755 "$(command -v node)" "$out/usr/local/bin/node"
chmod +x "$app/dist/src/operator/main.js" "$app/dist/src/agent/main.js"
ln -s /opt/portable-lb/dist/src/operator/main.js "$out/usr/local/bin/plb-operator"
ln -s /opt/portable-lb/dist/src/agent/main.js "$out/usr/local/bin/plb-agent"
log "root filesystem ready: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
