// Counting packets where they are sent or received, with nftables counters in a test namespace (no capture tool
// needed, and exact: a count does not depend on timing). One table per namespace, one counter per probe.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs } from './netns.js';

const TABLE = 'plbtest_probes';

export interface Probe {
  name: string;
  /** ingress: as frames come in on the namespace's eth0, after its TC and XDP programs and before the kernel's
   * IP layer (which drops frames to another host's MAC unseen by the other hooks). */
  hook: 'input' | 'output' | 'forward' | 'ingress';
  /** An nft match, e.g. `tcp dport 8080 tcp flags & (syn | ack) == syn`. */
  match: string;
}

/** Replaces the namespace's probe table (counters start at 0). */
export async function installProbes(ns: string, probes: Probe[]): Promise<void> {
  const chain = (hook: string) => (hook === 'ingress' && !probes.some((p) => p.hook === hook) ? [] : [
    `  chain ${hook} {`, `    type filter hook ${hook}${hook === 'ingress' ? ' device eth0' : ''} priority 0; policy accept;`,
    ...probes.filter((p) => p.hook === hook).map((p) => `    ${p.match} counter name ${p.name}`),
    '  }',
  ]);
  const script = [
    `add table inet ${TABLE}`, `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`, ...probes.map((p) => `  counter ${p.name} {}`), ...chain('input'), ...chain('output'), ...chain('forward'), ...chain('ingress'), '}', '',
  ].join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'plb-probes-'));
  try {
    await writeFile(join(dir, 'probes.nft'), script);
    await inNs(ns, ['nft', '-f', join(dir, 'probes.nft')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Two probes: `<name>_all` counts the matching segments, `<name>_<mss>` those whose MSS option is exactly `mss`. */
export const mssProbes = (name: string, hook: Probe['hook'], match: string, mss: number): Probe[] => [
  { name: `${name}_all`, hook, match }, { name: `${name}_${mss}`, hook, match: `${match} tcp option maxseg size ${mss}` },
];

/** Packet counts by probe name. */
export async function readProbes(ns: string): Promise<Record<string, number>> {
  const doc = JSON.parse(await inNs(ns, ['nft', '-j', 'list', 'table', 'inet', TABLE])) as
    { nftables: Array<{ counter?: { name: string; packets: number } }> };
  return Object.fromEntries(doc.nftables.flatMap((o) => (o.counter ? [[o.counter.name, o.counter.packets]] : [])));
}

export const SYN = 'tcp flags & (syn | ack) == syn';
export const SYN_ACK = 'tcp flags & (syn | ack) == syn | ack';
