// The nftables ruleset is a pure function of (desired state, backend states, carried counters): golden files
// pin the whole text (the same text the conformance suite loads into a real kernel), rows pin the rules.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesiredState } from '../../../../src/dataplane/types.js';
import { fingerprint, nftScheduler, renderRuleset, weightSlots, type RenderInput } from '../../../../src/dataplane/nftables/render.js';
import type { BackendState } from '../../../../src/dataplane/nftables/names.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const golden = (name: string) => readFileSync(join(GOLDEN, name), 'utf8');

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
const input = (d: DesiredState, backends = active(...d.backends.map((b) => b.ip)), carried = new Map()): RenderInput =>
  ({ desired: d, backends, carried });

describe('renderRuleset', () => {
  test('round robin over weights 1:2, a TCP and a UDP port: the golden ruleset', () => {
    expect(renderRuleset(input(desired()))).toBe(golden('round-robin.nft'));
  });

  test('a draining backend keeps its counters and reply accounting but gets no endpoint chain', () => {
    const d = desired({ backends: [{ ip: '10.240.1.1', weight: 1 }] });
    const backends = new Map<string, BackendState>([['10.240.1.1', { state: 'active' }], ['10.240.1.2', { state: 'draining', since: 1700000000 }]]);
    const text = renderRuleset(input(d, backends, new Map([['be_10_240_1_2_flows', { packets: 7, bytes: 420 }]])));
    expect(text).toBe(golden('draining.nft'));
  });

  test('source hash picks by jhash of the client address with a fixed seed', () => {
    const text = renderRuleset(input(desired({ scheduler: 'sourceHash' as DesiredState['scheduler'] })));
    expect(text).toContain('    jhash ip saddr mod 3 seed 0x504c42 vmap { 0 : jump ep_tcp_80_0, 1 : jump ep_tcp_80_1, 2 : jump ep_tcp_80_1 }');
    expect(text).not.toContain('numgen');
  });

  test('masquerades only what this table DNATed to the VIP, without random ports', () => {
    const text = renderRuleset(input(desired()));
    expect(text).toContain('    ct status dnat ct original ip daddr 10.240.200.10 masquerade\n');
    expect(text).not.toMatch(/random|persistent/);
  });

  test('replaces the table in one transaction that also works when it does not exist yet', () => {
    expect(renderRuleset(input(desired())).split('\n').slice(0, 3))
      .toEqual(['add table ip portable_lb', 'delete table ip portable_lb', 'table ip portable_lb {']);
  });

  test('carries counter values over the replace', () => {
    const carried = new Map([['svc_tcp_80_flows', { packets: 3000, bytes: 180000 }]]);
    expect(renderRuleset(input(desired(), undefined, carried)))
      .toContain('  counter svc_tcp_80_flows {\n    comment "10.240.200.10 80 TCP 8080"\n    packets 3000 bytes 180000\n  }');
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
  test('ignores counter values: an unchanged state is not replaced', () => {
    const carried = new Map([['be_10_240_1_1_flows', { packets: 99, bytes: 1 }]]);
    expect(fingerprint(input(desired(), undefined, carried))).toBe(fingerprint(input(desired())));
  });

  test.each([
    ['a weight', desired({ backends: [{ ip: '10.240.1.1', weight: 1 }, { ip: '10.240.1.2', weight: 3 }] })],
    ['a target port', desired({ ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }] })],
    ['the scheduler', desired({ scheduler: 'sourceHash' as DesiredState['scheduler'] })],
  ])('changes with %s', (_what, changed) => {
    expect(fingerprint(input(changed))).not.toBe(fingerprint(input(desired())));
  });
});
