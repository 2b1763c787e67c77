// CPU spreading inside the LB pod (spec.cpuSpreading): RPS masks and rps_flow_cnt on every rx queue of the
// pod's device, XPS on every tx queue, threaded NAPI. A privileged pod can write these in its own netns's sysfs;
// the RFS socket table (net.core.rps_sock_flow_entries) is node-wide and is reported, not ignored.
// The plan is pure; applyPlan writes and reads every value back, because sysfs accepts some writes it then
// ignores (threaded NAPI needs NAPI to exist, for example).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PortableLoadBalancerSpec } from '../api/generated.js';

export type Spreading = NonNullable<PortableLoadBalancerSpec['cpuSpreading']>;

export interface SysfsWrite {
  path: string;
  value: string;
}

/** "0-3,8" -> the set of CPUs, or an error naming what is wrong. */
export function parseCpuList(list: string, cpuCount: number): number[] {
  const cpus = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`cpuSpreading.cpus: "${part}" is not a CPU number or range`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`cpuSpreading.cpus: range ${part} is backwards`);
    for (let c = lo; c <= hi; c++) if (c < cpuCount) cpus.add(c);
  }
  if (cpus.size === 0) throw new Error(`cpuSpreading.cpus: "${list}" names none of this node's ${cpuCount} CPUs`);
  return [...cpus].sort((a, b) => a - b);
}

/** The kernel's cpumask text: hex, in comma-separated 32-bit groups, most significant first. */
export function cpuMask(cpus: readonly number[]): string {
  const max = Math.max(0, ...cpus);
  const groups = new Array<number>(Math.floor(max / 32) + 1).fill(0);
  for (const c of cpus) groups[Math.floor(c / 32)]! |= 1 << c % 32;
  return groups
    .reverse()
    .map((g, i) => (g >>> 0).toString(16).padStart(i === 0 ? 1 : 8, '0'))
    .join(',');
}

/** Compares masks as numbers: the kernel pads its read-back with zero groups and leading zeros. */
export function sameMask(a: string, b: string): boolean {
  const norm = (m: string) => m.replace(/,/g, '').replace(/^0+/, '') || '0';
  return norm(a.trim()) === norm(b.trim());
}

export function spreadingPlan(
  spec: Spreading | undefined,
  device: string,
  queues: { rx: string[]; tx: string[] },
  cpuCount: number,
): SysfsWrite[] {
  if (!spec) return [];
  const dev = `class/net/${device}`;
  const mask = cpuMask(spec.cpus ? parseCpuList(spec.cpus, cpuCount) : Array.from({ length: cpuCount }, (_, i) => i));
  const writes: SysfsWrite[] = [];
  for (const rx of queues.rx) {
    writes.push({ path: `${dev}/queues/${rx}/rps_cpus`, value: spec.rps ? mask : '0' });
    if (spec.rps) writes.push({ path: `${dev}/queues/${rx}/rps_flow_cnt`, value: String(spec.rpsFlowCount ?? 4096) });
  }
  if (spec.xps) for (const tx of queues.tx) writes.push({ path: `${dev}/queues/${tx}/xps_cpus`, value: mask });
  if (spec.threadedNapi !== undefined) writes.push({ path: `${dev}/threaded`, value: spec.threadedNapi ? '1' : '0' });
  return writes;
}

export interface SpreadingResult {
  applied: number;
  /** Writes the kernel refused or did not keep, with why. */
  failed: string[];
  /** What only the node can do. */
  notes: string[];
  /**
   * Why nothing was written: the spec cannot be met on this node (its cpus list names none of the node's CPUs).
   * Advisory: the data plane is programmed all the same, spread or not; the agent reports it as a Degraded reason.
   */
  ignored?: string;
}

/** The reason an LB pod reports while its cpuSpreading is ignored (the operator's Degraded condition). */
export const SPREADING_IGNORED = 'CPUSpreadingIgnored';

export async function applySpreading(
  spec: Spreading | undefined,
  device: string,
  cpuCount: number,
  sysfs = '/sys',
): Promise<SpreadingResult> {
  if (!spec) return { applied: 0, failed: [], notes: [] };
  const entries = await readdir(join(sysfs, 'class/net', device, 'queues')).catch(() => [] as string[]);
  const queues = { rx: entries.filter((q) => q.startsWith('rx-')).sort(), tx: entries.filter((q) => q.startsWith('tx-')).sort() };
  const result: SpreadingResult = { applied: 0, failed: [], notes: [] };
  let plan: SysfsWrite[];
  try {
    plan = spreadingPlan(spec, device, queues, cpuCount);
  } catch (error) {
    // The same PLB runs on nodes of different sizes: a list one node cannot meet must not stop its LB pod.
    return { ...result, ignored: `${(error as Error).message}: CPU spreading left as it is on this node` };
  }
  for (const w of plan) {
    const file = join(sysfs, w.path);
    try {
      const before = (await readFile(file, 'utf8').catch(() => '')).trim();
      // Writing a value that is already there can still fail (threaded=0 on a device without NAPI): skip it.
      if (w.path.endsWith('_cpus') ? sameMask(before || 'x', w.value) : before === w.value) {
        result.applied++;
        continue;
      }
      await writeFile(file, w.value);
      const back = (await readFile(file, 'utf8')).trim();
      const kept = w.path.endsWith('_cpus') ? sameMask(back, w.value) : back === w.value;
      if (kept) result.applied++;
      else result.failed.push(`${w.path}: wrote ${w.value}, kernel kept ${back}`);
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code === 'EIO' && w.path.endsWith('threaded')
        ? 'threaded NAPI needs NAPI on the device (GRO or an XDP program)'
        : (error as Error).message;
      result.failed.push(`${w.path}: ${why}`);
    }
  }
  if (spec.rps) {
    result.notes.push(
      'RFS also needs net.core.rps_sock_flow_entries on the node (node-wide, not settable from a pod); RPS works without it',
    );
  }
  return result;
}
