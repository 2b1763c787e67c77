# shellcheck shell=bash disable=SC2034  # sourced: sets variables its caller reads
# Sourced by run.sh. A pod network in network namespaces, built fresh for every measurement pair: backend
# TIME_WAIT sockets and LB flow/conntrack state from one run would otherwise poison the next
# (notes/dataplane-findings.md §5.3, pitfalls 1 and 7).
#   node  the node's netns: a router with one /32 route per pod, like a routed CNI (calico-style)
#   cli   the client pod (wrk)            lb  the LB pod (VIP routed to it by the node)
#   lb0   a second pod like lb that only forwards: the baseline's path (see VIA_LB)
#   b1 b2 backend pods (nginx, 2 workers, "return 200" and a 1 MiB /big)
# With OVERLAY=host-gw|vxlan the client pod lives on a second node (node2) joined to `node` by a veth underlay
# (192.168.254.0/24): host-gw routes the pod addresses via the other node's underlay address (flannel host-gw),
# vxlan through a VXLAN tunnel (VNI 1, UDP 4789) with every pod's eth0 at MTU 1450 (flannel vxlan).
# With MQ=N every veth pair is created with N rx and N tx queues (the CPU-spreading axis).
# Expects: P (namespace prefix), WORK (scratch dir, mode 755), PIDS (array of our background processes),
# OVERLAY, MQ and PIN_CLIENT / PIN_SERVERS (taskset CPU lists, empty = not pinned).

VIP=10.242.200.10
declare -A IP=([cli]=10.242.0.2 [lb]=10.242.0.3 [lb0]=10.242.0.4 [b1]=10.242.1.1 [b2]=10.242.1.2)
# The baseline's addresses of the backends: a second address on each, which the node routes through the lb0 pod
# (plain forwarding, no NAT), both ways. So the baseline takes the same path as the VIP traffic - client ->
# node -> a pod -> node -> backend and back through that pod - and the ratio isolates what the data plane adds
# to plain forwarding in a pod (the baseline of notes §5.1), not the cost of the extra hop itself. lb0 is a
# twin of lb rather than lb itself so that both sides can be measured alternately while the configuration
# stays programmed in lb, and so that the configuration never sees baseline traffic.
declare -A VIA_LB=([b1]=10.242.2.1 [b2]=10.242.2.2)
# What the baseline's clients connect to: one address on both backends, which the node spreads over them per
# flow (ECMP with the L4 hash, after the packet came back from lb0), as an LB spreads the VIP's flows. With one
# backend address per client process instead, each wrk talked to one nginx only: that locality (fewer cross-CPU
# wake-ups) made the baseline up to 1.5x faster on keep-alive for reasons no load balancer can have, and every
# configuration's ratio carried it (xdp-tc 0.68 against it, 0.93-1.0 against this one in the same run).
VIA_ANY=10.242.2.100
declare -A UNDERLAY=([node]=192.168.254.1 [node2]=192.168.254.2)
declare -A TUNNEL_IP=([node]=10.243.0.1 [node2]=10.243.0.2)
OVERLAY=${OVERLAY:-}
MQ=${MQ:-}
PODS="cli lb lb0 b1 b2"

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }
# The node that holds a pod: the client's own node when there is an overlay between it and the rest.
node_of() { if [[ $1 == cli && -n $OVERLAY ]]; then echo node2; else echo node; fi; }
# The client's wrk, pinned when asked (PIN_CLIENT): placement of two wrk and four nginx workers on two CPUs
# otherwise decides the number as much as the configuration does.
client() { if [[ -n ${PIN_CLIENT:-} ]]; then nsx cli taskset -c "$PIN_CLIENT" "$@"; else nsx cli "$@"; fi; }

# Kills our processes and deletes our namespaces; safe to call twice (the EXIT trap calls it again).
topology_down() {
  local pid ns
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  # 2>/dev/null: ip complains about namespaces of others it cannot resolve an id for; not ours to judge
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns"; done
  if mountpoint -q "$WORK/bpffs" 2>/dev/null; then umount "$WORK/bpffs"; fi
}

backend_conf() {  # backend name -> nginx.conf on stdout
  local b=$1 d="$WORK/$1"
  cat <<CONF
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  server { listen 8080 backlog=4096; location = /big { alias $d/big; } location / { return 200 "$b\n"; } }
}
CONF
}

veth() {  # name-in-first-ns first-ns name-in-second-ns second-ns
  local q=()
  [[ -n $MQ ]] && q=(numrxqueues "$MQ" numtxqueues "$MQ")
  ip link add "$1" netns "$P$2" "${q[@]}" type veth peer name "$3" netns "$P$4" "${q[@]}"
}

