// Which children this PLB may write, and what its Deployment says about creating pods. Pure.
// A child is ours only if its controller owner reference names this PLB (by uid): a ServiceAccount, Role or
// Deployment called `<plb>-lb` that someone else made is never force-applied over (which would adopt it and
// have the garbage collector delete it with the PLB); the PLB says so instead (condition reason ChildConflict).
// In a class's namespace no owner reference can point at the PLB: there a child is ours when it has no
// controller and carries our managed-by label and the labels naming this PLB (class/cleanup.ts belongsTo).
import type { KubernetesObject, V1Deployment, V1OwnerReference, V1ReplicaSet } from '@kubernetes/client-node';
import { LABEL_MANAGED_BY, OPERATOR_FIELD_MANAGER } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { belongsTo } from './class/cleanup.js';

export function controllerOf(obj: KubernetesObject): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller);
}

/**
 * Why `live` (the object named like `planned`) is not this PLB's to write, for people; undefined when it is.
 * `planned` gives the kind: objects from a list carry none.
 */
export function childConflict(planned: KubernetesObject, live: KubernetesObject | undefined, plb: PortableLoadBalancer): string | undefined {
  if (!live) return undefined;
  const ref = controllerOf(live);
  if (ref && ref.uid === plb.metadata?.uid) return undefined;
  const elsewhere = planned.metadata?.namespace !== plb.metadata?.namespace;
  if (elsewhere && !ref && live.metadata?.labels?.[LABEL_MANAGED_BY] === OPERATOR_FIELD_MANAGER && belongsTo(live, plb)) return undefined;
  const m = planned.metadata ?? {};
  const who = ref ? `is controlled by ${ref.kind} ${ref.name}` : 'has no controller';
  return `${planned.kind} ${m.namespace}/${m.name} already exists and ${who}, not by this PortableLoadBalancer: ` +
    "the operator leaves it alone and applies none of this PLB's children until it is deleted or renamed";
}

const revision = (o: KubernetesObject) => Number(o.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/**
 * Why the Deployment's pods cannot be created (Pod Security admission, a missing PriorityClass, quota), as
 * Kubernetes says it: the newest owned ReplicaSet's ReplicaFailure condition (reason FailedCreate), else the
 * Deployment's own ReplicaFailure. undefined when nothing fails.
 */
export function podCreationFailure(
  deployment: V1Deployment | undefined,
  replicaSets: readonly V1ReplicaSet[],
): { reason: string; message: string } | undefined {
  if (!deployment) return undefined;
  const owned = replicaSets
    .filter((rs) => rs.metadata?.ownerReferences?.some((r) => r.controller && r.uid === deployment.metadata?.uid))
    .sort((a, b) => revision(b) - revision(a));
  for (const rs of owned) {
    const c = rs.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
    if (c) return { reason: c.reason || 'ReplicaFailure', message: c.message ?? '' };
  }
  const d = deployment.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  return d ? { reason: d.reason || 'ReplicaFailure', message: d.message ?? '' } : undefined;
}
