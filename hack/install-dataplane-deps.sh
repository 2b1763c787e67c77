#!/usr/bin/env bash
# Installs what the xdp data plane needs to build (clang, libbpf, bpftool, node-gyp toolchain) and what the
# dataplane test tier / benchmarks need at run time (iproute2, ethtool, nstat, nginx, wrk, iptables).
# Idempotent: apt is skipped entirely when every command and header is already present.
set -euo pipefail

# command-or-file : debian package (bookworm names; bpftool is its own package there, not linux-bpftool)
REQUIRED=(
  "clang:clang"
  "llc:llvm"
  "/usr/include/bpf/libbpf.h:libbpf-dev"
  "/usr/include/gelf.h:libelf-dev"
  "/usr/include/zlib.h:zlib1g-dev"
  "pkg-config:pkg-config"
  "bpftool:bpftool"
  "ip:iproute2"
  "nstat:iproute2"
  "ethtool:ethtool"
  "make:make"
  "g++:g++"
  "python3:python3"
  "nginx:nginx-light"
  "wrk:wrk"
  "iptables:iptables"
)

missing=()
for entry in "${REQUIRED[@]}"; do
  probe="${entry%%:*}" pkg="${entry#*:}"
  if [[ "$probe" == /* ]]; then
    [[ -e "$probe" ]] && continue
  else
    # bpftool and friends live in /usr/sbin, which may not be on a non-root PATH
    command -v "$probe" >/dev/null 2>&1 || [[ -x "/usr/sbin/$probe" ]] && continue
  fi
  echo "install-dataplane-deps: missing $probe (package $pkg)"
  missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-dataplane-deps: all data-plane dependencies present, skipping apt"
  exit 0
fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-dataplane-deps: apt-get update"
$SUDO apt-get update -q
echo "install-dataplane-deps: apt-get install ${pkgs[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${pkgs[@]}"
# The Debian nginx package starts a system-wide nginx; the tests start their own inside namespaces.
if [[ " ${pkgs[*]} " == *" nginx-light "* ]] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
echo "install-dataplane-deps: done"
