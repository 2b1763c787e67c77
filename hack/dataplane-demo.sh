#!/usr/bin/env bash
# The main job on one machine until the full lab lands: a pod network in network namespaces (a node with routed
# /32 veths to a client pod, an LB pod and three backend pods), the standalone agent in the LB pod programming
# the xdp data plane (TC hook) from a PortableLoadBalancer file, and traffic from the client to the VIP.
# Prints the per-backend distribution, then removes every namespace and process (also on failure or Ctrl-C).
# Needs root. Usage: hack/dataplane-demo.sh [requests]   (default 3000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
requests=${1:-3000}
p="plbdemo$$-"
node_ns="${p}node"
vip=10.241.200.10
work=$(mktemp -d)
pids=()
say() { printf '[demo] %s\n' "$*" >&2; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep "^$p" || true); do ip netns del "$ns"; done
  umount "$work/bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { say "needs root (network namespaces)"; exit 1; }
if [ ! -f dist/src/agent/main.js ] || [ ! -f build/dataplane/plb_tc.bpf.o ]; then
  say "building (TypeScript, BPF objects, native addon) ..."
  bash hack/install-dataplane-deps.sh
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run --silent build
  bash hack/build-dataplane.sh
fi

say "creating the pod network (namespaces prefixed $p)"
ip netns add "$node_ns"
ip -n "$node_ns" link set lo up
ip netns exec "$node_ns" sysctl -qw net.ipv4.ip_forward=1
pod() { # name ip
  local ns="$p$1" host="h-$1"
  ip netns add "$ns"; ip -n "$ns" link set lo up
  ip link add "$host" netns "$node_ns" type veth peer name eth0 netns "$ns"
  ip -n "$node_ns" link set "$host" up
  ip -n "$node_ns" route add "$2/32" dev "$host"
  local mac; mac=$(ip netns exec "$node_ns" cat "/sys/class/net/$host/address")
  ip -n "$ns" link set eth0 up
  ip -n "$ns" addr add "$2/32" dev eth0
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link
  ip -n "$ns" route add default via 169.254.1.1 dev eth0
  ip -n "$ns" neigh replace 169.254.1.1 lladdr "$mac" dev eth0 nud permanent
}
pod cli 10.241.0.2; pod lb 10.241.0.3
pod b1 10.241.1.1; pod b2 10.241.1.2; pod b3 10.241.1.3
# What the upstream router does: send the VIP to the LB pod.
ip -n "$node_ns" route add "$vip/32" via 10.241.0.3

say "starting three HTTP backends"
for b in b1 b2 b3; do
  ip netns exec "$p$b" node test/dataplane/support/backend-server.mjs "$b" 8080 5353 > "$work/$b.log" 2>&1 &
  pids+=($!)
done

cat > "$work/plb.yaml" <<YAML
apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
metadata: {name: demo}
spec:
  vip: $vip
  ports: [{name: http, port: 80, targetPort: 8080}]
  backends:
    addresses: [{ip: 10.241.1.1, weight: 1}, {ip: 10.241.1.2, weight: 1}, {ip: 10.241.1.3, weight: 2}]
  dataPlane: xdp
YAML
say "starting the agent in the LB pod: plb-agent run --file plb.yaml"
# ip netns exec hides the host's /sys/fs/bpf; pin the maps on a bpffs of the demo's own (a pod mounts the node's).
mkdir -p "$work/bpffs" && mount -t bpf bpf "$work/bpffs"
ip netns exec "${p}lb" node dist/src/agent/main.js run --file "$work/plb.yaml" --pin-dir "$work/bpffs/demo" > "$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q ready "$work/b1.log" 2>/dev/null && grep -q ready "$work/b3.log" 2>/dev/null &&
    ip netns exec "${p}lb" curl -sf "http://127.0.0.1:9470/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
say "agent: $(tail -n 1 "$work/agent.log")"

say "sending $requests short connections (Connection: close) from the client pod to $vip:80"
ip netns exec "${p}cli" node test/dataplane/support/load.mjs http "http://$vip/" "$requests" 20 close > "$work/load.json"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  console.log("backend  requests  share   (weights 1:1:2 -> 25% 25% 50%)");
  for (const [k, v] of Object.entries(r.counts).sort()) console.log(`${k.padEnd(8)} ${String(v).padStart(8)}  ${(100 * v / total).toFixed(1)}%`);
  console.log(`failed: ${r.failed}`);
  process.exit(r.failed === 0 && total > 0 ? 0 : 1);
' "$work/load.json"
