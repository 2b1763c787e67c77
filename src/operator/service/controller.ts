// The Service type LoadBalancer controller: watches Services and the PLBs it made for them, and reconciles one
// Service at a time. Runs in the operator process next to the PLB controller, and writes only while that one
// leads (the same Lease). Wiring only: what to write is reconcile.ts's business.
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Service,
} from '@kubernetes/client-node';
import { OPERATOR_FIELD_MANAGER, PLB } from '../../api/constants.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { watchResource, type WatchedResource } from '../../runtime/informer.js';
import { apiClient } from '../../runtime/deadline.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, describeApiError, eventRecorder, isNotFound, serverSideApply } from '../../runtime/kube.js';
import type { Logger } from '../../runtime/log.js';
import { WorkQueue } from '../../runtime/workqueue.js';
import { LABEL_SERVICE } from './plan.js';
import { reconcileService, type ServicePorts } from './reconcile.js';

export interface ServiceControllerOptions {
  kubeConfig: KubeConfig;
  log: Logger;
  /** Serve Services without spec.loadBalancerClass too (the cluster's default load balancer). */
  classless: boolean;
  resyncMs?: number;
  clock?: Clock;
}

const keyOf = (ns: string, name: string) => `${ns}/${name}`;

export class ServiceController {
  readonly #o: ServiceControllerOptions;
  readonly #queue: WorkQueue;
  #services!: WatchedResource<V1Service>;
  #plbs!: WatchedResource<PortableLoadBalancer>;
  #resync: unknown;
  writes = 0;

  constructor(o: ServiceControllerOptions) {
    this.#o = o;
    this.#queue = new WorkQueue({
      clock: o.clock ?? systemClock,
      onResult: (key, outcome, error) => {
        if (outcome === 'error') o.log.warn('Service reconcile failed; retrying with backoff', { key, error: describeApiError(error) });
      },
    });
    // Nothing is written before the leader says so (setLeading).
    this.#queue.pause(true);
  }

  get ready(): boolean {
    return Boolean(this.#services?.synced && this.#plbs?.synced);
  }

  setLeading(leading: boolean): void {
    this.#queue.pause(!leading);
    if (leading) this.#enqueueAll();
  }

  #enqueueAll(): void {
    for (const s of this.#services?.list() ?? []) this.#queue.add(keyOf(s.metadata?.namespace ?? '', s.metadata?.name ?? ''));
  }

  start(): void {
    const kc = this.#o.kubeConfig;
    // Every request bounded (runtime/deadline.ts): a hung write must not hold the queue.
    const core = apiClient(kc, CoreV1Api, { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
    const custom = apiClient(kc, CustomObjectsApi, { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
    const log = this.#o.log.child({ controller: 'service' });
    const lifecycle = (kind: string) => (event: string, error?: unknown) => {
      if (event === 'error') log.warn('watch failed; restarting with backoff', { watch: kind, error: describeApiError(error) });
    };
    this.#services = watchResource<V1Service>(
      kc,
      { path: '/api/v1/services', list: () => core.listServiceForAllNamespaces(), onLifecycle: lifecycle('Service') },
      (e) => this.#queue.add(keyOf(e.object.metadata?.namespace ?? '', e.object.metadata?.name ?? '')),
    );
    this.#plbs = watchResource<PortableLoadBalancer>(
      kc,
      {
        path: `/apis/${PLB.group}/${PLB.version}/${PLB.plural}`,
        labelSelector: LABEL_SERVICE,
        list: () => custom.listClusterCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural, labelSelector: LABEL_SERVICE }) as never,
        onLifecycle: lifecycle('PortableLoadBalancer'),
      },
      (e) => {
        const svc = e.object.metadata?.labels?.[LABEL_SERVICE];
        if (svc) this.#queue.add(keyOf(e.object.metadata?.namespace ?? '', svc));
      },
    );

    const apply = serverSideApply(kc, OPERATOR_FIELD_MANAGER);
    const record = eventRecorder(kc);
    const count = async <T>(write: Promise<T>): Promise<T> => {
      const r = await write;
      this.writes++;
      return r;
    };
    const ports: ServicePorts = {
      getService: (ns, name) => this.#services.get(name, ns),
      ownedPlbs: (svc) => this.#plbs.list(svc.metadata?.namespace).filter((p) => p.metadata?.labels?.[LABEL_SERVICE] === svc.metadata?.name),
      readPlb: async (ns, name) => {
        try {
          return (await custom.getNamespacedCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural, namespace: ns, name })) as PortableLoadBalancer;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      applyPlb: async (plb) => { await count(apply(plb)); },
      deletePlb: async (ns, name) => {
        try {
          await count(custom.deleteNamespacedCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural, namespace: ns, name }));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      },
      patchService: (ns, name, ops) =>
        count(core.patchNamespacedService({ namespace: ns, name, body: ops, fieldManager: OPERATOR_FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch))).then(() => undefined),
      applyStatus: (ns, name, status) =>
        count(
          core.patchNamespacedServiceStatus(
            {
              namespace: ns,
              name,
              fieldManager: OPERATOR_FIELD_MANAGER,
              force: true,
              // Server-side apply: we own ingress and our two condition types; other writers' conditions stay.
              body: {
                apiVersion: 'v1',
                kind: 'Service',
                metadata: { name, namespace: ns },
                status: status ? { loadBalancer: { ingress: status.ingress }, conditions: status.conditions } : {},
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
          ),
        ).then(() => undefined),
      recordEvent: async (svc, event) => {
        try {
          await record({ involved: { ...svc, apiVersion: 'v1', kind: 'Service' }, ...event, component: OPERATOR_FIELD_MANAGER });
        } catch (error) {
          log.warn('could not record an event', { reason: event.reason, error: describeApiError(error) });
        }
      },
      now: () => new Date((this.#o.clock ?? systemClock).now()),
    };
    this.#queue.start(async (key) => {
      // Decide only from complete caches: an early pass would not see the PLBs it made and make them again.
      if (!this.ready) throw new Error('caches not synced yet');
      const [ns = '', name = ''] = key.split('/');
      const r = await reconcileService(ns, name, ports, { classless: this.#o.classless });
      if (r.writes > 0) log.info('reconciled Service', { key, writes: r.writes });
    });
    const clock = this.#o.clock ?? systemClock;
    const resync = () => {
      this.#enqueueAll();
      this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
    };
    this.#resync = clock.setTimeout(resync, this.#o.resyncMs ?? 5 * 60_000);
  }

  whenIdle(): Promise<void> {
    return this.#queue.whenIdle();
  }

  async stop(): Promise<void> {
    (this.#o.clock ?? systemClock).clearTimeout(this.#resync);
    this.#queue.stop();
    await Promise.all([this.#services?.stop(), this.#plbs?.stop()]);
  }
}
