// The LB pods on one node and the PLB each belongs to: the one reading of their labels that the node's routes
// (routes.ts), its announcements (announce.ts) and its status reports (status.ts) share. Pure.
import type { V1Pod } from '@kubernetes/client-node';
import { APP_NAME, LABEL_NAME, LABEL_PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { LABEL_PLB_NAMESPACE } from '../operator/naming.js';

export const plbKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ''}/${name ?? ''}`;

export const keyOf = (plb: PortableLoadBalancer): string => plbKey(plb.metadata?.namespace, plb.metadata?.name);

export interface LbPodOf {
  pod: V1Pod;
  plb: PortableLoadBalancer;
}

/**
 * The LB pods scheduled on `node` whose PLB exists, with that PLB. An LB pod may run in another namespace than
 * its PLB (a class's podNamespace): its portablelb.io/namespace label names the PLB's.
 */
export function lbPodsOn(node: string, pods: readonly V1Pod[], plbs: readonly PortableLoadBalancer[]): LbPodOf[] {
  const byKey = new Map(plbs.map((p) => [keyOf(p), p]));
  const out: LbPodOf[] = [];
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {};
    if (labels[LABEL_NAME] !== APP_NAME || !labels[LABEL_PLB] || pod.spec?.nodeName !== node) continue;
    const plb = byKey.get(plbKey(labels[LABEL_PLB_NAMESPACE] ?? pod.metadata?.namespace, labels[LABEL_PLB]));
    if (plb) out.push({ pod, plb });
  }
  return out;
}
