// The nftables plane's small transactions (delta.ts) make exactly the table a full render makes: on the real
// kernel, two namespaces follow one random sequence of backend changes (joins, leaves, weight changes, drains
// that end, backends that come back), one through a plane that keeps what it committed (deltas), the other
// through a fresh plane per step (each reads the table back and replaces it whole). After every step both tables
// are listed and compared object by object (rules without handles, set and map elements, counter names).
import { expect, jest, test } from '@jest/globals';
import { NftablesDataPlane } from '../../src/dataplane/nftables/nftables-dataplane.js';
import type { NftRunner } from '../../src/dataplane/nftables/nft.js';
import type { DesiredState } from '../../src/dataplane/types.js';
import { inNs, sh } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { aroundAll } from './support/around-all.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000));

const PREFIX = `plbnd-${process.pid}-`;
const NS = { delta: `${PREFIX}delta`, full: `${PREFIX}full` };

function runner(ns: string, scripts: string[]): NftRunner {
  return {
    run: async (script) => {
      scripts.push(script);
      const { spawnSync } = await import('node:child_process');
      const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nft -f failed in ${ns}: ${r.stderr}\n--- script ---\n${script.slice(0, 3000)}`);
    },
    listTable: async (family, name) => inNs(ns, ['nft', '-j', 'list', 'table', family, name]).catch((e: Error) => {
      if (/No such file or directory/.test(String((e as { stderr?: string }).stderr ?? e.message))) return null;
      throw e;
    }),
  };
}

/** The table as comparable data: objects by kind and name, rules without handles, elements sorted. */
async function listing(ns: string): Promise<Record<string, unknown>> {
  const doc = JSON.parse(await inNs(ns, ['nft', '-j', 'list', 'table', 'ip', 'portable_lb'])) as { nftables: Array<Record<string, Record<string, unknown>>> };
  const out: Record<string, unknown> = {};
  const rules = new Map<string, unknown[]>();
  for (const item of doc.nftables) {
    const [kind, o] = Object.entries(item)[0]!;
    if (kind === 'metainfo' || kind === 'table') continue;
    if (kind === 'rule') {
      const list = rules.get(String(o['chain'])) ?? [];
      list.push(o['expr']);
      rules.set(String(o['chain']), list);
      continue;
    }
    const { handle: _h, packets: _p, bytes: _b, elem, ...rest } = o;
    const elements = Array.isArray(elem) ? elem.map((e) => JSON.stringify(e)).sort() : undefined;
    out[`${kind} ${String(o['name'])}`] = { ...rest, ...(elements ? { elements } : {}) };
  }
  for (const [chain, list] of rules) out[`rules of ${chain}`] = list;
  return out;
}

suiteIf(missingPrerequisites(null, ['nft']), 'nftables delta')('nftables: small transactions make the table a full render makes (real kernel)', () => {
  aroundAll(async () => {
    for (const ns of Object.values(NS)) await sh('ip', ['netns', 'add', ns]);
  }, async () => {
    for (const ns of Object.values(NS)) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  test('60 random backend changes over 12 backends: identical listings after every step', async () => {
    let now = 1_700_000_000_000;
    const opts = { log: () => undefined, now: () => now, writeSysctls: async () => [], drainSeconds: 300,
      conntrack: { delete: async () => 0 } }; // the flows of this test's namespaces are not in the host's conntrack
    const deltaScripts: string[] = [];
    const incremental = new NftablesDataPlane({ ...opts, nft: runner(NS.delta, deltaScripts), verifyMs: 24 * 3600_000 });
    const pool = Array.from({ length: 12 }, (_, i) => `10.240.${1 + (i >> 3)}.${(i % 8) + 1}`);
    // A seeded generator: the same sequence on every run.
    let seed = 18;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const weights = new Map<string, number>(pool.slice(0, 6).map((ip) => [ip, 1]));
    const desired = (): DesiredState => ({
      vip: '10.240.200.10', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
      backends: [...weights].sort(([a], [b]) => a.localeCompare(b)).map(([ip, weight]) => ({ ip, weight })),
      scheduler: 'roundRobin', attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
    });
    const steps: string[] = [];
    for (let step = 0; step < 60; step++) {
      const ip = pool[rnd(pool.length)]!;
      const kind = rnd(10);
      if (kind < 4) { if (weights.size > 1) weights.delete(ip); steps.push(`-${ip}`); }
      else if (kind < 8) { weights.set(ip, 1 + rnd(3)); steps.push(`+${ip}*${weights.get(ip)}`); }
      else { now += 301_000; steps.push('drains end'); }
      now += 1000;
      const d = desired();
      await incremental.apply(d);
      await new NftablesDataPlane({ ...opts, nft: runner(NS.full, []) }).apply(d);
      expect({ step, change: steps.at(-1), table: await listing(NS.delta) }).toEqual({ step, change: steps.at(-1), table: await listing(NS.full) });
    }
    // After the first apply every change went through a delta (no `add table`, no `flush table`).
    const full = deltaScripts.filter((s) => s.includes('flush table') || s.startsWith('add table'));
    expect(full.length).toBe(1);
    expect(deltaScripts.length).toBeGreaterThan(30); // 36: the other steps changed nothing (removing an absent backend)
  });
});
