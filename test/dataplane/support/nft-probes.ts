// Counting the MSS option of handshake segments where they are sent or received, with nftables counters in a
// test namespace (no packet capture tool needed): per probe, every matching segment and those whose MSS option
// has the expected value.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs } from './netns.js';

const TABLE = 'plbtest_mss';

export interface MssProbe {
  name: string;
  hook: 'input' | 'output';
  /** An nft match, e.g. `tcp dport 8080 tcp flags & (syn | ack) == syn`. */
  match: string;
  mss: number;
}

export async function installMssProbes(ns: string, probes: MssProbe[]): Promise<void> {
  const chain = (hook: string) => [
    `  chain ${hook} {`, `    type filter hook ${hook} priority 0; policy accept;`,
    ...probes.filter((p) => p.hook === hook).flatMap((p) => [
      `    ${p.match} counter name ${p.name}_all`,
      `    ${p.match} tcp option maxseg size ${p.mss} counter name ${p.name}_${p.mss}`,
    ]),
    '  }',
  ];
  const script = [
    `table inet ${TABLE} {`,
    ...probes.flatMap((p) => [`  counter ${p.name}_all {}`, `  counter ${p.name}_${p.mss} {}`]),
    ...chain('input'), ...chain('output'),
    '}', '',
  ].join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'plb-mss-'));
  try {
    await writeFile(join(dir, 'probes.nft'), script);
    await inNs(ns, ['nft', '-f', join(dir, 'probes.nft')]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Packet counts by counter name (`syn_all`, `syn_1410`, ...). */
export async function readMssProbes(ns: string): Promise<Record<string, number>> {
  const doc = JSON.parse(await inNs(ns, ['nft', '-j', 'list', 'table', 'inet', TABLE])) as
    { nftables: Array<{ counter?: { name: string; packets: number } }> };
  return Object.fromEntries(doc.nftables.flatMap((o) => (o.counter ? [[o.counter.name, o.counter.packets]] : [])));
}
