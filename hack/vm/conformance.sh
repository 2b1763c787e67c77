#!/usr/bin/env bash
# The data-plane conformance suite under Debian's kernel (hack/vm/run.sh), for the data planes named:
#   hack/vm/conformance.sh ipvs,xdp        # what CI runs (hack/test.sh): ipvs (this machine's kernel has none)
#                                          # and xdp (the kernel matrix), one boot
#   hack/vm/conformance.sh nftables        # any list of data planes
#   VM_TESTS='least-privilege\.test' hack/vm/conformance.sh ipvs   # other dataplane test files (a jest pattern)
#   VM_TEST_NAMES='unserved|fixed source port' hack/vm/conformance.sh ipvs   # only tests whose names match
#   PLB_POPULATION_TUPLES=20000 hack/vm/conformance.sh ipvs   # connects of the many-clients case (default here 3000)
# The agent is compiled here, on the host, first: tsc under software emulation takes minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
planes=${1:-ipvs}
# Per run: two runs at once (engineers sharing a checkout) must not delete each other's agent.
agent_dir="$root/.tmp/vm-agent.$$"
trap 'rm -rf "$agent_dir"' EXIT
mkdir -p "$agent_dir"
echo "vm/conformance: compiling the agent on the host" >&2
node_modules/.bin/tsc src/agent/main.ts --outDir "$agent_dir" --rootDir "$root" --module nodenext \
  --moduleResolution nodenext --target es2022 --lib es2023 --types node --strict --skipLibCheck \
  --verbatimModuleSyntax --esModuleInterop --resolveJsonModule
# veth for the pod network; conntrack + nf_tables pieces for the nftables plane and the ipvs masquerade;
# the ipvs schedulers; clsact + cls_bpf for the xdp plane's TC hook.
modules="veth nf_conntrack nf_conntrack_netlink nf_tables nft_chain_nat nft_ct nft_nat nft_masq nft_numgen nft_hash nft_objref nft_reject_ipv4 nft_reject_ipv6"
modules+=" ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_mh ip_vs_lc sch_ingress cls_bpf act_bpf"
# The conformance suite and the IPv6 suite (for the planes that balance IPv6); with xdp, also its golden frames:
# both BPF builds through BPF_PROG_TEST_RUN under this kernel (MSS clamping, IP fragments). VM_TESTS: another pattern.
tests='conformance\.test|ipv6\.test'
[[ ",$planes," == *,xdp,* ]] && tests+='|packets\.test|xdp-mss\.test|xdp-fragments\.test'
tests=${VM_TESTS:-$tests}
# The many-clients case's 64 600 connects took 217 s under emulation (ipvs, 2026-12-08), and the client reused
# ports in that slow run (53 824 distinct tuples): fewer here; the > 64 000 tuples run natively (nftables, xdp).
export PLB_POPULATION_TUPLES=${PLB_POPULATION_TUPLES:-3000}
export PLB_DATAPLANES=$planes PLB_AGENT_MAIN="$agent_dir/src/agent/main.js" PLB_AGENT_START_MS=170000 PLB_TEST_TIMEOUT_MS=600000 CI=${CI:-true}
export NODE_OPTIONS=--experimental-vm-modules
# PLB_DATAPLANE_ARTIFACTS (optional): BPF objects and addon from another directory than build/dataplane, e.g. a
# copy that a rebuild in the shared checkout cannot change under a running suite.
bash hack/vm/run.sh --env PLB_DATAPLANES --env PLB_DATAPLANE_ARTIFACTS --env PLB_AGENT_MAIN --env PLB_AGENT_START_MS --env PLB_TEST_TIMEOUT_MS --env PLB_POPULATION_TUPLES --env NODE_OPTIONS --timeout "${VM_TIMEOUT:-2400}" \
  --modules "$modules" -- node_modules/.bin/jest --selectProjects dataplane --testPathPatterns "$tests" ${VM_TEST_NAMES:+--testNamePattern "$VM_TEST_NAMES"} --runInBand
