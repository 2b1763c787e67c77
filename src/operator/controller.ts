// Wires informers, the work queue, leader election and reconcile together. Everything decided here is about
// *when* to reconcile which key; *what* to write is reconcile.ts's business. Every request has a deadline,
// every pass too (runtime/deadline.ts, workqueue.ts); writes are refused and aborted the moment leadership
// ends (leader.ts decides that on a timer), and the owner of this Controller then exits.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { LABEL_PLB, OPERATOR_FIELD_MANAGER, PLB } from '../api/constants.js';
import { BGPPeerGVK, type BGPPeer, type PortableLoadBalancer } from '../api/generated.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { apiClient, signalOptions } from '../runtime/deadline.js';
import { healthVerdicts, type Verdict } from '../runtime/health.js';
import { watchResource, type WatchedResource } from '../runtime/informer.js';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  describeApiError,
  eventRecorder,
  isNotFound,
  leaseApi,
  objectApi,
  patchResourceStatus,
  serverSideApply,
} from '../runtime/kube.js';
import { DEFAULT_LEADER_TIMINGS, LeaderElector, type LeaderOptions } from '../runtime/leader.js';
import type { Logger } from '../runtime/log.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { controllerMetrics } from '../telemetry/metrics.js';
import type { OperatorSettings } from './desired.js';
import { belongsTo } from './class/cleanup.js';
import { LABEL_PLB_NAMESPACE, MANAGED_SELECTOR } from './naming.js';
import { LIST_PAGE_SIZE, pagedList, slimNode, slimPod, withForeignFieldsOnly, withoutManagedFields } from './cache-shapes.js';
import { freshest, writtenKey, type Written } from './written.js';
import { HEARTBEAT_EXPIRY_MS, withoutHeartbeats } from './liveness.js';
import { reconcile, type ReconcilePorts } from './reconcile.js';
import type { SessionsSeen } from './events.js';
import { Tenancy } from './tenancy.js';

/** How the children's caches shape an object, and so the written records that stand in for them (written.ts). */
const childShape = withForeignFieldsOnly;

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  settings: OperatorSettings;
  log: Logger;
  /** Lease to hold before writing anything; undefined runs without election (one replica only). */
  leaderElection?: { namespace: string; name: string; identity: string } & Partial<Pick<LeaderOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>>;
  /** Called once when leadership is lost (every write is refused and aborted by then): exit, as controller-runtime does. */
  onLeadershipLost?: () => void;
  /** Every PLB is reconciled at least this often, whatever the watches say (level-triggered repair). */
  resyncMs?: number;
  /** The operator's own namespace: BGPPeer password Secrets must live there (the chart's Role). */
  systemNamespace?: string;
  /** Accept VIPs outside every VIPPool (one trusted tenant); otherwise they are refused (VIPNotAllowed). */
  singleTenant?: boolean;
  /** Told when leadership is gained or lost, for other controllers of the process (the Service controller). */
  onLeadership?: (leading: boolean) => void;
  /** Deadline of each API request (DEFAULT_REQUEST_TIMEOUT_MS); lists get twice as long. */
  requestTimeoutMs?: number;
  /** Deadline of one reconcile pass (default 120 s). */
  passTimeoutMs?: number;
  /** A pass running longer than this makes /readyz fail (default 15 s). */
  stallMs?: number;
  /**
   * A ready LB pod entry whose heartbeat is older than this is marked not ready (src/operator/liveness.ts);
   * default HEARTBEAT_EXPIRY_MS (90 s: three of the agents' 30 s repair passes, each of which rewrites the entry).
   */
  heartbeatExpiryMs?: number;
  /** Items per page of the caches' lists (LIST_PAGE_SIZE; tests make it small to see a list of several pages). */
  listPageSize?: number;
  /** User-Agent of every request (audit logs then name the replica). */
  userAgent?: string;
  clock?: Clock;
}

