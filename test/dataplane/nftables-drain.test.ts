// The end of a backend's drain on the nftables plane, on the real kernel: TCP connections to a removed backend
// keep working while it drains, and when the drain ends (the plane's drainSeconds, here 5 s of a test clock) they
// are ended cleanly — the client's next request is answered with a RST at once (the conntrack entry is deleted,
// the vip chain resets the orphaned segment), not left running nor left to time out. The plane runs in-process,
// its nft and conntrack commands inside the LB pod's namespace of the suite's pod network.
import { expect, jest, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { conntrackArgs, type ConntrackRunner } from '../../src/dataplane/nftables/conntrack.js';
import { NftablesDataPlane } from '../../src/dataplane/nftables/nftables-dataplane.js';
import type { NftRunner } from '../../src/dataplane/nftables/nft.js';
import type { DesiredState } from '../../src/dataplane/types.js';
import { aroundAll } from './support/around-all.js';
import { inNs, type Spawned } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { Topology } from './support/topology.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000));

const HERE = dirname(fileURLToPath(import.meta.url));
const VIP = '10.240.200.10';
const PODS = { cli: '10.240.0.2', lb: '10.240.0.3', b1: '10.240.1.1', b2: '10.240.1.2' };

const run = (ns: string, args: string[], input?: string) => {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { input, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
};

function nftIn(ns: string): NftRunner {
  return {
    run: async (script) => {
      const r = run(ns, ['nft', '-f', '-'], script);
      if (r.status !== 0) throw new Error(`nft -f failed in ${ns}: ${r.stderr}`);
    },
    listTable: async (family, name) => inNs(ns, ['nft', '-j', 'list', 'table', family, name]).catch(() => null),
  };
}

/** conntrack-tools in the namespace; "N flow entries have been deleted" (exit 1 when N is 0). */
const conntrackIn = (ns: string): ConntrackRunner => ({
  delete: async (f) => Number(/(\d+) flow entries have been deleted/.exec(run(ns, ['conntrack', ...conntrackArgs(f)]).stderr)?.[1] ?? NaN),
});

suiteIf(missingPrerequisites(null, ['nft', 'conntrack']), 'nftables drain')('nftables: a backend\'s drain ends its TCP flows cleanly (real kernel)', () => {
  const topo = new Topology(`plbdr-${process.pid}-`);
  let hold: Spawned;
  aroundAll(async () => {
    await topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
    await topo.routeVip(VIP, PODS.lb);
    for (const b of ['b1', 'b2']) await topo.spawn(topo.ns(b), ['node', join(HERE, 'support/backend-server.mjs'), b, '8080', '5353']).waitFor(/^ready/);
  }, () => topo.destroy());

  test('connections to a removed backend run while it drains; when the drain ends the next request is reset at once', async () => {
    let now = 1_700_000_000_000;
    const ended: string[] = [];
    const lb = topo.ns('lb');
    const dp = new NftablesDataPlane({
      log: (m) => ended.push(m), now: () => now, drainSeconds: 5, nft: nftIn(lb), conntrack: conntrackIn(lb),
      writeSysctls: async (values) => {
        for (const [key, value] of Object.entries(values)) await inNs(lb, ['sysctl', '-qw', `${key.replace(/\//g, '.')}=${value}`]);
        return [];
      },
    });
    const desired = (ips: string[]): DesiredState => ({
      vip: VIP, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], backends: ips.map((ip) => ({ ip, weight: 1 })),
      scheduler: 'roundRobin', attach: 'auto', interface: 'eth0', snatIp: PODS.lb,
    });
    await dp.apply(desired([PODS.b1, PODS.b2]));
    hold = topo.spawn(topo.ns('cli'), ['node', join(HERE, 'support/hold.mjs'), `http://${VIP}/`, '8']);
    await hold.waitFor(/^holding/);
    const round = async () => {
      const from = hold.output().length;
      hold.child.stdin!.write('go\n');
      return JSON.parse(await hold.waitFor(/^\[/, 20_000, from)) as Array<{ backend: string | null; ok: boolean; error?: string }>;
    };
    const first = await round();
    expect(new Set(first.map((r) => r.backend))).toEqual(new Set(['b1', 'b2']));

    await dp.apply(desired([PODS.b1]));
    now += 3000;
    expect(await round()).toEqual(first); // draining: every connection still answered by its own backend

    now += 3000; // the drain is over: this apply drops b2 and deletes its TCP entries
    await dp.apply(desired([PODS.b1]));
    expect(ended.filter((m) => /TCP flow\(s\) of .* to 10\.240\.1\.2:8080 \(drain ended\)/.test(m))).toHaveLength(1);
    const after = await round();
    const byBackend = (backend: string) => first.flatMap((r, i) => (r.backend === backend ? [after[i]!] : []));
    // b1's connections go on; b2's were reset (ECONNRESET / socket hang up), not timed out (hold.mjs waits 5 s)
    expect(byBackend('b1').every((r) => r.ok && r.backend === 'b1')).toBe(true);
    expect(byBackend('b2').map((r) => ({ ok: r.ok, reset: /ECONNRESET|socket hang up/.test(r.error ?? '') })))
      .toEqual(byBackend('b2').map(() => ({ ok: false, reset: true })));
    hold.child.kill('SIGKILL');
  });
});
