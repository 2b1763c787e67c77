// A work queue keyed by namespace/name, in the manner of client-go's workqueue: events for a key coalesce
// into one pending item, a key is never processed twice at once (a change during processing re-queues it once),
// failures retry with jittered exponential backoff, success forgets the failure count.
// Every pass has a deadline: the handler gets an AbortSignal, and a pass that outlives its deadline frees its
// worker (the key is retried once the late pass has settled, never twice at once), so one hung request cannot
// stop the queue. Passes running long are reported by stalled(): the health checks read it.
import { backoffDelay, systemClock, type BackoffOptions, type Clock } from './clock.js';
import { DeadlineExceeded } from './deadline.js';

export type Handler = (key: string, signal: AbortSignal) => Promise<void>;

export interface RunningPass {
  key: string;
  /** How long it has been running, ms. */
  runningMs: number;
  /** It outlived its deadline and no longer holds a worker; its handler has not settled yet. */
  abandoned: boolean;
}

export interface WorkQueueOptions {
  backoff: BackoffOptions;
  concurrency: number;
  clock: Clock;
  random: () => number;
  /** Deadline of one pass of the handler. */
  passTimeoutMs: number;
  /** Called after every processed key: the metrics hook. */
  onResult?: (key: string, outcome: 'success' | 'error', error?: unknown) => void;
}

export const DEFAULT_QUEUE_OPTIONS: WorkQueueOptions = {
  backoff: { baseMs: 250, maxMs: 5 * 60_000, jitter: 0.2 },
  concurrency: 2,
  clock: systemClock,
  random: Math.random,
  passTimeoutMs: 120_000,
};

export class WorkQueue {
  readonly #o: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  /** Keys with a pass in flight (abandoned ones included), and when it started. */
  readonly #processing = new Map<string, { started: number; abandoned: boolean }>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { due: number; handle: unknown }>();
  #handler: Handler | undefined;
  #running = 0;
  #stopped = false;
  #paused = false;
  #idle: (() => void)[] = [];

  constructor(options: Partial<WorkQueueOptions> = {}) {
    this.#o = { ...DEFAULT_QUEUE_OPTIONS, ...options };
  }

  get depth(): number {
    return this.#queue.length;
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Passes in flight for longer than `thresholdMs`, longest first. */
  stalled(thresholdMs: number): RunningPass[] {
    const now = this.#o.clock.now();
    return [...this.#processing.entries()]
      .map(([key, p]) => ({ key, runningMs: now - p.started, abandoned: p.abandoned }))
      .filter((p) => p.runningMs > thresholdMs)
      .sort((a, b) => b.runningMs - a.runningMs);
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#pump();
  }

  /**
   * Adds the key after `ms`; of two pending delayed adds of a key the earlier one wins (client-go's AddAfter):
   * a PLB waiting for a heartbeat deadline 70 s away must still pass when a restart grace ends in 8 s.
   */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    const due = this.#o.clock.now() + ms;
    const pending = this.#timers.get(key);
    if (pending) {
      if (pending.due <= due) return;
      this.#o.clock.clearTimeout(pending.handle);
    }
    const handle = this.#o.clock.setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { due, handle });
  }

  /** Re-queues after a failure with backoff; returns the delay used. */
  addRateLimited(key: string): number {
    const attempt = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, attempt);
    const delay = backoffDelay(attempt, this.#o.backoff, this.#o.random);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Starts processing keys with `handler`. */
  start(handler: Handler): void {
    this.#handler = handler;
    this.#pump();
  }

  /** Holds processing (e.g. while not the leader); keys keep coalescing meanwhile. */
  pause(paused: boolean): void {
    this.#paused = paused;
    if (!paused) this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) this.#o.clock.clearTimeout(t.handle);
    this.#timers.clear();
  }

  /** Resolves when nothing is queued or processing (tests). */
  whenIdle(): Promise<void> {
    if (this.#running === 0 && (this.#queue.length === 0 || this.#paused)) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler || this.#paused || this.#stopped) return this.#maybeIdle();
    while (this.#running < this.#o.concurrency && this.#queue.length > 0) {
      const key = this.#queue.shift()!;
      this.#queued.delete(key);
      this.#processing.set(key, { started: this.#o.clock.now(), abandoned: false });
      this.#running++;
      void this.#process(handler, key);
    }
    this.#maybeIdle();
  }

  async #process(handler: Handler, key: string): Promise<void> {
    const entry = this.#processing.get(key)!;
    const clock = this.#o.clock;
    const controller = new AbortController();
    const pass = (async () => handler(key, controller.signal))().then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let timer: unknown;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = clock.setTimeout(() => resolve('deadline'), this.#o.passTimeoutMs);
    });
    const outcome = await Promise.race([pass, deadline]);
    clock.clearTimeout(timer);
    if (outcome === 'deadline') {
      const error = new DeadlineExceeded(`reconcile of ${key}`, this.#o.passTimeoutMs);
      controller.abort(error);
      // The worker is free for other keys; this key stays locked until its late pass settles.
      entry.abandoned = true;
      this.#running--;
      this.#o.onResult?.(key, 'error', error);
      this.#pump();
      await pass;
      this.#processing.delete(key);
      this.#dirty.delete(key);
      this.addRateLimited(key);
      this.#pump();
      return;
    }
    if (outcome.ok) {
      this.forget(key);
      this.#o.onResult?.(key, 'success');
    } else {
      this.#o.onResult?.(key, 'error', outcome.error);
      this.addRateLimited(key);
    }
    this.#processing.delete(key);
    this.#running--;
    if (this.#dirty.delete(key)) this.add(key);
    this.#pump();
  }

  #maybeIdle(): void {
    if (this.#running > 0 || (this.#queue.length > 0 && !this.#paused && !this.#stopped && this.#handler)) return;
    const waiters = this.#idle.splice(0);
    for (const w of waiters) w();
  }
}