topology_up() {
  local pod b n
  for n in node $( [[ -n $OVERLAY ]] && echo node2 ); do
    ip netns add "$P$n"; nsx "$n" ip link set lo up
    nsx "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  for pod in $PODS; do
    n=$(node_of "$pod")
    ip netns add "$P$pod"; nsx "$pod" ip link set lo up
    veth "h-$pod" "$n" eth0 "$pod"
    nsx "$n" ip link set "h-$pod" up; nsx "$n" ip route add "${IP[$pod]}/32" dev "h-$pod"
    nsx "$pod" ip link set eth0 up; nsx "$pod" ip addr add "${IP[$pod]}/32" dev eth0
    nsx "$pod" ip route add 169.254.1.1 dev eth0 scope link
    nsx "$pod" ip route add default via 169.254.1.1 dev eth0
    nsx "$pod" ip neigh replace 169.254.1.1 lladdr "$(nsx "$n" cat "/sys/class/net/h-$pod/address")" dev eth0 nud permanent
  done
  # Where the node receives the client's packets: its veth, or the underlay / the tunnel from node2.
  local from_cli=(h-cli)
  [[ -n $OVERLAY ]] && { underlay_up; from_cli=(u0 vx0); overlay_mode "$OVERLAY"; }
  nsx node ip route add "$VIP/32" via "${IP[lb]}"
  nsx node ip route add 10.242.2.0/24 via "${IP[lb0]}" table 100
  nsx node ip route add "${IP[cli]}/32" via "${IP[lb0]}" table 100
  for n in "${from_cli[@]}"; do nsx node ip rule add iif "$n" to 10.242.2.0/24 lookup 100; done
  for b in b1 b2; do
    nsx "$b" ip addr add "${VIA_LB[$b]}/32" dev eth0
    nsx "$b" ip addr add "$VIA_ANY/32" dev eth0
    nsx node ip route add "${VIA_LB[$b]}/32" dev "h-$b"
    nsx node ip rule add iif "h-$b" from "${VIA_LB[$b]}" lookup 100
    nsx node ip rule add iif "h-$b" from "$VIA_ANY" lookup 100
  done
  nsx node sysctl -qw net.ipv4.fib_multipath_hash_policy=1
  nsx node ip route add "$VIA_ANY/32" nexthop dev h-b1 nexthop dev h-b2
  # The node sees client and backend sources arrive from the LB pods' veths: not spoofing, asymmetric routing.
  nsx node sysctl -qw net.ipv4.conf.h-lb.rp_filter=0 net.ipv4.conf.h-lb0.rp_filter=0
  for pod in lb lb0; do
    nsx "$pod" sysctl -qw net.ipv4.ip_forward=1
    # The LB forwards out of the interface the packet came in on (eth0 is its only link): without this the
    # kernel answers the forwarding configurations with ICMP redirects that no real LB pod would send.
    nsx "$pod" sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  done
  nsx cli sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
  for b in b1 b2; do
    mkdir -p "$WORK/$b"; chmod 755 "$WORK/$b"
    [[ -f "$WORK/$b/big" ]] || head -c 1048576 /dev/urandom >"$WORK/$b/big"
    backend_conf "$b" >"$WORK/$b/nginx.conf"
    nsx "$b" sysctl -qw net.core.somaxconn=4096
    # `ip netns exec` directly, not nsx (a function would fork a subshell): $! is then nginx itself
    if [[ -n ${PIN_SERVERS:-} ]]; then
      ip netns exec "$P$b" taskset -c "$PIN_SERVERS" nginx -p "$WORK/$b" -c "$WORK/$b/nginx.conf" -g 'daemon off;' 2>>"$WORK/$b/error.log" & PIDS+=($!)
    else
      ip netns exec "$P$b" nginx -p "$WORK/$b" -c "$WORK/$b/nginx.conf" -g 'daemon off;' 2>>"$WORK/$b/error.log" & PIDS+=($!)
    fi
  done
  wait_tcp "${VIA_LB[b1]}" 8080; wait_tcp "${VIA_LB[b2]}" 8080
}

# The underlay between the two nodes, and a VXLAN device on each for vxlan mode (point to point: the remote is
# fixed, so no FDB learning; the inner next hop's MAC is set statically, as flanneld does).
underlay_up() {
  local n peer
  veth u0 node u0 node2
  for n in node node2; do
    peer=$([[ $n == node ]] && echo node2 || echo node)
    nsx "$n" ip addr add "${UNDERLAY[$n]}/24" dev u0; nsx "$n" ip link set u0 up
    nsx "$n" ip link add vx0 type vxlan id 1 local "${UNDERLAY[$n]}" remote "${UNDERLAY[$peer]}" dstport 4789 dev u0
    nsx "$n" ip addr add "${TUNNEL_IP[$n]}/32" dev vx0; nsx "$n" ip link set vx0 up
    nsx "$n" sysctl -qw net.ipv4.conf.u0.rp_filter=0 net.ipv4.conf.vx0.rp_filter=0
  done
  for n in node node2; do
    peer=$([[ $n == node ]] && echo node2 || echo node)
    nsx "$n" ip neigh replace "${TUNNEL_IP[$peer]}" lladdr "$(nsx "$peer" cat /sys/class/net/vx0/address)" dev vx0 nud permanent
  done
}

# Switches the routes between the nodes (and the pods' MTU) to host-gw or vxlan; run.sh also calls it between
# the two sides of the overlay-cost pair.
overlay_mode() {  # host-gw|vxlan
  local mtu=1500 pod
  if [[ $1 == vxlan ]]; then
    mtu=1450
    nsx node2 ip route replace default via "${TUNNEL_IP[node]}" dev vx0 onlink
    nsx node ip route replace "${IP[cli]}/32" via "${TUNNEL_IP[node2]}" dev vx0 onlink
  else
    nsx node2 ip route replace default via "${UNDERLAY[node]}" dev u0
    nsx node ip route replace "${IP[cli]}/32" via "${UNDERLAY[node2]}" dev u0
  fi
  for pod in $PODS; do
    nsx "$pod" ip link set eth0 mtu "$mtu"; nsx "$(node_of "$pod")" ip link set "h-$pod" mtu "$mtu"
  done
}

wait_tcp() {  # ip port: until something accepts there, seen from the client, at most BENCH_START_S (5) s
  local _i
  for _i in $(seq $(( ${BENCH_START_S:-5} * 10 ))); do
    nsx cli bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on $1:$2 from the client after ${BENCH_START_S:-5} s" >&2
  return 1
}
