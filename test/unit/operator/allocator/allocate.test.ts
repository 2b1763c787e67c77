// The allocator as a pure function of (pools, claims): tables of situations and who ends up with what.
import { describe, expect, it } from '@jest/globals';
import { allocate, type AllocationInput, type Claim, type Outcome } from '../../../../src/operator/allocator/allocate.js';
import type { PoolInput } from '../../../../src/operator/allocator/pools.js';

const pool = (name: string, addresses: string[], more: Partial<PoolInput> = {}): PoolInput => ({
  name,
  created: '2026-01-01T00:00:00Z',
  addresses,
  namespaces: ['shop', 'blog'],
  ...more,
});

let seq = 0;
/** A claim; `t` orders creation (smaller = older). */
const claim = (key: string, request: Partial<Claim['request']> = {}, held?: string, t = ++seq): Claim => {
  const [namespace = '', name = ''] = key.split('/');
  return { key, namespace, name, created: `2026-02-01T00:00:${String(t).padStart(2, '0')}Z`, request: { family: 4, ...request }, held };
};

const run = (pools: PoolInput[], claims: Claim[], o: Partial<AllocationInput> = {}) =>
  allocate({ pools, claims, namespaceLabels: () => ({}), singleTenant: false, ...o });

/** key -> vip, or key -> reason for refusals: the shape the tables compare. */
function summary(outcomes: Map<string, Outcome>): Record<string, string> {
  return Object.fromEntries([...outcomes].map(([k, o]) => [k, o.granted ? o.vip : o.reason]));
}

const p24 = pool('main', ['192.0.2.0/24']);

