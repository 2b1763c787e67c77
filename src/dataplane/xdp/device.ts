// Small I/O helpers about the network namespace the agent runs in.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { runCommand as run } from '../../runtime/command.js';
import type { DeviceFacts } from './attach-mode.js';

interface IpLinkJson { ifname: string; linkinfo?: { info_kind?: string } }
interface IpAddrJson { addr_info?: Array<{ family: string; local: string; scope: string }> }

export async function deviceFacts(name: string): Promise<DeviceFacts> {
  const { stdout } = await run('ip', ['-d', '-j', 'link', 'show', 'dev', name]);
  const links = JSON.parse(stdout) as IpLinkJson[];
  const link = links[0];
  if (!link) throw new Error(`interface ${name} not found in this network namespace`);
  return { name, kind: link.linkinfo?.info_kind ?? null };
}

/**
 * The interface's first global address of the family (a VIP's family): in a pod, the pod IP, which is what
 * backends can reply to.
 */
export async function primaryAddress(name: string, family: 4 | 6): Promise<string> {
  const { stdout } = await run('ip', ['-j', 'addr', 'show', 'dev', name]);
  const entries = JSON.parse(stdout) as IpAddrJson[];
  const inet = family === 4 ? 'inet' : 'inet6';
  const addr = entries[0]?.addr_info?.find((a) => a.family === inet && a.scope === 'global');
  if (!addr) throw new Error(`interface ${name} has no global IPv${family} address to use as the SNAT source`);
  return addr.local;
}

/** The interface's MAC address (aa:bb:cc:dd:ee:ff); null if unreadable. */
export async function interfaceMac(name: string): Promise<string | null> {
  try {
    return (await readFile(`/sys/class/net/${name}/address`, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** The device of the default route: a pod's eth0. */
export async function defaultRouteInterface(): Promise<string> {
  const { stdout } = await run('ip', ['-j', 'route', 'show', 'default']);
  const routes = JSON.parse(stdout) as Array<{ dev?: string }>;
  const dev = routes[0]?.dev;
  if (!dev) throw new Error('no default route: pass --interface');
  return dev;
}

/**
 * bpf_fib_lookup refuses to route for a device with forwarding off (BPF_FIB_LKUP_RET_FWD_DISABLED), for IPv6 by
 * the device's own net.ipv6.conf.<dev>.forwarding. A forwarding IPv6 device ignores router advertisements unless
 * accept_ra is 2 (a pod whose default route came from one would lose it), so that goes first.
 */
export async function enableForwarding(name: string, family: 4 | 6 = 4): Promise<boolean> {
  let changed = false;
  for (const [key, value] of Object.entries(xdpForwardingSysctls(name, family))) {
    const path = `/proc/sys/${key}`;
    if ((await readFile(path, 'utf8')).trim() === value) continue;
    await writeFile(path, value);
    changed = true;
  }
  return changed;
}

/** The sysctls enableForwarding writes (paths under /proc/sys, in order), also set by an LB pod's securityContext. */
export function xdpForwardingSysctls(name: string, family: 4 | 6): Record<string, string> {
  return family === 4 ? { [`net/ipv4/conf/${name}/forwarding`]: '1' }
    : { [`net/ipv6/conf/${name}/accept_ra`]: '2', [`net/ipv6/conf/${name}/forwarding`]: '1' };
}

/**
 * Pinned maps need a bpffs. Returns true when it had to mount one: a bpffs mounted by this process lives only as
 * long as its mount namespace, so pinned state will not outlive a container restart (mount the host's
 * /sys/fs/bpf into the pod to keep it).
 */
export async function ensureBpffs(pinDir: string, mountPoint = '/sys/fs/bpf'): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  const bpfMounts = mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'bpf').map((f) => f[1]!);
  if (!bpfMounts.some((m) => pinDir === m || pinDir.startsWith(m.endsWith('/') ? m : `${m}/`))) {
    if (!pinDir.startsWith(`${mountPoint}/`)) {
      throw new Error(`pin directory ${pinDir} is not on a bpf filesystem (mount one, or use ${mountPoint}/...)`);
    }
    await run('mount', ['-t', 'bpf', 'bpf', mountPoint]);
    await mkdir(pinDir, { recursive: true });
    return true;
  }
  await mkdir(pinDir, { recursive: true });
  return false;
}

/** The namespace's net.ipv4.ip_local_port_range (its own sockets' ephemeral ports); null if unreadable. */
export async function localPortRange(): Promise<{ min: number; max: number } | null> {
  try {
    const [min, max] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    return Number.isInteger(min) && Number.isInteger(max) ? { min: min!, max: max! } : null;
  } catch {
    return null;
  }
}
