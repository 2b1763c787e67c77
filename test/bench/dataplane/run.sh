#!/usr/bin/env bash
# Data-plane ratios, the method of notes/dataplane-findings.md §5.1: for every (configuration, test, rep) a
# fresh pod network; first the routed no-NAT baseline (client -> both backends, routed through the LB pod
# without NAT, two wrk at once, summed: see VIA_LB in topology.sh), then the configuration in the same topology (client -> VIP, two wrk at once, summed). One JSON line per pair on --out:
#   {"test","config","rep","baseline","value","unit","errors",...}   or   {"test","config","rep","error"}
# and one line per configuration this machine cannot run: {"config","reason"}. Ratios and tables are made
# from these lines by test/bench/report/ (TypeScript); this script only measures.
#   usage: run.sh --agent main.js [--apply apply.js] --out samples.jsonl [--reps 5] [--seconds 5] [--configs "..."] [--tests "..."]
# Root only (namespaces, bpffs, iptables). Needs nginx-light (+ libnginx-mod-stream), wrk, iptables.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPS=5 DUR=5 OUT="" AGENT="" APPLY="" TESTS="keepalive close bulk"
CONFIGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --seconds) DUR=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --agent) AGENT=$2; shift 2 ;;
    --apply) APPLY=$2; shift 2 ;;
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