export const DEFAULT_PASS_TIMEOUT_MS = 120_000;
export const DEFAULT_STALL_MS = 15_000;
/** A pass still running this long after its deadline was not ended by it: /healthz fails. */
const WEDGE_GRACE_MS = 15_000;

type AnyList<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;
/** One page of a list: the client's list call with these parameters added. */
type ListPage<T extends KubernetesObject> = (page: { limit: number; _continue?: string }) => Promise<KubernetesListObject<T>>;

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

export class Controller {
  readonly #o: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #metrics;
  readonly #informers: WatchedResource<KubernetesObject>[] = [];
  #plbs!: WatchedResource<PortableLoadBalancer>;
  #pods!: WatchedResource<V1Pod>;
  #peers!: WatchedResource<BGPPeer>;
  #nodes!: WatchedResource<V1Node>;
  /** Node labels and readiness last seen: heartbeats change nodes every few seconds, only these matter here. */
  readonly #nodeLabels = new Map<string, string>();
  /**
   * Since when LB pods' heartbeats can be judged: the last time the PLB watch synced or this replica became the
   * leader. Before that it could not see them (an API-server outage stops every heartbeat at once).
   */
  #heartbeatSince = 0;
  #plbWatchBroken = false;
  readonly #seenEntries = new Map<string, SessionsSeen | undefined>();
  /** Each PLB's last watched content but for heartbeats (liveness.ts withoutHeartbeats). */
  readonly #plbEvents = new Map<string, string>();
  readonly #children = new Map<string, WatchedResource<KubernetesObject>>();
  /** Children written whose write the caches may not show yet (written.ts). */
  readonly #written = new Map<string, Written>();
  #replicaSets: WatchedResource<KubernetesObject> | undefined;
  #tenancy!: Tenancy;
  #elector: LeaderElector | undefined;
  /** Aborted when leadership is lost: every write in flight ends, and no new one starts. */
  readonly #writes = new AbortController();
  #stopping = false;
  #resync: unknown;
  /** API writes since start, for tests and logs. */
  writes = 0;

