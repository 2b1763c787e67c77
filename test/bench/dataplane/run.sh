#!/usr/bin/env bash
# Data-plane ratios, the method of notes/dataplane-findings.md §5.1 made fairer (docs/benchmarks/method.md):
# for every (configuration, test, rep) a fresh pod network with the configuration programmed into the LB pod;
# then side a (the denominator: the routed no-NAT baseline through the lb0 pod, see topology.sh) and side b
# (the configuration, through the VIP) are measured *alternately* in 1 s segments, each round a and b in a
# random order, with the same load (two wrk at once, summed), after a discarded warm-up of each side. Drift in
# the machine's load (it is shared) then hits both sides alike instead of whichever ran second. The axes'
# pairs (pair_plan in configs.sh) use other denominators: the same LB with RPS off, or the host-gw overlay.
# One JSON line per pair:
#   {"test","config","rep","baseline","value","unit","errors","against","rounds","load",...}   or
#   {"test","config","rep","error"}
# and one line per configuration this machine cannot run: {"config","reason"}. Ratios and tables are made
# from these lines by test/bench/report/ (TypeScript); this script only measures.
#   usage: run.sh --agent main.js --out samples.jsonl [--reps 5] [--seconds 5] [--configs "..."]
#                 [--tests "..."] [--warmup 1|0] [--segment 1] [--tag vm]
# --tag T names where the pairs ran when it is not this machine's kernel (hack/vm/bench.sh: T=vm): every line's
# config becomes NAME@T and its axis T, so the report keeps those ratios apart from the host's.
# --seconds is the measured time per side and pair, in --segment-second segments (--segment equal to
# --seconds and --warmup 0 is the old method: one block of baseline, then one of the configuration). BENCH_PIN=1 pins wrk to CPU 0
# and the backends' nginx to the last CPU; off by default: on this shared 2-CPU machine pinning cut both sides
# to a third and did not narrow the spread (docs/benchmarks/method.md).
# Root only (namespaces, bpffs, iptables). Needs nginx-light (+ libnginx-mod-stream), wrk, iptables.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPS=5 DUR=5 OUT="" AGENT="" TESTS="keepalive close bulk" WARMUP=1 SEG=1 TAG=""

CONFIGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --seconds) DUR=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --agent) AGENT=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --segment) SEG=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
[[ -n $OUT && -n $AGENT ]] || { echo "run.sh: --out and --agent are required" >&2; exit 64; }

P="plbbench-$$-"
WORK="$(mktemp -d "/tmp/${P}XXXX")"
chmod 755 "$WORK"  # nginx workers run as nobody and serve /big from here
PIDS=()  # our background processes; topology_down kills them
# shellcheck source=test/bench/dataplane/topology.sh
source "$HERE/topology.sh"
# shellcheck source=test/bench/dataplane/configs.sh
source "$HERE/configs.sh"
CONFIGS=${CONFIGS:-$CONFIGS_ALL}
PIN_CLIENT="" PIN_SERVERS=""
if [[ ${BENCH_PIN:-0} == 1 && $(nproc) -ge 2 ]]; then PIN_CLIENT=0 PIN_SERVERS=$(( $(nproc) - 1 )); fi
ROUNDS=$(( DUR / SEG > 0 ? DUR / SEG : 1 ))
trap 'topology_down; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# What one wrk run measured, as "metric value" lines: req/s for keepalive/close, MiB/s for bulk ("Transfer/sec:
# N[KMG]B"), and the 50th, 90th and 99th percentile in ms for latency (wrk --latency).
metrics() {  # test file
  case $1 in
    bulk) awk '/Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=v+0; if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; print "bulk", n }' "$2" ;;
    latency) awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v + 0 }
      /^ +(50|90|99)%/ { p = $1; sub(/%/, "", p); print "latency-p" p, ms($2) }' "$2" ;;
    *) awk -v t="$1" '/Requests\/sec/ { print t, $2 }' "$2" ;;
  esac
}
# Two wrk processes ran side by side: rates add up, percentiles (equal load on both) are averaged.
combine() {  # test file1 file2
  { metrics "$1" "$2"; metrics "$1" "$3"; } | awk '{ s[$1] += $2; n[$1]++ } END { for (k in s) print k, (k ~ /^latency/ ? s[k] / n[k] : s[k]) }' | sort
}
# Socket errors and non-2xx responses, summed (reported next to the number, never hidden).
errors() { awk '/Socket errors/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }' "$1"; }