wrk_run() {  # test url connections outfile
  local path=/ opts=()
  [[ $1 == bulk ]] && path=/big
  # With the space: -H Connection:close is silently ignored by wrk (notes §5.3 pitfall 2).
  [[ $1 == close ]] && opts=(-H 'Connection: close')
  [[ $1 == latency ]] && opts=(--latency -s "$HERE/paced.lua")
  # Percentiles are taken after a discarded 1 s warm-up: the first connections after a start (ARP, cold caches,
  # nginx workers) otherwise own the 99th percentile of whichever side runs first.
  [[ $1 == latency ]] && PACE_MS=4 nsx cli wrk -t1 -c"$3" -d1s "${opts[@]}" "$2$path" >/dev/null 2>&1
  PACE_MS=4 nsx cli wrk -t1 -c"$3" -d"${DUR}s" "${opts[@]}" "$2$path" >"$4" 2>&1
}
connections() { case $1 in bulk) echo 4 ;; latency) echo 20 ;; *) echo 50 ;; esac; }
unit() { case $1 in bulk) echo MiB/s ;; latency*) echo ms ;; udp-pps) echo pps ;; *) echo req/s ;; esac; }
# shellcheck disable=SC2016  # an awk program, not shell
active_opens() { nsx cli awk '/^Tcp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

emit() { printf '%s\n' "$1" >>"$OUT"; }
fail() {  # config test rep message
  local msg=${4//\"/\'}
  emit "$(printf '{"config":"%s","test":"%s","rep":%d,"error":"%s"}' "$1" "$2" "$3" "${msg//$'\n'/ }")"
  echo "bench: $1 $2 #$3 FAILED: $4" >&2
}

# Small-packet forwarding rate with many flows (notes §5.1's per-packet test): trafgen sends 64-byte UDP
# datagrams with a random source port each (65k flows) from one CPU for DUR seconds; the rate is what reached
# the backends' eth0 (rx_packets), where a raw-table rule drops them before any socket lookup.
udp_cfg() {  # destination addresses... -> trafgen packet description, one packet per destination, sent in turn
  local da sa d
  da=$(nsx node cat /sys/class/net/h-cli/address); sa=$(nsx cli cat /sys/class/net/eth0/address)
  for d in "$@"; do
    printf '{ eth(da=%s, sa=%s), ipv4(saddr=%s, daddr=%s, ttl=64), udp(sport=drnd(), dport=%d), fill(0x41, 18) }\n' \
      "$da" "$sa" "${IP[cli]}" "$d" "$UDP_PORT"
  done
}
backend_rx() { echo $(( $(nsx b1 cat /sys/class/net/eth0/statistics/rx_packets) + $(nsx b2 cat /sys/class/net/eth0/statistics/rx_packets) )); }
udp_run() {  # outfile destination...
  local out=$1 rx0 rx1; shift
  udp_cfg "$@" >"$WORK/trafgen.cfg"
  rx0=$(backend_rx)
  # trafgen warns that it cannot raise the (not namespaced) socket buffer sysctls: harmless here
  timeout "$DUR" ip netns exec "${P}cli" trafgen -i "$WORK/trafgen.cfg" -o eth0 -P 1 -q >/dev/null 2>&1 || true
  sleep 0.2
  rx1=$(backend_rx)
  awk -v a="$rx0" -v b="$rx1" -v d="$DUR" 'BEGIN { print "udp-pps", (b - a) / d }' >"$out"
}

# One side of a pair (the baseline or the configuration): the test's load, metrics into $WORK/<side>.
measure() {  # test side connections targets...
  local test=$1 side=$2 c=$3 w1 w2; shift 3
  if [[ $test == udp-pps ]]; then udp_run "$WORK/$side" "$@"; return; fi
  # Two wrk processes, half the connections each, on both sides: on two cores the client is a large share of
  # the CPU, and one wrk against two would make every configuration look slower than the baseline.
  wrk_run "$test" "http://$1" $((c / 2)) "$WORK/${side}1" & w1=$!
  wrk_run "$test" "http://$2" $((c / 2)) "$WORK/${side}2" & w2=$!
  wait "$w1" "$w2"
  combine "$test" "$WORK/${side}1" "$WORK/${side}2" >"$WORK/$side"
}

pair() {  # config test rep -> 0 measured, 1 failed, 2 configuration skipped, 3 test skipped for it
  local config=$1 test=$2 rep=$3 c rc=0 opens0 opens1 err=0 f
  c=$(connections "$test")
  if [[ $test == udp-pps ]]; then
    if [[ $config == nginx-l7 ]]; then SKIP_REASON="an HTTP proxy carries no UDP"; return 3; fi
    if ! command -v trafgen >/dev/null; then SKIP_REASON="no trafgen (apt-get install netsniff-ng)"; return 3; fi
  fi
  topology_up
  if [[ $test == udp-pps ]]; then
    for f in b1 b2; do nsx "$f" iptables -t raw -A PREROUTING -p udp --dport "$UDP_PORT" -j DROP; done
    measure "$test" base "$c" "${VIA_LB[b1]}" "${VIA_LB[b2]}"
  else
    measure "$test" base "$c" "${VIA_LB[b1]}:8080" "${VIA_LB[b2]}:8080"
  fi
  config_up "$config" 2>"$WORK/config.err" || rc=$?
  if [[ $rc -eq 2 ]]; then topology_down; return 2; fi
  if [[ $rc -ne 0 ]]; then fail "$config" "$test" "$rep" "setup failed: $(tail -3 "$WORK/config.err")"; topology_down; return 1; fi
  opens0=$(active_opens)
  measure "$test" value "$c" "$VIP" "$VIP"
  opens1=$(active_opens)
  [[ $test == udp-pps ]] || err=$(( $(errors "$WORK/value1") + $(errors "$WORK/value2") ))
  if [[ ! -s $WORK/value ]] || awk '$2 == 0 { z = 1 } END { exit !z }' "$WORK/value"; then
    fail "$config" "$test" "$rep" "no traffic through the VIP: $(cat "$WORK/value"* | tr '\n' ' ' | cut -c1-300)"
    topology_down; return 1
  fi
  # connectionsPerSecond: new TCP connections of the configuration run; equals req/s only when Connection: close took
  local metric base value
  while read -r metric value; do
    base=$(awk -v m="$metric" '$1 == m { print $2 }' "$WORK/base")
    emit "$(printf '{"config":"%s","test":"%s","rep":%d,"baseline":%s,"value":%s,"unit":"%s","errors":%d,"connectionsPerSecond":%.1f,"seconds":%d}' \
      "$config" "$metric" "$rep" "${base:-0}" "$value" "$(unit "$metric")" "$err" "$(awk -v a="$opens0" -v b="$opens1" -v d="$DUR" 'BEGIN { print (b - a) / d }')" "$DUR")"
    printf 'bench: %-13s %-11s #%d  baseline %10.2f  config %10.2f  ratio %.3f %s\n' "$config" "$metric" "$rep" "${base:-0}" "$value" \
      "$(awk -v a="$value" -v b="${base:-0}" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$(unit "$metric")" >&2
  done <"$WORK/value"
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
