# shellcheck shell=bash
# Sourced by hack/cluster/*.sh: the repository root, the prefix and directory settings, and the compiled CLI.
#   PLB_CLUSTER_PREFIX  names of namespaces, cgroups and nodes (default plbc-); one cluster per prefix
#   PLB_CLUSTER_DIR     its state (default /var/lib/portable-lb/clusters/<prefix without the dash>)
#   PLB_CLUSTER_NODES   node count for up (default 2)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PLB_CLUSTER_PREFIX=${PLB_CLUSTER_PREFIX:-plbc-}
[ "$(id -u)" = 0 ] || { echo "hack/cluster: needs root (namespaces, cgroups, mounts)" >&2; exit 1; }

# The TypeScript under hack/cluster, compiled with the rest of the checkout (as make lab does).
cluster_cli() {
  if [ -z "${PLB_CLUSTER_NO_BUILD:-}" ]; then (cd "$root" && npx tsc -p tsconfig.json); fi
  node "$root/dist/hack/cluster/main.js" "$@"
}
