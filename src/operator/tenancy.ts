// The admin's objects in the operator: VIPPools (who may hold which VIP), PortableLoadBalancerClasses (where LB
// pods run) and the Namespaces pools select by label. Their caches feed the allocator and class resolution for
// the PLB reconcile; this also keeps every pool's status (counts, Conflict) and decides which PLBs an event
// concerns. Wiring only: the decisions are in address/ and class/.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Namespace,
} from '@kubernetes/client-node';
import { OPERATOR_FIELD_MANAGER } from '../api/constants.js';
import {
  PortableLoadBalancerClassGVK as CLASS,
  VIPPoolGVK as POOL,
  type PortableLoadBalancer,
  type PortableLoadBalancerClass,
  type VIPPool,
} from '../api/generated.js';
import { sameJson } from '../runtime/canonical.js';
import type { Clock } from '../runtime/clock.js';
import type { WatchedResource } from '../runtime/informer.js';
import { apiClient, type ApiClientOptions } from '../runtime/deadline.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, describeApiError } from '../runtime/kube.js';
import type { Logger } from '../runtime/log.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { AddressBook } from './address/book.js';
import { addressDecision, type AddressDecision } from './address/claims.js';
import { poolStatus } from './address/pool-status.js';
import { resolveClass, type ClassResolution } from './class/resolve.js';

type Watch = <T extends KubernetesObject>(kind: string, path: string, list: () => Promise<KubernetesListObject<T>>) => WatchedResource<T>;

export interface TenancyOptions {
  kubeConfig: KubeConfig;
  /** The Controller's informer factory: its caches count towards "synced" and its events reach route(). */
  watch: Watch;
  plbs: () => readonly PortableLoadBalancer[];
  enqueue: (key: string) => void;
  /** No VIPPool needed: a VIP outside every pool is accepted (one trusted tenant). */
  singleTenant: boolean;
  /** Client options (deadlines, User-Agent) for lists, and for writes (with the leadership signal). */
  lists?: ApiClientOptions;
  writes?: ApiClientOptions;
  clock: Clock;
  log: Logger;
}

export const TENANCY_KINDS = [POOL.kind, CLASS.kind, 'Namespace'] as const;

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class Tenancy {
  readonly #o: TenancyOptions;
  readonly #pools: WatchedResource<VIPPool>;
  readonly #classes: WatchedResource<PortableLoadBalancerClass>;
  readonly #namespaces: WatchedResource<V1Namespace>;
  readonly #book: AddressBook;
  /** Pool status writes, keyed by pool name; paused like the PLB queue while not leading. */
  readonly #poolQueue: WorkQueue;

  constructor(o: TenancyOptions) {
    this.#o = o;
    const lists = o.lists ?? { timeoutMs: 2 * DEFAULT_REQUEST_TIMEOUT_MS };
    const custom = apiClient(o.kubeConfig, CustomObjectsApi, lists);
    const core = apiClient(o.kubeConfig, CoreV1Api, lists);
    const cluster = (r: { group: string; version: string; plural: string }) => () =>
      custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural }) as never;
    this.#pools = o.watch<VIPPool>(POOL.kind, `/apis/${POOL.group}/${POOL.version}/${POOL.plural}`, cluster(POOL));
    this.#classes = o.watch<PortableLoadBalancerClass>(CLASS.kind, `/apis/${CLASS.group}/${CLASS.version}/${CLASS.plural}`, cluster(CLASS));
    this.#namespaces = o.watch<V1Namespace>('Namespace', '/api/v1/namespaces', () => core.listNamespace());
    this.#book = new AddressBook(
      {
        plbs: o.plbs,
        pools: () => this.#pools.list(),
        namespaceLabels: (ns) => this.#namespaces.get(ns)?.metadata?.labels ?? (this.#namespaces.get(ns) ? {} : undefined),
      },
      o.singleTenant,
    );
    this.#poolQueue = new WorkQueue({
      clock: o.clock,
      concurrency: 1,
      onResult: (key, outcome, error) => {
        if (outcome === 'error') o.log.warn('VIPPool status write failed; retrying with backoff', { pool: key, error: describeApiError(error) });
      },
    });
  }

  get synced(): boolean {
    return this.#pools.synced && this.#classes.synced && this.#namespaces.synced;
  }

  start(): void {
    const custom = apiClient(this.#o.kubeConfig, CustomObjectsApi, this.#o.writes ?? { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
    this.#poolQueue.start(async (name) => {
      if (!this.synced) throw new Error('caches not synced yet');
      const pool = this.#pools.get(name);
      if (!pool) return;
      const next = poolStatus(pool, this.#book.allocation(), new Date(this.#o.clock.now()));
      if (sameJson(pool.status, next)) return;
      // The operator is the only writer of a pool's status: a merge patch of the whole of it.
      await custom.patchClusterCustomObjectStatus(
        { group: POOL.group, version: POOL.version, plural: POOL.plural, name, body: { status: next }, fieldManager: OPERATOR_FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });
  }

  pause(paused: boolean): void {
    this.#poolQueue.pause(paused);
    if (!paused) this.#enqueuePools();
  }

  async stop(): Promise<void> {
    this.#poolQueue.stop();
  }

  whenIdle(): Promise<void> {
    return this.#poolQueue.whenIdle();
  }

  address(plb: PortableLoadBalancer): AddressDecision {
    const decision = addressDecision(this.#book.decide(plb));
    this.#enqueuePools();
    return decision;
  }

  placement(plb: PortableLoadBalancer): ClassResolution {
    return resolveClass(plb, this.#classes.list(), { trustTemplate: this.#o.singleTenant });
  }

  /** A PLB changed or went: pools recount; an address that became free goes to the PLBs waiting for one. */
  observePlb(plb: PortableLoadBalancer, deleted: boolean): void {
    if (this.#book.observe(plb, deleted)) this.#enqueueWaiting();
    this.#enqueuePools();
  }

  /** Events of the admin's kinds, mapped to the PLBs they can change. Returns false for other kinds. */
  route(kind: string, obj: KubernetesObject): boolean {
    if (kind === POOL.kind) {
      this.#book.invalidate();
      for (const p of this.#o.plbs()) this.#o.enqueue(keyOf(p));
      this.#enqueuePools();
      return true;
    }
    if (kind === CLASS.kind) {
      for (const p of this.#o.plbs()) this.#o.enqueue(keyOf(p));
      return true;
    }
    if (kind === 'Namespace') {
      // A pool may select namespaces by label: the PLBs of this namespace may gain or lose a pool.
      this.#book.invalidate();
      for (const p of this.#o.plbs()) if (p.metadata?.namespace === obj.metadata?.name) this.#o.enqueue(keyOf(p));
      return true;
    }
    return false;
  }

  #enqueueWaiting(): void {
    for (const p of this.#o.plbs()) if (!p.status?.vip) this.#o.enqueue(keyOf(p));
  }

  #enqueuePools(): void {
    for (const pool of this.#pools.list()) this.#poolQueue.add(pool.metadata?.name ?? '');
  }
}
