// renderDelta: the backends-only change as a small transaction; every other change is a full render (null).
// That the delta makes the same table as the full render is checked on the real kernel
// (test/dataplane/nftables-delta.test.ts); these rows pin what each kind of change writes.
import { describe, expect, test } from '@jest/globals';
import { renderDelta } from '../../../../src/dataplane/nftables/delta.js';
import type { BackendState } from '../../../../src/dataplane/nftables/names.js';
import type { RenderInput } from '../../../../src/dataplane/nftables/render.js';
import type { DesiredState } from '../../../../src/dataplane/types.js';

const desired = (backends: Array<[string, number]>, over: Partial<DesiredState> = {}): DesiredState => ({
  vip: '10.240.200.10', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: backends.map(([ip, weight]) => ({ ip, weight })), scheduler: 'roundRobin', attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
  ...over,
});
const states = (entries: Record<string, BackendState>) => new Map(Object.entries(entries));
const ACTIVE: BackendState = { state: 'active' };
const DRAINING: BackendState = { state: 'draining', since: 1700000000 };
const existing = { chains: [], sets: ['backends', 'services'], maps: ['backend_tx', 'backend_rx'], counters: [] };
const input = (d: DesiredState, b: Map<string, BackendState>, over: Partial<RenderInput> = {}): RenderInput => ({ desired: d, backends: b, existing, ...over });

const prev = input(desired([['10.240.1.1', 1], ['10.240.1.2', 1]]), states({ '10.240.1.1': ACTIVE, '10.240.1.2': ACTIVE }));
const lines = (next: RenderInput) => renderDelta(prev, next, 'f00d')!.split('\n');

describe('renderDelta', () => {
  test.each([
    ['a port changes', input(desired([['10.240.1.1', 1], ['10.240.1.2', 1]], { ports: [{ port: 81, targetPort: 8080, protocol: 'TCP' }] }), prev.backends)],
    ['the scheduler changes', input(desired([['10.240.1.1', 1], ['10.240.1.2', 1]], { scheduler: 'sourceHash' }), prev.backends)],
    ['the VIP changes', input(desired([['10.240.1.1', 1], ['10.240.1.2', 1]], { vip: '10.240.200.11' }), prev.backends)],
    ['the MSS clamp changes', input(desired([['10.240.1.1', 1], ['10.240.1.2', 1]], { tcpMssClamp: 1410 }), prev.backends)],
    ['the table is not known', input(prev.desired, prev.backends, { existing: null })],
    ['the other family\'s table goes too', input(prev.desired, prev.backends, { dropOtherFamily: true })],
  ])('a full render when %s', (_, next) => {
    expect(renderDelta(prev, next, 'f00d')).toBeNull();
  });

  test('a backend leaves: service chains rewritten, its endpoint chains deleted, its element restated as draining', () => {
    expect(lines(input(desired([['10.240.1.1', 1]]), states({ '10.240.1.1': ACTIVE, '10.240.1.2': DRAINING })))).toEqual([
      'flush chain ip portable_lb svc_tcp_80',
      'flush chain ip portable_lb svc_udp_53',
      'delete chain ip portable_lb ep_tcp_80_10_240_1_2',
      'delete chain ip portable_lb ep_udp_53_10_240_1_2',
      'delete element ip portable_lb backends { 10.240.1.2 }',
      'delete counter ip portable_lb plb_meta',
      'table ip portable_lb {',
      '  counter plb_meta {', '    comment "fingerprint f00d"', '  }',
      '  chain svc_tcp_80 {', '    counter name "svc_tcp_80_flows"', '    numgen inc mod 1 vmap { 0 : jump ep_tcp_80_10_240_1_1 }',
      '    counter name "svc_tcp_80_nobackend" drop', '  }',
      '  chain svc_udp_53 {', '    counter name "svc_udp_53_flows"', '    numgen inc mod 1 vmap { 0 : jump ep_udp_53_10_240_1_1 }',
      '    counter name "svc_udp_53_nobackend" drop', '  }',
      '}',
      'add element ip portable_lb backends { 10.240.1.2 comment "draining since 1700000000" }',
      '',
    ]);
  });

  test('a new backend: its counters, endpoint chains, set and map elements; the others are not touched', () => {
    const l = lines(input(desired([['10.240.1.1', 1], ['10.240.1.2', 1], ['10.240.1.3', 1]]),
      states({ '10.240.1.1': ACTIVE, '10.240.1.2': ACTIVE, '10.240.1.3': ACTIVE })));
    expect(l.filter((x) => /counter be_|chain ep_|add element/.test(x))).toEqual([
      '  counter be_10_240_1_3_flows {}', '  counter be_10_240_1_3_tx {}', '  counter be_10_240_1_3_rx {}',
      '  chain ep_tcp_80_10_240_1_3 {', '  chain ep_udp_53_10_240_1_3 {',
      'add element ip portable_lb backends { 10.240.1.3 comment "active" }',
      'add element ip portable_lb backend_tx { 10.240.1.3 : "be_10_240_1_3_tx" }',
      'add element ip portable_lb backend_rx { 10.240.1.3 : "be_10_240_1_3_rx" }',
    ]);
    expect(l.filter((x) => x.startsWith('delete ') && !x.includes('plb_meta'))).toEqual([]);
  });

  test('a weight change rewrites the service chains only', () => {
    const l = lines(input(desired([['10.240.1.1', 1], ['10.240.1.2', 3]]), prev.backends));
    expect(l.filter((x) => /^(flush|delete|add)/.test(x))).toEqual([
      'flush chain ip portable_lb svc_tcp_80', 'flush chain ip portable_lb svc_udp_53', 'delete counter ip portable_lb plb_meta',
    ]);
    expect(l).toContain('    numgen inc mod 4 vmap { 0 : jump ep_tcp_80_10_240_1_1, 1 : jump ep_tcp_80_10_240_1_2, 2 : jump ep_tcp_80_10_240_1_2, 3 : jump ep_tcp_80_10_240_1_2 }');
  });

  test('a drain that ends: its element, map elements and counters go; no chain is touched', () => {
    const before = input(desired([['10.240.1.1', 1]]), states({ '10.240.1.1': ACTIVE, '10.240.1.2': DRAINING }));
    const after = input(desired([['10.240.1.1', 1]]), states({ '10.240.1.1': ACTIVE }));
    expect(renderDelta(before, after, 'f00d')!.split('\n').filter((x) => /^(flush|delete|add)/.test(x))).toEqual([
      'delete element ip portable_lb backends { 10.240.1.2 }',
      'delete element ip portable_lb backend_tx { 10.240.1.2 }',
      'delete element ip portable_lb backend_rx { 10.240.1.2 }',
      'delete counter ip portable_lb be_10_240_1_2_flows', 'delete counter ip portable_lb be_10_240_1_2_tx', 'delete counter ip portable_lb be_10_240_1_2_rx',
      'delete counter ip portable_lb plb_meta',
    ]);
  });

  test('a draining backend that comes back: endpoint chains again, the element restated active, counters kept', () => {
    const before = input(desired([['10.240.1.1', 1]]), states({ '10.240.1.1': ACTIVE, '10.240.1.2': DRAINING }));
    const l = renderDelta(before, prev, 'f00d')!.split('\n');
    expect(l).toContain('delete element ip portable_lb backends { 10.240.1.2 }');
    expect(l).toContain('add element ip portable_lb backends { 10.240.1.2 comment "active" }');
    expect(l).toContain('  chain ep_tcp_80_10_240_1_2 {');
    expect(l.filter((x) => /counter be_10_240_1_2|backend_tx/.test(x))).toEqual([]);
  });
});
