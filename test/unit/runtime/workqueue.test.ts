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

  it.each([
    { name: 'a later delayed add of a pending key is dropped: the earlier one stands', first: 8000, second: 71_000, fires: [8000] },
    { name: 'an earlier delayed add replaces a later pending one (a restart grace ends before a heartbeat deadline)', first: 71_000, second: 8000, fires: [8000] },
    { name: 'the same delay twice: one pass', first: 5000, second: 5000, fires: [5000] },
  ])('$name', async ({ first, second, fires }) => {
    const clock = new FakeClock();
    const start = clock.now();
    const q = new WorkQueue({ clock, concurrency: 1, ...noJitter });
    const at: number[] = [];
    q.start(async () => void at.push(clock.now() - start));
    q.addAfter('k', first);
    q.addAfter('k', second);
    expect(clock.pendingTimers).toEqual([Math.min(first, second)]);
    await clock.advance(100_000);
    expect(at).toEqual(fires);
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

describe('WorkQueue pass deadlines', () => {
  it('a pass that outlives its deadline frees its worker, keeps its key locked, and is retried once it settles', async () => {
    const clock = new FakeClock();
    const results: Array<[string, string]> = [];
    const q = new WorkQueue({ clock, concurrency: 1, passTimeoutMs: 1000, ...noJitter, onResult: (k, o) => results.push([k, o]) });
    const seen: string[] = [];
    const signals: AbortSignal[] = [];
    let release: (() => void) | undefined;
    q.start((key, signal) => {
      seen.push(key);
      signals.push(signal);
      // The first pass of "hung" ignores its signal until released; everything else finishes at once.
      if (key === 'hung' && !release) return new Promise<void>((r) => (release = r));
      return Promise.resolve();
    });
    q.add('hung');
    q.add('other');
    await settle();
    expect(seen).toEqual(['hung']);
    await clock.advance(1000);
    expect(signals[0]!.aborted).toBe(true);
    // The one worker moved on to the next key; "hung" is not run twice at once.
    expect(seen).toEqual(['hung', 'other']);
    expect(results).toEqual([['hung', 'error'], ['other', 'success']]);
    q.add('hung');
    await settle();
    expect(seen).toEqual(['hung', 'other']);
    expect(q.stalled(500)).toEqual([{ key: 'hung', runningMs: 1000, abandoned: true }]);
    release!();
    await settle();
    expect(q.stalled(0)).toEqual([]);
    await clock.advance(100); // the retry after backoff
    expect(seen).toEqual(['hung', 'other', 'hung']);
  });

  it('stalled() lists passes running longer than a threshold, longest first', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock, concurrency: 2, passTimeoutMs: 60_000, ...noJitter });
    const { pending, handler } = gatedHandler();
    q.start(handler);
    q.add('a');
    await clock.advance(3000);
    q.add('b');
    await clock.advance(2000);
    expect(q.stalled(1000)).toEqual([
      { key: 'a', runningMs: 5000, abandoned: false },
      { key: 'b', runningMs: 2000, abandoned: false },
    ]);
    expect(q.stalled(2500).map((p) => p.key)).toEqual(['a']);
    for (const p of pending.splice(0)) p.finish();
    await settle();
    expect(q.stalled(0)).toEqual([]);
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