describe('allocate', () => {
  it.each<[string, PoolInput[], Claim[], Partial<AllocationInput>, Record<string, string>]>([
    ['an empty spec.vip gets the first usable address (.0 is never handed out)', [p24], [claim('shop/web')], {}, { 'shop/web': '192.0.2.1' }],
    ['requests are served oldest first, whatever order they are listed in',
      [p24], [claim('shop/b', {}, undefined, 20), claim('shop/a', {}, undefined, 10)], {}, { 'shop/a': '192.0.2.1', 'shop/b': '192.0.2.2' }],
    ['a requested VIP inside an allowing pool is granted', [p24], [claim('shop/web', { vip: '192.0.2.77' })], {}, { 'shop/web': '192.0.2.77' }],
    ['two tenants ask for one VIP: the first holder keeps it, the later one is refused with VIPConflict',
      [p24], [claim('blog/x', { vip: '192.0.2.10' }, undefined, 50), claim('shop/web', { vip: '192.0.2.10' }, '192.0.2.10', 60)], {},
      { 'shop/web': '192.0.2.10', 'blog/x': 'VIPConflict' }],
    ['two new requests for one VIP: the older one wins', [p24],
      [claim('blog/x', { vip: '192.0.2.10' }, undefined, 2), claim('shop/web', { vip: '192.0.2.10' }, undefined, 1)], {},
      { 'shop/web': '192.0.2.10', 'blog/x': 'VIPConflict' }],
    ['a VIP outside every pool is refused', [p24], [claim('shop/web', { vip: '198.51.100.5' })], {}, { 'shop/web': 'VIPNotAllowed' }],
    ['in single-tenant mode a VIP outside every pool is accepted', [p24], [claim('shop/web', { vip: '198.51.100.5' })], { singleTenant: true }, { 'shop/web': '198.51.100.5' }],
    ['single-tenant mode without any pool: requested VIPs accepted, still one owner each', [],
      [claim('shop/a', { vip: '198.51.100.5' }), claim('blog/b', { vip: '198.51.100.5' })], { singleTenant: true },
      { 'shop/a': '198.51.100.5', 'blog/b': 'VIPConflict' }],
    ['single-tenant mode still keeps a pool\'s addresses for the namespaces it allows',
      [pool('private', ['192.0.2.0/24'], { namespaces: ['bank'] })], [claim('shop/web', { vip: '192.0.2.9' })], { singleTenant: true },
      { 'shop/web': 'VIPNotAllowed' }],
    ['a VIP of a pool that does not allow the namespace is refused',
      [pool('bank', ['192.0.2.0/24'], { namespaces: ['bank'] })], [claim('shop/web', { vip: '192.0.2.9' })], {}, { 'shop/web': 'VIPNotAllowed' }],
    ['spec.pool naming a pool that does not allow the namespace is refused (whether or not it exists)',
      [pool('bank', ['192.0.2.0/24'], { namespaces: ['bank'] })], [claim('shop/a', { pool: 'bank' }), claim('shop/b', { pool: 'nope' })], {},
      { 'shop/a': 'VIPNotAllowed', 'shop/b': 'VIPNotAllowed' }],
    ['spec.vip with spec.pool: the address must be in that pool',
      [p24, pool('other', ['198.51.100.0/24'])], [claim('shop/web', { vip: '198.51.100.7', pool: 'main' })], {}, { 'shop/web': 'VIPNotAllowed' }],
    ['no pool allows the namespace: NoPool', [pool('bank', ['192.0.2.0/24'], { namespaces: ['bank'] })], [claim('shop/web')], {}, { 'shop/web': 'NoPool' }],
    ['autoAssign: false pools serve only requests that name them',
      [pool('manual', ['192.0.2.0/24'], { autoAssign: false })], [claim('shop/a'), claim('shop/b', { pool: 'manual' }), claim('shop/c', { vip: '192.0.2.50' })], {},
      { 'shop/a': 'NoPool', 'shop/b': '192.0.2.1', 'shop/c': '192.0.2.50' }],
    ['a namespace selector allows the namespaces whose labels match',
      [pool('team', ['192.0.2.0/24'], { namespaces: [], namespaceSelector: { matchLabels: { team: 'a' } } })],
      [claim('shop/web'), claim('blog/x')], { namespaceLabels: (ns): Record<string, string> => (ns === 'shop' ? { team: 'a' } : {}) },
      { 'shop/web': '192.0.2.1', 'blog/x': 'NoPool' }],
    ['an empty namespace selector allows every namespace',
      [pool('all', ['192.0.2.0/24'], { namespaces: [], namespaceSelector: {} })], [claim('anything/web')], {}, { 'anything/web': '192.0.2.1' }],
  ])('%s', (_, pools, claims, options, expected) => {
    expect(summary(run(pools, claims, options).outcomes)).toEqual(expected);
  });

  describe('restart: holders are settled before anything is handed out', () => {
    it('a pending claim never gets an address someone holds, whatever the order or age', () => {
      const tiny = pool('tiny', ['192.0.2.1-192.0.2.2']);
      // The pending claim is the oldest and listed first: it must still not take a held address.
      const claims = [claim('shop/pending', {}, undefined, 1), claim('shop/a', {}, '192.0.2.1', 5), claim('blog/b', {}, '192.0.2.2', 6)];
      expect(summary(run([tiny], claims).outcomes)).toEqual({ 'shop/pending': 'PoolExhausted', 'shop/a': '192.0.2.1', 'blog/b': '192.0.2.2' });
      // Every permutation of the same state gives the same answer: nothing depends on event order.
      for (const order of [[0, 1, 2], [1, 0, 2], [2, 1, 0], [1, 2, 0]]) {
        expect(summary(run([tiny], order.map((i) => claims[i]!)).outcomes)).toEqual({ 'shop/pending': 'PoolExhausted', 'shop/a': '192.0.2.1', 'blog/b': '192.0.2.2' });
      }
    });

    it('a holder whose address is not the first free one keeps it (no compaction)', () => {
      const out = run([p24], [claim('shop/web', {}, '192.0.2.200'), claim('shop/new')]);
      expect(summary(out.outcomes)).toEqual({ 'shop/web': '192.0.2.200', 'shop/new': '192.0.2.1' });
    });

    it('two holders of one address (a split brain, or objects from before ownership): the older keeps it', () => {
      const out = run([p24], [claim('blog/young', { vip: '192.0.2.10' }, '192.0.2.10', 9), claim('shop/old', { vip: '192.0.2.10' }, '192.0.2.10', 1)]);
      expect(summary(out.outcomes)).toEqual({ 'shop/old': '192.0.2.10', 'blog/young': 'VIPConflict' });
      const refused = out.outcomes.get('blog/young')!;
      // The other tenant is not named.
      expect(refused.message).not.toMatch(/shop|old/);
      expect(refused.message).toMatch(/another load balancer/);
    });

    it('a conflict inside one namespace names the holder', () => {
      const out = run([p24], [claim('shop/a', { vip: '192.0.2.10' }, '192.0.2.10'), claim('shop/b', { vip: '192.0.2.10' })]);
      expect(out.outcomes.get('shop/b')!.message).toMatch(/PortableLoadBalancer a in this namespace/);
    });
  });

  describe('pool changes never move a held address', () => {
    it.each<[string, PoolInput[], Record<string, string>, string]>([
      ['the pool shrank below the held address', [pool('main', ['192.0.2.0/25'])], { 'shop/web': '192.0.2.200', 'shop/new': '192.0.2.1' }, 'OutsidePool'],
      ['the pool was deleted', [], { 'shop/web': '192.0.2.200', 'shop/new': 'NoPool' }, 'OutsidePool'],
      ['the pool no longer allows the namespace', [pool('main', ['192.0.2.0/24'], { namespaces: ['blog'] })], { 'shop/web': '192.0.2.200', 'shop/new': 'NoPool' }, 'OutsidePool'],
      ['the pool was disabled', [pool('main', ['192.0.2.0/24'], { disabled: true })], { 'shop/web': '192.0.2.200', 'shop/new': 'NoPool' }, 'Allocated'],
    ])('%s: the holder keeps it and is told; new claims follow the new pools', (_, pools, expected, reason) => {
      const out = run(pools, [claim('shop/web', {}, '192.0.2.200'), claim('shop/new')]);
      expect(summary(out.outcomes)).toEqual(expected);
      expect(out.outcomes.get('shop/web')).toMatchObject({ granted: true, reason });
    });

    it('a disabled pool refuses a new request for one of its addresses, and reports zero free', () => {
      const out = run([pool('main', ['192.0.2.0/24'], { disabled: true })], [claim('shop/web', { vip: '192.0.2.9' }), claim('shop/old', {}, '192.0.2.8')]);
      expect(summary(out.outcomes)).toEqual({ 'shop/web': 'PoolDisabled', 'shop/old': '192.0.2.8' });
      expect(out.usage.get('main')).toEqual({ 4: { total: 254n, used: 1, free: 0n } });
    });

    it('a claim whose request changed releases what it held', () => {
      // web asked for .10 and held it; now asks for .20: .10 is free again for the next request.
      const out = run([pool('main', ['192.0.2.10-192.0.2.20'])], [claim('shop/web', { vip: '192.0.2.20' }, '192.0.2.10', 1), claim('shop/new', {}, undefined, 2)]);
      expect(summary(out.outcomes)).toEqual({ 'shop/web': '192.0.2.20', 'shop/new': '192.0.2.10' });
    });

    it('moving to another pool (spec.pool) re-allocates from it', () => {
      const out = run([p24, pool('other', ['198.51.100.0/24'])], [claim('shop/web', { pool: 'other' }, '192.0.2.7')]);
      expect(summary(out.outcomes)).toEqual({ 'shop/web': '198.51.100.1' });
    });
  });

  describe('exhaustion', () => {
    it('fills the pool, then says PoolExhausted; a released address goes to the oldest waiting claim', () => {
      const small = pool('small', ['192.0.2.254/31', '192.0.2.1-192.0.2.2']); // .254 usable, .255 never
      const claims = [claim('shop/a', {}, undefined, 1), claim('shop/b', {}, undefined, 2), claim('shop/c', {}, undefined, 3), claim('shop/d', {}, undefined, 4)];
      const first = run([small], claims);
      expect(summary(first.outcomes)).toEqual({ 'shop/a': '192.0.2.254', 'shop/b': '192.0.2.1', 'shop/c': '192.0.2.2', 'shop/d': 'PoolExhausted' });
      expect(first.outcomes.get('shop/d')!.message).toMatch(/every IPv4 address of pool\(s\) small is in use/);
      expect(first.usage.get('small')).toEqual({ 4: { total: 3n, used: 3, free: 0n } });
      // b is deleted; the state as written (status.vip) is the input of the next pass.
      const held = (k: string) => (first.outcomes.get(k) as { vip: string }).vip;
      const next = run([small], [claim('shop/a', {}, held('shop/a'), 1), claim('shop/c', {}, held('shop/c'), 3), claim('shop/d', {}, undefined, 4), claim('shop/e', {}, undefined, 5)]);
      expect(summary(next.outcomes)).toEqual({ 'shop/a': '192.0.2.254', 'shop/c': '192.0.2.2', 'shop/d': '192.0.2.1', 'shop/e': 'PoolExhausted' });
    });

    it('falls through to the next allowing pool, oldest pool first', () => {
      const a = pool('a', ['192.0.2.1-192.0.2.1'], { created: '2026-01-01T00:00:00Z' });
      const b = pool('b', ['198.51.100.0/24'], { created: '2026-01-02T00:00:00Z' });
      expect(summary(run([b, a], [claim('shop/x'), claim('shop/y')]).outcomes)).toEqual({ 'shop/x': '192.0.2.1', 'shop/y': '198.51.100.1' });
    });
  });

  describe('overlap', () => {
    it('the younger of two overlapping pools is flagged and allocates nothing; the older one is unaffected', () => {
      const old = pool('old', ['192.0.2.0/24'], { created: '2026-01-01T00:00:00Z' });
      const young = pool('young', ['192.0.2.128-192.0.2.140', '198.51.100.0/24'], { created: '2026-01-05T00:00:00Z' });
      const out = run([young, old], [claim('shop/a', { pool: 'young' }), claim('shop/b', { vip: '198.51.100.9' }), claim('shop/c', { pool: 'old' })]);
      expect(summary(out.outcomes)).toEqual({ 'shop/a': 'NoPool', 'shop/b': 'PoolConflict', 'shop/c': '192.0.2.1' });
      expect(out.pools.find((p) => p.name === 'young')!.conflictsWith).toEqual([
        { pool: 'old', detail: '192.0.2.128-192.0.2.140 overlaps 192.0.2.0/24 (192.0.2.128-192.0.2.140)' },
      ]);
      expect(out.pools.find((p) => p.name === 'old')!.conflictsWith).toEqual([]);
      expect(out.usage.get('young')![4]!.free).toBe(0n);
    });

    it('a holder inside the overlap keeps its address, counted in both pools', () => {
      const old = pool('old', ['192.0.2.0/24'], { created: '2026-01-01T00:00:00Z' });
      const young = pool('young', ['192.0.2.100/30'], { created: '2026-01-05T00:00:00Z' });
      const out = run([old, young], [claim('shop/a', {}, '192.0.2.101')]);
      expect(out.outcomes.get('shop/a')).toMatchObject({ granted: true, vip: '192.0.2.101', pool: 'old' });
      expect(out.usage.get('old')![4]!.used).toBe(1);
      expect(out.usage.get('young')![4]!.used).toBe(1);
    });

    it('entries of one pool that overlap each other make that pool invalid', () => {
      const out = run([pool('p', ['192.0.2.0/24', '192.0.2.10-192.0.2.12'])], [claim('shop/a')]);
      expect(out.pools[0]!.invalid).toEqual(['192.0.2.10-192.0.2.12 overlaps 192.0.2.0/24 (192.0.2.10-192.0.2.12)']);
      expect(summary(out.outcomes)).toEqual({ 'shop/a': 'NoPool' });
    });
  });

  describe('dual-stack', () => {
    const dual = pool('dual', ['192.0.2.0/30', '2001:db8::/126']);
    it('each family is allocated from the addresses of that family', () => {
      const out = run([dual], [claim('shop/web-v4', { family: 4 }), claim('shop/web-v6', { family: 6 })]);
      // 2001:db8:: is the CIDR's subnet-router anycast address: skipped.
      expect(summary(out.outcomes)).toEqual({ 'shop/web-v4': '192.0.2.1', 'shop/web-v6': '2001:db8::1' });
      expect(out.usage.get('dual')).toEqual({ 4: { total: 3n, used: 1, free: 2n }, 6: { total: 3n, used: 1, free: 2n } });
    });

    it('the families may come from different pools', () => {
      const v4 = pool('v4', ['192.0.2.0/24']);
      const v6 = pool('v6', ['2001:db8:1::10-2001:db8:1::20']);
      expect(summary(run([v4, v6], [claim('shop/a', { family: 6 }), claim('shop/b', { family: 4 })]).outcomes)).toEqual({ 'shop/a': '2001:db8:1::10', 'shop/b': '192.0.2.1' });
    });

    it('a family no allowing pool has is NoPool, and says which family', () => {
      const out = run([pool('v4', ['192.0.2.0/24'])], [claim('shop/a', { family: 6 })]);
      expect(out.outcomes.get('shop/a')).toMatchObject({ granted: false, reason: 'NoPool', message: expect.stringMatching(/no VIPPool with IPv6 addresses/) });
    });

    it('a held address of the wrong family for the request is released (the request changed)', () => {
      expect(summary(run([dual], [claim('shop/a', { family: 6 }, '192.0.2.1')]).outcomes)).toEqual({ 'shop/a': '2001:db8::1' });
    });

    it('IPv6 holders and requests compare by value, not spelling; counts of a /64 do not overflow', () => {
      const big = pool('big', ['2001:db8::/64']);
      const out = run([big], [claim('shop/a', { family: 6 }, '2001:db8::5'), claim('shop/b', { family: 6, vip: '2001:db8::5' })]);
      expect(summary(out.outcomes)).toEqual({ 'shop/a': '2001:db8::5', 'shop/b': 'VIPConflict' });
      expect(out.usage.get('big')![6]).toEqual({ total: 2n ** 64n - 1n, used: 1, free: 2n ** 64n - 2n });
    });
  });

  it('is deterministic: the same input gives the same output (a second pass changes nothing)', () => {
    const claims = [claim('shop/a'), claim('blog/b', { vip: '192.0.2.9' }), claim('shop/c', { family: 6 })];
    const first = run([p24, pool('v6', ['2001:db8::/120'])], claims);
    const again = run([p24, pool('v6', ['2001:db8::/120'])], claims.map((c) => {
      const o = first.outcomes.get(c.key)!;
      return { ...c, held: o.granted ? o.vip : undefined };
    }));
    expect(summary(again.outcomes)).toEqual(summary(first.outcomes));
  });
});
