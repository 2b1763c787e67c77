// Time behind an interface so that queues, backoff and leases are tested without waiting.
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 0.2 = each delay is multiplied by a random factor in [0.8, 1.2], so retries of many keys spread out. */
  jitter: number;
}

/** Exponential backoff: base * 2^(attempt-1), capped, jittered. attempt starts at 1. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (1 - o.jitter + 2 * o.jitter * random()));
}
