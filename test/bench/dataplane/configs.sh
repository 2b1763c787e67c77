# shellcheck shell=bash disable=SC2034  # sourced: sets variables its caller reads
# Sourced by run.sh. config_up NAME turns the LB pod of a fresh topology into one load balancer configuration
# (the baseline runs through the lb0 pod, so it is measured with the configuration in place). Returns 0 when
# the VIP answers, 2 with SKIP_REASON set when this machine cannot run the configuration, 1 (message on
# stderr) when it should have worked and did not.
# Expects topology.sh and AGENT (path of the built plb-agent main.js, which runs every data plane).

CONFIGS_ALL="xdp-tc xdp-native nftables ipvs iptables-dnat nginx-l4 nginx-l7 null"
# The study's two axes (own pairs, own denominators; see pair_plan): the LB under each overlay against the routed
# baseline under the same overlay, the overlay's own cost, and RPS on against RPS off for the LB.
AXES_ALL="xdp-tc/host-gw xdp-tc/vxlan iptables-dnat/host-gw iptables-dnat/vxlan vxlan-vs-host-gw xdp-tc/rps iptables-dnat/rps"
UDP_PORT=5001  # the udp-pps test's service port (VIP:5001 -> backend:5001)
SKIP_REASON=""

# A kernel without the data plane's feature (IPVS here) is a skip, not a failure: the agent names it
# ("IPVS is not available in this kernel (...)"), and that becomes SKIP_REASON.
kernel_lacks_plane() {
  SKIP_REASON=$(grep -o '[^:]*not available in this kernel[^:]*' "$WORK/agent.log" | head -1 | sed 's/^ *//')
  [[ -n $SKIP_REASON ]]
}

# Our agent, standalone, with the PortableLoadBalancer file this configuration needs.
agent_up() {  # dataPlane [xdp attach mode]
  mkdir -p "$WORK/bpffs"; mount -t bpf bpf "$WORK/bpffs"
  cat >"$WORK/plb.yaml" <<YAML
apiVersion: portablelb.io/v1alpha1
kind: PortableLoadBalancer
metadata: {name: bench}
spec:
  vip: $VIP
  dataPlane: $1
  $( [[ $1 == xdp ]] && echo "xdp: {attach: $2}" )
  ports: [{name: http, port: 80, targetPort: 8080}, {name: udp, port: $UDP_PORT, targetPort: $UDP_PORT, protocol: UDP}]
  backends: {addresses: [{ip: ${IP[b1]}}, {ip: ${IP[b2]}}]}
YAML
  : >"$WORK/agent.log"
  ip netns exec "${P}lb" node "$AGENT" run --file "$WORK/plb.yaml" --interface eth0 --pin-dir "$WORK/bpffs/lb" \
    --listen 127.0.0.1:9470 2>>"$WORK/agent.log" & PIDS+=($!)
  local pid=$! _i
  # BENCH_START_S: the agent's start takes ~1 s here, a minute under software emulation (hack/vm/bench.sh)
  for _i in $(seq $(( ${BENCH_START_S:-15} * 10 ))); do
    if grep -q "listening on" "$WORK/agent.log"; then
      # The first apply has run by then; a failed one is an error unless the kernel lacks the plane's feature.
      grep -q "apply failed" "$WORK/agent.log" || return 0
      kernel_lacks_plane && return 2
      echo "bench: the agent could not program dataPlane $1: $(grep "apply failed" "$WORK/agent.log" | tail -1)" >&2
      return 1
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      kernel_lacks_plane && return 2
      echo "bench: the agent exited: $(tail -3 "$WORK/agent.log")" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "bench: the agent did not start within ${BENCH_START_S:-15} s: $(tail -3 "$WORK/agent.log")" >&2
  return 1
}

# kube-proxy's iptables mode: random DNAT per endpoint (statistic), mark, port-preserving MASQUERADE
# (--random-fully collapses the close test to 0.20x through backend TIME_WAIT: notes §5.3 pitfall 1).
iptables_up() {
  local b proto i
  nsx lb sysctl -qw net.ipv4.ip_forward=1
  for proto in tcp udp; do
    nsx lb iptables -t nat -N "PLB-SVC-$proto"
    i=0
    for b in b1 b2; do
      i=$((i + 1)); nsx lb iptables -t nat -N "PLB-SEP$i-$proto"
      nsx lb iptables -t nat -A "PLB-SEP$i-$proto" -j MARK --set-xmark 0x4000/0x4000
      nsx lb iptables -t nat -A "PLB-SEP$i-$proto" -p "$proto" -j DNAT --to-destination "${IP[$b]}:$( [[ $proto == tcp ]] && echo 8080 || echo "$UDP_PORT")"
    done
    nsx lb iptables -t nat -A "PLB-SVC-$proto" -m statistic --mode random --probability 0.5 -j "PLB-SEP1-$proto"
    nsx lb iptables -t nat -A "PLB-SVC-$proto" -j "PLB-SEP2-$proto"
  done
  nsx lb iptables -t nat -A PREROUTING -d "$VIP/32" -p tcp --dport 80 -j PLB-SVC-tcp
  nsx lb iptables -t nat -A PREROUTING -d "$VIP/32" -p udp --dport "$UDP_PORT" -j PLB-SVC-udp
  nsx lb iptables -t nat -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE
}

