// An IPv6 VIP: the same ruleset in an `ip6` table, with IPv6 words for every address; a VIP that changes family
// takes the other family's table with it in the same transaction.
import { describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesiredState } from '../../../../src/dataplane/types.js';
import { renderRuleset, type RenderInput } from '../../../../src/dataplane/nftables/render.js';
import {
  FAMILIES, backendKey, canonicalAddresses, familyOf, type BackendState,
} from '../../../../src/dataplane/nftables/names.js';
import { NftablesDataPlane, natSysctls } from '../../../../src/dataplane/nftables/nftables-dataplane.js';
import type { NftRunner } from '../../../../src/dataplane/nftables/nft.js';
import { parseTable, recordedBackends, recordedServices } from '../../../../src/dataplane/nftables/state.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');
/** UPDATE_GOLDEN=1 rewrites the file; review the diff like code. */
const golden = (name: string, text: string) => {
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(join(GOLDEN, name), text);
  expect(text).toBe(readFileSync(join(GOLDEN, name), 'utf8'));
};

const desired6 = (over: Partial<DesiredState> = {}): DesiredState => ({
  vip: '2001:db8::10',
  ports: [
    { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
    { name: 'echo', port: 53, targetPort: 5353, protocol: 'UDP' },
  ],
  backends: [{ ip: '2001:db8:1::1', weight: 1 }, { ip: '2001:db8:1::2', weight: 2 }],
  scheduler: 'roundRobin' as DesiredState['scheduler'],
  attach: 'auto', interface: 'eth0', snatIp: '2001:db8::3',
  ...over,
});
const desired4 = (): DesiredState => ({
  ...desired6(), vip: '10.240.200.10', backends: [{ ip: '10.240.1.1', weight: 1 }], snatIp: '10.240.0.3',
});

const active = (...ips: string[]) => new Map<string, BackendState>(ips.map((ip) => [ip, { state: 'active' }]));
const input = (d: DesiredState, over: Partial<RenderInput> = {}): RenderInput =>
  ({ desired: d, backends: active(...d.backends.map((b) => b.ip)), existing: null, ...over });

describe('an IPv6 VIP', () => {
  test('source hash over weights 1:2, a draining backend, MSS clamp: the golden ruleset', () => {
    const backends = active('2001:db8:1::1', '2001:db8:1::2').set('2001:db8:1::3', { state: 'draining', since: 1700000000 });
    golden('ipv6-source-hash.nft', renderRuleset(input(desired6({ scheduler: 'sourceHash', tcpMssClamp: 1220 }), { backends })));
  });

  test.each([
    ['the table is ip6', /^table ip6 portable_lb \{$/m],
    ['prerouting and output match the VIP with ip6 daddr', /^ {4}ip6 daddr 2001:db8::10 tcp dport 80 jump svc_tcp_80$/m],
    ['DNAT puts the backend address in brackets before the port', / dnat to \[2001:db8:1::2\]:8080$/m],
    ['source hash hashes the IPv6 source address', / jhash ip6 saddr mod 3 seed 0x504c42 vmap /],
    ['masquerades what it DNATed to the VIP', /^ {4}ct status dnat ct original ip6 daddr 2001:db8::10 masquerade$/m],
    ['per-backend counter maps are keyed by ipv6_addr', /^ {4}type ipv6_addr : counter$/m],
    ['the backends metadata set holds IPv6 addresses', /^ {2}set backends \{\n {4}type ipv6_addr\n/m],
    ['reply accounting reads ip6 saddr', /counter name ip6 saddr map @backend_rx$/m],
    ['the MSS clamp matches the VIP\'s IPv6 connections', /^ {4}ct original ip6 daddr 2001:db8::10 tcp flags syn tcp option maxseg size > 1220 tcp option maxseg size set 1220$/m],
    ['backend counters are named with underscores for colons', /^ {2}counter be_2001_db8_1__1_flows \{\}$/m],
  ])('%s', (_what, pattern) => {
    expect(renderRuleset(input(desired6({ scheduler: 'sourceHash', tcpMssClamp: 1220 })))).toMatch(pattern);
  });

  test('no IPv4 word is left in the IPv6 ruleset', () => {
    const text = renderRuleset(input(desired6({ scheduler: 'sourceHash', tcpMssClamp: 1220 })));
    expect(text).not.toMatch(/\bip (daddr|saddr)\b|ipv4_addr|table ip /);
  });

  test('a VIP that changed family deletes the other family\'s table in the same transaction, before the new one', () => {
    expect(renderRuleset(input(desired6(), { dropOtherFamily: true })).split('\n').slice(0, 4)).toEqual([
      'add table ip portable_lb', 'delete table ip portable_lb', 'add table ip6 portable_lb', 'table ip6 portable_lb {',
    ]);
    expect(renderRuleset(input(desired4(), { dropOtherFamily: true })).split('\n').slice(0, 4)).toEqual([
      'add table ip6 portable_lb', 'delete table ip6 portable_lb', 'add table ip portable_lb', 'table ip portable_lb {',
    ]);
  });

  test('an existing ip6 table is emptied and reused as the IPv4 one is', () => {
    const existing = { chains: ['ep_tcp_80_9'], sets: ['backends'], maps: ['backend_tx'], counters: ['be_2001_db8_1__9_flows'] };
    const text = renderRuleset(input(desired6(), { existing }));
    expect(text.split('\n').slice(0, 7)).toEqual([
      'add table ip6 portable_lb', 'flush table ip6 portable_lb', 'flush set ip6 portable_lb backends',
      'flush map ip6 portable_lb backend_tx', 'delete chain ip6 portable_lb ep_tcp_80_9',
      'delete counter ip6 portable_lb be_2001_db8_1__9_flows', 'table ip6 portable_lb {',
    ]);
  });

  test('family words, backend keys and canonical addresses', () => {
    expect(familyOf('2001:db8::10')).toBe(FAMILIES.ip6);
    expect(familyOf('10.240.200.10')).toBe(FAMILIES.ip);
    expect(backendKey('2001:db8:1::1')).toBe('2001_db8_1__1');
    const d = canonicalAddresses(desired6({ vip: '2001:DB8::10', backends: [{ ip: '2001:db8:1:0::1', weight: 2 }] }));
    expect([d.vip, d.backends]).toEqual(['2001:db8::10', [{ ip: '2001:db8:1::1', weight: 2 }]]);
    expect(canonicalAddresses(desired4())).toEqual(desired4());
  });

  test('forwarding is switched on for IPv6, keeping router advertisements accepted', () => {
    expect(natSysctls('eth0', FAMILIES.ip6)).toEqual({ 'net/ipv6/conf/all/forwarding': '1', 'net/ipv6/conf/eth0/accept_ra': '2' });
    expect(natSysctls('eth0')).toHaveProperty('net/ipv4/ip_forward', '1');
  });
});

// `nft -j list table ip6 portable_lb` of a table holding the golden ruleset, as nft 1.0.6 prints it (trimmed).
const listing6 = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'ip6', name: 'portable_lb', handle: 7 } },
    { counter: { family: 'ip6', name: 'be_2001_db8_1__1_flows', table: 'portable_lb', handle: 14, packets: 4, bytes: 320 } },
    { counter: { family: 'ip6', name: 'be_2001_db8_1__1_tx', table: 'portable_lb', handle: 15, packets: 40, bytes: 3200 } },
    { counter: { family: 'ip6', name: 'svc_tcp_80_flows', table: 'portable_lb', handle: 2, packets: 9, bytes: 720 } },
    { set: { family: 'ip6', name: 'services', table: 'portable_lb', type: ['inet_proto', 'inet_service'], handle: 23,
      elem: [{ elem: { val: { concat: ['tcp', 80] }, comment: '2001:db8::10 80 TCP 8080' } }] } },
    { set: { family: 'ip6', name: 'backends', table: 'portable_lb', type: 'ipv6_addr', handle: 24,
      elem: [{ elem: { val: '2001:db8:1::1', comment: 'active' } }, { elem: { val: '2001:db8:1::3', comment: 'draining since 1700000000' } }] } },
  ],
});

