#!/usr/bin/env bash
# Installs what the xdp data plane needs to build (clang, libbpf, bpftool, node-gyp toolchain) and what the
# dataplane test tier / benchmarks need at run time (iproute2, ethtool, nstat, nginx, wrk, iptables).
# Idempotent: apt is skipped entirely when every command and header is already present.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"
# shellcheck source=hack/lib/apt.sh
source "$root/hack/lib/apt.sh"

# conntrack-tools at the pinned version: the nftables data plane runs `conntrack -D` (and the tests `conntrack -L`)
conntrack_pinned() { [[ "$(dpkg-query -W -f '${Version}' conntrack 2>/dev/null || true)" == "$CONNTRACK_DEB_VERSION" ]]; }

# probe : debian package (bookworm names; bpftool is its own package there, not linux-bpftool)
ensure_packages install-dataplane-deps \
  "clang:clang" \
  "llc:llvm" \
  "/usr/include/bpf/libbpf.h:libbpf-dev" \
  "/usr/include/gelf.h:libelf-dev" \
  "/usr/include/zlib.h:zlib1g-dev" \
  "pkg-config:pkg-config" \
  "bpftool:bpftool" \
  "ip:iproute2" \
  "nstat:iproute2" \
  "ethtool:ethtool" \
  "make:make" \
  "g++:g++" \
  "python3:python3" \
  "nginx:nginx-light" \
  "wrk:wrk" \
  "iptables:iptables" \
  "@conntrack_pinned:conntrack=$CONNTRACK_DEB_VERSION"

# The Debian nginx package starts a system-wide nginx; the tests start their own inside namespaces.
if [[ " ${APT_INSTALLED[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now nginx >/dev/null 2>&1 || sudo systemctl disable --now nginx >/dev/null 2>&1 || true
fi
