// The nftables plane keeps what it committed instead of listing its table on every apply: a table of 10 000
// backends is ~30 000 objects, and reading it back cost ~1 s per apply. It reads the table back after a start,
// after a failed transaction, and once `verifyMs` (60 s) have passed, so drift is still repaired.
import { describe, expect, test } from '@jest/globals';
import { NftablesDataPlane } from '../../../../src/dataplane/nftables/nftables-dataplane.js';
import type { NftRunner } from '../../../../src/dataplane/nftables/nft.js';
import type { DesiredState } from '../../../../src/dataplane/types.js';

/**
 * A kernel holding the last committed table as `nft -j` would list it: every object the script declares, the
 * backends set's element comments and plb_meta's comment (the fingerprint).
 */
function kernel() {
  let script: string | null = null;
  let failNext = false;
  const calls: string[] = [];
  const objects = () => {
    const kinds = ['chain', 'set', 'map', 'counter'] as const;
    return kinds.flatMap((kind) => [...(script ?? '').matchAll(new RegExp(`^  ${kind} (\\S+) \\{`, 'gm'))]
      .map((m) => ({ [kind]: { family: 'ip', table: 'portable_lb', name: m[1]!, ...(kind === 'counter' && m[1] === 'plb_meta' ? { comment: meta() } : {}) } })));
  };
  const meta = () => /comment "(fingerprint [0-9a-f]+)"/.exec(script ?? '')?.[1];
  const backendElems = () => {
    const line = /set backends \{\n\s+type ipv4_addr\n\s+elements = \{ ([^}]*) \}/.exec(script ?? '')?.[1] ?? '';
    return [...line.matchAll(/(\S+) comment "([^"]+)"/g)].map((m) => ({ elem: { val: m[1], comment: m[2] } }));
  };
  const runner: NftRunner = {
    run: async (s) => {
      calls.push('run');
      if (failNext) { failNext = false; throw new Error('nft -f failed (1): Error: No such file or directory'); }
      if (s.includes('table ip portable_lb {')) script = s; else if (s.includes('delete table ip portable_lb')) script = null;
    },
    listTable: async (family) => {
      calls.push(`list table ${family}`);
      if (family !== 'ip' || script === null) return null;
      const items = objects().map((o) => (o.set?.name === 'backends' ? { set: { ...o.set, elem: backendElems() } } : o));
      return JSON.stringify({ nftables: items });
    },
  };
  return {
    runner, calls, script: () => script, failNext: () => { failNext = true; },
    replaceMeta: (fp: string) => { script = script!.replace(/comment "fingerprint [0-9a-f]+"/, `comment "fingerprint ${fp}"`); },
  };
}

const NO_CONNTRACK = { delete: async () => 0 };

const desired = (ips: string[]): DesiredState => ({
  vip: '10.240.200.10', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], backends: ips.map((ip) => ({ ip, weight: 1 })),
  scheduler: 'roundRobin', attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
});

describe('NftablesDataPlane keeps what it committed', () => {
  let now = 1_700_000_000_000;
  const plane = (runner: NftRunner) => new NftablesDataPlane({ log: () => undefined, nft: runner, now: () => now, writeSysctls: async () => [], conntrack: NO_CONNTRACK });

  test('after its first apply it lists nothing; the transaction still deletes what goes', async () => {
    const k = kernel();
    const dp = plane(k.runner);
    await dp.apply(desired(['10.240.1.1', '10.240.1.2', '10.240.1.3']));
    expect(k.calls).toEqual(['list table ip', 'list table ip6', 'run']);
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.1', '10.240.1.2']))).changed).toBe(true);
    expect(k.calls).toEqual(['run']);
    // the third endpoint chain goes; the removed backend stays in the set as draining, with its counters
    expect(k.script()).toContain('delete chain ip portable_lb ep_tcp_80_10_240_1_3\n');
    expect(k.script()).toContain('10.240.1.3 comment "draining since 1700000000"');
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.1', '10.240.1.2']))).changed).toBe(false);
    expect(k.calls).toEqual([]);
  });

  test('the drain ends from what it committed: 300 s later the backend and its counters go', async () => {
    const k = kernel();
    const dp = new NftablesDataPlane({ log: () => undefined, nft: k.runner, now: () => now, writeSysctls: async () => [], verifyMs: 3_600_000, conntrack: NO_CONNTRACK });
    await dp.apply(desired(['10.240.1.1', '10.240.1.2']));
    await dp.apply(desired(['10.240.1.1']));
    now += 301_000;
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.1']))).changed).toBe(true);
    expect(k.calls).toEqual(['run']);
    expect(k.script()).toContain('delete counter ip portable_lb be_10_240_1_2_flows\n');
    expect(k.script()).not.toContain('10.240.1.2 comment');
  });

  test('every 60 s it reads the table back: what it wrote is kept; a table changed by someone else is repaired', async () => {
    const k = kernel();
    const dp = plane(k.runner);
    await dp.apply(desired(['10.240.1.1']));
    now += 61_000;
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.1']))).changed).toBe(false);
    expect(k.calls).toEqual(['list table ip']);
    k.replaceMeta('0123456789abcdef');
    now += 30_000;
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.1']))).changed).toBe(false); // trusted: verified 30 s ago
    now += 31_000;
    expect((await dp.apply(desired(['10.240.1.1']))).changed).toBe(true);
    expect(k.calls).toEqual(['list table ip', 'run']);
  });

  test('after a failed transaction it reads the table back', async () => {
    const k = kernel();
    const dp = plane(k.runner);
    await dp.apply(desired(['10.240.1.1']));
    k.failNext();
    await expect(dp.apply(desired(['10.240.1.2']))).rejects.toThrow(/No such file/);
    k.calls.length = 0;
    expect((await dp.apply(desired(['10.240.1.2']))).changed).toBe(true);
    expect(k.calls).toEqual(['list table ip', 'run']);
  });

  test('after detach the next apply finds no table', async () => {
    const k = kernel();
    const dp = plane(k.runner);
    await dp.apply(desired(['10.240.1.1']));
    await dp.close({ detach: true });
    k.calls.length = 0;
    await dp.apply(desired(['10.240.1.1']));
    expect(k.calls).toEqual(['list table ip', 'run']);
  });
});