describe('reading an ip6 table back', () => {
  test('backend states and services come from the metadata sets, addresses as nft prints them', () => {
    const t = parseTable(listing6, 'portable_lb');
    expect([...recordedBackends(t)]).toEqual([
      ['2001:db8:1::1', { state: 'active' }], ['2001:db8:1::3', { state: 'draining', since: 1700000000 }],
    ]);
    expect([...recordedServices(t).values()]).toEqual([{ vip: '2001:db8::10', port: 80, protocol: 'TCP', targetPort: 8080 }]);
  });
});

/** A kernel of two tables: a script's `table F portable_lb {` creates F's, `delete table F portable_lb` removes it. */
function fakeNft(initial: string[] = []): NftRunner & { scripts: string[]; listed: string[]; tables: Set<string> } {
  const tables = new Set(initial);
  const scripts: string[] = [];
  const listed: string[] = [];
  return {
    scripts, listed, tables,
    run: async (script) => {
      scripts.push(script);
      for (const line of script.split('\n')) {
        const m = /^(delete table|table) (ip6?) portable_lb/.exec(line);
        if (m?.[1] === 'delete table') tables.delete(m[2]!);
        else if (m) tables.add(m[2]!);
      }
    },
    listTable: async (family) => {
      listed.push(family);
      return tables.has(family) ? JSON.stringify({ nftables: [{ table: { family, name: 'portable_lb' } }] }) : null;
    },
  };
}

