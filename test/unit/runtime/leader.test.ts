import { describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseApi } from '../../../src/runtime/leader.js';
import { FakeClock } from '../support/fake-clock.js';

/** One Lease with resourceVersion checks, like the API server's optimistic concurrency. */
class FakeLeases implements LeaseApi {
  lease: V1Lease | undefined;
  version = 0;
  down = false;
  /** Requests never answer, as on a half-open connection. */
  hang = false;
  aborted = 0;
  #hung(signal?: AbortSignal): Promise<never> {
    return new Promise((_, reject) => signal?.addEventListener('abort', () => { this.aborted++; reject(signal.reason); }));
  }
  async read(_ns?: string, _name?: string, signal?: AbortSignal) {
    if (this.hang) return this.#hung(signal);
    if (this.down) throw new Error('connection refused');
    return this.lease ? structuredClone(this.lease) : undefined;
  }
  async create(lease: V1Lease) {
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
  async replace(lease: V1Lease, signal?: AbortSignal) {
    if (this.hang) return this.#hung(signal);
    if (this.down) throw new Error('connection refused');
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    return this.lease;
  }
}

function candidate(api: LeaseApi, clock: FakeClock, identity: string) {
  const changes: boolean[] = [];
  const e = new LeaderElector(api, { namespace: 'ops', name: 'plb', identity, clock }, (l) => changes.push(l));
  return { e, changes };
}

/** a starts first and wins; b starts right after. */
async function twoCandidates() {
  const clock = new FakeClock();
  const api = new FakeLeases();
  const a = candidate(api, clock, 'a');
  const b = candidate(api, clock, 'b');
  a.e.start();
  await clock.advance(0);
  b.e.start();
  return { clock, api, a, b };
}

describe('LeaderElector', () => {
  it('lets exactly one of two candidates lead', async () => {
    const { clock, api, a, b } = await twoCandidates();
    await clock.advance(10_000);
    expect([a.e.leading, b.e.leading]).toEqual([true, false]);
    expect(api.lease?.spec?.holderIdentity).toBe('a');
  });

  it('hands over within the lease duration when the leader stops renewing', async () => {
    const { clock, api, a, b } = await twoCandidates();
    await clock.advance(4_000);
    // a dies without releasing: its timers stop, and the lease keeps its name (stop() released it; undo that).
    await a.e.stop();
    api.lease!.spec!.holderIdentity = 'a';
    await clock.advance(18_000);
    expect(b.e.leading).toBe(true);
    expect(api.lease?.spec?.leaseTransitions).toBe(1);
  });

  it('gives the lease up on stop so the other replica takes over at once', async () => {
    const { clock, a, b } = await twoCandidates();
    await clock.advance(2_000);
    await a.e.stop();
    await clock.advance(2_000);
    expect(b.e.leading).toBe(true);
    expect(a.changes).toEqual([true, false]);
  });

  it('steps down when it cannot renew for the renew deadline, and leads again when the API returns', async () => {
    const clock = new FakeClock();
    const api = new FakeLeases();
    const a = candidate(api, clock, 'a');
    a.e.start();
    await clock.advance(0);
    api.down = true;
    await clock.advance(8_000);
    expect(a.e.leading).toBe(true);
    await clock.advance(4_000);
    expect(a.e.leading).toBe(false);
    api.down = false;
    await clock.advance(4_000);
    expect(a.changes).toEqual([true, false, true]);
  });

  it('loses leadership on a timer when a renew hangs: renewDeadline after the start of the last renew that succeeded', async () => {
    const clock = new FakeClock();
    const api = new FakeLeases();
    const a = candidate(api, clock, 'a');
    a.e.start();
    await clock.advance(0); // acquired at t=0
    await clock.advance(2_000); // renewed at t=2000 (started and answered at once)
    api.hang = true; // the renew at t=4000 never answers
    await clock.advance(9_999);
    expect(a.e.leading).toBe(true);
    await clock.advance(1);
    expect(a.e.leading).toBe(false);
    expect(a.changes).toEqual([true, false]);
    // The hung request was aborted, not left behind.
    expect(api.aborted).toBeGreaterThanOrEqual(1);
  });

  it('counts leadership from when a renew was sent, not from its late answer', async () => {
    const clock = new FakeClock();
    const api = new FakeLeases();
    const slow: LeaseApi = {
      read: (ns, name, signal) => new Promise((resolve) => clock.setTimeout(() => void api.read(ns, name, signal).then(resolve), 6_000)),
      create: (l) => api.create(l),
      replace: (l, s) => api.replace(l, s),
    };
    const a = candidate(slow, clock, 'a');
    a.e.start();
    await clock.advance(6_000); // the first attempt, sent at t=0, answered at t=6000
    expect(a.e.leading).toBe(true);
    api.hang = true;
    await clock.advance(3_999);
    expect(a.e.leading).toBe(true);
    await clock.advance(1); // t=10000: 10 s after the renew was sent
    expect(a.e.leading).toBe(false);
  });

  it('a standby takes over only after the hung leader stopped leading', async () => {
    const clock = new FakeClock();
    const api = new FakeLeases();
    let partitioned = false;
    const never = (signal?: AbortSignal) => new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    // a's view of the lease: its requests hang while partitioned; b reaches the API server.
    const aApi: LeaseApi = {
      read: (ns, n, s) => (partitioned ? never(s) : api.read(ns, n, s)),
      create: (l, s) => (partitioned ? never(s) : api.create(l)),
      replace: (l, s) => (partitioned ? never(s) : api.replace(l, s)),
    };
    const a = candidate(aApi, clock, 'a');
    const b = candidate(api, clock, 'b');
    a.e.start();
    await clock.advance(0);
    b.e.start();
    await clock.advance(5_000);
    partitioned = true;
    let aStopped: number | undefined;
    let bStarted: number | undefined;
    for (let t = 0; t < 30_000 && bStarted === undefined; t += 100) {
      await clock.advance(100);
      if (aStopped === undefined && !a.e.leading) aStopped = t;
      if (bStarted === undefined && b.e.leading) bStarted = t;
    }
    expect(aStopped).toBeDefined();
    expect(bStarted).toBeDefined();
    expect(aStopped!).toBeLessThan(bStarted!);
    expect(a.changes).toEqual([true, false]);
  });

  it('writes MicroTime with six fractional digits, as the API server requires', async () => {
    const clock = new FakeClock();
    const api = new FakeLeases();
    await candidate(api, clock, 'a').e.tryAcquireOrRenew();
    expect(String(api.lease?.spec?.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });
});
