// How many LB pods a voluntary disruption may take at once, and how they spread over nodes. Pure.
//
// Without both, `kubectl drain` of one node could evict every LB pod of a PLB (they may all sit on that node:
// a preferred anti-affinity is only a preference), and the VIP would lose all its capacity at once.
//
// PodDisruptionBudget, only when spec.replicas > 1 (with one replica any budget either blocks every drain or
// allows the one eviction anyway): maxUnavailable 1, not minAvailable 1. With 3 or more replicas minAvailable 1
// would let a drain of several nodes take all but one LB pod at once; maxUnavailable 1 keeps N-1 serving, as
// the Deployment's rolling update does (maxUnavailable 0, surge 1). unhealthyPodEvictionPolicy AlwaysAllow: an
// LB pod that is not Ready (crash-looping, never programmed) may always be evicted, so a broken pod never
// blocks a node's drain; healthy ones go one at a time.
//
// Spread: a topology spread constraint on kubernetes.io/hostname, maxSkew 1, DoNotSchedule. Unlike a required
// anti-affinity it lets more replicas than nodes schedule (counts may differ by one), and unlike the preferred
// anti-affinity it had before, the scheduler cannot put two LB pods on one node while another eligible node has
// none. nodeTaintsPolicy Honor: nodes the pod does not tolerate (cordoned, dedicated) are not counted as empty
// domains it must fill; matchLabelKeys pod-template-hash: a rolling update spreads the new revision by itself.
// A class that sets its own constraint for kubernetes.io/hostname decides instead (its other constraints are
// kept, ours is added).
import type { V1ObjectMeta, V1PodDisruptionBudget, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { spreadConstraints } from './class/spread.js';

export const HOSTNAME_KEY = 'kubernetes.io/hostname';

/** The PLB's PodDisruptionBudget, or undefined when it has one replica (the budget is then removed). */
export function podDisruptionBudget(
  meta: V1ObjectMeta,
  selector: Record<string, string>,
  replicas: number,
): V1PodDisruptionBudget | undefined {
  if (replicas <= 1) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta,
    spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  };
}

/** The default spread over nodes. */
export function nodeSpread(selector: Record<string, string>): V1TopologySpreadConstraint {
  return {
    maxSkew: 1,
    topologyKey: HOSTNAME_KEY,
    whenUnsatisfiable: 'DoNotSchedule',
    labelSelector: { matchLabels: selector },
    matchLabelKeys: ['pod-template-hash'],
    nodeTaintsPolicy: 'Honor',
  };
}

/**
 * The LB pods' constraints: the class's (each made to select this PLB's pods when it selects nothing) plus the
 * default node spread unless the class has a constraint for kubernetes.io/hostname.
 */
export function lbPodSpread(
  classConstraints: readonly V1TopologySpreadConstraint[] | undefined,
  selector: Record<string, string>,
): V1TopologySpreadConstraint[] {
  const theirs = spreadConstraints(classConstraints ?? [], selector);
  return theirs.some((c) => c.topologyKey === HOSTNAME_KEY) ? theirs : [...theirs, nodeSpread(selector)];
}