# nginx in the LB pod, listening on the VIP: the study's user-space comparator, as L4 (stream) or L7 (http
# with an upstream keep-alive pool, which is what makes it competitive on Connection: close).
nginx_up() {  # l4|l7
  local d="$WORK/lbnginx" body
  mkdir -p "$d"; chmod 755 "$d"
  nsx lb ip addr add "$VIP/32" dev lo
  if [[ $1 == l4 ]]; then
    body="stream { upstream be { server ${IP[b1]}:8080; server ${IP[b2]}:8080; }
  upstream beu { server ${IP[b1]}:$UDP_PORT; server ${IP[b2]}:$UDP_PORT; }
  server { listen $VIP:80 backlog=4096; proxy_pass be; }
  server { listen $VIP:$UDP_PORT udp; proxy_pass beu; proxy_responses 0; } }"
  else
    body="http { access_log off;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  upstream be { server ${IP[b1]}:8080; server ${IP[b2]}:8080; keepalive 64; }
  server { listen $VIP:80 backlog=4096; location / { proxy_pass http://be; proxy_http_version 1.1;
    proxy_set_header Connection \"\"; proxy_buffering off; } } }"
  fi
  cat >"$d/nginx.conf" <<CONF
$( [[ $1 == l4 ]] && echo "load_module $NGINX_STREAM_MODULE;" )
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 8192; }
$body
CONF
  nsx lb sysctl -qw net.core.somaxconn=4096
  ip netns exec "${P}lb" nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' 2>>"$d/error.log" & PIDS+=($!)
}

NGINX_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so

config_up() {
  SKIP_REASON=""
  case "$1" in
    xdp-tc) agent_up xdp tc || return ;;
    xdp-native)
      # Native XDP on the LB pod's veth works only with the node's cooperation (docs/dataplane-xdp.md "Attach
      # modes"): GRO on the host-side peer so redirected frames are taken, tx checksum offload off on the
      # same-node senders (XDP cannot finish partial checksums; side_state switches that per side). Both are
      # part of this configuration's cost.
      nsx node ethtool -K h-lb gro on >/dev/null
      side_state xdp-native b
      agent_up xdp native || return ;;
    nftables) agent_up nftables || return ;;
    ipvs)
      # The agent names a kernel without IPVS itself ("... is not available in this kernel ..."): a skip.
      agent_up ipvs || return ;;
    iptables-dnat) iptables_up ;;
    nginx-l4)
      if [[ ! -f $NGINX_STREAM_MODULE ]]; then SKIP_REASON="no nginx stream module (apt-get install libnginx-mod-stream)"; return 2; fi
      nginx_up l4 ;;
    nginx-l7) nginx_up l7 ;;
    # A/A: the "configuration" is the baseline again. Its ratios show the method's own noise and order bias.
    null|"") return 0 ;;
    *) echo "bench: unknown configuration $1 (known: $CONFIGS_ALL $AXES_ALL)" >&2; return 1 ;;
  esac
  wait_tcp "$VIP" 80
}

# What a pair of NAME compares. Sets BASE_CONFIG (what config_up programs into the LB pod), OVERLAY, MQ, the
# targets of side a (the denominator) and side b ("via": the backends' addresses routed through lb0, "vip"),
# AGAINST (the denominator in words) and AXIS (empty, overlay or cpu-spreading).
pair_plan() {
  local name=$1 x=${1%%/*} mod=""
  [[ $name == */* ]] && mod=${name#*/}
  BASE_CONFIG=$x OVERLAY="" MQ="" SIDE_A=via SIDE_B=vip AGAINST="routed baseline" AXIS=""
  case $mod in
    "") [[ $name == null ]] && SIDE_B=via
        if [[ $name == vxlan-vs-host-gw ]]; then
          BASE_CONFIG="" OVERLAY=host-gw SIDE_B=via AGAINST="routed baseline over host-gw" AXIS=overlay
        fi ;;
    host-gw|vxlan) OVERLAY=$mod AGAINST="routed baseline over $mod" AXIS=overlay ;;
    # Queues for every CPU on every veth, explicitly (the default is the CPU count too, but a CNI may differ).
    rps) MQ=$(( $(nproc) < 2 ? 2 : $(nproc) )) SIDE_A=vip AGAINST="the same configuration with RPS off" AXIS=cpu-spreading ;;
    *) echo "bench: unknown modifier /$mod in $name (known: /host-gw /vxlan /rps)" >&2; return 1 ;;
  esac
}

# Puts the topology into the state of one side of the pair; run.sh calls it before every segment. Only the
# pairs that compare two states of one topology switch anything; for the rest side a and b differ by target.
side_state() {  # name a|b
  local pod mask=0 q
  case $1 in
    xdp-native)
      # tx checksum offload off on the same-node senders is part of xdp-native's cost, not the baseline's.
      for pod in cli b1 b2; do nsx "$pod" ethtool -K eth0 tx "$([[ $2 == a ]] && echo on || echo off)" >/dev/null; done ;;
    vxlan-vs-host-gw) overlay_mode "$([[ $2 == a ]] && echo host-gw || echo vxlan)" ;;
    */rps)
      # RPS in the LB pod, on every rx queue of its eth0, to every CPU: what the pod can do by itself (notes §3).
      [[ $2 == b ]] && mask=$(printf '%x' $(( (1 << $(nproc)) - 1 )))
      for q in $(nsx lb sh -c 'ls -d /sys/class/net/eth0/queues/rx-*'); do nsx lb sh -c "echo $mask >$q/rps_cpus"; done ;;
  esac
}
