// When a backlog counts as worked, for the operator and for its peer (kube-controller-manager's Deployment
// controller), and the ratio of their rates. Pure: the benches list the objects and ask these.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';

/** This generation reconciled and its VIP granted (status.vip), as every PLB of the bench can be. */
export function plbConverged(plb: PortableLoadBalancer): boolean {
  const generation = plb.metadata?.generation;
  return generation !== undefined && plb.status?.observedGeneration === generation && Boolean(plb.status?.vip);
}

/**
 * How many Deployments have this generation observed and a ReplicaSet they control (ownerReference with
 * controller: true and their uid), which is what the Deployment controller does for each.
 */
export function deploymentsConverged(deployments: readonly V1Deployment[], replicaSets: readonly V1ReplicaSet[]): number {
  const owners = new Set<string>();
  for (const rs of replicaSets) {
    for (const ref of rs.metadata?.ownerReferences ?? []) {
      if (ref.controller === true && ref.kind === 'Deployment') owners.add(ref.uid);
    }
  }
  return deployments.filter((d) => {
    const generation = d.metadata?.generation;
    return generation !== undefined && d.status?.observedGeneration === generation && owners.has(d.metadata?.uid ?? '');
  }).length;
}

/** The operator's PLBs per second over the peer's Deployments per second: < 1 means the operator is slower. */
export function throughputRatio(operator: { plbs: number; seconds: number }, peer: { deployments: number; seconds: number }): number {
  if (operator.seconds <= 0 || peer.seconds <= 0 || peer.deployments <= 0) throw new Error('throughputRatio: seconds and counts must be positive');
  return (operator.plbs / operator.seconds) / (peer.deployments / peer.seconds);
}
