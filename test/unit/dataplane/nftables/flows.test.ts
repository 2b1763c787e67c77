// Which conntrack entries an apply deletes (flows.ts), the conntrack-tools command line for each, and that the
// plane deletes them only after its rules are committed.
import { describe, expect, test } from '@jest/globals';
import { flowsToEnd, type FlowFlush } from '../../../../src/dataplane/nftables/flows.js';
import { conntrackArgs } from '../../../../src/dataplane/nftables/conntrack.js';
import type { BackendState } from '../../../../src/dataplane/nftables/names.js';
import { NftablesDataPlane } from '../../../../src/dataplane/nftables/nftables-dataplane.js';
import type { DesiredState } from '../../../../src/dataplane/types.js';

const desired = (vip = '10.240.200.10', ips: string[] = []): DesiredState => ({
  vip,
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: ips.map((ip) => ({ ip, weight: 1 })),
  scheduler: 'roundRobin', attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
});

const A = { state: 'active' } as const;
const D = { state: 'draining', since: 100 } as const;
const states = (o: Record<string, BackendState>) => new Map(Object.entries(o));
/** "UDP b2 (no longer active)" */
const brief = (f: FlowFlush) => `${f.protocol} ${f.backend} (${f.why})`;

describe('flowsToEnd', () => {
  test.each<[string, Record<string, BackendState>, Record<string, BackendState>, string[]]>([
    ['nothing changes', { b1: A, b2: A }, { b1: A, b2: A }, []],
    ['a backend is added', { b1: A }, { b1: A, b2: A }, []],
    ['a backend starts draining: its UDP flows end now, its TCP flows run on', { b1: A, b2: A }, { b1: A, b2: D }, ['UDP b2 (no longer active)']],
    ['a draining backend stays draining: nothing again', { b1: A, b2: D }, { b1: A, b2: D }, []],
    ['its drain ends: its TCP flows end (and UDP once more, in case a crash lost the first delete)', { b1: A, b2: D }, { b1: A },
      ['TCP b2 (drain ended)', 'UDP b2 (no longer active)']],
    ['removed without a drain (drainSeconds 0): both at once', { b1: A, b2: A }, { b1: A }, ['TCP b2 (drain ended)', 'UDP b2 (no longer active)']],
    ['a draining backend comes back: its flows stay', { b1: A, b2: D }, { b1: A, b2: A }, []],
    ['every backend goes', { b1: A }, {}, ['TCP b1 (drain ended)', 'UDP b1 (no longer active)']],
  ])('%s', (_, prev, next, want) => {
    expect(flowsToEnd(states(prev), states(next), desired()).map(brief)).toEqual(want);
  });

  test('one flush per service of the protocol, with the VIP, port and target port of each', () => {
    const d = { ...desired(), ports: [...desired().ports, { port: 5060, targetPort: 5061, protocol: 'UDP' as const }] };
    expect(flowsToEnd(states({ b2: A }), states({ b2: D }), d)).toEqual([
      { protocol: 'UDP', vip: '10.240.200.10', port: 53, backend: 'b2', targetPort: 5353, why: 'no longer active' },
      { protocol: 'UDP', vip: '10.240.200.10', port: 5060, backend: 'b2', targetPort: 5061, why: 'no longer active' },
    ]);
  });
});

describe('conntrackArgs', () => {
  test.each([
    ['10.240.200.10', '10.240.1.2', 'ipv4'],
    ['fd00:200::10', 'fd00:1::2', 'ipv6'],
  ])('VIP %s, backend %s: original direction to the VIP port, replies from the backend port (%s)', (vip, backend, family) => {
    expect(conntrackArgs({ protocol: 'UDP', vip, port: 53, backend, targetPort: 5353, why: 'no longer active' })).toEqual([
      '-D', '-f', family, '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', '53', '--reply-src', backend, '--reply-port-src', '5353',
    ]);
  });
});

describe('NftablesDataPlane ends flows after its commit', () => {
  const setup = (fail = false) => {
    const calls: string[] = [];
    let script = '';
    const dp = new NftablesDataPlane({
      log: () => undefined, now: () => 1_700_000_000_000, writeSysctls: async () => [], verifyMs: 3_600_000,
      nft: { run: async (s) => { script = s; calls.push('nft -f'); }, listTable: async () => (script ? JSON.stringify({ nftables: [] }) : null) },
      conntrack: {
        delete: async (f) => {
          calls.push(`conntrack ${brief(f)}`);
          if (fail) throw new Error('the conntrack command is missing');
          return 1;
        },
      },
    });
    return { dp, calls };
  };

  test('removing a backend: one transaction, then its UDP entries are deleted', async () => {
    const { dp, calls } = setup();
    await dp.apply(desired('10.240.200.10', ['10.240.1.1', '10.240.1.2']));
    calls.length = 0;
    const r = await dp.apply(desired('10.240.200.10', ['10.240.1.1']));
    expect(calls).toEqual(['nft -f', 'conntrack UDP 10.240.1.2 (no longer active)']);
    expect(r.warnings).toEqual([]);
  });

  test('a conntrack that fails is a warning: the rules are committed and serve', async () => {
    const { dp } = setup(true);
    await dp.apply(desired('10.240.200.10', ['10.240.1.1', '10.240.1.2']));
    const r = await dp.apply(desired('10.240.200.10', ['10.240.1.1']));
    expect(r).toMatchObject({ changed: true });
    expect(r.warnings).toEqual([
      'could not end the UDP flows of 10.240.200.10:53 to 10.240.1.2 (no longer active): the conntrack command is missing',
    ]);
  });
});
