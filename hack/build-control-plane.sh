#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the Go module proxy into
#   ${PLB_CACHE:-~/.cache/portable-lb}/k8s/<k8s version>-etcd-<etcd version>/
# and prints that directory on stdout (progress goes to stderr). Idempotent: a complete directory is reused.
# With KUBEBUILDER_ASSETS set (setup-envtest users), nothing is built and that directory is printed instead.
#   --with-nodes   also kube-scheduler, kube-proxy and kubelet, for real nodes (hack/cluster): the same module,
#                  version and cache directory, so they share the compiled packages (measured cold after the control plane: 91 s more).
# Why a wrapper module: k8s.io/kubernetes replaces its staging modules with ./staging paths, so
# `go install k8s.io/kubernetes/cmd/...@v` is refused; hack/control-plane/k8s/go.mod replaces each with its
# published tag (see ../shared/notes/control-plane-from-source.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/versions.env
. "$here/versions.env"
log() { printf '[control-plane] %s\n' "$*" >&2; }

want=(etcd kube-apiserver kube-controller-manager kubectl)
case "${1:-}" in
  --with-nodes) want+=(kube-scheduler kube-proxy kubelet) ;;
  "") ;;
  *) log "unknown argument $1 (usage: build-control-plane.sh [--with-nodes])"; exit 2 ;;
esac
# setup-envtest ships no node binaries: --with-nodes builds into the cache instead of using such a directory.
if [ -n "${KUBEBUILDER_ASSETS:-}" ] && { [ "${1:-}" != --with-nodes ] || [ -x "$KUBEBUILDER_ASSETS/kubelet" ]; }; then
  for b in etcd kube-apiserver kubectl; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"; exit 1; }
  done
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  echo "$KUBEBUILDER_ASSETS"; exit 0
fi

out="${PLB_CACHE:-$HOME/.cache/portable-lb}/k8s/${K8S_VERSION}-etcd-${ETCD_VERSION}"
complete() { for b in "${want[@]}"; do [ -x "$out/$b" ] || return 1; done; }
if complete; then log "reusing $out"; echo "$out"; exit 0; fi

# The machines install Go under /usr/local/go; a non-login shell may not have it on PATH.
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { log "go is not installed (needed to build the control plane)"; exit 1; }
mkdir -p "$out"
# One build at a time per cache directory (CI, the integration tier and hack/cluster may all ask at once): the
# second waits, then finds the binaries the first built.
exec 9>"$out/.build.lock"
flock 9
if complete; then log "reusing $out (built by a concurrent run)"; echo "$out"; exit 0; fi
export CGO_ENABLED=0 GOFLAGS=-mod=mod
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  ld+=" -X $p.buildDate=1970-01-01T00:00:00Z"
done

start=$(date +%s)
pending=()
for b in "${want[@]}"; do [ "$b" = etcd ] || [ -x "$out/$b" ] || pending+=("$b"); done
if [ ${#pending[@]} -gt 0 ]; then
  grep -q "k8s.io/kubernetes $K8S_VERSION" "$here/control-plane/k8s/go.mod" || {
    log "hack/control-plane/k8s/go.mod does not pin $K8S_VERSION: run hack/control-plane/regen-k8s-gomod.sh"; exit 1; }
  log "downloading the Kubernetes $K8S_VERSION module graph (cold: several minutes)"
  (cd "$here/control-plane/k8s" && go mod download -x 2>&1 | grep -c '^# get' | sed 's/^/[control-plane] fetched modules: /' >&2) || true
  for b in "${pending[@]}"; do
    log "building $b $K8S_VERSION (cold: 5-15 min each on 2 cores; later ones reuse packages) ..."
    t=$(date +%s)
    (cd "$here/control-plane/k8s" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" \
        -o "$out/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$out/$b.tmp" "$out/$b"
    log "built $b in $(( $(date +%s) - t ))s"
  done
fi
if [ ! -x "$out/etcd" ]; then
  log "building etcd $ETCD_VERSION ..."
  t=$(date +%s)
  (cd "$here/control-plane/etcd" && go build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$out/etcd.tmp" "$out/etcd"
  log "built etcd in $(( $(date +%s) - t ))s"
fi
"$out/kube-apiserver" --version >&2
log "control plane ready in $out ($(( $(date +%s) - start ))s)"
echo "$out"