  get #clock(): Clock {
    return this.#o.clock ?? systemClock;
  }

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#metrics = controllerMetrics(() => this.#queue.depth);
    this.#queue = new WorkQueue({
      clock: options.clock ?? systemClock,
      passTimeoutMs: options.passTimeoutMs ?? DEFAULT_PASS_TIMEOUT_MS,
      onResult: (key, outcome, error) => {
        this.#metrics.reconcileTotal.add(1, { controller: 'portableloadbalancer', result: outcome });
        if (outcome === 'error') {
          this.#metrics.reconcileErrors.add(1, { controller: 'portableloadbalancer' });
          this.#metrics.queueRetries.add(1, { name: 'portableloadbalancer' });
          options.log.warn('reconcile failed; retrying with backoff', { key, error: describeApiError(error) });
        }
      },
    });
  }

  /** Informers are synced: the operator can decide from complete caches. */
  get ready(): boolean {
    return this.#informers.every((i) => i.synced);
  }

  get leading(): boolean {
    return !this.#writes.signal.aborted && (this.#elector ? this.#elector.leading : true);
  }

  /** /healthz and /readyz: see runtime/health.ts. */
  health(): { live: Verdict; ready: Verdict } {
    const clock = this.#clock;
    const passTimeout = this.#o.passTimeoutMs ?? DEFAULT_PASS_TIMEOUT_MS;
    const timings = this.#elector?.timings;
    return healthVerdicts({
      synced: this.ready,
      passes: this.#queue.stalled(0).map((p) => ({ ...p, key: `reconcile of ${p.key}` })),
      stallMs: this.#o.stallMs ?? DEFAULT_STALL_MS,
      wedgeMs: passTimeout + WEDGE_GRACE_MS,
      ...(this.#elector && timings && !this.#writes.signal.aborted
        ? { electionSilentMs: Math.max(0, clock.now() - this.#elector.lastTickMs - timings.renewDeadlineMs - timings.retryPeriodMs) }
        : {}),
    });
  }

  enqueue(key: string): void {
    this.#metrics.queueAdds.add(1, { name: 'portableloadbalancer' });
    this.#queue.add(key);
  }

  #enqueueAll(): void {
    for (const plb of this.#plbs.list()) this.enqueue(keyOf(plb.metadata?.namespace ?? '', plb.metadata?.name ?? ''));
  }

  #watch<T extends KubernetesObject>(kind: string, path: string, list: AnyList<T>, labelSelector?: string, transform?: (obj: T) => T): WatchedResource<T> {
    const log = this.#o.log.child({ watch: kind });
    const informer = watchResource<T>(
      this.#o.kubeConfig,
      {
        path,
        list,
        ...(labelSelector ? { labelSelector } : {}),
        ...(transform ? { transform } : {}),
        onLifecycle: (event, error) => {
          if (event === 'error') log.warn('watch failed; restarting with backoff', { error: describeApiError(error) });
          if (event === 'restart') this.#metrics.watchRestarts.add(1, { kind });
          if (event === 'synced') log.info('cache synced');
          // Heartbeats are judged only from when the entries can be seen again: the first sync, a reconnect after
          // a failure (not the watch's routine reconnects every 5-10 min).
          if (kind === PLB.kind) {
            if (event === 'error') this.#plbWatchBroken = true;
            if (event === 'synced' || (event === 'connect' && this.#plbWatchBroken)) {
              this.#plbWatchBroken = false;
              this.#heartbeatSince = this.#clock.now();
            }
          }
        },
      },
      (event) => this.#route(kind, event.object, event.type === 'DELETED'),
    );
    this.#informers.push(informer as unknown as WatchedResource<KubernetesObject>);
    return informer;
  }

  /**
   * A watch whose cache keeps objects as `slim` makes them (cache-shapes.ts): watched ones as they arrive, listed
   * ones a page at a time, so only one page is ever held whole.
   */
  #watchSlim<T extends KubernetesObject>(kind: string, path: string, page: ListPage<T>, slim: (obj: T) => T, labelSelector?: string): WatchedResource<T> {
    const limit = this.#o.listPageSize ?? LIST_PAGE_SIZE;
    const list = () => pagedList((cont) => page({ limit, ...(cont ? { _continue: cont } : {}) }), slim);
    return this.#watch(kind, path, list, labelSelector, slim);
  }

  /** Maps an event on any watched object to the PLB keys it can affect. */
  #route(kind: string, obj: KubernetesObject, deleted: boolean): void {
    const ns = obj.metadata?.namespace ?? '';
    if (kind === PLB.kind) {
      this.#tenancy.observePlb(obj as PortableLoadBalancer, deleted);
      const key = keyOf(ns, obj.metadata?.name ?? '');
      // A heartbeat alone (an agent's unchanged entry rewritten) is judged when due, not on arrival (liveness.ts).
      const seen = withoutHeartbeats(obj as PortableLoadBalancer);
      if (deleted) this.#plbEvents.delete(key);
      else if (this.#plbEvents.get(key) === seen) return;
      else this.#plbEvents.set(key, seen);
      return this.enqueue(key);
    }
    // A router or a node's labels changed: any PLB's peers may have (cluster-scoped, so no cheaper key).
    if (kind === BGPPeerGVK.kind) return this.#enqueueAll();
    if (kind === 'Node') {
      const node = obj.metadata?.name ?? '';
      // Readiness too: the entries of LB pods on a node that is not Ready are marked not ready (liveness.ts).
      const ready = (obj as V1Node).status?.conditions?.find((c) => c.type === 'Ready')?.status;
      const labels = deleted ? '' : JSON.stringify([obj.metadata?.labels ?? {}, ready]);
      if (this.#nodeLabels.get(node) === labels) return;
      this.#nodeLabels.set(node, labels);
      return this.#enqueueAll();
    }
    // Deleted after the operator wrote it: the cache's "none" is the truth, not the write's response.
    if (deleted && this.#children.has(kind)) this.#written.delete(writtenKey(kind, ns, obj.metadata?.name));
    if (this.#tenancy.route(kind, obj)) return;
    const owner = obj.metadata?.labels?.[LABEL_PLB];
    // A child in a class's namespace names its PLB's namespace in a label.
    if (owner) return this.enqueue(keyOf(obj.metadata?.labels?.[LABEL_PLB_NAMESPACE] ?? ns, owner));
    // A backend pod changed: every selector-based PLB in its namespace may count it.
    if (kind === 'Pod') {
      for (const plb of this.#plbs.list(ns)) if (plb.spec.backends.selector) this.enqueue(keyOf(ns, plb.metadata?.name ?? ''));
    }
  }

  start(): void {
    const kc = this.#o.kubeConfig;
    const requestTimeoutMs = this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const ua = this.#o.userAgent ? { userAgent: this.#o.userAgent } : {};
    const lists = { timeoutMs: 2 * requestTimeoutMs, ...ua };
    const writes = { timeoutMs: requestTimeoutMs, signal: this.#writes.signal, ...ua };
    const custom = apiClient(kc, CustomObjectsApi, lists);
    const core = apiClient(kc, CoreV1Api, lists);
    const apps = apiClient(kc, AppsV1Api, lists);
    const rbac = apiClient(kc, RbacAuthorizationV1Api, lists);
    const policy = apiClient(kc, PolicyV1Api, lists);
    const sel = { labelSelector: MANAGED_SELECTOR };

    this.#plbs = this.#watchSlim<PortableLoadBalancer>(
      PLB.kind,
      `/apis/${PLB.group}/${PLB.version}/${PLB.plural}`,
      (page) => custom.listClusterCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural, ...page }) as never,
      withoutManagedFields,
    );
    // Every pod of the cluster, but only what is read of each.
    this.#pods = this.#watchSlim<V1Pod>('Pod', '/api/v1/pods', (page) => core.listPodForAllNamespaces(page), slimPod);
    this.#peers = this.#watch<BGPPeer>(
      BGPPeerGVK.kind,
      `/apis/${BGPPeerGVK.group}/${BGPPeerGVK.version}/${BGPPeerGVK.plural}`,
      () => custom.listClusterCustomObject({ group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural }) as never,
    );
    this.#nodes = this.#watchSlim<V1Node>('Node', '/api/v1/nodes', (page) => core.listNode(page), slimNode);
    this.#tenancy = new Tenancy({
      kubeConfig: kc,
      watch: (kind, path, list) => this.#watch(kind, path, list),
      plbs: () => this.#plbs.list(),
      enqueue: (key) => this.enqueue(key),
      singleTenant: this.#o.singleTenant ?? false,
      lists,
      writes,
      clock: this.#clock,
      log: this.#o.log,
    });
    const children: [string, string, ListPage<KubernetesObject>][] = [
      ['Deployment', '/apis/apps/v1/deployments', (page) => apps.listDeploymentForAllNamespaces({ ...sel, ...page })],
      ['ServiceAccount', '/api/v1/serviceaccounts', (page) => core.listServiceAccountForAllNamespaces({ ...sel, ...page })],
      ['Role', '/apis/rbac.authorization.k8s.io/v1/roles', (page) => rbac.listRoleForAllNamespaces({ ...sel, ...page })],
      ['RoleBinding', '/apis/rbac.authorization.k8s.io/v1/rolebindings', (page) => rbac.listRoleBindingForAllNamespaces({ ...sel, ...page })],
      ['PodDisruptionBudget', '/apis/policy/v1/poddisruptionbudgets', (page) => policy.listPodDisruptionBudgetForAllNamespaces({ ...sel, ...page })],
    ];
    for (const [kind, path, page] of children) this.#children.set(kind, this.#watchSlim(kind, path, page, childShape, MANAGED_SELECTOR));
    // Not applied, observed: the Deployment's ReplicaSets carry its pod template's labels, ours included.
    this.#replicaSets = this.#watch('ReplicaSet', '/apis/apps/v1/replicasets', () => apps.listReplicaSetForAllNamespaces(sel), MANAGED_SELECTOR);

    const apply = serverSideApply(kc, OPERATOR_FIELD_MANAGER, writes);
    const patchStatus = patchResourceStatus(kc, PLB, OPERATOR_FIELD_MANAGER, writes);
    const record = eventRecorder(kc, writes);
    const objects = objectApi(kc, writes);
    const reads = objectApi(kc, { timeoutMs: requestTimeoutMs, ...ua });
    const writeCustom = apiClient(kc, CustomObjectsApi, writes);
    const ports = (signal: AbortSignal): ReconcilePorts => ({
      getPlb: (ns, name) => this.#plbs.get(name, ns),
      listPods: (ns) => this.#pods.list(ns),
      getChild: (kind, ns, name) => {
        const key = writtenKey(kind, ns, name);
        const f = freshest(this.#children.get(kind)?.get(name, ns), this.#written.get(key), this.#clock.now());
        if (f.settled) this.#written.delete(key);
        return f.object;
      },
      readChild: async (kind, ns, name) => {
        try {
          const ref = { apiVersion: childApiVersion(kind), kind, metadata: { name, namespace: ns } };
          return await reads.read(ref, undefined, undefined, undefined, reads.withSignal(signal));
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      listReplicaSets: (ns) => (this.#replicaSets?.list(ns) ?? []) as V1ReplicaSet[],
      listBgpPeers: () => this.#peers.list(),
      listNodes: () => this.#nodes.list(),
      getNode: (name) => this.#nodes.get(name),
      heartbeats: () => ({ since: this.#heartbeatSince, expiryMs: this.#o.heartbeatExpiryMs ?? HEARTBEAT_EXPIRY_MS }),
      readSecretKey: async (namespace, name, key) => {
        // The chart lets the operator read Secrets of its own namespace only (a Role, not the ClusterRole).
        const own = this.#o.systemNamespace;
        if (own && namespace !== own) return { problem: `password Secrets must be in the operator's namespace ${own}` };
        try {
          const value = (await core.readNamespacedSecret({ namespace, name })).data?.[key];
          return value === undefined ? { problem: `the Secret has no key ${key}` } : { value: Buffer.from(value, 'base64').toString('utf8') };
        } catch (error) {
          return { problem: describeApiError(error) };
        }
      },
      seenEntries: this.#seenEntries,
      listChildren: (plb) =>
        [...this.#children.entries()].flatMap(([kind, cache]) => cache.list().filter((c) => belongsTo(c, plb)).map((c) => ({ ...c, kind }))),
      deleteChild: async (child) => {
        this.#mayWrite();
        try {
          const ref = { apiVersion: child.apiVersion ?? childApiVersion(child.kind ?? ''), kind: child.kind, metadata: { name: child.metadata?.name, namespace: child.metadata?.namespace } };
          await objects.delete(ref, undefined, undefined, undefined, undefined, undefined, undefined, objects.withSignal(signal));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: `${child.kind ?? ''}/delete` });
      },
      address: (plb) => this.#tenancy.address(plb),
      placement: (plb) => this.#tenancy.placement(plb),
      patchPlb: async (ns, name, ops) => {
        this.#mayWrite();
        await writeCustom.patchNamespacedCustomObject(
          { group: PLB.group, version: PLB.version, plural: PLB.plural, namespace: ns, name, body: ops, fieldManager: OPERATOR_FIELD_MANAGER },
          signalOptions(signal, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
        );
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: 'PortableLoadBalancer' });
      },
      patchChild: async (child, ops) => {
        this.#mayWrite();
        const m = child.metadata ?? {};
        const ref = { apiVersion: child.apiVersion ?? childApiVersion(child.kind ?? ''), kind: child.kind, metadata: { name: m.name, namespace: m.namespace } };
        await objects.jsonPatch(ref, ops, OPERATOR_FIELD_MANAGER, signal);
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: `${child.kind ?? ''}/patch` });
      },
      applyChild: async (child) => {
        this.#mayWrite();
        const applied = await apply(child, signal);
        const kind = child.kind ?? '';
        if (this.#children.has(kind)) {
          this.#written.set(writtenKey(kind, child.metadata?.namespace, child.metadata?.name), { object: childShape(applied), at: this.#clock.now() });
        }
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: child.kind ?? '' });
      },
      patchStatus: async (ns, name, ops) => {
        this.#mayWrite();
        await patchStatus(ns, name, ops, signal);
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: 'PortableLoadBalancer/status' });
      },
      recordEvent: async (plb, event) => {
        try {
          this.#mayWrite();
          await record({ involved: plb, ...event, component: OPERATOR_FIELD_MANAGER }, signal);
        } catch (error) {
          this.#o.log.warn('could not record an event', { reason: event.reason, error: describeApiError(error) });
        }
      },
      now: () => new Date(this.#clock.now()),
    });

    this.#queue.start(async (key, signal) => {
      // Decide only from complete caches; an early pass would see "no children" and rewrite them all, or hand
      // out an address whose holder it has not read yet.
      if (!this.ready) throw new Error('caches not synced yet');
      const [ns = '', name = ''] = key.split('/');
      const started = performance.now();
      const result = await reconcile(ns, name, ports(signal), this.#o.settings);
      this.#metrics.reconcileTime.record((performance.now() - started) / 1000, { controller: 'portableloadbalancer' });
      for (const r of result.repaired ?? []) this.#o.log.info('drift repaired', { key, child: r.child, reasons: r.reasons.slice(0, 10) });
      if (result.writes > 0) this.#o.log.info('reconciled', { key, writes: result.writes });
      if (result.requeueAfterMs !== undefined) this.#queue.addAfter(key, result.requeueAfterMs);
    });

    const le = this.#o.leaderElection;
    if (le) {
      this.#queue.pause(true);
      const timings = { ...DEFAULT_LEADER_TIMINGS, ...le };
      const leases = leaseApi(kc, { timeoutMs: timings.renewDeadlineMs, ...ua });
      this.#elector = new LeaderElector(leases, { ...le, clock: this.#clock }, (leading) => {
        this.#queue.pause(!leading);
        this.#tenancy.pause(!leading);
        this.#o.onLeadership?.(leading);
        if (leading) {
          this.#o.log.info('became leader', { identity: le.identity });
          this.#heartbeatSince = Math.max(this.#heartbeatSince, this.#clock.now());
          this.#enqueueAll();
          return;
        }
        this.#writes.abort(new Error(this.#stopping ? 'stopping' : 'leadership lost'));
        if (this.#stopping) return; // stop() gives the Lease up itself
        // Decided on the elector's timer: a standby may take the Lease from now on, so nothing more is written.
        this.#o.log.error('leadership lost: refusing and aborting every write', { identity: le.identity, renewDeadlineMs: timings.renewDeadlineMs });
        this.#o.onLeadershipLost?.();
      });
      this.#elector.start();
    } else this.#o.onLeadership?.(true);
    this.#tenancy.start();
    const clock = this.#clock;
    const resync = () => {
      this.#enqueueAll();
      this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
    };
    this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
  }

  #mayWrite(): void {
    if (!this.leading) throw new Error('not the leader: write refused');
  }

  /** Resolves when no key is queued or being reconciled (tests). */
  whenIdle(): Promise<void> {
    return this.#queue.whenIdle().then(() => this.#tenancy.whenIdle());
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#clock.clearTimeout(this.#resync);
    this.#queue.stop();
    await this.#tenancy?.stop();
    await this.#elector?.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}

/** Cached list items carry no apiVersion; GETs and deletes need one. */
function childApiVersion(kind: string): string {
  const versions: Record<string, string> = {
    Deployment: 'apps/v1',
    Role: 'rbac.authorization.k8s.io/v1',
    RoleBinding: 'rbac.authorization.k8s.io/v1',
    PodDisruptionBudget: 'policy/v1',
  };
  return versions[kind] ?? 'v1';
}
