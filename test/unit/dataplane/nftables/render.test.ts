// The nftables ruleset is a pure function of (desired state, backend states, what the table holds): golden files
// pin the whole text (the same text the conformance suite loads into a real kernel), rows pin the rules.
import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesiredState } from '../../../../src/dataplane/types.js';
import { fingerprint, nftScheduler, renderRuleset, weightSlots, type RenderInput } from '../../../../src/dataplane/nftables/render.js';
import type { BackendState } from '../../../../src/dataplane/nftables/names.js';
import type { TableObjects } from '../../../../src/dataplane/nftables/state.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
/** UPDATE_GOLDEN=1 rewrites the file; review the diff like code. */
const golden = (name: string, text: string) => {
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(join(GOLDEN, name), text);
  expect(text).toBe(readFileSync(join(GOLDEN, name), 'utf8'));
};

const desired = (over: Partial<DesiredState> = {}): DesiredState => ({
  vip: '10.240.200.10',
  ports: [
    { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
    { name: 'echo', port: 53, targetPort: 5353, protocol: 'UDP' },
  ],
  backends: [{ ip: '10.240.1.1', weight: 1 }, { ip: '10.240.1.2', weight: 2 }],
  scheduler: 'roundRobin' as DesiredState['scheduler'],
  attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
  ...over,
});

const active = (...ips: string[]) => new Map<string, BackendState>(ips.map((ip) => [ip, { state: 'active' }]));
const input = (d: DesiredState, backends = active(...d.backends.map((b) => b.ip)), existing: TableObjects | null = null): RenderInput =>
  ({ desired: d, backends, existing });

describe('renderRuleset', () => {
  test('round robin over weights 1:2, a TCP and a UDP port: the golden ruleset', () => {
    golden('round-robin.nft', renderRuleset(input(desired())));
  });

  test('a draining backend keeps its counters and reply accounting but gets no endpoint chain', () => {
    const d = desired({ backends: [{ ip: '10.240.1.1', weight: 1 }] });
    const backends = new Map<string, BackendState>([['10.240.1.1', { state: 'active' }], ['10.240.1.2', { state: 'draining', since: 1700000000 }]]);
    golden('draining.nft', renderRuleset(input(d, backends)));
  });

  test('source hash picks by jhash of the client address with a fixed seed', () => {
    const text = renderRuleset(input(desired({ scheduler: 'sourceHash' as DesiredState['scheduler'] })));
    expect(text).toContain('    jhash ip saddr mod 3 seed 0x504c42 vmap { 0 : jump ep_tcp_80_10_240_1_1, 1 : jump ep_tcp_80_10_240_1_2, 2 : jump ep_tcp_80_10_240_1_2 }');
    expect(text).not.toContain('numgen');
  });

  test('masquerades only what this table DNATed to the VIP, without random ports', () => {
    const text = renderRuleset(input(desired()));
    expect(text).toContain('    ct status dnat ct original ip daddr 10.240.200.10 masquerade\n');
    expect(text).not.toMatch(/random|persistent/);
  });

  test('creates the table in one transaction when it does not exist yet', () => {
    expect(renderRuleset(input(desired())).split('\n').slice(0, 3))
      .toEqual(['add table ip portable_lb', 'table ip portable_lb {', '  counter plb_meta {']);
  });

  test('replaces an existing table\'s rules, sets and maps, and deletes what is no longer rendered, in one transaction', () => {
    const existing: TableObjects = {
      // ep_tcp_80_0: an endpoint chain named by position, as tables written before chains were named by backend
      chains: ['ep_tcp_80_0', 'ep_tcp_80_10_240_1_1', 'ep_tcp_80_10_240_1_9', 'svc_tcp_80', 'svc_udp_53', 'prerouting', 'output', 'postrouting', 'forward'],
      sets: ['backends', 'services'],
      maps: ['backend_tx', 'backend_rx'],
      counters: ['plb_meta', 'svc_tcp_80_flows', 'be_10_240_1_1_flows', 'be_10_240_1_9_flows', 'be_10_240_1_9_tx'],
    };
    const lines = renderRuleset(input(desired(), undefined, existing)).split('\n');
    expect(lines.slice(0, lines.indexOf('table ip portable_lb {'))).toEqual([
      'add table ip portable_lb',
      'flush table ip portable_lb',
      'flush set ip portable_lb backends', 'flush set ip portable_lb services',
      'flush map ip portable_lb backend_tx', 'flush map ip portable_lb backend_rx',
      'delete chain ip portable_lb ep_tcp_80_0', 'delete chain ip portable_lb ep_tcp_80_10_240_1_9',
      'delete counter ip portable_lb plb_meta',
      'delete counter ip portable_lb be_10_240_1_9_flows', 'delete counter ip portable_lb be_10_240_1_9_tx',
    ]);
  });

  test('never gives a counter a value: one that exists keeps counting through the replace', () => {
    const text = renderRuleset(input(desired()));
    expect(text).toContain('  counter svc_tcp_80_flows {}\n');
    expect(text).not.toMatch(/packets \d+ bytes/);
  });

  test('keeps service and backend metadata in element comments of two sets no rule reads', () => {
    const backends = new Map<string, BackendState>([['10.240.1.1', { state: 'active' }], ['10.240.1.2', { state: 'draining', since: 1700000000 }]]);
    const text = renderRuleset(input(desired({ backends: [{ ip: '10.240.1.1', weight: 1 }] }), backends));
    expect(text).toContain('    elements = { tcp . 80 comment "10.240.200.10 80 TCP 8080", udp . 53 comment "10.240.200.10 53 UDP 5353" }');
    expect(text).toContain('    elements = { 10.240.1.1 comment "active", 10.240.1.2 comment "draining since 1700000000" }');
  });

  test('clamps the MSS of SYNs and SYN-ACKs of the VIP\'s connections, lowering only', () => {
    const text = renderRuleset(input(desired({ tcpMssClamp: 1410 })));
    expect(text).toContain('    ct original ip daddr 10.240.200.10 tcp flags syn tcp option maxseg size > 1410 tcp option maxseg size set 1410\n');
    expect(text).not.toContain('rt mtu');
    expect(renderRuleset(input(desired()))).not.toContain('maxseg');
  });

  test.each([
    ['maglev'], ['leastConnection'],
  ])('rejects scheduler %s with a message naming the allowed ones', (s) => {
    expect(() => nftScheduler(s)).toThrow('dataPlane nftables supports scheduler roundRobin or sourceHash');
  });
});

describe('weightSlots', () => {
  test.each([
    ['weights 1:2', [1, 2], [0, 1, 1]],
    ['weights reduced by their gcd (2:4 = 1:2)', [2, 4], [0, 1, 1]],
    ['equal weights of 100 take one slot each', [100, 100, 100], [0, 1, 2]],
    ['coprime weights keep every slot', [3, 2], [0, 0, 0, 1, 1]],
    ['no backends, no slots', [], []],
  ])('%s', (_name, weights, slots) => {
    expect(weightSlots(weights.map((weight, i) => ({ ip: `10.0.0.${i + 1}`, weight })))).toEqual(slots);
  });
});

describe('fingerprint', () => {
  test('ignores what the table holds: an unchanged state is not replaced', () => {
    const existing: TableObjects = { chains: ['prerouting'], sets: [], maps: [], counters: ['plb_meta'] };
    expect(fingerprint(input(desired(), undefined, existing))).toBe(fingerprint(input(desired())));
  });

  test.each([
    ['a weight', desired({ backends: [{ ip: '10.240.1.1', weight: 1 }, { ip: '10.240.1.2', weight: 3 }] })],
    ['a target port', desired({ ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }] })],
    ['the scheduler', desired({ scheduler: 'sourceHash' as DesiredState['scheduler'] })],
    ['the MSS clamp', desired({ tcpMssClamp: 1410 })],
  ])('changes with %s', (_what, changed) => {
    expect(fingerprint(input(changed))).not.toBe(fingerprint(input(desired())));
  });
});
