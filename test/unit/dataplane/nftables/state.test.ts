// Reading the table back (nft -j), planning active/draining backends, and the observation built from counters.
import { describe, expect, test } from '@jest/globals';
import type { DesiredState } from '../../../../src/dataplane/types.js';
import type { BackendState } from '../../../../src/dataplane/nftables/names.js';
import { observeTable } from '../../../../src/dataplane/nftables/observe.js';
import { parseTable, planBackends, recordedBackends, recordedServices } from '../../../../src/dataplane/nftables/state.js';

// The shape `nft -j list table ip portable_lb` prints (nftables 1.0.6), trimmed to the objects read back.
const counter = (name: string, packets: number, bytes: number, comment?: string, table = 'portable_lb') =>
  ({ counter: { family: 'ip', name, table, handle: 1, ...(comment ? { comment } : {}), packets, bytes } });
const listing = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'ip', name: 'portable_lb', handle: 3 } },
    counter('plb_meta', 0, 0, 'fingerprint fa30965aef8c4fbc'),
    counter('svc_tcp_80_flows', 3005, 180300),
    counter('svc_tcp_80_nobackend', 5, 300),
    counter('svc_tcp_80_tx', 19000, 1243000),
    counter('svc_tcp_80_rx', 17000, 4880000),
    counter('vip_unserved', 200, 9000),
    counter('vip_stale', 3, 156),
    counter('be_10_240_1_1_flows', 1000, 60000),
    counter('be_10_240_1_1_tx', 6000, 397000),
    counter('be_10_240_1_1_rx', 6001, 1644000),
    counter('be_10_240_1_2_flows', 2000, 120000),
    counter('be_10_240_1_2_tx', 13000, 846000),
    counter('be_10_240_1_2_rx', 11000, 3236000),
    counter('svc_tcp_80_flows', 1, 1, '10.9.9.9 80 TCP 80', 'someone_else'),
    { set: { family: 'ip', name: 'services', table: 'portable_lb', type: ['inet_proto', 'inet_service'], handle: 5,
      elem: [{ elem: { val: { concat: ['tcp', 80] }, comment: '10.240.200.10 80 TCP 8080' } }] } },
    { set: { family: 'ip', name: 'backends', table: 'portable_lb', type: 'ipv4_addr', handle: 6,
      elem: [{ elem: { val: '10.240.1.1', comment: 'active' } }, { elem: { val: '10.240.1.2', comment: 'draining since 1700000000' } }] } },
    { map: { family: 'ip', name: 'backend_tx', table: 'portable_lb', type: 'ipv4_addr', handle: 7, map: 'counter',
      elem: [['10.240.1.1', 'be_10_240_1_1_tx'], ['10.240.1.2', 'be_10_240_1_2_tx']] } },
    { chain: { family: 'ip', table: 'portable_lb', name: 'prerouting', handle: 4, type: 'nat', hook: 'prerouting', prio: -100, policy: 'accept' } },
  ],
});

const desired = (...ips: string[]): DesiredState => ({
  vip: '10.240.200.10', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
  backends: ips.map((ip) => ({ ip, weight: 1 })), scheduler: 'roundRobin' as DesiredState['scheduler'],
  attach: 'auto', interface: 'eth0', snatIp: '10.240.0.3',
});

