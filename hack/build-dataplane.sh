#!/usr/bin/env bash
# Builds the xdp data plane's native parts into build/dataplane/ (the agent loads them from there, or from
# $PLB_DATAPLANE_ARTIFACTS):
#   plb_tc.bpf.o, plb_xdp.bpf.o   one BPF C source compiled for the TC and the XDP hook (clang, -target bpf)
#   plb_bpf.node                  the N-API addon (node-gyp + node-addon-api + libbpf)
# Works offline: node-gyp is pointed at the Node headers installed with node (--nodedir), never downloads them.
# Needs hack/install-dataplane-deps.sh to have run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/src/dataplane/xdp"
OUT="$ROOT/build/dataplane"
mkdir -p "$OUT"

MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"

# Every artifact is written next to its final name and renamed over it. Copying onto the old file rewrites
# the pages that running agents and test processes have mapped: their next call into the addon executes a
# mix of old and new code (seen as "trap invalid opcode ... in plb_bpf.node" in several processes at once).
install_atomic() { cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"; }
for hook in tc xdp; do
  define=""
  [[ "$hook" == xdp ]] && define="-DPLB_HOOK_XDP"
  echo "build-dataplane: clang plb_${hook}.bpf.o"
  clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$MULTIARCH" $define \
    -c "$SRC/bpf/plb_main.bpf.c" -o "$OUT/plb_${hook}.bpf.o.tmp.$$"
  mv -f "$OUT/plb_${hook}.bpf.o.tmp.$$" "$OUT/plb_${hook}.bpf.o"
done

# The headers that belong to the running node: <prefix>/include/node (e.g. /usr for Debian's nodejs, or
# /usr/local for the official tarball). node-gyp's --nodedir wants <prefix>.
NODE_PREFIX="$(dirname "$(dirname "$(command -v node)")")"
if [[ ! -f "$NODE_PREFIX/include/node/node_api.h" ]]; then
  echo "build-dataplane: Node headers not found under $NODE_PREFIX/include/node" >&2
  exit 1
fi
NODE_GYP="$ROOT/node_modules/.bin/node-gyp"
[[ -x "$NODE_GYP" ]] || { echo "build-dataplane: run npm install first (node-gyp is a devDependency)" >&2; exit 1; }
echo "build-dataplane: node-gyp (nodedir $NODE_PREFIX)"
(cd "$SRC/addon" && "$NODE_GYP" rebuild --nodedir="$NODE_PREFIX" -j 2 --loglevel=warn)
install_atomic "$SRC/addon/build/Release/plb_bpf.node" "$OUT/plb_bpf.node"
echo "build-dataplane: done -> $OUT"
