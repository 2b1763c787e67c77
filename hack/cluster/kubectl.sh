#!/usr/bin/env bash
# kubectl against the running cluster, as its admin. The apiserver's address exists only inside the cluster's
# namespaces, so this runs kubectl (and anything after `--run`) in the control plane's network namespace:
#   bash hack/cluster/kubectl.sh get nodes -o wide
#   bash hack/cluster/kubectl.sh --run helm list -A     (any command, with KUBECONFIG set)
set -euo pipefail
# shellcheck source=hack/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
env_lines=$(PLB_CLUSTER_NO_BUILD=1 cluster_cli env)
declare -A e
while IFS='=' read -r k v; do e[$k]=$v; done <<<"$env_lines"
if [ "${1:-}" = --run ]; then
  shift
  exec nsenter --net="/run/netns/${e[PLB_CLUSTER_CP_NS]}" -- env KUBECONFIG="${e[KUBECONFIG]}" PATH="${e[PLB_K8S_BIN]}:$PATH" "$@"
fi
exec nsenter --net="/run/netns/${e[PLB_CLUSTER_CP_NS]}" -- "${e[PLB_K8S_BIN]}/kubectl" --kubeconfig="${e[KUBECONFIG]}" "$@"
