#!/usr/bin/env bash
# make e2e: the end-to-end suite (test/e2e/) on real nodes on this machine (hack/cluster), or on kind with
# E2E_PROVIDER=kind (hack/e2e-kind.sh; needs Docker). Same test file, same assertions.
#   1. the project's image from hack/image-contents.txt, packed as OCI (hack/image-oci.sh; no registry)
#   2. a 2-node cluster with that image imported into each node (hack/cluster/up.sh)
#   3. jest in the control plane's network namespace (kubectl and helm reach the apiserver as a user's would);
#      the suite itself runs `helm install`, creates backends and PLBs, and drives a client behind the router
#   4. hack/cluster/down.sh, also on failure (KEEP_CLUSTER=1 keeps it: hack/cluster/kubectl.sh reaches it)
# PLB_CLUSTER_PREFIX (default plbe2e-) names its namespaces, so it runs beside a lab or another cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "${E2E_PROVIDER:-cluster}" = kind ]; then exec bash hack/e2e-kind.sh "$@"; fi
[ "${E2E_PROVIDER:-cluster}" = cluster ] || { echo "E2E_PROVIDER=$E2E_PROVIDER: expected cluster or kind" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "make e2e: needs root (hack/cluster: namespaces, cgroups, mounts)" >&2; exit 1; }
export PLB_CLUSTER_PREFIX=${PLB_CLUSTER_PREFIX:-plbe2e-}
start=$(date +%s)
step() { printf '[e2e %ss] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

step "dependencies (containerd, runc, CNI plugins, umoci, catatonit, debootstrap; FRR for the router; helm; the node binaries)"
bash hack/install-cluster-deps.sh
bash hack/install-bgp-deps.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
helm_bin=$(bash hack/build-helm.sh)
bin=$(bash hack/build-control-plane.sh --with-nodes)
step "build: TypeScript (src, test, hack), the operator's bundle, BPF objects, native addon"
npx tsc -p tsconfig.json
node hack/bundle-operator.mjs
bash hack/build-dataplane.sh
image=localhost/portable-lb:e2e
step "image $image (hack/image-oci.sh)"
archive=$(bash hack/image-oci.sh "$image")

cleanup() {
  local status=$?
  if [ -n "${KEEP_CLUSTER:-}" ]; then
    step "keeping cluster $PLB_CLUSTER_PREFIX (bash hack/cluster/kubectl.sh get pods -A; bash hack/cluster/down.sh)"
  else
    PLB_CLUSTER_NO_BUILD=1 bash hack/cluster/down.sh || status=1
  fi
  step "$([ "$status" -eq 0 ] && echo passed || echo "FAILED ($status)")"
  exit "$status"
}
trap cleanup EXIT
step "cluster: 2 nodes (hack/cluster/up.sh)"
PLB_CLUSTER_NO_BUILD=1 bash hack/cluster/up.sh --nodes 2 --image "${image%:*}=$archive"
eval "$(PLB_CLUSTER_NO_BUILD=1 node dist/hack/cluster/main.js env | sed 's/^/export /')"
step "test/e2e in $PLB_CLUSTER_CP_NS"
nsenter --net="/run/netns/$PLB_CLUSTER_CP_NS" -- env PATH="$bin:$PATH" KUBECONFIG="$KUBECONFIG" \
  E2E_PROVIDER=cluster E2E_IMAGE="$image" E2E_HELM="$helm_bin" NODE_OPTIONS=--experimental-vm-modules \
  npx jest --config test/e2e/jest.config.js --runInBand "$@"