const plane = (nft: NftRunner) =>
  new NftablesDataPlane({ log: () => undefined, nft, now: () => 1_700_000_000_000, writeSysctls: async () => [], conntrack: { delete: async () => 0 } });

describe('NftablesDataPlane across a change of VIP family', () => {
  test('IPv4 -> IPv6 -> IPv4: each apply deletes the other family\'s table in its own transaction', async () => {
    const nft = fakeNft();
    const dp = plane(nft);
    await dp.apply(desired4());
    expect(nft.scripts[0]).not.toContain('delete table');
    await dp.apply(desired6());
    expect(nft.scripts[1]).toMatch(/^add table ip portable_lb\ndelete table ip portable_lb\nadd table ip6 portable_lb\n/);
    expect([...nft.tables]).toEqual(['ip6']);
    await dp.apply(desired4());
    expect(nft.scripts[2]).toMatch(/^add table ip6 portable_lb\ndelete table ip6 portable_lb\nadd table ip portable_lb\n/);
    expect([...nft.tables]).toEqual(['ip']);
  });

  test('the same family again looks at neither family\'s table (it knows what it committed)', async () => {
    const nft = fakeNft();
    const dp = plane(nft);
    await dp.apply(desired6());
    nft.listed.length = 0;
    await dp.apply(desired6({ backends: [{ ip: '2001:db8:1::1', weight: 1 }] }));
    expect(nft.listed).toEqual([]);
    expect(nft.scripts[1]).not.toContain('table ip ');
  });

  test('a restarted agent finds the stale table of the other family and deletes it with its first apply', async () => {
    const nft = fakeNft(['ip']);
    await plane(nft).apply(desired6());
    expect(nft.scripts[0]).toMatch(/^add table ip portable_lb\ndelete table ip portable_lb\n/);
    expect([...nft.tables]).toEqual(['ip6']);
  });

  test('observe before the first apply reads whichever family\'s table exists', async () => {
    const nft = fakeNft(['ip6']);
    await plane(nft).observe();
    expect(nft.listed).toEqual(['ip', 'ip6']);
  });

  test('detach removes the tables of both families', async () => {
    const nft = fakeNft(['ip', 'ip6']);
    await plane(nft).close({ detach: true });
    expect([...nft.tables]).toEqual([]);
  });
});
