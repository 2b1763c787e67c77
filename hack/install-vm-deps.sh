#!/usr/bin/env bash
# Installs what the nftables and ipvs data planes need at run time (nft; ipvsadm and conntrack for debugging)
# and what hack/vm/run.sh needs to run a suite under Debian 12's kernel (qemu, the kernel with its modules,
# a static busybox for the initramfs). Idempotent: apt is skipped when every probe is already present.
set -euo pipefail
# shellcheck source=hack/lib/apt.sh
source "$(dirname "$0")/lib/apt.sh"

# busybox-static replaces the dynamic busybox; a dynamic one cannot run in an initramfs without its libc.
# (ldd, from libc-bin, is always there; `file` may not be.)
static_busybox() {
  [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1
}

ensure_packages install-vm-deps \
  "nft:nftables" \
  "ipvsadm:ipvsadm" \
  "conntrack:conntrack" \
  "qemu-system-x86_64:qemu-system-x86" \
  "/boot/vmlinuz-*-amd64:linux-image-amd64" \
  "@static_busybox:busybox-static" \
  "cpio:cpio"
