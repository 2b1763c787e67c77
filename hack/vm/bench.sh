#!/usr/bin/env bash
# The data-plane bench under Debian's 6.1 kernel (hack/vm/run.sh): the study's own data plane, ipvs (absent from
# this machine's kernel), beside iptables DNAT, nftables and the A/A pair, all measured by
# test/bench/dataplane/run.sh inside one VM. Ratios taken side by side in the same VM are valid; absolute numbers
# are not (software emulation, no KVM: the guest runs many times slower than the host), and the report says so.
# Every sample line is tagged (config NAME@vm, axis vm) so the report keeps these ratios apart from the host's.
#   hack/vm/bench.sh --agent main.js --out samples.jsonl [--reps 3] [--seconds 6] [--segment 2]
#                    [--configs "ipvs iptables-dnat nftables null"] [--tests "keepalive close udp-pps"] [--warmup 1|0]
# The agent (main.js) must be compiled on the host (tsc under emulation takes minutes). Root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if [[ ${PLB_IN_VM:-} == 1 ]]; then
  # In the guest: the bench's own runner, with the timeouts emulation needs (an agent start takes ~1 min).
  export BENCH_START_S=180
  exec bash test/bench/dataplane/run.sh --tag vm "$@"
fi

out="" args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; args+=("$1" "$(realpath -m "$2")"); shift 2 ;;
    --agent) args+=("$1" "$(realpath "$2")"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ -n $out ]] || { echo "vm/bench: --out is required" >&2; exit 64; }
# The output must be on the checkout (the guest's only writable share that outlives it).
case $(realpath -m "$out") in "$root"/*) ;; *) echo "vm/bench: --out must be inside $root" >&2; exit 64 ;; esac
# veth for the pod network; IPVS and its schedulers; nf_tables for our nftables plane and the ipvs masquerade;
# iptables (nf_tables backend: nft_compat + the xt matches and targets kube-proxy's rules use) for iptables-dnat
# and the udp test's raw-table drop at the backends.
modules="veth nf_conntrack nf_tables nft_chain_nat nft_ct nft_nat nft_masq nft_numgen nft_hash nft_objref"
modules+=" ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc"
modules+=" nft_compat xt_statistic xt_mark xt_MASQUERADE xt_nat xt_tcpudp xt_addrtype iptable_nat iptable_raw"
export PLB_IN_VM=1
exec bash hack/vm/run.sh --env PLB_IN_VM --env BENCH_VERBOSE --timeout "${VM_TIMEOUT:-10800}" --modules "$modules" \
  -- bash hack/vm/bench.sh "${args[@]}"
