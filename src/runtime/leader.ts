// Leader election on a coordination.k8s.io/v1 Lease, in the manner of client-go's leaderelection: a candidate
// takes the lease when it is free or its holder has not renewed within leaseDuration *as observed locally*
// (so clock skew between replicas does not matter); the leader renews every retryPeriod. Leadership is decided
// on a timer, not by the outcome of a request: it ends renewDeadline after the *start* of the last renew that
// succeeded, whether or not later renews have answered (a renew hung on a half-open connection must not keep a
// replica leading while a standby takes over). The standby can only take over leaseDuration after it saw that
// renew, which is later than it was sent, so the old leader has stopped by then (margin: leaseDuration -
// renewDeadline). Writes carry resourceVersion, so two candidates never both win one round.
import type { V1Lease } from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';
import { withDeadline } from './deadline.js';

/** `signal` aborts the request when the attempt's time is up. */
export interface LeaseApi {
  read(namespace: string, name: string, signal?: AbortSignal): Promise<V1Lease | undefined>;
  create(lease: V1Lease, signal?: AbortSignal): Promise<V1Lease>;
  /** Replaces with optimistic concurrency (the lease's resourceVersion); rejects on conflict. */
  replace(lease: V1Lease, signal?: AbortSignal): Promise<V1Lease>;
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  clock: Clock;
}

export const DEFAULT_LEADER_TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** MicroTime on the wire has exactly six fractional digits. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  readonly #api: LeaseApi;
  readonly #o: LeaderOptions;
  readonly #onChange: (leading: boolean) => void;
  #leading = false;
  /** Local time until which this replica may act as leader: last successful renew's start + renewDeadline. */
  #validUntil = 0;
  #observed: { record: string; at: number } | undefined;
  #timer: unknown;
  #lossTimer: unknown;
  #lastTick = 0;
  #stopped = false;

  constructor(api: LeaseApi, options: Partial<LeaderOptions> & Pick<LeaderOptions, 'namespace' | 'name' | 'identity'>, onChange: (leading: boolean) => void) {
    this.#api = api;
    this.#o = { ...DEFAULT_LEADER_TIMINGS, clock: systemClock, ...options };
    this.#onChange = onChange;
  }

  /** Whether this replica may write now: checked against the clock, so a late timer cannot extend it. */
  get leading(): boolean {
    return this.#leading && this.#o.clock.now() < this.#validUntil;
  }

  /** When the campaign loop last finished an attempt (a loop that stops ticking is wedged: health checks). */
  get lastTickMs(): number {
    return this.#lastTick;
  }

  get timings(): Pick<LeaderOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> {
    return { leaseDurationMs: this.#o.leaseDurationMs, renewDeadlineMs: this.#o.renewDeadlineMs, retryPeriodMs: this.#o.retryPeriodMs };
  }

  /** One attempt to acquire or renew at local time `now`; returns whether we hold the lease afterwards. */
  async tryAcquireOrRenew(signal?: AbortSignal, now: number = this.#o.clock.now()): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.#o;
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000) };
    const existing = await this.#api.read(namespace, name, signal);
    if (!existing) {
      await this.#api.create(
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now) as never, renewTime: microTime(now) as never, leaseTransitions: 0 },
        },
        signal,
      );
      return true;
    }
    const holder = existing.spec?.holderIdentity ?? '';
    const record = `${holder}|${String(existing.spec?.renewTime ?? '')}`;
    if (this.#observed?.record !== record) this.#observed = { record, at: this.#o.clock.now() };
    const expired = this.#o.clock.now() - this.#observed.at > (existing.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== identity && !expired) return false;
    const transitions = (existing.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.#api.replace(
      {
        ...existing,
        spec: {
          ...existing.spec,
          ...spec,
          acquireTime: (holder === identity ? existing.spec?.acquireTime : microTime(now)) as never,
          renewTime: microTime(now) as never,
          leaseTransitions: transitions,
        },
      },
      signal,
    );
    return true;
  }

  /** Campaigns and renews until stop(); onChange fires on every gain or loss of leadership. */
  start(): void {
    const clock = this.#o.clock;
    const tick = async () => {
      if (this.#stopped) return;
      const started = clock.now();
      // A leader's attempt may not outlive its leadership; a candidate's gets the renew deadline.
      const budget = this.#leading ? Math.max(1, this.#validUntil - started) : this.#o.renewDeadlineMs;
      const held = await withDeadline('lease renewal', budget, (signal) => this.tryAcquireOrRenew(signal, started), {
        setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
        clearTimeout: (h) => clock.clearTimeout(h),
      }).catch(() => false); // conflict, API unreachable or too slow: same as not renewed
      this.#lastTick = clock.now();
      if (this.#stopped) return;
      if (held && started + this.#o.renewDeadlineMs > clock.now()) {
        this.#validUntil = started + this.#o.renewDeadlineMs;
        clock.clearTimeout(this.#lossTimer);
        this.#lossTimer = clock.setTimeout(() => this.#checkLoss(), this.#validUntil - clock.now());
        if (!this.#leading) this.#set(true);
      } else {
        this.#checkLoss();
      }
      this.#timer = clock.setTimeout(() => void tick(), this.#o.retryPeriodMs);
    };
    this.#lastTick = clock.now();
    void tick();
  }

  #checkLoss(): void {
    if (this.#leading && this.#o.clock.now() >= this.#validUntil) this.#set(false);
  }

  #set(leading: boolean): void {
    this.#leading = leading;
    this.#onChange(leading);
  }

  /** Stops campaigning; a leader gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.clock.clearTimeout(this.#timer);
    this.#o.clock.clearTimeout(this.#lossTimer);
    const wasLeading = this.leading;
    if (this.#leading) this.#set(false);
    if (!wasLeading) return;
    await withDeadline('lease release', this.#o.renewDeadlineMs, async (signal) => {
      const existing = await this.#api.read(this.#o.namespace, this.#o.name, signal);
      if (existing?.spec?.holderIdentity !== this.#o.identity) return;
      await this.#api.replace({ ...existing, spec: { ...existing.spec, holderIdentity: '', leaseDurationSeconds: 1 } }, signal);
    }).catch(() => undefined);
  }
}
