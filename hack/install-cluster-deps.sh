#!/usr/bin/env bash
# What hack/cluster (real nodes on this machine) needs from Debian, pinned in hack/versions.env: containerd, runc
# and the CNI plugins (bridge, host-local, loopback, portmap in /usr/lib/cni), umoci to pack the project's root
# filesystem as an OCI image (no registry, no container engine), catatonit as the pods' pause process, and
# debootstrap for that root filesystem. Idempotent: apt runs only for what is missing.
#
# The pins are Debian's exact versions. When the mirror has moved on (a point release or a security update
# supersedes one), the newer package of the same upstream major.minor is installed with a warning; a different
# major.minor stops here, because kubelet's support for containerd 1.6 ends at Kubernetes 1.36 (see
# hack/cluster/README.md, "Versions").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/versions.env
. "$here/versions.env"
# shellcheck source=hack/lib/apt.sh
source "$here/lib/apt.sh"

# package=pinned version, chosen per package so that an unavailable pin degrades to the same major.minor.
pinned() {
  local pkg=$1 want=$2 have
  have=$(apt-cache madison "$pkg" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -Fx -- "$want" || true)
  if [[ -n "$have" ]]; then echo "$pkg=$want"; return; fi
  echo "install-cluster-deps: WARNING: $pkg $want is not on the mirror; installing its newest $(minor "$want").x" >&2
  echo "$pkg"
}
minor() { sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$1"; }

# Probe by command or file (hack/lib/apt.sh's probes); apt runs only when one is missing. The versions are resolved
# after the update, because apt-cache madison needs the package lists it fetches.
install=()
for entry in "containerd:containerd:$CONTAINERD_DEB_VERSION" "runc:runc:$RUNC_DEB_VERSION" \
    "/usr/lib/cni/bridge:containernetworking-plugins:$CNI_PLUGINS_DEB_VERSION" "umoci:umoci:$UMOCI_DEB_VERSION" \
    "catatonit:catatonit:$CATATONIT_DEB_VERSION" "debootstrap:debootstrap:" "iptables:iptables:" "conntrack:conntrack:"; do
  IFS=: read -r probe pkg version <<<"$entry"
  probe_present "$probe" && continue
  echo "install-cluster-deps: missing $probe (package $pkg)" >&2
  install+=("$pkg:$version")
done
if [[ ${#install[@]} -gt 0 ]]; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q >&2
  args=()
  for entry in "${install[@]}"; do
    IFS=: read -r pkg version <<<"$entry"
    if [[ -n "$version" ]]; then args+=("$(pinned "$pkg" "$version")"); else args+=("$pkg"); fi
  done
  echo "install-cluster-deps: apt-get install ${args[*]}" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${args[@]}" >&2
else
  echo "install-cluster-deps: all present, skipping apt" >&2
fi

# An installed package of another major.minor (a machine set up by hand) is refused, not silently used.
check() {
  local pkg=$1 want=$2 have
  have=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
  [[ "$(minor "$have")" == "$(minor "$want")" ]] && return
  echo "install-cluster-deps: $pkg $have is installed, hack/versions.env pins $want ($(minor "$want").x expected)" >&2
  exit 1
}
check containerd "$CONTAINERD_DEB_VERSION"
check runc "$RUNC_DEB_VERSION"
check containernetworking-plugins "$CNI_PLUGINS_DEB_VERSION"
check umoci "$UMOCI_DEB_VERSION"
check catatonit "$CATATONIT_DEB_VERSION"
# The Debian package ships a unit for a system-wide containerd; nothing here starts it (each node runs its own,
# with its own socket and root), and a machine with systemd must not get a second one from this script.
if [[ " ${install[*]} " == *" containerd:"* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now containerd >/dev/null 2>&1 || true
fi
