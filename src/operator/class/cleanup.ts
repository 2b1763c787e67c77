// LB pods in another namespace (a class's) cannot be owned by their PLB: owner references do not cross
// namespaces, so the garbage collector would never remove them. The PLB carries a finalizer instead, and the
// operator deletes what it made there. The same scan finds children a class change left behind. Pure.
import type { KubernetesObject } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../api/constants.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import { LABEL_PLB_NAMESPACE } from '../naming.js';

export const CLEANUP_FINALIZER = 'portablelb.io/cleanup';

/** Whether a child (of any kind, in any namespace) was made for this PLB. */
export function belongsTo(child: KubernetesObject, plb: PortableLoadBalancer): boolean {
  const labels = child.metadata?.labels ?? {};
  const plbNamespace = plb.metadata?.namespace ?? '';
  if (labels[LABEL_PLB] !== plb.metadata?.name) return false;
  return (labels[LABEL_PLB_NAMESPACE] ?? child.metadata?.namespace) === plbNamespace;
}

const id = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;

/** The PLB's children that the current plan no longer has (kind, namespace and name). */
export function staleChildren(existing: readonly KubernetesObject[], planned: readonly KubernetesObject[]): KubernetesObject[] {
  const keep = new Set(planned.map(id));
  return existing.filter((c) => !keep.has(id(c)));
}

/** Whether the PLB needs the finalizer: it has, or is about to have, children where no owner reference reaches. */
export function needsFinalizer(plb: PortableLoadBalancer, podNamespace: string | undefined, existing: readonly KubernetesObject[]): boolean {
  const own = plb.metadata?.namespace ?? '';
  return (podNamespace !== undefined && podNamespace !== own) || existing.some((c) => c.metadata?.namespace !== own);
}
