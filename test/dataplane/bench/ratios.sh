#!/usr/bin/env bash
# Side-by-side throughput ratios of the data planes vs. a routed baseline, per the method of
# notes/dataplane-findings.md §5.1: a fresh pod network per measurement pair, the baseline (client -> both
# backends directly, two wrk processes summed, no NAT) and then the configuration (client -> VIP) in the same
# topology, ratio = config / baseline. Tests: ka (keep-alive req/s), close (Connection: close req/s), big (1 MiB
# MB/s). Not a jest test: it takes minutes and its numbers are evidence, not pass/fail.
#   usage: sudo test/dataplane/bench/ratios.sh [reps=3] [seconds=5] [configs="tc iptables"]   (also: xdp)
# Needs: nginx-light, wrk, iptables (hack/install-dataplane-deps.sh) and build/dataplane (hack/build-dataplane.sh).
set -euo pipefail
REPS=${1:-3}
DUR=${2:-5}
CONFIGS=${3:-"tc iptables"}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
P="plbbench-$$-"
WORK="$(mktemp -d /tmp/${P}XXXX)"
chmod 755 "$WORK"  # nginx workers run as nobody and serve /big from here
VIP=10.241.200.10
declare -A IP=([cli]=10.241.0.2 [lb]=10.241.0.3 [b1]=10.241.1.1 [b2]=10.241.1.2)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns"; done
  umount "$WORK/bpffs" 2>/dev/null || true
  rm -rf "$WORK" "$ROOT/.tmp/${P}build"
}
trap cleanup EXIT

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

topology_up() {
  ip netns add "${P}node"; nsx node ip link set lo up; nsx node sysctl -qw net.ipv4.ip_forward=1
  for pod in cli lb b1 b2; do
    ip netns add "$P$pod"; nsx "$pod" ip link set lo up
    ip link add "h-$pod" netns "${P}node" type veth peer name eth0 netns "$P$pod"
    nsx node ip link set "h-$pod" up; nsx node ip route add "${IP[$pod]}/32" dev "h-$pod"
    nsx "$pod" ip link set eth0 up; nsx "$pod" ip addr add "${IP[$pod]}/32" dev eth0
    nsx "$pod" ip route add 169.254.1.1 dev eth0 scope link
    nsx "$pod" ip route add default via 169.254.1.1 dev eth0
    nsx "$pod" ip neigh replace 169.254.1.1 lladdr "$(nsx node cat /sys/class/net/h-$pod/address)" dev eth0 nud permanent
  done
  nsx node ip route add "$VIP/32" via "${IP[lb]}"
  nsx cli sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
  for b in b1 b2; do
    mkdir -p "$WORK/$b/logs"; chmod 755 "$WORK/$b"
    head -c 1048576 /dev/urandom > "$WORK/$b/big"
    cat > "$WORK/$b/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/$b/nginx.pid;
error_log $WORK/$b/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/$b; proxy_temp_path $WORK/$b; fastcgi_temp_path $WORK/$b; uwsgi_temp_path $WORK/$b; scgi_temp_path $WORK/$b;
  server { listen 8080 backlog=4096; location = /big { alias $WORK/$b/big; } location / { return 200 "$b\n"; } }
}
CONF
    nsx "$b" sysctl -qw net.core.somaxconn=4096
    # `ip netns exec` directly (not via nsx, a function, which would fork a subshell): $! is nginx itself
    ip netns exec "$P$b" nginx -p "$WORK/$b" -c "$WORK/$b/nginx.conf" -g 'daemon off;' & PIDS+=($!)
  done
  sleep 0.5
}

topology_down() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true; PIDS=()
  for ns in node cli lb b1 b2; do ip netns del "$P$ns"; done
  umount "$WORK/bpffs" 2>/dev/null || true
}

config_up() {
  case "$1" in
    tc|xdp)
      local attach=tc
      if [[ $1 == xdp ]]; then
        # native XDP on the LB's veth needs the node's cooperation (notes §1.2): GRO on the host-side peer, and
        # tx checksum offload off on same-node senders
        attach=native
        nsx node ethtool -K h-lb gro on >/dev/null
        for pod in cli b1 b2; do nsx "$pod" ethtool -K eth0 tx off >/dev/null; done
      fi
      mkdir -p "$WORK/bpffs"; mount -t bpf bpf "$WORK/bpffs"
      cat > "$WORK/plb.yaml" <<YAML
apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
metadata: {name: bench}
spec:
  vip: $VIP
  xdp: {attach: $attach}
  ports: [{port: 80, targetPort: 8080}]
  backends: {addresses: [{ip: ${IP[b1]}}, {ip: ${IP[b2]}}]}
