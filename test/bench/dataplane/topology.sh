# shellcheck shell=bash disable=SC2034  # sourced: sets variables its caller reads
# Sourced by run.sh. A pod network in network namespaces, built fresh for every measurement pair: backend
# TIME_WAIT sockets and LB flow/conntrack state from one run would otherwise poison the next
# (notes/dataplane-findings.md §5.3, pitfalls 1 and 7).
#   node  the node's netns: a router with one /32 route per pod, like a routed CNI (calico-style)
#   cli   the client pod (wrk)            lb  the LB pod (VIP routed to it by the node)
#   b1 b2 backend pods (nginx, 2 workers, "return 200" and a 1 MiB /big)
# Expects: P (namespace prefix), WORK (scratch dir, mode 755), PIDS (array of our background processes).

VIP=10.242.200.10
declare -A IP=([cli]=10.242.0.2 [lb]=10.242.0.3 [b1]=10.242.1.1 [b2]=10.242.1.2)
# The baseline's addresses of the backends: a second address on each, which the node routes through the LB pod
# (plain forwarding, no NAT), both ways. So the baseline takes the same path as the VIP traffic - client ->
# node -> LB pod -> node -> backend and back through the LB pod - and the ratio isolates what the data plane
# adds to plain forwarding in the LB pod (the baseline of notes §5.1), not the cost of the extra hop itself.
declare -A VIA_LB=([b1]=10.242.2.1 [b2]=10.242.2.2)

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

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

topology_up() {
  local pod b
  ip netns add "${P}node"; nsx node ip link set lo up; nsx node sysctl -qw net.ipv4.ip_forward=1
  for pod in cli lb b1 b2; do
    ip netns add "$P$pod"; nsx "$pod" ip link set lo up
    ip link add "h-$pod" netns "${P}node" type veth peer name eth0 netns "$P$pod"
    nsx node ip link set "h-$pod" up; nsx node ip route add "${IP[$pod]}/32" dev "h-$pod"
    nsx "$pod" ip link set eth0 up; nsx "$pod" ip addr add "${IP[$pod]}/32" dev eth0
    nsx "$pod" ip route add 169.254.1.1 dev eth0 scope link
    nsx "$pod" ip route add default via 169.254.1.1 dev eth0
    nsx "$pod" ip neigh replace 169.254.1.1 lladdr "$(nsx node cat "/sys/class/net/h-$pod/address")" dev eth0 nud permanent
  done
  nsx node ip route add "$VIP/32" via "${IP[lb]}"
  nsx node ip route add 10.242.2.0/24 via "${IP[lb]}" table 100
  nsx node ip route add "${IP[cli]}/32" via "${IP[lb]}" table 100
  nsx node ip rule add iif h-cli to 10.242.2.0/24 lookup 100
  for b in b1 b2; do
    nsx "$b" ip addr add "${VIA_LB[$b]}/32" dev eth0
    nsx node ip route add "${VIA_LB[$b]}/32" dev "h-$b"
    nsx node ip rule add iif "h-$b" from "${VIA_LB[$b]}" lookup 100
  done
  # The node sees client and backend sources arrive from the LB pod's veth: not spoofing, asymmetric routing.
  nsx node sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.h-lb.rp_filter=0
  nsx lb sysctl -qw net.ipv4.ip_forward=1
  # The LB forwards out of the interface the packet came in on (eth0 is its only link): without this the
  # kernel answers the forwarding configurations with ICMP redirects that no real LB pod would send.
  nsx lb sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
  nsx cli sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
  for b in b1 b2; do
    mkdir -p "$WORK/$b"; chmod 755 "$WORK/$b"
    [[ -f "$WORK/$b/big" ]] || head -c 1048576 /dev/urandom >"$WORK/$b/big"
    backend_conf "$b" >"$WORK/$b/nginx.conf"
    nsx "$b" sysctl -qw net.core.somaxconn=4096
    # `ip netns exec` directly, not nsx (a function would fork a subshell): $! is then nginx itself
    ip netns exec "$P$b" nginx -p "$WORK/$b" -c "$WORK/$b/nginx.conf" -g 'daemon off;' 2>>"$WORK/$b/error.log" & PIDS+=($!)
  done
  wait_tcp "${VIA_LB[b1]}" 8080; wait_tcp "${VIA_LB[b2]}" 8080
}

wait_tcp() {  # ip port: until something accepts there, seen from the client, at most 5 s
  local _i
  for _i in $(seq 50); do
    nsx cli bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on $1:$2 from the client after 5 s" >&2
  return 1
}
