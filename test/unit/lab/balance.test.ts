// The lab's balance check: 4.5 standard deviations of the binomial share, not a fixed percentage. Table-driven.
import { describe, expect, it } from '@jest/globals';
import { balanceVerdict } from '../../lab/balance.js';

describe('balanceVerdict', () => {
  it.each<[string, Record<string, number>, number, number, boolean]>([
    // 1500 over 2: sd = sqrt(1500 * 0.25) = 19.4, bound 87.1
    ['2 targets, 1500, within 87 of 750', { a: 836, b: 664 }, 2, 0, true],
    ['2 targets, 1500, 88 off', { a: 838, b: 662 }, 2, 0, false],
    // 1500 over 5: sd = sqrt(1500 * 0.2 * 0.8) = 15.5, bound 69.7: 23 % of a share (the old 15 % would fail 350)
    ['5 targets, 1500, one at 350 (+17 %)', { a: 350, b: 290, c: 290, d: 290, e: 280 }, 5, 0, true],
    ['5 targets, 1500, one at 370 (+23.3 %)', { a: 370, b: 290, c: 290, d: 280, e: 270 }, 5, 0, false],
    // 3000 over 3: sd = 25.8, bound 116
    ['3 targets, 3000, even', { a: 1000, b: 1000, c: 1000 }, 3, 0, true],
    ['a target missing', { a: 750, b: 750 }, 3, 0, false],
    ['a failure', { a: 750, b: 749 }, 2, 1, false],
    ['nothing at all', {}, 2, 0, false],
  ])('%s', (_name, counts, targets, failed, ok) => {
    expect(balanceVerdict(counts, targets, failed).ok).toBe(ok);
  });

  it('says how far each target is, in standard deviations', () => {
    const v = balanceVerdict({ a: 800, b: 700 }, 2);
    expect(v.bound).toBeCloseTo(4.5 * Math.sqrt(375), 6);
    expect(v.deviations).toEqual({ a: { count: 800, sigmas: 2.58 }, b: { count: 700, sigmas: -2.58 } });
  });
});
