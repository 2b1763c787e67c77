import { describe, expect, test } from '@jest/globals';
import { MAGLEV_RING_SIZE, buildMaglevTable, slotShares } from '../../../src/dataplane/maglev.js';

const backends = (n: number, weight = (_i: number) => 1) =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, id: i + 1, weight: weight(i) }));

describe('buildMaglevTable', () => {
  test('fills every slot with one of the backends', () => {
    const table = buildMaglevTable(backends(3));
    expect(table.length).toBe(MAGLEV_RING_SIZE);
    expect([...slotShares(table).keys()].sort()).toEqual([1, 2, 3]);
  });

  test.each([2, 3, 7, 50])('gives %i equal-weight backends equal shares (within 1%% of the table)', (n) => {
    const shares = slotShares(buildMaglevTable(backends(n)));
    for (const count of shares.values()) {
      expect(Math.abs(count - MAGLEV_RING_SIZE / n)).toBeLessThanOrEqual(MAGLEV_RING_SIZE * 0.01);
    }
  });

  test('honours weights: 1:2:5 gets 1/8, 2/8, 5/8 of the slots', () => {
    const shares = slotShares(buildMaglevTable(backends(3, (i) => [1, 2, 5][i]!)));
    expect(Math.abs(shares.get(1)! - MAGLEV_RING_SIZE / 8)).toBeLessThanOrEqual(8);
    expect(Math.abs(shares.get(2)! - (MAGLEV_RING_SIZE * 2) / 8)).toBeLessThanOrEqual(8);
    expect(Math.abs(shares.get(3)! - (MAGLEV_RING_SIZE * 5) / 8)).toBeLessThanOrEqual(8);
  });

  test('does not depend on the order backends are listed in', () => {
    const list = backends(5);
    expect(buildMaglevTable([...list].reverse())).toEqual(buildMaglevTable(list));
  });

  test('removing one of 10 backends moves its slots and almost nothing else', () => {
    const list = backends(10);
    const before = buildMaglevTable(list);
    const after = buildMaglevTable(list.filter((b) => b.id !== 4));
    let movedOthers = 0;
    let stillRemoved = 0;
    for (let s = 0; s < before.length; s++) {
      if (after[s] === 4) stillRemoved++;
      if (before[s] !== 4 && after[s] !== before[s]) movedOthers++;
    }
    expect(stillRemoved).toBe(0);
    // Maglev's bound is not zero disruption, but a few percent of the table
    expect(movedOthers / before.length).toBeLessThan(0.05);
  });

  test('adding an 11th backend changes about 1/11 of the table and gives the newcomer its share', () => {
    const list = backends(11);
    const before = buildMaglevTable(list.slice(0, 10));
    const after = buildMaglevTable(list);
    let changed = 0;
    for (let s = 0; s < before.length; s++) if (after[s] !== before[s]) changed++;
    expect(changed / before.length).toBeLessThan(1 / 11 + 0.05);
    expect(slotShares(after).get(11)).toBeGreaterThan((MAGLEV_RING_SIZE / 11) * 0.95);
  });

  test('is all zeros ("no backend") without backends', () => {
    expect(buildMaglevTable([]).every((id) => id === 0)).toBe(true);
  });

  test('rejects id 0, which the BPF program reads as "no backend"', () => {
    expect(() => buildMaglevTable([{ key: '10.0.0.1', id: 0, weight: 1 }])).toThrow(/positive/);
  });
});
