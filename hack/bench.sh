#!/usr/bin/env bash
# `make bench`: the study's comparison on this machine (data-plane ratios to a routed baseline, side by side in
# fresh namespaces), the control-plane numbers and the xdp flow GC at 1 000 000 flows, then results.json ->
# results.md, ratios.svg, README section.
#   bash hack/bench.sh            full: 5 pairs x 5 s per side per cell -> docs/benchmarks/, README.md (~80 min)
#   bash hack/bench.sh --quick    CI: 1 pair x 1 s per cell, no warm-up, the axes keep-alive only, 100 PLBs
#                                 -> .tmp/bench/ only (~3 min)
# BENCH_REPS / BENCH_SECONDS / BENCH_CONFIGS / BENCH_TESTS override the data-plane loop, BENCH_AXES /
# BENCH_AXIS_TESTS the study's two axes (overlay mode, RPS; "" skips them), BENCH_PIN=1 pins wrk and the
# backends (docs/benchmarks/method.md), BENCH_OUT writes elsewhere (full mode: with a copy of the README).
# Full mode also runs ipvs beside iptables-dnat, nftables and null under Debian's 6.1 kernel in qemu
# (hack/vm/bench.sh; this machine's kernel has no IPVS): BENCH_VM_CONFIGS / BENCH_VM_TESTS / BENCH_VM_REPS
# override it, BENCH_VM_CONFIGS="" skips it. Quick mode leaves the VM out (its boot and emulated agent starts
# alone take minutes; CI runs ipvs's conformance there instead).
# Exit status 1 when a configuration that this machine should run produced no number; there are no thresholds
# on the numbers themselves.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=full
[[ ${1:-} == --quick || -n ${QUICK:-} ]] && mode=quick
axes="xdp-tc/host-gw xdp-tc/vxlan iptables-dnat/host-gw iptables-dnat/vxlan vxlan-vs-host-gw xdp-tc/rps iptables-dnat/rps"
configs="xdp-tc xdp-native nftables ipvs iptables-dnat nginx-l4 nginx-l7"
if [[ $mode == quick ]]; then
  # The A/A pair (null) and the axes run once each, keep-alive only: CI checks that they produce a number.
  reps=1 secs=1 warmup=0 out=.tmp/bench axis_tests="keepalive" axes="null $axes"
else
  reps=5 secs=5 warmup=1 out=docs/benchmarks axis_tests="keepalive close bulk" configs="$configs null"
fi
reps=${BENCH_REPS:-$reps} secs=${BENCH_SECONDS:-$secs} out=${BENCH_OUT:-$out}
configs=${BENCH_CONFIGS:-$configs}
tests=${BENCH_TESTS:-"keepalive close bulk latency udp-pps"}
axes=${BENCH_AXES-$axes}
axis_tests=${BENCH_AXIS_TESTS:-$axis_tests}
pinned=$([[ ${BENCH_PIN:-0} == 1 ]] && echo 1 || echo 0)
vm_configs="" vm_tests=""
if [[ $mode == full ]]; then
  vm_configs=${BENCH_VM_CONFIGS-"ipvs iptables-dnat nftables null"} vm_tests=${BENCH_VM_TESTS:-"keepalive close udp-pps"}
