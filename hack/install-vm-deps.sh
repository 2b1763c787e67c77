#!/usr/bin/env bash
# Installs what the nftables and ipvs data planes need at run time (nft; ipvsadm and conntrack for debugging)
# and what hack/vm/run.sh needs to run a suite under Debian 12's kernel (qemu, the kernel with its modules,
# a static busybox for the initramfs). Idempotent: apt is skipped when every probe is already present.
set -euo pipefail

# probe (command or absolute path; a glob is fine) : debian package
REQUIRED=(
  "nft:nftables"
  "ipvsadm:ipvsadm"
  "conntrack:conntrack"
  "qemu-system-x86_64:qemu-system-x86"
  "/boot/vmlinuz-*-amd64:linux-image-amd64"
  "/bin/busybox:busybox-static"
  "cpio:cpio"
)

present() {
  local probe=$1
  if [[ "$probe" == /* ]]; then
    compgen -G "$probe" >/dev/null
  else
    command -v "$probe" >/dev/null 2>&1 || [[ -x "/usr/sbin/$probe" || -x "/sbin/$probe" ]]
  fi
}

missing=()
for entry in "${REQUIRED[@]}"; do
  probe="${entry%%:*}" pkg="${entry#*:}"
  present "$probe" && continue
  echo "install-vm-deps: missing $probe (package $pkg)"
  missing+=("$pkg")
done

# busybox-static replaces the dynamic busybox; a dynamic one cannot run in an initramfs without its libc.
if [[ -x /bin/busybox ]] && file -L /bin/busybox 2>/dev/null | grep -q 'dynamically linked'; then
  missing+=(busybox-static)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-vm-deps: nft, ipvsadm, qemu, Debian kernel and busybox present, skipping apt"
  exit 0
fi

mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
echo "install-vm-deps: apt-get update"
$SUDO apt-get update -q
echo "install-vm-deps: apt-get install ${pkgs[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${pkgs[@]}"
echo "install-vm-deps: done"
