#!/usr/bin/env bash
# Runs xdp-apply.js inside a fresh LB-pod namespace (eth0 = veth to a node namespace, an address, a private
# bpffs) and prints its JSON line. Everything it creates is removed on exit, also on failure.
#   usage: xdp-apply.sh <xdp-apply.js> "<sizes>" <runs>      (root)
set -euo pipefail
JS=$1 SIZES=$2 RUNS=$3
P="plbbench-$$-"
WORK="$(mktemp -d "/tmp/${P}XXXX")"
cleanup() {
  if mountpoint -q "$WORK/bpffs" 2>/dev/null; then umount "$WORK/bpffs"; fi
  # 2>/dev/null: ip complains about namespaces of others it cannot resolve an id for; not ours to judge
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "${P}node"; ip netns add "${P}lb"
ip link add h-lb netns "${P}node" type veth peer name eth0 netns "${P}lb"
ip -n "${P}node" link set h-lb up
ip -n "${P}lb" link set lo up; ip -n "${P}lb" link set eth0 up
ip -n "${P}lb" addr add 10.249.0.3/32 dev eth0
ip -n "${P}lb" route add 169.254.1.1 dev eth0 scope link
ip -n "${P}lb" route add default via 169.254.1.1 dev eth0
mkdir -p "$WORK/bpffs"; mount -t bpf bpf "$WORK/bpffs"
ip netns exec "${P}lb" node "$JS" --pin-root "$WORK/bpffs" --sizes "$SIZES" --runs "$RUNS"
