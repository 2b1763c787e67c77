#!/usr/bin/env bash
# Installs everything the build and all test tiers need on a fresh Debian bookworm machine, idempotently:
# apt packages (skipped when present), npm packages (npm ci when node_modules is missing or stale), and the
# control-plane binaries built from the Go module proxy (reused from the cache when built before).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n== %s\n' "$*" >&2; }

step "apt packages for the operator tiers (openssl, jq)"
# shellcheck source=hack/lib/apt.sh
source hack/lib/apt.sh
ensure_packages install-deps "openssl:openssl" "jq:jq"

step "apt packages for the data planes"
bash hack/install-dataplane-deps.sh

step "apt packages for the nftables and ipvs data planes and the VM runner (nft, ipvsadm, qemu, Debian's kernel)"
bash hack/install-vm-deps.sh

step "apt packages for BGP: the LB pods' speaker (bird2) and the lab's router (frr)"
bash hack/install-bgp-deps.sh

step "npm packages"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  echo "node_modules is up to date" >&2
fi

step "control plane (kube-apiserver, kube-controller-manager, kubectl, etcd)"
bash hack/build-control-plane.sh >/dev/null

step "packaging (shellcheck, debootstrap, helm from the Go module proxy)"
bash hack/install-packaging-deps.sh

step "real nodes (containerd, runc, CNI plugins, umoci, catatonit; hack/cluster and the OCI image)"
bash hack/install-cluster-deps.sh
