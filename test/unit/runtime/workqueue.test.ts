import { describe, expect, it } from '@jest/globals';
import { backoffDelay } from '../../../src/runtime/clock.js';
import { WorkQueue } from '../../../src/runtime/workqueue.js';
import { FakeClock, settle } from '../support/fake-clock.js';

/** A handler that records calls and finishes each one only when told to. */
function gatedHandler() {
  const calls: string[] = [];
  const pending: { key: string; finish: (err?: Error) => void }[] = [];
  const handler = (key: string) =>
    new Promise<void>((resolve, reject) => {
      calls.push(key);
      pending.push({ key, finish: (err) => (err ? reject(err) : resolve()) });
    });
  return { calls, pending, handler };
}

const noJitter = { backoff: { baseMs: 100, maxMs: 1000, jitter: 0 }, random: () => 0.5 };

describe('WorkQueue', () => {
  it('coalesces repeated adds of a key into one pending item', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 1, ...noJitter });
    for (let i = 0; i < 5; i++) q.add('shop/web');
    q.add('shop/api');
    expect(q.depth).toBe(2);
    const { calls, pending, handler } = gatedHandler();
    q.start(handler);
    await settle();
    pending.shift()!.finish();
    await settle();
    pending.shift()!.finish();
    await settle();
    expect(calls).toEqual(['shop/web', 'shop/api']);
  });

  it('never processes a key twice at once; a change during processing runs it once more afterwards', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), concurrency: 4, ...noJitter });
    const { calls, pending, handler } = gatedHandler();
    q.start(handler);
    q.add('k');
    await settle();
    q.add('k');
    q.add('k');
    await settle();
    expect(calls).toEqual(['k']);
    pending.shift()!.finish();
    await settle();
    expect(calls).toEqual(['k', 'k']);
    pending.shift()!.finish();
    await q.whenIdle();
    expect(calls).toEqual(['k', 'k']);
  });

  it('retries a failing key with exponential backoff and resets it after a success', async () => {
    const clock = new FakeClock();
    const results: string[] = [];
    let failuresLeft = 3;
    const q = new WorkQueue({
      clock,
      concurrency: 1,
      ...noJitter,
      onResult: (_k, outcome) => results.push(outcome),
    });
    q.start(async () => {
      if (failuresLeft-- > 0) throw new Error('api unavailable');
    });
    q.add('k');
    await settle();
    expect(clock.pendingTimers).toEqual([100]);
    await clock.advance(100);
    expect(clock.pendingTimers).toEqual([200]);
    await clock.advance(200);
    expect(clock.pendingTimers).toEqual([400]);
    await clock.advance(400);
    expect(results).toEqual(['error', 'error', 'error', 'success']);
    expect(q.failures('k')).toBe(0);
  });

  it('holds keys while paused (not the leader) and processes them when resumed', async () => {
    const q = new WorkQueue({ clock: new FakeClock(), ...noJitter });
    const seen: string[] = [];
    q.pause(true);
    q.start(async (k) => void seen.push(k));
    q.add('a');
    await settle();
    expect(seen).toEqual([]);
    q.pause(false);
    await q.whenIdle();
    expect(seen).toEqual(['a']);
  });
});

describe('backoffDelay', () => {
  it.each([
    { attempt: 1, want: 100 },
    { attempt: 2, want: 200 },
    { attempt: 4, want: 800 },
    { attempt: 10, want: 1000 },
  ])('attempt $attempt waits $want ms without jitter (capped)', ({ attempt, want }) => {
    expect(backoffDelay(attempt, { baseMs: 100, maxMs: 1000, jitter: 0 })).toBe(want);
  });

  it('spreads delays within the jitter band', () => {
    const o = { baseMs: 1000, maxMs: 60_000, jitter: 0.2 };
    expect(backoffDelay(1, o, () => 0)).toBe(800);
    expect(backoffDelay(1, o, () => 1)).toBe(1200);
  });
});
