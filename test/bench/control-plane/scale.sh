#!/usr/bin/env bash
# Runs scale.js inside a fresh LB-pod namespace (eth0 = veth to a node namespace, the LB pod's address; the
# control plane the bench starts listens on this namespace's loopback) and prints its JSON line. Everything it
# creates is removed on exit, also on failure.
#   usage: scale.sh <scale.js> <agent main.js> <pods> <flips> "<data planes>" [log dir]      (root)
set -euo pipefail
JS=$1 AGENT=$2 PODS=$3 FLIPS=$4 PLANES=$5 LOGS=${6:-}
P="plbscale-$$-"
cleanup() {
  # 2>/dev/null: ip complains about namespaces of others it cannot resolve an id for; not ours to judge
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns"; done
}
trap cleanup EXIT
ip netns add "${P}node"; ip netns add "${P}lb"
ip link add h-lb netns "${P}node" type veth peer name eth0 netns "${P}lb"
ip -n "${P}node" link set h-lb up
ip -n "${P}lb" link set lo up; ip -n "${P}lb" link set eth0 up
ip -n "${P}lb" addr add 10.249.0.3/32 dev eth0
ip -n "${P}lb" route add 169.254.1.1 dev eth0 scope link
ip -n "${P}lb" route add default via 169.254.1.1 dev eth0
# The agent mounts a bpffs of its own in the namespace's mount view when none is there (ip netns exec remounts /sys).
logs=(); [[ -n $LOGS ]] && logs=(--log-dir "$LOGS")
ip netns exec "${P}lb" node "$JS" --agent "$AGENT" --pods "$PODS" --flips "$FLIPS" --planes "$PLANES" "${logs[@]}"
