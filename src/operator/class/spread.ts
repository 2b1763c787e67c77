// A class's topology spread constraints, made to select the LB pods of one PLB. Pure.
import type { V1TopologySpreadConstraint } from '@kubernetes/client-node';

/** A constraint without a labelSelector would count every pod in the namespace; the class means "this PLB's". */
export function spreadConstraints(constraints: readonly V1TopologySpreadConstraint[], selector: Record<string, string>): V1TopologySpreadConstraint[] {
  return constraints.map((c) => (c.labelSelector ? c : { ...c, labelSelector: { matchLabels: selector } }));
}
