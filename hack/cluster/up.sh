#!/usr/bin/env bash
# Brings up a real cluster on this machine (root): the pinned control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler) and N nodes (containerd, kubelet, kube-proxy from Kubernetes
# $K8S_VERSION), each in its own network, mount namespace and cgroup, behind a router namespace, with a
# client namespace outside (hack/cluster/README.md). Idempotent: a healthy cluster of the same size is kept
# (the images are loaded into it), anything else of this prefix is torn down and built anew.
#   bash hack/cluster/up.sh [--nodes N] [--image <repository>=<oci archive>]...
# Installs what it needs first (hack/install-cluster-deps.sh; the node binaries: hack/build-control-plane.sh
# --with-nodes, cold ~4 min more than the control plane).
set -euo pipefail
# shellcheck source=hack/cluster/lib.sh
. "$(dirname "$0")/lib.sh"
bash "$root/hack/install-cluster-deps.sh"
[ -d "$root/node_modules" ] || (cd "$root" && npm ci --no-audit --no-fund)
PLB_K8S_BIN=$(bash "$root/hack/build-control-plane.sh" --with-nodes)
export PLB_K8S_BIN
pause=$(bash "$root/hack/cluster/pause-image.sh")
cluster_cli up --image "localhost/pause=$pause" "$@"
