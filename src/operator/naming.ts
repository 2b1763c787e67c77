// Names and labels of the children of a PortableLoadBalancer. Stable: changing them orphans running objects.
import { createHash } from 'node:crypto';
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import {
  APP_NAME,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PLB,
  OPERATOR_FIELD_MANAGER,
  PLB,
} from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';

/** The Deployment, ServiceAccount, Role and RoleBinding all share this name. */
export const childName = (plbName: string): string => `${plbName}-lb`;

/** The Secret with the BGPPeers that serve the PLB, resolved for its LB pods: beside them, named after them. */
export const bgpSecretName = (lbChildName: string): string => `${lbChildName}-bgp`;

/** The namespace of the PLB, on children that live in another one (a class's namespace holds many tenants'). */
export const LABEL_PLB_NAMESPACE = 'portablelb.io/namespace';

/**
 * The name of a child in the LB pods' namespace: `<plb>-lb` in the PLB's own namespace (as always), and one that
 * cannot collide between tenants in a shared one: `<namespace>-<plb>` cut to fit, a hash of both, `-lb`.
 */
export function podChildName(plbNamespace: string, plbName: string, podNamespace: string): string {
  if (podNamespace === plbNamespace) return childName(plbName);
  const hash = createHash('sha256').update(`${plbNamespace}/${plbName}`).digest('hex').slice(0, 8);
  return `${`${plbNamespace}-${plbName}`.slice(0, 40).replace(/[-.]+$/, '')}-${hash}-lb`;
}

/**
 * Labels that select the LB pods of one PLB; immutable once a Deployment exists. In a shared namespace the PLB's
 * namespace joins them (two tenants may both have a PLB "web"); in its own namespace they stay as they were.
 */
export function selectorLabels(plbName: string, plbNamespace?: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_PLB]: plbName, ...(plbNamespace ? { [LABEL_PLB_NAMESPACE]: plbNamespace } : {}) };
}

export function childLabels(plbName: string, plbNamespace?: string): Record<string, string> {
  return {
    ...selectorLabels(plbName, plbNamespace),
    [LABEL_INSTANCE]: plbName,
    [LABEL_COMPONENT]: 'load-balancer',
    [LABEL_MANAGED_BY]: OPERATOR_FIELD_MANAGER,
  };
}

/** The label selector the operator's informers use to see only its own children. */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${OPERATOR_FIELD_MANAGER}`;

export function ownerReference(plb: PortableLoadBalancer): V1OwnerReference {
  const { name, uid } = plb.metadata ?? {};
  if (!name || !uid) throw new Error('a PortableLoadBalancer read from the API always has a name and uid');
  return { apiVersion: PLB.apiVersion, kind: PLB.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/**
 * Metadata of a child in `namespace`: owned by the PLB (garbage-collected with it) in the PLB's own namespace;
 * elsewhere no owner reference can point across namespaces, so its labels and the PLB's finalizer
 * (src/operator/class/cleanup.ts) see to its removal.
 */
export function childMeta(plb: PortableLoadBalancer, namespace: string): Required<Pick<V1ObjectMeta, 'name' | 'namespace' | 'labels'>> & V1ObjectMeta {
  const plbName = plb.metadata?.name ?? '';
  const plbNamespace = plb.metadata?.namespace ?? '';
  const elsewhere = namespace !== plbNamespace;
  return {
    name: podChildName(plbNamespace, plbName, namespace),
    namespace,
    labels: childLabels(plbName, elsewhere ? plbNamespace : undefined),
    ...(elsewhere ? {} : { ownerReferences: [ownerReference(plb)] }),
  };
}
