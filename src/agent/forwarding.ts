// Whether the LB pod's kernel forwards VIP traffic at all. The netfilter data planes (nftables, ipvs) write the
// forwarding sysctls on every apply but only warn when a write fails, because most sysctls they write are advice
// (send_redirects, conntrack tuning). Forwarding is not: with ip_forward off every DNATed packet is dropped while
// the pod would report ready. So after an apply the agent reads the switch back, and a pod whose kernel does not
// forward is not ready, with a reason saying which sysctl and what to do. (The xdp plane redirects in the driver
// and sets its device's forwarding itself, throwing when it cannot: nothing to read back for it.)
import { readFile } from 'node:fs/promises';
import { ipFamily } from '../api/defaults.js';
import type { DataPlaneName } from '../dataplane/types.js';

/** The reason an LB pod reports while its kernel does not forward (status.loadBalancers[].reason; not ready). */
export const FORWARDING_DISABLED = 'ForwardingDisabled';

/** The sysctls (paths under /proc/sys) that must read 1 for `plane` to forward a VIP of `family`. */
export function forwardingSysctls(plane: DataPlaneName, family: 4 | 6): string[] {
  if (plane === 'xdp') return [];
  return family === 6 ? ['net/ipv6/conf/all/forwarding'] : ['net/ipv4/ip_forward'];
}

/** From what those sysctls read (undefined: unreadable), why the kernel does not forward, if it does not. */
export function forwardingProblem(values: Readonly<Record<string, string | undefined>>): string | undefined {
  const off = Object.entries(values).filter(([, v]) => v?.trim() !== '1');
  if (off.length === 0) return undefined;
  const what = off.map(([k, v]) => `${k.replace(/\//g, '.')} is ${v === undefined ? 'unreadable' : v.trim()}`).join(', ');
  return `${what}: this pod's kernel does not forward VIP traffic and the agent could not switch it on ` +
    '(a read-only /proc/sys); let the LB pods set it: the class\'s podSysctls: true, which the kubelet must allow';
}

/** Reads the forwarding switches of this netns: why it does not forward, or undefined. */
export async function checkForwarding(
  plane: DataPlaneName,
  vip: string,
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const key of forwardingSysctls(plane, ipFamily(vip) === 6 ? 6 : 4)) {
    values[key] = await read(`/proc/sys/${key}`).catch(() => undefined);
  }
  return forwardingProblem(values);
}
