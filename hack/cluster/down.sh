#!/usr/bin/env bash
# Tears down the cluster of PLB_CLUSTER_PREFIX: kills every process in its cgroups (by PID: containerd's shims
# and the pods too), unmounts its node mount namespaces, deletes its network namespaces and cgroups and its
# directory. Works without the state file (after a crashed up) and when nothing is there.
set -euo pipefail
# shellcheck source=hack/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
cluster_cli down