describe('parseTable / recordedBackends', () => {
  test('reads this table\'s counters and object names, and ignores other tables', () => {
    const t = parseTable(listing, 'portable_lb');
    expect(t.counters.size).toBe(13);
    expect(t.counters.get('svc_tcp_80_flows')).toEqual({ packets: 3005, bytes: 180300 });
    expect(t.objects).toEqual({
      chains: ['prerouting'], sets: ['services', 'backends'], maps: ['backend_tx'],
      counters: ['plb_meta', 'svc_tcp_80_flows', 'svc_tcp_80_nobackend', 'svc_tcp_80_tx', 'svc_tcp_80_rx', 'vip_unserved', 'vip_stale', 'be_10_240_1_1_flows',
        'be_10_240_1_1_tx', 'be_10_240_1_1_rx', 'be_10_240_1_2_flows', 'be_10_240_1_2_tx', 'be_10_240_1_2_rx'],
    });
  });

  test('recovers each backend\'s state from its element comment in the backends set', () => {
    expect([...recordedBackends(parseTable(listing, 'portable_lb'))]).toEqual([
      ['10.240.1.1', { state: 'active' }],
      ['10.240.1.2', { state: 'draining', since: 1700000000 }],
    ]);
  });

  test('a table written before the metadata sets existed: states and services from the counters\' comments', () => {
    const old = JSON.stringify({ nftables: [
      counter('svc_tcp_80_flows', 3, 180, '10.240.200.10 80 TCP 8080'),
      counter('be_10_240_1_1_flows', 1, 60, 'active'), counter('be_10_240_1_2_flows', 2, 120, 'draining since 1700000000'),
    ] });
    const t = parseTable(old, 'portable_lb');
    expect([...recordedBackends(t)]).toEqual([['10.240.1.1', { state: 'active' }], ['10.240.1.2', { state: 'draining', since: 1700000000 }]]);
    expect([...recordedServices(t)]).toEqual([['tcp_80', { vip: '10.240.200.10', port: 80, protocol: 'TCP', targetPort: 8080 }]]);
  });
});

describe('planBackends', () => {
  const now = 1700000100;
  const rec = (entries: Array<[string, BackendState]>) => new Map(entries);
  test.each<[string, DesiredState, Map<string, BackendState>, Array<[string, BackendState]>]>([
    ['first apply: every desired backend active', desired('10.0.0.1', '10.0.0.2'), rec([]),
      [['10.0.0.1', { state: 'active' }], ['10.0.0.2', { state: 'active' }]]],
    ['a removed backend starts draining now', desired('10.0.0.1'), rec([['10.0.0.1', { state: 'active' }], ['10.0.0.2', { state: 'active' }]]),
      [['10.0.0.1', { state: 'active' }], ['10.0.0.2', { state: 'draining', since: now }]]],
    ['a draining backend keeps the time it started (also across agent restarts)', desired('10.0.0.1'),
      rec([['10.0.0.2', { state: 'draining', since: now - 299 }]]),
      [['10.0.0.1', { state: 'active' }], ['10.0.0.2', { state: 'draining', since: now - 299 }]]],
    ['a backend drained for drainSeconds leaves the table', desired('10.0.0.1'),
      rec([['10.0.0.2', { state: 'draining', since: now - 300 }]]), [['10.0.0.1', { state: 'active' }]]],
    ['a draining backend added back is active again', desired('10.0.0.1', '10.0.0.2'),
      rec([['10.0.0.2', { state: 'draining', since: now - 10 }]]),
      [['10.0.0.1', { state: 'active' }], ['10.0.0.2', { state: 'active' }]]],
  ])('%s', (_name, d, recorded, expected) => {
    expect([...planBackends(d, recorded, now, 300)]).toEqual(expected);
  });
});

describe('observeTable', () => {
  test('services and backends from the counters; new flows exclude the ones dropped for lack of a backend; the vip chain\'s drops and resets', () => {
    expect(observeTable(parseTable(listing, 'portable_lb'))).toEqual({
      global: { unservedDropped: 200, staleTcpReset: 3 },
      services: [{
        vip: '10.240.200.10', port: 80, protocol: 'TCP', targetPort: 8080,
        packets: 19000, bytes: 1243000, replyPackets: 17000, replyBytes: 4880000,
        newFlows: 3000, noBackend: 5, snatExhausted: 0, fibFailures: 0,
      }],
      backends: [
        { ip: '10.240.1.1', state: 'active', packets: 6000, bytes: 397000, replyPackets: 6001, replyBytes: 1644000, newFlows: 1000 },
        { ip: '10.240.1.2', state: 'draining', packets: 13000, bytes: 846000, replyPackets: 11000, replyBytes: 3236000, newFlows: 2000 },
      ],
    });
  });

  test('an empty table observes nothing', () => {
    expect(observeTable({ counters: new Map() })).toEqual({ services: [], backends: [], global: { unservedDropped: 0, staleTcpReset: 0 } });
  });
});
