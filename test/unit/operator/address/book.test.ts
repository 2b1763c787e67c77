// The AddressBook over caches that lag the writes: two passes in a row never hand one address to two PLBs.
import { describe, expect, it } from '@jest/globals';
import type { PortableLoadBalancer, VIPPool } from '../../../../src/api/generated.js';
import { AddressBook } from '../../../../src/operator/address/book.js';
import { plb } from '../../support/builders.js';

const pool = (addresses: string[]): VIPPool => ({
  apiVersion: 'portablelb.io/v1alpha1', kind: 'VIPPool',
  metadata: { name: 'main', creationTimestamp: '2026-01-01T00:00:00Z' as unknown as Date },
  spec: { addresses, namespaces: ['shop'], autoAssign: true, disabled: false },
});
const claimant = (name: string, t: number, vip?: string, status?: { vip?: string }): PortableLoadBalancer => {
  const p = plb({ vip }, status);
  return { ...p, metadata: { ...p.metadata, name, uid: `uid-${name}`, creationTimestamp: `2026-02-01T00:00:0${t}Z` as unknown as Date } };
};

/** A cache the test advances by hand, as the informer would after a write. */
class Caches {
  plbs: PortableLoadBalancer[] = [];
  pools: VIPPool[] = [pool(['192.0.2.1-192.0.2.2'])];
  book = new AddressBook({ plbs: () => this.plbs, pools: () => this.pools, namespaceLabels: () => ({}) }, false);
}

describe('AddressBook', () => {
  it('a second decision before the first one\'s status write is seen does not reuse the address', () => {
    const c = new Caches();
    c.plbs = [claimant('a', 1), claimant('b', 2)];
    const a = c.book.decide(c.plbs[0]!);
    const b = c.book.decide(c.plbs[1]!);
    expect([a, b].map((o) => (o.granted ? o.vip : o.reason))).toEqual(['192.0.2.1', '192.0.2.2']);
    // Even when b is decided first and a only later, with nothing written in between.
    const d = new Caches();
    d.plbs = [claimant('a', 1), claimant('b', 2)];
    const b2 = d.book.decide(d.plbs[1]!);
    const a2 = d.book.decide(d.plbs[0]!);
    expect(new Set([a2, b2].map((o) => (o.granted ? o.vip : o.reason)))).toEqual(new Set(['192.0.2.1', '192.0.2.2']));
  });

  it('a move counts as done only once the cache shows it: the old address is not given away before', () => {
    const c = new Caches();
    c.pools = [pool(['192.0.2.1-192.0.2.3'])];
    c.plbs = [claimant('a', 1, '192.0.2.3', { vip: '192.0.2.1' }), claimant('b', 2)];
    // a now asks for .3: granted, but .1 still shows in a's cached status.
    expect(c.book.decide(c.plbs[0]!)).toMatchObject({ granted: true, vip: '192.0.2.3' });
    expect(c.book.decide(c.plbs[1]!)).toMatchObject({ granted: true, vip: '192.0.2.2' });
    const d = new Caches();
    d.pools = [pool(['192.0.2.1-192.0.2.1', '192.0.2.3-192.0.2.3'])];
    d.plbs = [claimant('a', 1, '192.0.2.3', { vip: '192.0.2.1' }), claimant('b', 2)];
    d.book.decide(d.plbs[0]!);
    expect(d.book.decide(d.plbs[1]!)).toMatchObject({ granted: false, reason: 'PoolExhausted' });
    // The write is seen: .1 is free now, and observe() says pending PLBs should be tried again.
    d.plbs = d.plbs.map((p) => (p.metadata?.name === 'a' ? { ...p, status: { vip: '192.0.2.3' } } : p));
    expect(d.book.observe(d.plbs[0]!, false)).toBe(true);
    expect(d.book.decide(d.plbs[1]!)).toMatchObject({ granted: true, vip: '192.0.2.1' });
  });

  it('a deleted holder frees its address; a deleting one keeps it but gets nothing new', () => {
    const c = new Caches();
    c.pools = [pool(['192.0.2.1-192.0.2.1'])];
    const holder = claimant('a', 1, undefined, { vip: '192.0.2.1' });
    c.plbs = [{ ...holder, metadata: { ...holder.metadata, deletionTimestamp: new Date() } }, claimant('b', 2)];
    expect(c.book.decide(c.plbs[1]!)).toMatchObject({ granted: false, reason: 'PoolExhausted' });
    const gone = c.plbs[0]!;
    c.plbs = [c.plbs[1]!];
    expect(c.book.observe(gone, true)).toBe(true);
    expect(c.book.decide(c.plbs[0]!)).toMatchObject({ granted: true, vip: '192.0.2.1' });
  });

  it('rebuilt from the caches alone after a restart: holders keep theirs, nothing is handed out twice', () => {
    const c = new Caches();
    c.plbs = [claimant('pending', 1), claimant('a', 2, undefined, { vip: '192.0.2.2' }), claimant('b', 3, undefined, { vip: '192.0.2.1' })];
    expect(c.book.decide(c.plbs[0]!)).toMatchObject({ granted: false, reason: 'PoolExhausted' });
    expect(c.book.decide(c.plbs[1]!)).toMatchObject({ granted: true, vip: '192.0.2.2' });
    expect(c.book.decide(c.plbs[2]!)).toMatchObject({ granted: true, vip: '192.0.2.1' });
  });
});

