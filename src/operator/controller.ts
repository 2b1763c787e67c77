// Wires informers, the work queue, leader election and reconcile together. Everything decided here is about
// *when* to reconcile which key; *what* to write is reconcile.ts's business.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { LABEL_PLB, OPERATOR_FIELD_MANAGER, PLB } from '../api/constants.js';
import { BGPPeerGVK, type BGPPeer, type PortableLoadBalancer } from '../api/generated.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { watchResource, type WatchedResource } from '../runtime/informer.js';
import { describeApiError, eventRecorder, isNotFound, leaseApi, patchResourceStatus, serverSideApply } from '../runtime/kube.js';
import { LeaderElector } from '../runtime/leader.js';
import type { Logger } from '../runtime/log.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { controllerMetrics } from '../telemetry/metrics.js';
import type { OperatorSettings } from './desired.js';
import { belongsTo } from './class/cleanup.js';
import { LABEL_PLB_NAMESPACE, MANAGED_SELECTOR } from './naming.js';
import { reconcile, type ReconcilePorts } from './reconcile.js';
import type { LoadBalancerEntry } from './status.js';
import { Tenancy } from './tenancy.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  settings: OperatorSettings;
  log: Logger;
  /** Lease to hold before writing anything; undefined runs without election (one replica only). */
  leaderElection?: { namespace: string; name: string; identity: string };
  /** Every PLB is reconciled at least this often, whatever the watches say (level-triggered repair). */
  resyncMs?: number;
  /** The operator's own namespace: BGPPeer password Secrets must live there (the chart's Role). */
  systemNamespace?: string;
  /** Accept VIPs outside every VIPPool (one trusted tenant); otherwise they are refused (VIPNotAllowed). */
  singleTenant?: boolean;
  /** Told when leadership is gained or lost, for other controllers of the process (the Service controller). */
  onLeadership?: (leading: boolean) => void;
  clock?: Clock;
}

