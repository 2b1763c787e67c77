#!/usr/bin/env bash
# Builds helm from the Go module proxy into
#   ${PLB_CACHE:-~/.cache/portable-lb}/helm/<helm version>/helm
# and prints that path on stdout (progress goes to stderr). Idempotent: an existing binary is reused.
# helm's go.mod has no replace/exclude directives, so plain `go install module@version` is accepted (no wrapper
# module). The ldflags give `helm version` the real version, and make `helm template`/`helm lint` assume the
# Kubernetes minor we test against instead of helm's compiled-in default (.Capabilities.KubeVersion).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/versions.env
. "$here/versions.env"
log() { printf '[helm] %s\n' "$*" >&2; }

out="${PLB_CACHE:-$HOME/.cache/portable-lb}/helm/${HELM_VERSION}"
if [ -x "$out/helm" ]; then log "reusing $out/helm"; echo "$out/helm"; exit 0; fi

command -v go >/dev/null || { log "go is not installed (needed to build helm)"; exit 1; }
major=$(echo "$K8S_VERSION" | cut -d. -f1 | tr -d v)
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
v=helm.sh/helm/v3
ld="-s -w -X $v/internal/version.version=$HELM_VERSION -X $v/internal/version.gitTreeState=clean"
ld+=" -X $v/internal/version.metadata="
for p in pkg/chartutil pkg/lint/rules; do
  ld+=" -X $v/$p.k8sVersionMajor=$major -X $v/$p.k8sVersionMinor=$minor"
done

mkdir -p "$out"
tmp=$(mktemp -d "$out/.gobin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
log "building helm $HELM_VERSION from the Go module proxy (cold: module download + compile, a few minutes) ..."
# -v lists each package as it compiles: counted here as progress; the full log is shown only on failure.
CGO_ENABLED=0 GOBIN="$tmp" go install -v -trimpath -ldflags "$ld" "$v/cmd/helm@$HELM_VERSION" >"$tmp/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 15
  log "$(( $(date +%s) - start ))s: $(wc -l <"$tmp/build.log") packages fetched or compiled"
done
wait "$pid" || { tail -n 40 "$tmp/build.log" >&2; log "go install failed (log above)"; exit 1; }
mv "$tmp/helm" "$out/helm"
"$out/helm" version --short >&2
log "helm ready in $out ($(( $(date +%s) - start ))s)"
echo "$out/helm"
