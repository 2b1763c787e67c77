#!/usr/bin/env bash
# Data-plane ratios, the method of notes/dataplane-findings.md §5.1: for every (configuration, test, rep) a
# fresh pod network; first the routed no-NAT baseline (client -> both backends, routed through the LB pod
# without NAT, two wrk at once, summed: see VIA_LB in topology.sh), then the configuration in the same topology (client -> VIP, two wrk at once, summed). One JSON line per pair on --out:
#   {"test","config","rep","baseline","value","unit","errors",...}   or   {"test","config","rep","error"}
# and one line per configuration this machine cannot run: {"config","reason"}. Ratios and tables are made
# from these lines by test/bench/report/ (TypeScript); this script only measures.
#   usage: run.sh --agent main.js --out samples.jsonl [--reps 5] [--seconds 5] [--configs "..."] [--tests "..."]
# Root only (namespaces, bpffs, iptables). Needs nginx-light (+ libnginx-mod-stream), wrk, iptables.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPS=5 DUR=5 OUT="" AGENT="" TESTS="keepalive close bulk"
CONFIGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --seconds) DUR=$2; shift 2 ;;
    --configs) CONFIGS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --agent) AGENT=$2; shift 2 ;;
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

# wrk's rate: "Requests/sec: N" for keepalive/close, "Transfer/sec: N[KMG]B" as MiB/s for bulk
rate() {  # test file
  if [[ $1 == bulk ]]; then
    awk '/Transfer\/sec/ { v=$2; u=substr(v, length(v)-1); n=v+0; if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; print n }' "$2"
  else
    awk '/Requests\/sec/ { print $2 }' "$2"
  fi
}
# Socket errors and non-2xx responses, summed (reported next to the number, never hidden).
errors() { awk '/Socket errors/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $NF } END { print s + 0 }' "$1"; }

wrk_run() {  # test url connections outfile
  local path=/ hdr=()
  [[ $1 == bulk ]] && path=/big
  # With the space: -H Connection:close is silently ignored by wrk (notes §5.3 pitfall 2).
  [[ $1 == close ]] && hdr=(-H 'Connection: close')
  nsx cli wrk -t1 -c"$3" -d"${DUR}s" "${hdr[@]}" "$2$path" >"$4" 2>&1
}
connections() { [[ $1 == bulk ]] && echo 4 || echo 50; }
unit() { [[ $1 == bulk ]] && echo MiB/s || echo req/s; }
# shellcheck disable=SC2016  # an awk program, not shell
active_opens() { nsx cli awk '/^Tcp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

emit() { printf '%s\n' "$1" >>"$OUT"; }
fail() {  # config test rep message
  local msg=${4//\"/\'}
  emit "$(printf '{"config":"%s","test":"%s","rep":%d,"error":"%s"}' "$1" "$2" "$3" "${msg//$'\n'/ }")"
  echo "bench: $1 $2 #$3 FAILED: $4" >&2
}

pair() {  # config test rep -> 0 measured, 1 failed, 2 skipped
  local config=$1 test=$2 rep=$3 c base value rc=0 opens0 opens1 err w1 w2
  c=$(connections "$test")
  topology_up
  wrk_run "$test" "http://${VIA_LB[b1]}:8080" $((c / 2)) "$WORK/base1" & w1=$!
  wrk_run "$test" "http://${VIA_LB[b2]}:8080" $((c / 2)) "$WORK/base2" & w2=$!
  wait "$w1" "$w2"
  base=$(awk -v a="$(rate "$test" "$WORK/base1")" -v b="$(rate "$test" "$WORK/base2")" 'BEGIN { print a + b }')
  config_up "$config" 2>"$WORK/config.err" || rc=$?
  if [[ $rc -eq 2 ]]; then topology_down; return 2; fi
  if [[ $rc -ne 0 ]]; then fail "$config" "$test" "$rep" "setup failed: $(tail -3 "$WORK/config.err")"; topology_down; return 1; fi
  # The same client shape as the baseline (two wrk processes, half the connections each): on two cores the
  # client is a large share of the CPU, and one wrk against two would make every configuration look slower.
  opens0=$(active_opens)
  wrk_run "$test" "http://$VIP" $((c / 2)) "$WORK/value1" & w1=$!
  wrk_run "$test" "http://$VIP" $((c / 2)) "$WORK/value2" & w2=$!
  wait "$w1" "$w2"
  opens1=$(active_opens)
  value=$(awk -v a="$(rate "$test" "$WORK/value1")" -v b="$(rate "$test" "$WORK/value2")" 'BEGIN { print a + b }')
  err=$(( $(errors "$WORK/value1") + $(errors "$WORK/value2") ))
  if [[ -z $value || $value == 0 ]]; then
    fail "$config" "$test" "$rep" "no traffic through the VIP: $(cat "$WORK/value1" "$WORK/value2" | tr '\n' ' ' | cut -c1-300)"
    topology_down; return 1
  fi
  # new TCP connections per second of the configuration run: equals req/s only when Connection: close took
  emit "$(printf '{"config":"%s","test":"%s","rep":%d,"baseline":%s,"value":%s,"unit":"%s","errors":%d,"connectionsPerSecond":%.1f,"seconds":%d}' \
    "$config" "$test" "$rep" "$base" "$value" "$(unit "$test")" "$err" "$(awk -v a="$opens0" -v b="$opens1" -v d="$DUR" 'BEGIN { print (b - a) / d }')" "$DUR")"
  printf 'bench: %-13s %-9s #%d  baseline %10.1f  config %10.1f  ratio %.3f %s\n' "$config" "$test" "$rep" "$base" "$value" \
    "$(awk -v a="$value" -v b="$base" 'BEGIN { print a / b }')" "$(unit "$test")" >&2
  topology_down
}

for config in $CONFIGS; do
  skipped=""
  for test in $TESTS; do
    for rep in $(seq "$REPS"); do
      rc=0; pair "$config" "$test" "$rep" || rc=$?
      if [[ $rc -eq 2 ]]; then skipped=1; break 2; fi
    done
  done
  if [[ -n $skipped ]]; then
    emit "$(printf '{"config":"%s","reason":"%s"}' "$config" "${SKIP_REASON//\"/\'}")"
    echo "bench: $config skipped: $SKIP_REASON" >&2
  fi
done
