#!/usr/bin/env bash
# What the packaging checks need, idempotently: shellcheck for the hack/ scripts and debootstrap for the image's
# root filesystem (apt; skipped when present), and helm built from the Go module proxy (hack/build-helm.sh;
# reused from the cache when built before).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[packaging-deps] %s\n' "$*" >&2; }

need=()
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if [ ${#need[@]} -eq 0 ]; then
  log "shellcheck and debootstrap present"
else
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "apt-get install ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
bash "$here/build-helm.sh" >/dev/null
