#!/usr/bin/env bash
# Runs one command under another kernel: Debian's (apt linux-image-amd64) in qemu, with this machine's whole
# root file system shared read-only over 9p as the guest's root, the checkout shared writable at the same
# path, tmpfs on /tmp /run /var/tmp, and the modules you name loaded. The command's exit status is the
# script's. No KVM is needed (software emulation; expect minutes for a test suite).
#
#   hack/vm/run.sh [options] -- command [args...]
#     --kernel VER     a version with /boot/vmlinuz-VER and /lib/modules/VER (default: newest *-amd64 in /boot)
#     --modules "a b"  modules to modprobe in the guest before the command (dependencies resolved)
#     --env NAME       pass this environment variable into the guest (repeatable; PATH, HOME, CI always pass)
#     --mem MiB        guest memory (default 3072)      --cpus N   guest CPUs (default 2)
#     --timeout SEC    kill the VM after this long (default 1800): exit status 124
#     --log FILE       keep the serial console here (default: a temp file, printed on failure)
#
# Example: hack/vm/run.sh --modules "ip_vs ip_vs_rr" -- bash -c 'cat /proc/net/ip_vs'
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

kver="" modules="" mem=3072 cpus=2 timeout=1800 log="" envs=(PATH HOME CI)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kernel) kver=$2; shift 2 ;;
    --modules) modules=$2; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "vm/run: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "vm/run: no command given (hack/vm/run.sh [options] -- command ...)" >&2; exit 2; }
if [[ -z "$kver" ]]; then
  kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)
fi
[[ -n "$kver" && -f "/boot/vmlinuz-$kver" && -d "/lib/modules/$kver" ]] || {
  echo "vm/run: no Debian kernel found (run hack/install-vm-deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/plb-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
[[ -n "$log" ]] || log="$work/console.log"

# The command and its environment, quoted for the guest's bash (the guest's PATH is the host's).
{
  echo "cd $(printf '%q' "$PWD")"
  for name in "${envs[@]}"; do
    [[ -n "${!name+x}" ]] && echo "export $name=$(printf '%q' "${!name}")"
  done
  printf '%q ' "$@"; echo
} > "$work/command.sh"

"$here/initramfs.sh" "$kver" "$work/initramfs" "$modules" "$root" "$work/command.sh"

echo "vm/run: booting $kver (${cpus} CPUs, ${mem} MiB, modules: ${modules:-none}), console below and in $log" >&2
start=$(date +%s)
set +e
# The serial console is the guest's stdout: shown live and kept in the log.
timeout "$timeout" qemu-system-x86_64 \
  -accel tcg -cpu max -m "$mem" -smp "$cpus" -display none -no-reboot -nodefaults \
  -serial stdio -monitor none \
  -kernel "/boot/vmlinuz-$kver" -initrd "$work/initramfs" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$root,mount_tag=checkout,security_model=none,multidevs=remap" \
  < /dev/null | tee "$log"
qemu=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - start ))
# The init script prints the command's status on the serial console as its last act.
status=$(grep -a -o 'PLB_VM_EXIT=[0-9]*' "$log" | tail -1 | cut -d= -f2 || true)
if [[ -z "$status" ]]; then
  [[ $qemu -eq 124 ]] && echo "vm/run: timed out after ${timeout}s" >&2 || echo "vm/run: the guest died (qemu $qemu)" >&2
  exit $(( qemu == 124 ? 124 : 125 ))
fi
echo "vm/run: command exited $status after ${elapsed}s of VM time (boot to poweroff)" >&2
exit "$status"
