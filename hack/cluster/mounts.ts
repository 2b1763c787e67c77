// Each node's mount namespace, kept alive by a bind of its nsfs file (so containerd, the kubelet and kube-proxy,
// started one after the other, all join the same one). What a node mounts stays inside it: the pods' overlay
// roots, their netns files, and a bpffs of its own at /sys/fs/bpf, made a shared mount so that an LB pod's
// hostPath of it (and a Bidirectional mount) sees the node's pins. A few paths the kubelet, containerd or libcni
// hard-code are host-global; each node covers them with its own:
//   /run          (tmpfs) containerd's shim sockets (/run/containerd/s), pod netns files (/run/netns), xtables.lock
//   /var/log      (tmpfs) the kubelet's /var/log/containers symlinks (pod logs go to the node's podLogsDir)
//   /var/lib/cni  (a directory of the node) libcni's result cache. The host directory is created if missing and
//                 left (empty): removing it while another cluster's node has a mount on it would detach that mount.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './exec.js';

const CNI_CACHE = '/var/lib/cni';

export async function createMountNs(file: string, nodeDir: string): Promise<void> {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  // A namespace can only be bound onto a file of a private mount: make the directory one.
  await run('mount', ['--bind', dir, dir]);
  await run('mount', ['--make-private', dir]);
  writeFileSync(file, '');
  await run('unshare', [`--mount=${file}`, '--propagation', 'private', 'true']);
  if (!existsSync(CNI_CACHE)) mkdirSync(CNI_CACHE, { recursive: true });
  const cniCache = join(nodeDir, 'cni-cache');
  mkdirSync(cniCache, { recursive: true });
  const script = [
    'set -e',
    'mount -t tmpfs -o mode=0755,size=64m tmpfs /run',
    'mount -t tmpfs -o mode=0755,size=16m tmpfs /var/log',
    'mkdir /var/log/containers',
    `mount --bind ${cniCache} ${CNI_CACHE}`,
    'mount -t bpf -o mode=0700 bpf /sys/fs/bpf',
    'mount --make-shared /sys/fs/bpf',
  ].join('\n');
  await run('nsenter', [`--mount=${file}`, '--', '/bin/sh', '-c', script]);
}

/** Mount points below `dir` in this (the host's) mount namespace, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const out = await run('findmnt', ['-rn', '-o', 'TARGET']);
  return out.split('\n').filter((t) => t === dir || t.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

/**
 * Unmounts what a cluster left below its directory: each node's nsfs bind (the namespace and all its mounts go
 * once its last process is gone) and the private bind under it.
 */
export async function unmountBelow(dir: string): Promise<void> {
  for (const target of await mountsBelow(dir)) {
    await run('umount', [target]).catch(() => run('umount', ['--lazy', target]));
  }
}
