// Assertions shared by the dataplane suites.
import { expect } from '@jest/globals';
import { createHash } from 'node:crypto';
import type { Tally } from './lab.js';

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
    const expected = (total * w) / weightSum;
    const got = t.counts[name] ?? 0;
    // relative deviation from the weight's share, reported with the numbers when it fails
    expect({ backend: name, got, expected: Math.round(expected), ok: Math.abs(got - expected) <= TOLERANCE * expected })
      .toEqual({ backend: name, got, expected: Math.round(expected), ok: true });
  }
}

