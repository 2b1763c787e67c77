#!/usr/bin/env bash
# Installs the BGP speaker of the LB pods (BIRD 2, also in the image: hack/image-contents.txt) and the
# router the lab, the BGP tests and the e2e suite peer with (FRR: zebra, bgpd, bfdd), at the versions pinned in
# hack/versions.env. Idempotent: apt runs only when a binary is missing or its installed version differs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"
# shellcheck source=hack/lib/apt.sh
source "$root/hack/lib/apt.sh"

installed() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true; }
bird_pinned() { [[ "$(installed bird2)" == "$BIRD2_DEB_VERSION" ]]; }
frr_pinned() { [[ "$(installed frr)" == "$FRR_DEB_VERSION" ]]; }

ensure_packages install-bgp-deps \
  "@bird_pinned:bird2=$BIRD2_DEB_VERSION" \
  "@frr_pinned:frr=$FRR_DEB_VERSION"

# Debian's packages start system-wide daemons where an init system runs; the tests start their own instances
# in namespaces, with their own sockets.
if [[ ${#APT_INSTALLED[@]} -gt 0 ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now bird frr >/dev/null 2>&1 || true
fi
