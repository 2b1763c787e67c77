#!/usr/bin/env bash
# make lab: the whole product on one machine (root). Builds what it needs, then runs test/lab/main.ts inside a
# fresh "node" network namespace: a real control plane, the operator, a stand-in kubelet that runs pods as
# network namespaces on two nodes, a real router (FRR: BGP + BFD with the LB pods) and a client.
# Options: --keep (stay up until Ctrl-C), --check (the system test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "lab: needs root (network namespaces, BPF)" >&2; exit 1; }
say() { printf '[lab] %s\n' "$*" >&2; }

say "installing dependencies (apt, npm, control-plane binaries; the first run builds Kubernetes: ~6 min)"
bash hack/install-deps.sh
say "building TypeScript (src and the lab), the operator's bundle, BPF objects and the native addon"
npx tsc -p tsconfig.json
node hack/bundle-operator.mjs
bash hack/build-dataplane.sh

# The lab's namespaces and bpffs are named by PLB_LAB_NETNS_PREFIX (default plblab-): a second lab with another
# prefix runs alongside without either removing the other's namespaces.
export PLB_LAB_NETNS_PREFIX=${PLB_LAB_NETNS_PREFIX:-plblab-}
prefix=$PLB_LAB_NETNS_PREFIX
# One bpffs for the lab's LB pods (a real node's /sys/fs/bpf): pinned maps outlive an agent restart.
export PLB_LAB_BPFFS=/run/${prefix}bpffs
cleanup() {
  local ns pids
  for ns in $(ip netns list | awk '{print $1}' | grep "^$prefix" || true); do
    # What a crashed run left in the lab's own namespaces (FRR, BIRD, agents, backends): by PID, nothing else.
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "/var/run/frr/${prefix}frr" "/etc/frr/${prefix}frr"
  if mountpoint -q "$PLB_LAB_BPFFS"; then umount "$PLB_LAB_BPFFS" || true; fi
}
trap cleanup EXIT INT TERM
cleanup
mkdir -p "$PLB_LAB_BPFFS" && mount -t bpf bpf "$PLB_LAB_BPFFS"
ip netns add "${prefix}node"
ip netns exec "${prefix}node" node dist/test/lab/main.js "$@"