fi
start=$(date +%s)
step() { printf '== [%ss] bench: %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  # Network namespaces, bpffs and BPF programs need root: a laptop skips, CI (which runs as root) must not.
  echo "bench: skipped: needs root (network namespaces, bpffs, BPF programs)" >&2
  [[ ${CI:-} == true ]] && exit 1
  exit 0
fi
for cmd in nginx wrk iptables ip ethtool; do
  command -v "$cmd" >/dev/null || { echo "bench: $cmd missing: run bash hack/install-dataplane-deps.sh" >&2; exit 1; }
done
# nginx-light loads the stream (L4 proxy) module dynamically, and the study's L4 comparator needs it; trafgen
# (netsniff-ng) generates the udp-pps test's small packets.
pkgs=()
[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] || pkgs+=(libnginx-mod-stream)
command -v trafgen >/dev/null || [[ -x /usr/sbin/trafgen ]] || pkgs+=(netsniff-ng)
if [[ ${#pkgs[@]} -gt 0 ]] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >/dev/null
fi
[[ -f build/dataplane/plb_tc.bpf.o && -f build/dataplane/plb_bpf.node ]] || bash hack/build-dataplane.sh

# A private build: dist/ is shared with whoever else builds in this checkout at the same time.
build=".tmp/bench-build-$$"
tmp=".tmp/bench-run-$$"
trap 'rm -rf "$build" "$tmp"' EXIT
mkdir -p "$tmp" "$out"
step "compiling the agent, the operator and the bench into $build"
node_modules/.bin/tsc src/agent/main.ts src/operator/main.ts test/bench/report-main.ts test/bench/control-plane/main.ts \
  test/bench/control-plane/xdp-apply.ts test/bench/control-plane/flow-gc.ts test/bench/control-plane/scale.ts --outDir "$build" --rootDir . --module nodenext --moduleResolution nodenext \
  --target es2022 --lib es2023 --types node --strict --skipLibCheck --verbatimModuleSyntax --esModuleInterop --resolveJsonModule
# The operator as the image ships it (package.json's plb-operator): bundled, so the bench measures its memory.
node hack/bundle-operator.mjs --entry "$build/src/operator/main.js" --outdir "$build/operator"

step "data plane ($mode: $reps pair(s) x ${secs} s per side per configuration and test)"
run=(bash test/bench/dataplane/run.sh --agent "$build/src/agent/main.js"
  --out "$tmp/samples.jsonl" --reps "$reps" --seconds "$secs" --warmup "$warmup")
"${run[@]}" --configs "$configs" --tests "$tests"
if [[ -n $axes ]]; then
  step "the study's axes: overlay mode and RPS ($axis_tests)"
  "${run[@]}" --configs "$axes" --tests "$axis_tests"
fi

if [[ -n $vm_configs ]]; then
  if ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 && command -v qemu-system-x86_64 >/dev/null; then
    step "under Debian's kernel in qemu: $vm_configs x $vm_tests (${BENCH_VM_REPS:-3} pair(s) x 6 s per side, 2 s segments)"
    bash hack/vm/bench.sh --agent "$build/src/agent/main.js" --out "$tmp/samples-vm.jsonl" --reps "${BENCH_VM_REPS:-3}" \
      --seconds 6 --segment 2 --warmup 1 --configs "$vm_configs" --tests "$vm_tests"
    cat "$tmp/samples-vm.jsonl" >>"$tmp/samples.jsonl"
  else
    for c in $vm_configs; do
      printf '{"config":"%s@vm","reason":"no Debian kernel or qemu for the VM (bash hack/install-vm-deps.sh)"}\n' "$c" >>"$tmp/samples.jsonl"
    done
  fi
fi

step "control plane"
quick=(); [[ $mode == quick ]] && quick=(--quick)
node "$build/test/bench/control-plane/main.js" --out "$tmp/control-plane.json" \
  --operator "$build/operator/main.mjs" "${quick[@]}"

# Backends at scale (root: the agent programs a namespace): one PLB selecting 10 000 ready pods (1000 in quick
# mode), every data plane this kernel has; ipvs's kernel side at scale is the VM's (not here: no IPVS).
scale=()
if [[ $(id -u) -eq 0 ]]; then
  pods=$([[ $mode == quick ]] && echo 1000 || echo "${BENCH_SCALE_PODS:-10000}") flips=$([[ $mode == quick ]] && echo 6 || echo 40)
  step "backends at scale: $pods ready pods, $flips readiness changes, data planes ${BENCH_SCALE_PLANES:-xdp nftables}"
  bash test/bench/control-plane/scale.sh "$build/test/bench/control-plane/scale.js" "$build/src/agent/main.js" "$pods" "$flips" \
    "${BENCH_SCALE_PLANES:-xdp nftables}" "$tmp" >"$tmp/scale.json"
  scale=(--scale "$tmp/scale.json")
fi

step "report"
status=0
node "$build/test/bench/report-main.js" build --samples "$tmp/samples.jsonl" --control-plane "$tmp/control-plane.json" \
  --mode "$mode" --reps "$reps" --seconds "$secs" --configs "$configs" --tests "$tests" \
  --axis-configs "$axes" --axis-tests "$axis_tests" --segment-seconds 1 --warmup "$warmup" --pinned "$pinned" \
  --vm-configs "$(for c in $vm_configs; do printf '%s@vm ' "$c"; done)" --vm-tests "$vm_tests" "${scale[@]}" \
  --out "$out/results.json" || status=$?
cp "$tmp/samples.jsonl" "$out/samples.jsonl"
# BENCH_OUT (a trial of the full mode elsewhere) gets a copy of the README instead of the README itself.
readme=()
if [[ $mode == full && $out == docs/benchmarks ]]; then readme=(--readme README.md)
elif [[ $mode == full ]]; then cp README.md "$out/README.md"; readme=(--readme "$out/README.md"); fi
node "$build/test/bench/report-main.js" render --results "$out/results.json" --out-dir "$out" "${readme[@]}"
step "wrote $out/{results.json,results.md,ratios.svg,samples.jsonl}$([[ ${#readme[@]} -gt 0 ]] && echo " and the README section (${readme[1]})")"
[[ $status -eq 0 ]] || { step "FAILED: a configuration that should run here produced no number (see above)"; exit 1; }
