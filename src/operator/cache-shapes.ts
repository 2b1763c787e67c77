// What the operator keeps of each pod, node, child and PLB in its caches. Pure.
// It watches every pod of the cluster (selector-based backends may be in any namespace, and LB pods in a
// class's), but reads only a few fields of each: labels (selectors, which PLB an LB pod belongs to), deletion
// and phase (a pod going away serves nothing), the Ready condition (backend counts; liveness.ts) and the node
// (liveness.ts, the waiting message); of LB pods only, when each container last exited (liveness.ts's restart
// grace). A kubelet-written pod is 4-10 KiB of JSON and several times that as an
// object; kept whole, tens of thousands of unrelated pods were most of the operator's memory. Lists are read in
// pages (LIST_PAGE_SIZE) and each pod is slimmed before it is kept, so only one page is ever held whole.
// Nodes likewise (a node's status lists its images and can be tens of KiB): the operator reads their names and
// labels (BGPPeer nodeSelectors) and their Ready condition (liveness.ts).
// Children and PLBs are kept whole but for metadata.managedFields, which is most of a server-side-applied
// object: drift.ts reads only other managers' entries outside the status subresource (what someone else added
// inside our fields), and nothing reads a PLB's (one entry per agent).
import type { KubernetesListObject, KubernetesObject, V1ContainerStatus, V1Node, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { LABEL_PLB, OPERATOR_FIELD_MANAGER } from '../api/constants.js';

export const LIST_PAGE_SIZE = 500;

/** The pod with only what the operator reads (name, namespace, uid, resourceVersion and the fields above). */
export function slimPod(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const exits = m.labels?.[LABEL_PLB] !== undefined ? (pod.status?.containerStatuses ?? []).flatMap(exitsOf) : [];
  return {
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
    },
    ...(pod.spec?.nodeName ? { spec: { nodeName: pod.spec.nodeName } as V1Pod['spec'] } : {}),
    status: {
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
      ...(ready ? { conditions: [pick(ready)] } : {}),
      ...(exits.length > 0 ? { containerStatuses: exits } : {}),
    },
  };
}

/** A container's name and when it exited (state and lastState terminated), if it ever did. */
function exitsOf(c: V1ContainerStatus): V1ContainerStatus[] {
  const now = c.state?.terminated?.finishedAt;
  const last = c.lastState?.terminated?.finishedAt;
  if (!now && !last) return [];
  return [{
    name: c.name,
    ready: c.ready,
    restartCount: c.restartCount,
    ...(now ? { state: { terminated: { exitCode: c.state!.terminated!.exitCode, finishedAt: now } } } : {}),
    ...(last ? { lastState: { terminated: { exitCode: c.lastState!.terminated!.exitCode, finishedAt: last } } } : {}),
  } as V1ContainerStatus];
}

const pick = (c: V1PodCondition): V1PodCondition => ({
  type: c.type,
  status: c.status,
  ...(c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}),
});

/** The object without the managedFields entries drift.ts never reads (ours, and status updates). */
export function withForeignFieldsOnly<T extends KubernetesObject>(obj: T): T {
  const entries = obj.metadata?.managedFields;
  if (!entries) return obj;
  const foreign = entries.filter((e) => e.manager !== OPERATOR_FIELD_MANAGER && (e.subresource ?? '') !== 'status');
  const { managedFields: _, ...metadata } = obj.metadata!;
  return { ...obj, metadata: foreign.length > 0 ? { ...metadata, managedFields: foreign } : metadata };
}

/** The object without managedFields (nothing reads a PLB's). */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** The node with its name, labels and Ready condition only. */
export function slimNode(node: V1Node): V1Node {
  const m = node.metadata ?? {};
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    metadata: { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion, ...(m.labels ? { labels: m.labels } : {}) },
    status: ready
      ? { conditions: [{ type: ready.type, status: ready.status, ...(ready.reason ? { reason: ready.reason } : {}), ...(ready.lastTransitionTime ? { lastTransitionTime: ready.lastTransitionTime } : {}) }] }
      : {},
  };
}

type ListMeta = NonNullable<KubernetesListObject<KubernetesObject>['metadata']> & { continue?: string };

/**
 * The token for the next page. Typed clients (CoreV1Api, ...) turn the list's `metadata.continue` into
 * `_continue`; CustomObjectsApi returns the JSON as it came, `continue`. Reading only `_continue` ended every
 * PLB list after its first page: the operator never saw the PLBs past the 500th until they changed.
 */
export function continueToken(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const m = list.metadata as ListMeta | undefined;
  return m?._continue ?? m?.continue;
}

/** Every page of a list, each item slimmed as it arrives; the resourceVersion is the snapshot's (the pages'). */
export async function pagedList<T extends KubernetesObject>(
  page: (cont: string | undefined) => Promise<KubernetesListObject<T>>,
  slim: (item: T) => T,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let cont: string | undefined;
  let last: KubernetesListObject<T>;
  do {
    last = await page(cont);
    for (const item of last.items) items.push(slim(item));
    cont = continueToken(last) || undefined;
  } while (cont);
  const { continue: _raw, ...metadata } = (last.metadata ?? {}) as ListMeta;
  return { ...last, items, metadata: { ...metadata, _continue: undefined } };
}
