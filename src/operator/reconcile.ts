// One pass for one PortableLoadBalancer: read from caches, compute (pure), write only what changed.
// Shape from metallb's SetBalancer: desired state first, then at most one apply per changed child and one
// status patch; errors go back to the work queue, which retries with backoff.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { finalizerStep } from '../runtime/finalizer.js';
import type { AddressDecision } from './address/claims.js';
import { childrenToApply, plannedChildren } from './apply-plan.js';
import { CLEANUP_FINALIZER, needsFinalizer, staleChildren } from './class/cleanup.js';
import type { ClassResolution } from './class/resolve.js';
import { countBackends } from '../api/selector.js';
import type { OperatorSettings } from './desired.js';
import { transitionEvents, type PlbEvent } from './events.js';
import { LABEL_PLB_NAMESPACE } from './naming.js';
import { computeStatus, liveEntries } from './status.js';
import { statusPatch, type JsonPatchOp } from './status-patch.js';

/** Everything reconcile reads or writes. Reads come from informer caches; writes go to the API. */
export interface ReconcilePorts {
  getPlb(namespace: string, name: string): PortableLoadBalancer | undefined;
  /** Pods of a namespace (backends are selected from them, LB pods are recognised by label). */
  listPods(namespace: string): readonly V1Pod[];
  getChild(kind: string, namespace: string, name: string): KubernetesObject | undefined;
  /** Every cached child made for this PLB, in any namespace (src/operator/class/cleanup.ts belongsTo). */
  listChildren(plb: PortableLoadBalancer): readonly KubernetesObject[];
  applyChild(child: KubernetesObject): Promise<void>;
  deleteChild(child: KubernetesObject): Promise<void>;
  /** The VIP this PLB holds, from the allocator; reserved as it is decided. */
  address(plb: PortableLoadBalancer): AddressDecision;
  /** Where its LB pods run, from its PortableLoadBalancerClass. */
  placement(plb: PortableLoadBalancer): ClassResolution;
  /** A JSON patch of the PLB itself (its finalizers). */
  patchPlb(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  patchStatus(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  /** Best effort: a failed event must not fail the pass (the status already says it). */
  recordEvent(plb: PortableLoadBalancer, event: PlbEvent): Promise<void>;
  now(): Date;
}

export interface ReconcileResult {
  /** API writes this pass made: 0 for an object already in its desired state. */
  writes: number;
}

/** The LB pods of this PLB in `podNamespace` (in a shared namespace, another tenant's PLB may have its name). */
function lbPodsOf(plb: PortableLoadBalancer, pods: readonly V1Pod[]): V1Pod[] {
  const name = plb.metadata?.name;
  const namespace = plb.metadata?.namespace;
  return pods.filter((p) => p.metadata?.labels?.[LABEL_PLB] === name && (p.metadata?.labels?.[LABEL_PLB_NAMESPACE] ?? p.metadata?.namespace) === namespace);
}

export async function reconcile(
  namespace: string,
  name: string,
  ports: ReconcilePorts,
  settings: OperatorSettings,
): Promise<ReconcileResult> {
  const plb = ports.getPlb(namespace, name);
  if (!plb) return { writes: 0 };
  const existing = ports.listChildren(plb);
  let writes = 0;

  // Going: children here go with their owner references; those elsewhere are deleted before the finalizer goes.
  if (plb.metadata?.deletionTimestamp) {
    const step = finalizerStep(plb, CLEANUP_FINALIZER, false);
    if (step.action !== 'cleanup') return { writes };
    const elsewhere = existing.filter((c) => c.metadata?.namespace !== namespace);
    for (const child of elsewhere) {
      await ports.deleteChild(child);
      writes++;
    }
    // Removed only once the caches show them gone: a pass may run before the deletes are seen.
    if (elsewhere.length === 0) {
      const done = finalizerStep(plb, CLEANUP_FINALIZER, true);
      if (done.action === 'remove') {
        await ports.patchPlb(namespace, name, done.patch);
        writes++;
      }
    }
    return { writes };
  }

  const resolution = ports.placement(plb);
  const placement = resolution.placement;
  if (needsFinalizer(plb, placement?.podNamespace, existing)) {
    const step = finalizerStep(plb, CLEANUP_FINALIZER, false);
    if (step.action === 'add') {
      // Before anything is created where no owner reference reaches.
      await ports.patchPlb(namespace, name, step.patch);
      writes++;
    }
  }

  const address = ports.address(plb);
  const podNamespace = placement?.podNamespace ?? plb.status?.podNamespace ?? namespace;
  if (placement) {
    const planned = plannedChildren(plb, settings, placement);
    for (const child of childrenToApply(planned, ports.getChild)) {
      await ports.applyChild(child);
      writes++;
    }
    // Moved to another namespace (a class change): the old LB pods go once a new one serves, never before.
    const stale = staleChildren(existing, planned);
    const newPods = new Set(lbPodsOf(plb, ports.listPods(podNamespace)).map((p) => p.metadata?.name));
    const serving = liveEntries(plb.status?.loadBalancers, ports.listPods(podNamespace)).some((e) => e.ready && newPods.has(e.pod));
    if (stale.length > 0 && (serving || !address.vip)) {
      for (const child of stale) {
        await ports.deleteChild(child);
        writes++;
      }
    }
  }

  const pods = ports.listPods(namespace);
  const lbPods = [...lbPodsOf(plb, pods), ...(podNamespace !== namespace ? lbPodsOf(plb, ports.listPods(podNamespace)) : [])];
  const selector = plb.spec.backends.selector;
  // The LB's own pods never count as its backends, even if the user's selector happens to match them.
  const backends = selector ? countBackends(selector, pods, (p) => p.metadata?.labels?.[LABEL_PLB] !== undefined) : undefined;
  const status = computeStatus(
    plb,
    {
      lbPods,
      backends,
      gates: [resolution.condition, address.condition],
      problems: address.degraded ? [address.degraded] : [],
      assigned: {
        ...(address.vip ? { vip: address.vip } : {}),
        ...(address.pool ? { pool: address.pool } : {}),
        ...(placement?.className ? { className: placement.className } : {}),
        podNamespace,
      },
    },
    ports.now(),
  );
  const ops = statusPatch(plb.status, status);
  if (ops.length > 0) {
    await ports.patchStatus(namespace, name, ops);
    writes++;
    for (const event of transitionEvents(plb.status?.conditions, status.conditions ?? [])) await ports.recordEvent(plb, event);
  }
  return { writes };
}