describe('AddressBook recomputes only when a claim changed', () => {
  it('an agent\'s status entry (most PLB events) does not invalidate the allocation; a spec.vip change does', () => {
    const c = new Caches();
    c.plbs = [claimant('a', 1)];
    for (const p of c.plbs) c.book.observe(p, false);
    const first = c.book.allocation();
    const withEntry = { ...c.plbs[0]!, status: { loadBalancers: [{ pod: 'a-lb-x', ready: true }] } };
    c.book.observe(withEntry, false);
    expect(c.book.allocation()).toBe(first);
    c.book.observe({ ...withEntry, spec: { ...withEntry.spec, vip: '192.0.2.2' } }, false);
    expect(c.book.allocation()).not.toBe(first);
  });
});

describe('AddressBook under a burst', () => {
  it('60 PLBs decided in a shuffled order before any status write is seen: 60 distinct addresses, no more than the pool has', () => {
    const c = new Caches();
    c.pools = [pool(['192.0.2.1-192.0.2.50'])];
    c.plbs = Array.from({ length: 60 }, (_, i) => claimant(`p${i}`, i % 10));
    for (const p of c.plbs) c.book.observe(p, false);
    const order = c.plbs.map((p, i) => ({ p, k: (i * 37) % 61 })).sort((a, b) => a.k - b.k).map((x) => x.p);
    const outcomes = order.map((p) => c.book.decide(p));
    const vips = outcomes.filter((o) => o.granted).map((o) => (o as { vip: string }).vip);
    expect(vips).toHaveLength(50);
    expect(new Set(vips).size).toBe(50);
    expect(outcomes.filter((o) => !o.granted).every((o) => o.reason === 'PoolExhausted')).toBe(true);
  });
});

describe('AddressBook when older claims arrive between decisions', () => {
  it('an address decided for a younger PLB (write not seen yet) is not given to an older one that arrives next', () => {
    const c = new Caches();
    c.pools = [pool(['192.0.2.1-192.0.2.2'])];
    const young = claimant('young', 5);
    c.plbs = [young];
    c.book.observe(young, false);
    expect(c.book.decide(young)).toMatchObject({ granted: true, vip: '192.0.2.1' });
    // An older PLB (created earlier, seen later: a slow watch) appears before young's status write is seen.
    const old = claimant('old', 1);
    c.plbs = [young, old];
    c.book.observe(old, false);
    expect(c.book.decide(old)).toMatchObject({ granted: true, vip: '192.0.2.2' });
    expect(c.book.decide(young)).toMatchObject({ granted: true, vip: '192.0.2.1' });
  });
});
