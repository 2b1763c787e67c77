import { describe, expect, it } from '@jest/globals';
import { healthVerdicts, type HealthInput } from '../../../src/runtime/health.js';

const base: HealthInput = { synced: true, passes: [], stallMs: 15_000, wedgeMs: 135_000 };
const pass = (key: string, runningMs: number, abandoned = false) => ({ key, runningMs, abandoned });

describe('healthVerdicts', () => {
  it.each([
    { name: 'an idle, synced replica is live and ready', input: base, live: true, ready: true, message: 'ok' },
    { name: 'caches not synced yet: live, not ready', input: { ...base, synced: false }, live: true, ready: false, message: 'caches not synced' },
    { name: 'a short pass does not matter', input: { ...base, passes: [pass('reconcile of shop/web', 900)] }, live: true, ready: true, message: 'ok' },
    {
      name: 'a pass stuck past the stall threshold makes it not ready, and says which',
      input: { ...base, passes: [pass('reconcile of shop/web', 16_400)] },
      live: true,
      ready: false,
      message: 'stalled: reconcile of shop/web running for 16 s',
    },
    {
      name: 'a pass its deadline could not end makes it not live',
      input: { ...base, passes: [pass('reconcile of shop/web', 140_000, true)] },
      live: false,
      ready: false,
      message: 'stalled: reconcile of shop/web running for 140 s (past its deadline)',
    },
    {
      name: 'a silent leader-election loop makes it neither live nor ready',
      input: { ...base, electionSilentMs: 200_000 },
      live: false,
      ready: false,
      message: 'leader election loop silent for 200 s',
    },
  ])('$name', ({ input, live, ready, message }) => {
    const v = healthVerdicts(input);
    expect([v.live.ok, v.ready.ok]).toEqual([live, ready]);
    expect(v.ready.message).toBe(message);
  });
});
