#!/usr/bin/env bash
# Loads the xdp data plane's BPF objects (TC and XDP builds) under Debian's kernel (hack/vm/run.sh) and prints
# the verifier's verdict: a ~20 s check before the conformance suite's minutes.
#   hack/vm/bpf-load.sh [artifacts dir, default build/dataplane]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "${1:-$root/build/dataplane}" && pwd)
if [[ "${PLB_IN_VM:-}" != 1 ]]; then
  export PLB_IN_VM=1
  exec bash "$root/hack/vm/run.sh" --env PLB_IN_VM --timeout 300 -- bash "$root/hack/vm/bpf-load.sh" "$dir"
fi
# In the guest: a fresh bpffs at /sys/fs/bpf, where the maps pin by name.
status=0
for hook in tc xdp; do
  log=$(mktemp)
  if bpftool -d prog loadall "$dir/plb_$hook.bpf.o" "/sys/fs/bpf/load-$hook" > "$log" 2>&1; then
    echo "bpf-load: plb_$hook.bpf.o loads on $(uname -r): $(grep -E '^processed' "$log" | tail -1)"
  else
    echo "bpf-load: plb_$hook.bpf.o does NOT load on $(uname -r); verifier log tail:"
    grep -v '^libbpf: ' "$log" | tail -40
    status=1
  fi
  rm -rf "/sys/fs/bpf/load-$hook" "$log"
done
exit "$status"
