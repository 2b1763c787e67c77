// Leader election on a coordination.k8s.io/v1 Lease, in the manner of client-go's leaderelection: a candidate
// takes the lease when it is free or its holder has not renewed within leaseDuration *as observed locally*
// (so clock skew between replicas does not matter); the leader renews every retryPeriod and steps down when it
// could not renew for renewDeadline. Writes carry resourceVersion, so two candidates never both win.
import type { V1Lease } from '@kubernetes/client-node';
import { systemClock, type Clock } from './clock.js';

export interface LeaseApi {
  read(namespace: string, name: string): Promise<V1Lease | undefined>;
  create(lease: V1Lease): Promise<V1Lease>;
  /** Replaces with optimistic concurrency (the lease's resourceVersion); rejects on conflict. */
  replace(lease: V1Lease): Promise<V1Lease>;
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
  #lastRenew = 0;
  #observed: { record: string; at: number } | undefined;
  #timer: unknown;
  #stopped = false;

  constructor(api: LeaseApi, options: Partial<LeaderOptions> & Pick<LeaderOptions, 'namespace' | 'name' | 'identity'>, onChange: (leading: boolean) => void) {
    this.#api = api;
    this.#o = { ...DEFAULT_LEADER_TIMINGS, clock: systemClock, ...options };
    this.#onChange = onChange;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** One attempt to acquire or renew; returns whether we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.#o;
    const now = this.#o.clock.now();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000) };
    const existing = await this.#api.read(namespace, name);
    if (!existing) {
      await this.#api.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { ...spec, acquireTime: microTime(now) as never, renewTime: microTime(now) as never, leaseTransitions: 0 },
      });
      return true;
    }
    const holder = existing.spec?.holderIdentity ?? '';
    const record = `${holder}|${String(existing.spec?.renewTime ?? '')}`;
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
    const expired = now - this.#observed.at > (existing.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== identity && !expired) return false;
    const transitions = (existing.spec?.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    await this.#api.replace({
      ...existing,
      spec: {
        ...existing.spec,
        ...spec,
        acquireTime: (holder === identity ? existing.spec?.acquireTime : microTime(now)) as never,
        renewTime: microTime(now) as never,
        leaseTransitions: transitions,
      },
    });
    return true;
  }

  /** Campaigns and renews until stop(); onChange fires on every gain or loss of leadership. */
  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch {
        held = false; // conflict or API unreachable: same as not renewed
      }
      const now = this.#o.clock.now();
      if (held) this.#lastRenew = now;
      const leading = held || (this.#leading && now - this.#lastRenew < this.#o.renewDeadlineMs);
      if (leading !== this.#leading) {
        this.#leading = leading;
        this.#onChange(leading);
      }
      if (!this.#stopped) this.#timer = this.#o.clock.setTimeout(() => void tick(), this.#o.retryPeriodMs);
    };
    void tick();
  }

  /** Stops campaigning; a leader gives the lease up so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#leading = false;
    this.#onChange(false);
    const existing = await this.#api.read(this.#o.namespace, this.#o.name).catch(() => undefined);
    if (existing?.spec?.holderIdentity === this.#o.identity) {
      await this.#api
        .replace({ ...existing, spec: { ...existing.spec, holderIdentity: '', leaseDurationSeconds: 1 } })
        .catch(() => undefined);
    }
  }
}
