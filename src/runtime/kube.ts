// The thin I/O shell: client-node calls behind the narrow functions the pure code asks for.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Lease,
} from '@kubernetes/client-node';
import type { LeaseApi } from './leader.js';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

export function describeApiError(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string };
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

/** Server-side apply with our field manager; force, because the operator is the only author of its children. */
export function serverSideApply(kc: KubeConfig, fieldManager: string): (obj: KubernetesObject) => Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  return async (obj) => {
    await client.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  };
}

/** patchResourceStatus: a JSON patch of the status subresource (see operator/status-patch.ts for why JSON patch). */
export function patchResourceStatus(kc: KubeConfig, ref: ResourceRef, fieldManager: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace: string, name: string, ops: unknown[]): Promise<void> => {
    await api.patchNamespacedCustomObjectStatus(
      { ...ref, namespace, name, body: ops, fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
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
export function eventRecorder(kc: KubeConfig): (e: EventInput) => Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (e) => {
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
    });
  };
}

export function leaseApi(kc: KubeConfig): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async read(namespace, name) {
      try {
        return await api.readNamespacedLease({ namespace, name });
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    create: (lease: V1Lease) => api.createNamespacedLease({ namespace: lease.metadata?.namespace ?? '', body: lease }),
    replace: (lease: V1Lease) =>
      api.replaceNamespacedLease({ namespace: lease.metadata?.namespace ?? '', name: lease.metadata?.name ?? '', body: lease }),
  };
}
