// The thin I/O shell: client-node calls behind the narrow functions the pure code asks for.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  HttpMethod,
  type RequestContext,
  type Configuration,
  type KubernetesObject,
  type V1Lease,
} from '@kubernetes/client-node';
import { apiClient, signalOptions, type ApiClientOptions } from './deadline.js';
import type { LeaseApi } from './leader.js';

/**
 * Deadline of one API request (headers and body) unless a caller says otherwise: far above an API server's
 * normal latency, far below "for ever". Lists of large collections get longer (see the informers).
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const defaults = (o?: Partial<ApiClientOptions>): ApiClientOptions => ({ timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, ...o });

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

export function describeApiError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string; name?: string };
  if (e?.code && e.body) {
    try {
      const status = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      return `${e.code}: ${(status as { message?: string }).message ?? String(e.body)}`;
    } catch {
      return `${e.code}: ${String(e.body)}`;
    }
  }
  return e?.message ?? String(error);
}

/** Per-call cancellations handed to BoundedObjectApi through the Configuration its methods take. */
const callSignals = new WeakMap<Configuration, AbortSignal>();

export class BoundedObjectApi extends KubernetesObjectApi {
  withDefaultNamespace(kc: KubeConfig): this {
    this.setDefaultNamespace(kc);
    return this;
  }

  /**
   * This client's configuration with a per-call cancellation. (KubernetesObjectApi runs only its own
   * configuration's middleware, so the signal goes onto the request itself, in requestPromise.)
   */
  withSignal(signal: AbortSignal | undefined): Configuration | undefined {
    if (!signal) return undefined;
    const config = { ...this.configuration };
    callSignals.set(config, signal);
    return config;
  }

  /** A JSON patch (RFC 6902) of any object: `ref` names it (apiVersion, kind, name, namespace). */
  async jsonPatch(ref: KubernetesObject, ops: unknown[], fieldManager: string, signal?: AbortSignal): Promise<KubernetesObject> {
    const path = await this.specUriPath(ref, 'patch');
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    request.setHeaderParam('Content-Type', PatchStrategy.JsonPatch);
    request.setQueryParam('fieldManager', fieldManager);
    request.setBody(JSON.stringify(ops));
    return this.requestPromise(request, undefined, this.withSignal(signal));
  }

  protected override requestPromise<T extends KubernetesObject>(request: RequestContext, type?: string, options?: Configuration): Promise<T> {
    const signal = options ? callSignals.get(options) : undefined;
    if (signal) request.setSignal(signal);
    return super.requestPromise<T>(request, type, options);
  }
}

/** KubernetesObjectApi.makeApiClient with a deadline on every request. */
export function objectApi(kc: KubeConfig, options?: Partial<ApiClientOptions>): BoundedObjectApi {
  return apiClient(kc, BoundedObjectApi, defaults(options)).withDefaultNamespace(kc);
}

/** Server-side apply with our field manager; force, because the operator is the only author of its children. */
export function serverSideApply(
  kc: KubeConfig,
  fieldManager: string,
  options?: Partial<ApiClientOptions>,
): (obj: KubernetesObject, signal?: AbortSignal) => Promise<KubernetesObject> {
  const client = objectApi(kc, options);
  // The server's response (the object as applied): the operator judges it until its watch shows the write.
  return (obj, signal) => client.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply, client.withSignal(signal));
}

/** patchResourceStatus: a JSON patch of the status subresource (see operator/status-patch.ts for why JSON patch). */
export function patchResourceStatus(kc: KubeConfig, ref: ResourceRef, fieldManager: string, options?: Partial<ApiClientOptions>) {
  const api = apiClient(kc, CustomObjectsApi, defaults(options));
  return async (namespace: string, name: string, ops: unknown[], signal?: AbortSignal): Promise<void> => {
    await api.patchNamespacedCustomObjectStatus(
      { ...ref, namespace, name, body: ops, fieldManager },
      signalOptions(signal, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
    );
  };
}

export interface EventInput {
  involved: KubernetesObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  component: string;
}

/** A core/v1 Event about `involved` (what `kubectl describe` lists). */
export function eventRecorder(kc: KubeConfig, options?: Partial<ApiClientOptions>): (e: EventInput, signal?: AbortSignal) => Promise<void> {
  const core = apiClient(kc, CoreV1Api, defaults(options));
  return async (e, signal) => {
    const m = e.involved.metadata ?? {};
    const now = new Date();
    await core.createNamespacedEvent({
      namespace: m.namespace ?? 'default',
      body: {
        metadata: { generateName: `${m.name}.`, namespace: m.namespace ?? 'default' },
        involvedObject: { apiVersion: e.involved.apiVersion, kind: e.involved.kind, name: m.name, namespace: m.namespace, uid: m.uid },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: e.component },
        reportingComponent: e.component,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    }, signalOptions(signal));
  };
}

/** The elector bounds each attempt itself (its signal); the client deadline is a backstop. */
export function leaseApi(kc: KubeConfig, options?: Partial<ApiClientOptions>): LeaseApi {
  const api = apiClient(kc, CoordinationV1Api, defaults(options));
  return {
    async read(namespace, name, signal) {
      try {
        return await api.readNamespacedLease({ namespace, name }, signalOptions(signal));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    create: (lease: V1Lease, signal) =>
      api.createNamespacedLease({ namespace: lease.metadata?.namespace ?? '', body: lease }, signalOptions(signal)),
    replace: (lease: V1Lease, signal) =>
      api.replaceNamespacedLease(
        { namespace: lease.metadata?.namespace ?? '', name: lease.metadata?.name ?? '', body: lease },
        signalOptions(signal),
      ),
  };
}
