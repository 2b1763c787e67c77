// Assertions shared by the dataplane suites.
import { expect } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { Tally } from './lab.js';
import { SIGMAS } from '../../lab/balance.js';

/** The bar: each backend's share of requests within ±15% of its weight's share. */
export const TOLERANCE = 0.15;

/** The body backend-server.mjs serves at /big. */
export function expectedBigSha256(): string {
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  return createHash('sha256').update(big).digest('hex');
}

export function expectShares(t: Tally, weights: Record<string, number>): void {
  const total = Object.values(t.counts).reduce((a, b) => a + b, 0);
  const weightSum = Object.values(weights).reduce((a, b) => a + b, 0);
  expect(Object.keys(t.counts).sort()).toEqual(Object.keys(weights).sort());
  for (const [name, w] of Object.entries(weights)) {
    const p = w / weightSum;
    const expected = total * p;
    const got = t.counts[name] ?? 0;
    // Each connection picks by a hash of its ports (maglev), so a count is a binomial draw B(total, p): ±15 % of
    // a 1/4 share of 600 requests is only 2.1 standard deviations, which a correct plane misses 3 % of the time.
    // The bound is the wider of ±15 % and 4.5 sigma (test/lab/balance.ts): ±15 % from about 2700 requests up.
    const bound = Math.max(TOLERANCE * expected, SIGMAS * Math.sqrt(total * p * (1 - p)));
    // deviation from the weight's share, reported with the numbers when it fails
    expect({ backend: name, got, expected: Math.round(expected), ok: Math.abs(got - expected) <= bound })
      .toEqual({ backend: name, got, expected: Math.round(expected), ok: true });
  }
}

