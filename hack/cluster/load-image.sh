#!/usr/bin/env bash
# Imports OCI image archives into every node of the running cluster, as `kind load` does:
#   bash hack/cluster/load-image.sh <repository>=<archive>...    e.g. localhost/portable-lb=$(bash hack/image-oci.sh)
set -euo pipefail
# shellcheck source=hack/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
cluster_cli load "$@"
