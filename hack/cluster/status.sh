#!/usr/bin/env bash
# The running cluster's daemons (PID, alive) and nodes, and whether it is healthy.
set -euo pipefail
# shellcheck source=hack/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
PLB_CLUSTER_NO_BUILD=1 cluster_cli status