wrk_run() {  # test url connections seconds outfile
  local path=/ opts=()
  [[ $1 == bulk ]] && path=/big
  # With the space: -H Connection:close is silently ignored by wrk (notes §5.3 pitfall 2).
  [[ $1 == close ]] && opts=(-H 'Connection: close')
  [[ $1 == latency ]] && opts=(--latency -s "$HERE/paced.lua")
  PACE_MS=4 client wrk -t1 -c"$3" -d"$4s" "${opts[@]}" "$2$path" >"$5" 2>&1
}
connections() { case $1 in bulk) echo 4 ;; latency) echo 20 ;; *) echo 50 ;; esac; }
unit() { case $1 in bulk) echo MiB/s ;; latency*) echo ms ;; udp-pps) echo pps ;; *) echo req/s ;; esac; }
# shellcheck disable=SC2016  # an awk program, not shell
active_opens() { nsx cli awk '/^Tcp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

# With --tag, config names become NAME@TAG (and the axis TAG) in every line written.
emit() {
  local line=$1
  if [[ -n $TAG ]]; then
    line=$(sed -E "s/\"config\":\"([^\"]*)\"/\"config\":\"\1@$TAG\"/; s/\"axis\":\"[^\"]*\"/\"axis\":\"$TAG\"/" <<<"$line")
    [[ $line == *'"against":"routed baseline"'* ]] && line=${line/'"against":"routed baseline"'/'"against":"routed baseline in the same VM"'}
  fi
  printf '%s\n' "$line" >>"$OUT"
}
fail() {  # config test rep message
  local msg=${4//\"/\'}
  emit "$(printf '{"config":"%s","test":"%s","rep":%d,"error":"%s"}' "$1" "$2" "$3" "${msg//$'\n'/ }")"
  echo "bench: $1 $2 #$3 FAILED: $4" >&2
}

# Small-packet forwarding rate with many flows (notes §5.1's per-packet test): trafgen sends 64-byte UDP
# datagrams with a random source port each (65k flows) from one CPU for a segment; the rate is what reached
# the backends' eth0 (rx_packets), where a raw-table rule drops them before any socket lookup.
udp_cfg() {  # destination addresses... -> trafgen packet description, one packet per destination, sent in turn
  local da sa d
  da=$(nsx "$(node_of cli)" cat /sys/class/net/h-cli/address); sa=$(nsx cli cat /sys/class/net/eth0/address)
  for d in "$@"; do
    printf '{ eth(da=%s, sa=%s), ipv4(saddr=%s, daddr=%s, ttl=64), udp(sport=drnd(), dport=%d), fill(0x41, 18) }\n' \
      "$da" "$sa" "${IP[cli]}" "$d" "$UDP_PORT"
  done
}
backend_rx() { echo $(( $(nsx b1 cat /sys/class/net/eth0/statistics/rx_packets) + $(nsx b2 cat /sys/class/net/eth0/statistics/rx_packets) )); }
udp_run() {  # outfile seconds destination...
  local out=$1 secs=$2 rx0 rx1; shift 2
  udp_cfg "$@" >"$WORK/trafgen.cfg"
  rx0=$(backend_rx)
  # trafgen warns that it cannot raise the (not namespaced) socket buffer sysctls: harmless here
  timeout "$secs" ip netns exec "${P}cli" trafgen -i "$WORK/trafgen.cfg" -o eth0 -P 1 -q >/dev/null 2>&1 || true
  sleep 0.2
  rx1=$(backend_rx)
  awk -v a="$rx0" -v b="$rx1" -v d="$secs" 'BEGIN { print "udp-pps", (b - a) / d }' >"$out"
}

# One segment of one side: the test's load for `seconds`, metrics into outfile.
segment() {  # test outfile seconds connections targets...
  local test=$1 out=$2 secs=$3 c=$4 w1 w2; shift 4
  if [[ $test == udp-pps ]]; then udp_run "$out" "$secs" "$@"; return; fi
  # Two wrk processes, half the connections each, on both sides: on two cores the client is a large share of
  # the CPU, and one wrk against two would make every configuration look slower than the baseline.
  wrk_run "$test" "http://$1" $((c / 2)) "$secs" "$out.1" & w1=$!
  wrk_run "$test" "http://$2" $((c / 2)) "$secs" "$out.2" & w2=$!
  wait "$w1" "$w2"
  combine "$test" "$out.1" "$out.2" >"$out"
  errors "$out.1" >"$out.err"; errors "$out.2" >>"$out.err"
}

targets() {  # test via|vip -> the two targets of a side
  local port=:8080
  [[ $2 == vip ]] && port=""
  [[ $1 == udp-pps ]] && port=""
  if [[ $2 == vip ]]; then echo "$VIP$port $VIP$port"; else echo "$VIA_ANY$port $VIA_ANY$port"; fi
}

load1() { cut -d' ' -f1 /proc/loadavg; }

pair() {  # config test rep -> 0 measured, 1 failed, 2 configuration skipped, 3 test skipped for it
  local config=$1 test=$2 rep=$3 c rc=0 opens=0 o0 err=0 r side order="" ta tb load0 f
  c=$(connections "$test")
  pair_plan "$config" 2>"$WORK/plan.err" || { fail "$config" "$test" "$rep" "$(cat "$WORK/plan.err")"; return 1; }
  if [[ $test == udp-pps ]]; then
    if [[ $BASE_CONFIG == nginx-l7 ]]; then SKIP_REASON="an HTTP proxy carries no UDP"; return 3; fi
    if ! command -v trafgen >/dev/null; then SKIP_REASON="no trafgen (apt-get install netsniff-ng)"; return 3; fi
  fi
  load0=$(load1)
  topology_up
  [[ $test == udp-pps ]] && for f in b1 b2; do nsx "$f" iptables -t raw -A PREROUTING -p udp --dport "$UDP_PORT" -j DROP; done
  config_up "$BASE_CONFIG" 2>"$WORK/config.err" || rc=$?
  if [[ $rc -eq 2 ]]; then topology_down; return 2; fi
  if [[ $rc -ne 0 ]]; then fail "$config" "$test" "$rep" "setup failed: $(tail -3 "$WORK/config.err")"; topology_down; return 1; fi
  read -r -a ta <<<"$(targets "$test" "$SIDE_A")"
  read -r -a tb <<<"$(targets "$test" "$SIDE_B")"
  rm -f "$WORK"/seg-*
  # Warm-up, discarded: ARP, the first flows through the data plane, nginx workers and caches. Without it the
  # side measured first pays for them (the latency test's 99th percentile most of all).
  if [[ $WARMUP == 1 || $test == latency ]]; then
    side_state "$config" a; segment "$test" "$WORK/warm" 1 "$c" "${ta[@]}"
    side_state "$config" b; segment "$test" "$WORK/warm" 1 "$c" "${tb[@]}"
  fi
  # Every round measures both sides once, in a random order (recorded): a fixed a b b a pattern can alias with
  # a periodic co-tenant (the A/A pair read 0.70 over 3 pairs with it); drift still hits both sides alike.
  for r in $(seq "$ROUNDS"); do
    for side in $( (( RANDOM % 2 )) && echo "a b" || echo "b a" ); do
      order+=$side
      side_state "$config" "$side"
      o0=$(active_opens)
      if [[ $side == a ]]; then segment "$test" "$WORK/seg-a-$r" "$SEG" "$c" "${ta[@]}"
      else segment "$test" "$WORK/seg-b-$r" "$SEG" "$c" "${tb[@]}"; fi
      [[ $side == b ]] && opens=$(( opens + $(active_opens) - o0 ))
      [[ -n ${BENCH_VERBOSE:-} ]] && echo "bench:   segment $r$side: $(tr '\n' ' ' <"$WORK/seg-$side-$r")" >&2
    done
  done
  # Rates of equal segments are averaged (= total / time); percentiles too (an approximation, said so in docs).
  for side in a b; do
    cat "$WORK"/seg-"$side"-? "$WORK"/seg-"$side"-?? 2>/dev/null | awk '{ s[$1] += $2; n[$1]++ } END { for (k in s) print k, s[k] / n[k] }' | sort >"$WORK/side-$side"
  done
  [[ $test == udp-pps ]] || err=$(cat "$WORK"/seg-b-*.err | awk '{ s += $1 } END { print s + 0 }')
  if [[ ! -s $WORK/side-b ]] || awk '$2 == 0 { z = 1 } END { exit !z }' "$WORK/side-b"; then
    fail "$config" "$test" "$rep" "no traffic through side b ($SIDE_B): $(cat "$WORK"/seg-b-1* | tr '\n' ' ' | cut -c1-300)"
    topology_down; return 1
  fi
  # connectionsPerSecond: new TCP connections of side b; equals req/s only when Connection: close took
  local metric base value
  while read -r metric value; do
    base=$(awk -v m="$metric" '$1 == m { print $2 }' "$WORK/side-a")
    emit "$(printf '{"config":"%s","test":"%s","rep":%d,"baseline":%s,"value":%s,"unit":"%s","errors":%d,"connectionsPerSecond":%.1f,"seconds":%d,"rounds":%d,"order":"%s","against":"%s","axis":"%s","overlay":"%s","pinned":%s,"load":[%s,%s]}' \
      "$config" "$metric" "$rep" "${base:-0}" "$value" "$(unit "$metric")" "$err" "$(awk -v a="$opens" -v d="$((ROUNDS * SEG))" 'BEGIN { print a / d }')" \
      "$((ROUNDS * SEG))" "$ROUNDS" "$order" "$AGAINST" "$AXIS" "${OVERLAY:-}" "$([[ -n $PIN_CLIENT ]] && echo true || echo false)" "$load0" "$(load1)")"
    printf 'bench: %-22s %-11s #%d  %s %10.2f  config %10.2f  ratio %.3f %s (load %s)\n' "$config" "$metric" "$rep" "${SIDE_A}" "${base:-0}" "$value" \
      "$(awk -v a="$value" -v b="${base:-0}" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$(unit "$metric")" "$(load1)" >&2
  done <"$WORK/side-b"
  topology_down
}

for config in $CONFIGS; do
  skipped=""
  for test in $TESTS; do
    for rep in $(seq "$REPS"); do
      rc=0; pair "$config" "$test" "$rep" || rc=$?
      if [[ $rc -eq 2 ]]; then skipped=1; break 2; fi
      if [[ $rc -eq 3 ]]; then
        emit "$(printf '{"config":"%s","test":"%s","reason":"%s"}' "$config" "$test" "${SKIP_REASON//\"/\'}")"
        echo "bench: $config $test skipped: $SKIP_REASON" >&2
        break
      fi
    done
  done
  if [[ -n $skipped ]]; then
    emit "$(printf '{"config":"%s","reason":"%s"}' "$config" "${SKIP_REASON//\"/\'}")"
    echo "bench: $config skipped: $SKIP_REASON" >&2
  fi
done