type AnyList<T extends KubernetesObject> = () => Promise<KubernetesListObject<T>>;

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
  /** Node labels last seen: heartbeats change nodes every few seconds, only label changes matter here. */
  readonly #nodeLabels = new Map<string, string>();
  readonly #seenEntries = new Map<string, LoadBalancerEntry[] | undefined>();
  readonly #children = new Map<string, WatchedResource<KubernetesObject>>();
  #tenancy!: Tenancy;
  #elector: LeaderElector | undefined;
  #resync: unknown;
  /** API writes since start, for tests and logs. */
  writes = 0;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#metrics = controllerMetrics(() => this.#queue.depth);
    this.#queue = new WorkQueue({
      clock: options.clock ?? systemClock,
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
    return this.#elector ? this.#elector.leading : true;
  }

  enqueue(key: string): void {
    this.#metrics.queueAdds.add(1, { name: 'portableloadbalancer' });
    this.#queue.add(key);
  }

  #enqueueAll(): void {
    for (const plb of this.#plbs.list()) this.enqueue(keyOf(plb.metadata?.namespace ?? '', plb.metadata?.name ?? ''));
  }

  #watch<T extends KubernetesObject>(kind: string, path: string, list: AnyList<T>, labelSelector?: string): WatchedResource<T> {
    const log = this.#o.log.child({ watch: kind });
    const informer = watchResource<T>(
      this.#o.kubeConfig,
      {
        path,
        list,
        ...(labelSelector ? { labelSelector } : {}),
        onLifecycle: (event, error) => {
          if (event === 'error') log.warn('watch failed; restarting with backoff', { error: describeApiError(error) });
          if (event === 'restart') this.#metrics.watchRestarts.add(1, { kind });
          if (event === 'synced') log.info('cache synced');
        },
      },
      (event) => this.#route(kind, event.object, event.type === 'DELETED'),
    );
    this.#informers.push(informer as unknown as WatchedResource<KubernetesObject>);
    return informer;
  }

  /** Maps an event on any watched object to the PLB keys it can affect. */
  #route(kind: string, obj: KubernetesObject, deleted: boolean): void {
    const ns = obj.metadata?.namespace ?? '';
    if (kind === PLB.kind) {
      this.#tenancy.observePlb(obj as PortableLoadBalancer, deleted);
      return this.enqueue(keyOf(ns, obj.metadata?.name ?? ''));
    }
    // A router or a node's labels changed: any PLB's peers may have (cluster-scoped, so no cheaper key).
    if (kind === BGPPeerGVK.kind) return this.#enqueueAll();
    if (kind === 'Node') {
      const node = obj.metadata?.name ?? '';
      const labels = deleted ? '' : JSON.stringify(obj.metadata?.labels ?? {});
      if (this.#nodeLabels.get(node) === labels) return;
      this.#nodeLabels.set(node, labels);
      return this.#enqueueAll();
    }
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
    const custom = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const sel = { labelSelector: MANAGED_SELECTOR };

    this.#plbs = this.#watch<PortableLoadBalancer>(
      PLB.kind,
      `/apis/${PLB.group}/${PLB.version}/${PLB.plural}`,
      () => custom.listClusterCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural }) as never,
    );
    this.#pods = this.#watch<V1Pod>('Pod', '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.#peers = this.#watch<BGPPeer>(
      BGPPeerGVK.kind,
      `/apis/${BGPPeerGVK.group}/${BGPPeerGVK.version}/${BGPPeerGVK.plural}`,
      () => custom.listClusterCustomObject({ group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural }) as never,
    );
    this.#nodes = this.#watch<V1Node>('Node', '/api/v1/nodes', () => core.listNode());
    this.#tenancy = new Tenancy({
      kubeConfig: kc,
      watch: (kind, path, list) => this.#watch(kind, path, list),
      plbs: () => this.#plbs.list(),
      enqueue: (key) => this.enqueue(key),
      singleTenant: this.#o.singleTenant ?? false,
      clock: this.#o.clock ?? systemClock,
      log: this.#o.log,
    });
    const children: [string, string, AnyList<KubernetesObject>][] = [
      ['Deployment', '/apis/apps/v1/deployments', () => apps.listDeploymentForAllNamespaces(sel)],
      ['ServiceAccount', '/api/v1/serviceaccounts', () => core.listServiceAccountForAllNamespaces(sel)],
      ['Role', '/apis/rbac.authorization.k8s.io/v1/roles', () => rbac.listRoleForAllNamespaces(sel)],
      ['RoleBinding', '/apis/rbac.authorization.k8s.io/v1/rolebindings', () => rbac.listRoleBindingForAllNamespaces(sel)],
    ];
    for (const [kind, path, list] of children) this.#children.set(kind, this.#watch(kind, path, list, MANAGED_SELECTOR));

    const apply = serverSideApply(kc, OPERATOR_FIELD_MANAGER);
    const patchStatus = patchResourceStatus(kc, PLB, OPERATOR_FIELD_MANAGER);
    const record = eventRecorder(kc);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const ports: ReconcilePorts = {
      getPlb: (ns, name) => this.#plbs.get(name, ns),
      listPods: (ns) => this.#pods.list(ns),
      getChild: (kind, ns, name) => this.#children.get(kind)?.get(name, ns),
      listBgpPeers: () => this.#peers.list(),
      listNodes: () => this.#nodes.list(),
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
        try {
          await objects.delete({ apiVersion: child.apiVersion ?? childApiVersion(child.kind ?? ''), kind: child.kind, metadata: { name: child.metadata?.name, namespace: child.metadata?.namespace } });
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: `${child.kind ?? ''}/delete` });
      },
      address: (plb) => this.#tenancy.address(plb),
      placement: (plb) => this.#tenancy.placement(plb),
      patchPlb: async (ns, name, ops) => {
        await custom.patchNamespacedCustomObject(
          { group: PLB.group, version: PLB.version, plural: PLB.plural, namespace: ns, name, body: ops, fieldManager: OPERATOR_FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        );
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: 'PortableLoadBalancer' });
      },
      applyChild: async (child) => {
        await apply(child);
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: child.kind ?? '' });
      },
      patchStatus: async (ns, name, ops) => {
        await patchStatus(ns, name, ops);
        this.writes++;
        this.#metrics.apiWrites.add(1, { kind: 'PortableLoadBalancer/status' });
      },
      recordEvent: async (plb, event) => {
        try {
          await record({ involved: plb, ...event, component: OPERATOR_FIELD_MANAGER });
        } catch (error) {
          this.#o.log.warn('could not record an event', { reason: event.reason, error: describeApiError(error) });
        }
      },
      now: () => new Date((this.#o.clock ?? systemClock).now()),
    };

    this.#queue.start(async (key) => {
      // Decide only from complete caches; an early pass would see "no children" and rewrite them all, or hand
      // out an address whose holder it has not read yet.
      if (!this.ready) throw new Error('caches not synced yet');
      const [ns = '', name = ''] = key.split('/');
      const started = performance.now();
      const result = await reconcile(ns, name, ports, this.#o.settings);
      this.#metrics.reconcileTime.record((performance.now() - started) / 1000, { controller: 'portableloadbalancer' });
      if (result.writes > 0) this.#o.log.info('reconciled', { key, writes: result.writes });
    });

    const le = this.#o.leaderElection;
    if (le) {
      this.#queue.pause(true);
      this.#elector = new LeaderElector(leaseApi(kc), le, (leading) => {
        this.#o.log.info(leading ? 'became leader' : 'lost leadership; pausing writes', { identity: le.identity });
        this.#queue.pause(!leading);
        this.#tenancy.pause(!leading);
        this.#o.onLeadership?.(leading);
        if (leading) this.#enqueueAll();
      });
      this.#elector.start();
    } else this.#o.onLeadership?.(true);
    this.#tenancy.start();
    const clock = this.#o.clock ?? systemClock;
    const resync = () => {
      this.#enqueueAll();
      this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
    };
    this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
  }

  /** Resolves when no key is queued or being reconciled (tests). */
  whenIdle(): Promise<void> {
    return this.#queue.whenIdle().then(() => this.#tenancy.whenIdle());
  }

  async stop(): Promise<void> {
    (this.#o.clock ?? systemClock).clearTimeout(this.#resync);
    this.#queue.stop();
    await this.#tenancy?.stop();
    await this.#elector?.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
  }
}

/** Cached list items carry no apiVersion; the delete call needs one. */
function childApiVersion(kind: string): string {
  return kind === 'Deployment' ? 'apps/v1' : kind === 'Role' || kind === 'RoleBinding' ? 'rbac.authorization.k8s.io/v1' : 'v1';
}