YAML
      ip netns exec "${P}lb" node "$AGENT" run --file "$WORK/plb.yaml" --interface eth0 --pin-dir "$WORK/bpffs/lb" --listen 127.0.0.1:9470 2>"$WORK/agent.log" & PIDS+=($!)
      for _ in $(seq 100); do grep -q "listening on" "$WORK/agent.log" && break; sleep 0.1; done ;;
    iptables)
      # kube-proxy style: random DNAT per endpoint, mark, port-preserving MASQUERADE
      nsx lb sysctl -qw net.ipv4.ip_forward=1
      nsx lb iptables -t nat -N PLB-SVC; nsx lb iptables -t nat -N PLB-SEP1; nsx lb iptables -t nat -N PLB-SEP2
      nsx lb iptables -t nat -A PREROUTING -d "$VIP/32" -p tcp --dport 80 -j PLB-SVC
      nsx lb iptables -t nat -A PLB-SVC -m statistic --mode random --probability 0.5 -j PLB-SEP1
      nsx lb iptables -t nat -A PLB-SVC -j PLB-SEP2
      nsx lb iptables -t nat -A PLB-SEP1 -j MARK --set-xmark 0x4000/0x4000
      nsx lb iptables -t nat -A PLB-SEP1 -p tcp -j DNAT --to-destination "${IP[b1]}:8080"
      nsx lb iptables -t nat -A PLB-SEP2 -j MARK --set-xmark 0x4000/0x4000
      nsx lb iptables -t nat -A PLB-SEP2 -p tcp -j DNAT --to-destination "${IP[b2]}:8080"
      nsx lb iptables -t nat -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE ;;
  esac
}

# wrk's rate: "Requests/sec: N" for ka/close, "Transfer/sec: N[KMG]B" for big (as MB/s)
rate() {
  local test=$1 out=$2
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "ratios: errors in a run: $(grep -E 'Non-2xx|Socket errors' <<<"$out")" >&2; fi
  if [[ $test == big ]]; then
    awk '/Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=v+0; if (u=="GB") n*=1024; else if (u=="KB") n/=1024; print n }' <<<"$out"
  else
    awk '/Requests\/sec/ { print $2 }' <<<"$out"
  fi
}

wrk_run() {  # test url connections
  local test=$1 url=$2 c=$3 path=/ hdr=()
  [[ $test == big ]] && path=/big
  [[ $test == close ]] && hdr=(-H 'Connection: close')
  nsx cli wrk -t1 -c"$c" -d"${DUR}s" "${hdr[@]}" "$url$path"
}

connections() { [[ $1 == big ]] && echo 4 || echo 50; }

echo "building the agent"
"$ROOT/node_modules/.bin/tsc" "$ROOT/src/agent/main.ts" --outDir "$ROOT/.tmp/${P}build" --rootDir "$ROOT" --module nodenext \
  --moduleResolution nodenext --target es2022 --lib es2023 --types node --strict --skipLibCheck --verbatimModuleSyntax --esModuleInterop
AGENT="$ROOT/.tmp/${P}build/src/agent/main.js"

printf '%-9s %-6s %4s %12s %12s %7s\n' config test rep baseline config ratio | tee "$WORK/../${P}results.txt"
for config in $CONFIGS; do
  for test in ka close big; do
    for rep in $(seq "$REPS"); do
      topology_up
      c=$(connections "$test")
      # baseline: both backends directly, half the connections each, run at the same time, summed
      o1=$(mktemp); o2=$(mktemp)
      wrk_run "$test" "http://${IP[b1]}:8080" $((c / 2)) >"$o1" & w1=$!
      wrk_run "$test" "http://${IP[b2]}:8080" $((c / 2)) >"$o2" & w2=$!
      wait $w1 $w2
      base=$(awk -v a="$(rate "$test" "$(cat "$o1")")" -v b="$(rate "$test" "$(cat "$o2")")" 'BEGIN { print a + b }')
      rm -f "$o1" "$o2"
      config_up "$config"
      val=$(rate "$test" "$(wrk_run "$test" "http://$VIP" "$c")")
      ratio=$(awk -v a="$val" -v b="$base" 'BEGIN { print a / b }')
      printf '%-9s %-6s %4s %12.1f %12.1f %7.2f\n' "$config" "$test" "$rep" "$base" "$val" "$ratio" | tee -a "$WORK/../${P}results.txt"
      topology_down
    done
  done
done
