#!/usr/bin/env bash
# Builds the Dockerfile's runtime stage as a plain root filesystem, without a container engine, and prints its
# path. Everything comes from hack/image-contents.txt, the list the Dockerfile installs too: Debian bookworm
# minbase (debootstrap) + its packages + the plb user (Debian part), then its copy and link entries (application
# part). The one difference from the image: node is this machine's node binary, not the node:20-slim image's.
#   --layers   print the two parts' directories instead (Debian part, then application part; for hack/image-oci.sh)
# Needs root (debootstrap, chroot) and a built tree (dist/ with the operator's bundle, build/dataplane/, node_modules/).
# The Debian part is cached per package list under ${PLB_CACHE:-~/.cache/portable-lb}/rootfs/; the
# application part is copied anew on every run (seconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[image-rootfs] %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap and chroot)"; exit 1; }
for f in dist/operator/main.mjs dist/src/agent/main.js build/dataplane/plb_bpf.node node_modules; do
  [ -e "$root/$f" ] || { log "$f is missing: build first (npm run build && bash hack/build-dataplane.sh)"; exit 1; }
done
command -v debootstrap >/dev/null || { log "debootstrap is missing: apt-get install debootstrap"; exit 1; }

cache="${PLB_CACHE:-$HOME/.cache/portable-lb}/rootfs"
contents="$root/hack/image-contents.txt"
entries() { awk -v kind="$1" '$1 == kind { $1 = ""; sub(/^ /, ""); print }' "$contents"; }
mapfile -t packages < <(entries package)
read -r uid user < <(entries user)
key=$( { printf '%s\n' "${packages[@]}"; entries user; } | sha256sum | cut -c1-12)
base="$cache/bookworm-$key"
# The mirror this machine's apt already uses (Debian is the only package source the image needs).
mirror=${DEBOOTSTRAP_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { log "no Debian mirror found in /etc/apt: set DEBOOTSTRAP_MIRROR"; exit 1; }

# One build at a time (the integration tier and hack/image-oci.sh share the cache); hack/image-oci.sh holds the
# lock itself around this script and what it does with the output.
mkdir -p "$cache"
if [ -z "${PLB_IMAGE_LOCKED:-}" ]; then exec 9>"$cache/.lock"; flock 9; fi

if [ ! -e "$base.complete" ]; then
  rm -rf "$base.tmp" "$base"
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
  chroot "$base.tmp" groupadd --system --gid "$uid" "$user"
  chroot "$base.tmp" useradd --system --uid "$uid" --gid "$user" --no-create-home --shell /usr/sbin/nologin "$user"
  : > "$base.tmp/etc/resolv.conf" # the runtime provides its own
  mv "$base.tmp" "$base"
  touch "$base.complete"
  log "Debian part ready in $(( $(date +%s) - start ))s"
fi

# The application part: the list's copy and link entries, and node, in a tree of its own.
app="$cache/app"
rm -rf "$app"
mkdir -p "$app/usr/local/bin"
while read -r src dest; do
  mkdir -p "$app$(dirname "$dest")"
  cp -a "$root/$src" "$app$dest"
done < <(entries copy)
# Runtime dependencies only, as `npm prune --omit=dev` leaves them in the image (offline: it only deletes).
pkg=$(entries copy | awk '$1 == "package.json" { print $2 }')
cp "$root/package-lock.json" "$app$(dirname "$pkg")/"
(cd "$app$(dirname "$pkg")" && npm prune --omit=dev --offline --no-audit --no-fund >&2)
rm "$app$(dirname "$pkg")/package-lock.json"
while read -r link target; do
  mkdir -p "$app$(dirname "$link")"
  chmod +x "$app$target"
  ln -s "$target" "$app$link"
done < <(entries link)
install -m 0755 "$(command -v node)" "$app/usr/local/bin/node"
chmod 0755 "$app"

if [ "${1:-}" = --layers ]; then
  log "layers ready: $base, $app ($(du -sh "$app" | cut -f1))"
  printf '%s\n%s\n' "$base" "$app"
  exit 0
fi
out="$cache/image"
rm -rf "$out"
cp -a "$base" "$out"
cp -a "$app/." "$out/"
log "root filesystem ready: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
