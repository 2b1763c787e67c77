// One pass for one PortableLoadBalancer: read from caches, compute (pure), write only what changed.
// Shape from metallb's SetBalancer: desired state first, then at most one apply per changed child and one
// status patch; errors go back to the work queue, which retries with backoff.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { childrenToApply, plannedChildren } from './apply-plan.js';
import { countBackends } from '../api/selector.js';
import type { OperatorSettings } from './desired.js';
import { transitionEvents, type PlbEvent } from './events.js';
import { computeStatus } from './status.js';
import { statusPatch, type JsonPatchOp } from './status-patch.js';

/** Everything reconcile reads or writes. Reads come from informer caches; writes go to the API. */
export interface ReconcilePorts {
  getPlb(namespace: string, name: string): PortableLoadBalancer | undefined;
  /** Pods of a namespace (backends are selected from them, LB pods are recognised by label). */
  listPods(namespace: string): readonly V1Pod[];
  getChild(kind: string, namespace: string, name: string): KubernetesObject | undefined;
  applyChild(child: KubernetesObject): Promise<void>;
  patchStatus(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  /** Best effort: a failed event must not fail the pass (the status already says it). */
  recordEvent(plb: PortableLoadBalancer, event: PlbEvent): Promise<void>;
  now(): Date;
}

export interface ReconcileResult {
  /** API writes this pass made: 0 for an object already in its desired state. */
  writes: number;
}

export async function reconcile(
  namespace: string,
  name: string,
  ports: ReconcilePorts,
  settings: OperatorSettings,
): Promise<ReconcileResult> {
  const plb = ports.getPlb(namespace, name);
  // Gone or going: owner references let the garbage collector remove the children.
  if (!plb || plb.metadata?.deletionTimestamp) return { writes: 0 };

  let writes = 0;
  for (const child of childrenToApply(plannedChildren(plb, settings), ports.getChild)) {
    await ports.applyChild(child);
    writes++;
  }

  const pods = ports.listPods(namespace);
  const isOwnPod = (p: V1Pod) => p.metadata?.labels?.[LABEL_PLB] === name;
  const lbPods = pods.filter(isOwnPod);
  const selector = plb.spec.backends.selector;
  // The LB's own pods never count as its backends, even if the user's selector happens to match them.
  const backends = selector ? countBackends(selector, pods, (p) => p.metadata?.labels?.[LABEL_PLB] !== undefined) : undefined;
  const status = computeStatus(plb, { lbPods, backends }, ports.now());
  const ops = statusPatch(plb.status, status);
  if (ops.length > 0) {
    await ports.patchStatus(namespace, name, ops);
    writes++;
    for (const event of transitionEvents(plb.status?.conditions, status.conditions ?? [])) await ports.recordEvent(plb, event);
  }
  return { writes };
}
