// The LB pod agent's stop sequence, with a fake clock and a recording agent and data plane.
import { describe, expect, it } from '@jest/globals';
import { Shutdown, deletionFromLookupFailure, drainSecondsFromEnv, type ShutdownPorts } from '../../../../src/agent/kubernetes/shutdown.js';

/** Records every port call in order; sleeps end when the test says (or when the sequence aborts them). */
class FakePod implements ShutdownPorts {
  readonly calls: string[] = [];
  readonly logs: string[] = [];
  clock = 0;
  #wake: (() => void) | undefined;

  constructor(private readonly deleting: boolean | 'unknown' | Promise<boolean>) {}

  podDeleting(): Promise<boolean | 'unknown'> {
    this.calls.push('podDeleting');
    return Promise.resolve(this.deleting);
  }
  markDraining(): void {
    this.calls.push('markDraining');
  }
  async withdraw(): Promise<void> {
    this.calls.push('withdraw');
  }
  async stopAgent(): Promise<void> {
    this.calls.push('stopAgent');
  }
  async close(remove: boolean): Promise<void> {
    this.calls.push(remove ? 'close(detach+purge)' : 'close(keep)');
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.calls.push(`sleep(${ms})`);
    return new Promise((resolve) => {
      const end = (after: number) => {
        this.clock += after;
        resolve();
      };
      this.#wake = () => end(ms);
      if (signal.aborted) return end(0);
      signal.addEventListener('abort', () => end(1_234), { once: true });
    });
  }
  now(): number {
    return this.clock;
  }
  log(message: string): void {
    this.logs.push(message);
  }

  /** Lets the drain period run out. */
  elapse(): void {
    this.#wake?.();
  }
  get sleeping(): boolean {
    return this.calls.some((c) => c.startsWith('sleep'));
  }
}

const settle = () => new Promise((r) => setImmediate(r));

describe('a failed read of the pod: deleted or unknown', () => {
  it.each([
    { code: 404, want: true, why: 'the pod object is gone' },
    { code: 401, want: true, why: 'its bound token is invalid: the pod object is gone' },
    { code: 403, want: true, why: 'its Role or RoleBinding went with the PLB' },
    { code: 500, want: 'unknown', why: 'the API server failed' },
    { code: 503, want: 'unknown', why: 'the API server is not ready' },
    { code: 429, want: 'unknown', why: 'throttled' },
    { code: undefined, want: 'unknown', why: 'no answer (timeout, connection refused)' },
  ])('$code: $want ($why)', ({ code, want }) => {
    expect(deletionFromLookupFailure(code)).toBe(want);
  });
});

describe('stopping the agent of an LB pod', () => {
  it('drains a deleted pod: not ready and withdrawn at once, forwarding for drainSeconds, then detach and purge', async () => {
    const pod = new FakePod(true);
    const done = new Shutdown(pod, 3).signal('SIGTERM');
    await settle();
    // Still forwarding: nothing stopped or closed while the drain runs.
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'withdraw', 'sleep(3000)']);
    pod.elapse();
    await done;
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'withdraw', 'sleep(3000)', 'stopAgent', 'close(detach+purge)']);
    expect(pod.logs).toEqual([
      expect.stringMatching(/^SIGTERM: pod is being deleted: draining for 3 s/),
      'drain ended after 3.0 s: removing programs and pinned maps',
    ]);
  });

  it('fails readiness before it even knows whether the pod is deleted', async () => {
    let answer!: (deleting: boolean) => void;
    const pod = new FakePod(new Promise<boolean>((r) => (answer = r)));
    const done = new Shutdown(pod, 3).signal('SIGTERM');
    await settle();
    expect(pod.calls).toEqual(['markDraining', 'podDeleting']);
    answer(false);
    await done;
  });

  it('cuts the drain short on a second signal, and detaches', async () => {
    const pod = new FakePod(true);
    const shutdown = new Shutdown(pod, 300);
    const done = shutdown.signal('SIGTERM');
    await settle();
    expect(pod.sleeping).toBe(true);
    const second = shutdown.signal('SIGINT');
    await Promise.all([done, second]);
    expect(pod.calls.slice(-2)).toEqual(['stopAgent', 'close(detach+purge)']);
    expect(pod.logs).toEqual([
      expect.stringMatching(/draining for 300 s/),
      'SIGINT: second signal, cutting the drain short',
      'drain ended after 1.2 s (cut short by a second signal): removing programs and pinned maps',
    ]);
  });

  it('skips the drain when a second signal came before the pod was looked up', async () => {
    let answer!: (deleting: boolean) => void;
    const pod = new FakePod(new Promise<boolean>((r) => (answer = r)));
    const shutdown = new Shutdown(pod, 10);
    const done = shutdown.signal('SIGTERM');
    void shutdown.signal('SIGTERM');
    answer(true);
    await done;
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'stopAgent', 'close(detach+purge)']);
    expect(pod.logs.at(-1)).toBe('SIGTERM: pod is being deleted, no drain (a second signal came): removing programs and pinned maps');
  });

  it('does not wait with drainSeconds 0', async () => {
    const pod = new FakePod(true);
    await new Shutdown(pod, 0).signal('SIGTERM');
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'stopAgent', 'close(detach+purge)']);
    expect(pod.logs).toEqual(['SIGTERM: pod is being deleted, no drain (drainSeconds is 0): removing programs and pinned maps']);
  });

  it('keeps programs and pinned maps on a container restart and exits at once, whatever drainSeconds says', async () => {
    const pod = new FakePod(false);
    await new Shutdown(pod, 10).signal('SIGTERM');
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'stopAgent', 'close(keep)']);
    expect(pod.logs).toEqual(['SIGTERM: container stop without pod deletion: leaving programs in place for the restart']);
  });

  it('drains but keeps programs and pinned maps when the API server cannot say whether the pod is deleted', async () => {
    const pod = new FakePod('unknown');
    const done = new Shutdown(pod, 3).signal('SIGTERM');
    await settle();
    pod.elapse();
    await done;
    // a restarting pod's maps must survive; a deleted pod's go at a sibling's next pin sweep (pins.ts)
    expect(pod.calls).toEqual(['markDraining', 'podDeleting', 'withdraw', 'sleep(3000)', 'stopAgent', 'close(keep)']);
    expect(pod.logs.at(-1)).toMatch(/^drain ended after 3\.0 s: keeping programs and pinned maps \(the API server could not say/);
  });

  it('runs the sequence once however many signals arrive', async () => {
    const pod = new FakePod(false);
    const shutdown = new Shutdown(pod, 10);
    await Promise.all([shutdown.signal('SIGTERM'), shutdown.signal('SIGINT'), shutdown.signal('SIGTERM')]);
    expect(pod.calls.filter((c) => c.startsWith('close'))).toEqual(['close(keep)']);
  });
});

describe('PLB_DRAIN_SECONDS', () => {
  it.each([
    { value: '3', want: 3 },
    { value: '0', want: 0 },
    { value: '300', want: 300 },
    { value: undefined, want: 10 },
    { value: '', want: 10 },
    { value: '-1', want: 10 },
    { value: '2.5', want: 10 },
    { value: 'ten', want: 10 },
  ])('reads $value as $want seconds (the CRD default when absent or malformed)', ({ value, want }) => {
    expect(drainSecondsFromEnv(value)).toBe(want);
  });
});
