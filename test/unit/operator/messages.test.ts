import { describe, expect, it } from '@jest/globals';
import { joinBounded, truncate } from '../../../src/operator/messages.js';
import { computeStatus } from '../../../src/operator/status.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';
import { findCondition } from '../../../src/api/conditions.js';
import { lbPod, plb } from '../support/builders.js';

describe('truncate', () => {
  it('keeps short text and says how much of long text it cut', () => {
    expect(truncate('abc', 10)).toBe('abc');
    const cut = truncate('x'.repeat(1000), 100);
    expect(cut).toHaveLength(100);
    expect(cut).toMatch(/ … \(\d+ more characters\)$/);
  });
});

describe('joinBounded', () => {
  it('joins everything when it fits', () => {
    expect(joinBounded(['a', 'b'], { max: 100 })).toBe('a; b');
  });

  it('stops before the cap and counts the parts left out', () => {
    const parts = Array.from({ length: 20 }, (_, i) => `pod web-lb-${i}: ${'verifier error '.repeat(20)}`);
    const out = joinBounded(parts, { perPart: 100, max: 500, noun: 'more LB pod(s)' });
    expect(out.length).toBeLessThanOrEqual(500);
    const shown = out.split('; ').filter((p) => p.startsWith('pod ')).length;
    expect(out).toMatch(new RegExp(`; … and ${20 - shown} more LB pod\\(s\\)$`));
  });
});

describe('computeStatus with many LB pods reporting long errors (a fleet-wide verifier failure)', () => {
  it('keeps every condition message within 32 KiB (the CRD limit), naming how many pods were left out', () => {
    const pods = Array.from({ length: 20 }, (_, i) => lbPod(`web-lb-${i}`, 'n1'));
    const entries: LoadBalancerEntry[] = pods.map((p) => ({
      pod: p.metadata!.name!, ready: false, reason: 'ProgrammingFailed', message: `BPF program load failed: ${'R1 invalid mem access '.repeat(200)}`.slice(0, 4096),
    }));
    const status = computeStatus(plb({}, { loadBalancers: entries }), { lbPods: pods, backends: { ready: 1, total: 1 } }, new Date());
    for (const c of status.conditions ?? []) expect(c.message.length).toBeLessThanOrEqual(32_768);
    const dp = findCondition(status.conditions, 'DataPlaneProgrammed');
    expect(dp?.message.length).toBeLessThanOrEqual(2048);
    expect(dp?.message).toMatch(/… and \d+ more LB pod\(s\)$/);
  });
});
