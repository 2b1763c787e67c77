// Names and labels of the children of a PortableLoadBalancer. Stable: changing them orphans running objects.
import type { V1OwnerReference } from '@kubernetes/client-node';
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

/** Labels that select the LB pods of one PLB; immutable once a Deployment exists. */
export function selectorLabels(plbName: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_PLB]: plbName };
}

export function childLabels(plbName: string): Record<string, string> {
  return {
    ...selectorLabels(plbName),
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
