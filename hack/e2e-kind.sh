#!/usr/bin/env bash
# The e2e suite on kind (`make e2e` runs the same test file on hack/cluster's real nodes here): a three-node
# kind cluster, the image built from ./Dockerfile and loaded into it, then test/e2e/e2e.test.ts with
# E2E_PROVIDER=kind (helm install of charts/portable-lb, backends, a PLB per data plane, a client container on
# the kind network routing the VIP to the nodes of the LB pods, balanced traffic, scaling, an LB pod deleted and
# an agent crash under load, a data-plane switch, deletion leaving nothing behind).
#
#   bash hack/e2e-kind.sh                       # needs a Docker engine (or podman with KIND_EXPERIMENTAL_PROVIDER)
#   (ipvs runs where the host kernel has ip_vs loaded; otherwise its cases are skipped with the reason)
#   KEEP_CLUSTER=1 bash hack/e2e-kind.sh        # leave the cluster for debugging (kind delete cluster --name ...)
#
# Exits 0 with a printed reason, doing nothing, when no Docker engine answers (e.g. CI machines without one).
# kind and helm are built from the Go module proxy when not on PATH (hack/versions.env pins both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=hack/versions.env
. hack/versions.env
log() { printf '[e2e-kind] %s\n' "$*" >&2; }

cluster=${E2E_CLUSTER:-plb-e2e}
image=${E2E_IMAGE:-portable-lb:e2e}
release_ns=portable-lb-system

if ! command -v docker >/dev/null 2>&1; then
  log "SKIP: no docker command on PATH; the kind e2e tier needs a Docker engine"
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  log "SKIP: no Docker engine answers (docker info failed: is dockerd running and is DOCKER_HOST right?)"
  exit 0
fi

cache="${PLB_CACHE:-$HOME/.cache/portable-lb}"
kind_bin=$(command -v kind || true)
if [ -z "$kind_bin" ]; then
  kind_bin="$cache/kind/$KIND_VERSION/kind"
  if [ ! -x "$kind_bin" ]; then
    log "building kind $KIND_VERSION from the Go module proxy"
    GOBIN="$(dirname "$kind_bin")" CGO_ENABLED=0 go install "sigs.k8s.io/kind@$KIND_VERSION"
  fi
fi
helm_bin=$(bash hack/build-helm.sh)
command -v kubectl >/dev/null 2>&1 || PATH="$(bash hack/build-control-plane.sh):$PATH"

kubeconfig=$(mktemp)
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    log "failed; operator logs:"
    KUBECONFIG=$kubeconfig kubectl -n "$release_ns" logs -l app.kubernetes.io/name=portable-lb --tail=50 >&2 || true
  fi
  if [ -n "${KEEP_CLUSTER:-}" ]; then
    log "keeping cluster $cluster (KUBECONFIG=$kubeconfig)"
  else
    "$kind_bin" delete cluster --name "$cluster" >&2 || true
    rm -f "$kubeconfig"
  fi
  exit "$status"
}
trap cleanup EXIT

log "creating kind cluster $cluster (1 control plane, 2 workers)"
node_image=()
[ -n "${KIND_NODE_IMAGE:-}" ] && node_image=(--image "$KIND_NODE_IMAGE")
"$kind_bin" create cluster --name "$cluster" --config test/e2e/kind-cluster.yaml "${node_image[@]}" \
  --kubeconfig "$kubeconfig" --wait 180s
export KUBECONFIG=$kubeconfig

log "building $image from ./Dockerfile"
docker build -t "$image" .
log "loading $image into the nodes (no registry involved)"
"$kind_bin" load docker-image "$image" --name "$cluster"

log "running test/e2e"
[ -d node_modules ] || npm ci --no-audit --no-fund
E2E_PROVIDER=kind E2E_CLUSTER=$cluster E2E_IMAGE=$image E2E_HELM=$helm_bin NODE_OPTIONS=--experimental-vm-modules \
  npx jest --config test/e2e/jest.config.js --runInBand
log "passed"
