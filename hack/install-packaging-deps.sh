#!/usr/bin/env bash
# What the packaging checks need, idempotently: shellcheck for the hack/ scripts and debootstrap for the image's
# root filesystem (apt; skipped when present), and helm built from the Go module proxy (hack/build-helm.sh;
# reused from the cache when built before).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=hack/lib/apt.sh
source "$here/lib/apt.sh"
ensure_packages packaging-deps "shellcheck:shellcheck" "debootstrap:debootstrap"
bash "$here/build-helm.sh" >/dev/null
