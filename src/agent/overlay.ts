// spec.overlay -> the MTU of the LB pod's device. The CNI set the pod's MTU for its overlay already in most
// clusters; this makes the LB's own packets agree with what the user declared, and reads the result back.
import { readFile } from 'node:fs/promises';
import { overlayMtu } from '../api/defaults.js';
import type { PortableLoadBalancerSpec } from '../api/generated.js';
import { runCommand as run } from '../runtime/command.js';

export interface MtuResult {
  mtu: number | undefined;
  problem?: string;
}

export async function applyOverlayMtu(overlay: PortableLoadBalancerSpec['overlay'], device: string, sysfs = '/sys'): Promise<MtuResult> {
  const want = overlayMtu(overlay);
  const path = `${sysfs}/class/net/${device}/mtu`;
  const current = Number((await readFile(path, 'utf8')).trim());
  if (want === undefined || want === current) return { mtu: current };
  try {
    await run('ip', ['link', 'set', 'dev', device, 'mtu', String(want)]);
  } catch (error) {
    return { mtu: current, problem: `could not set MTU ${want} on ${device}: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}` };
  }
  const after = Number((await readFile(path, 'utf8')).trim());
  return after === want ? { mtu: after } : { mtu: after, problem: `MTU of ${device} is ${after}, not ${want}` };
}
