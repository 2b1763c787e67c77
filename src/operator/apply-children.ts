// The children's writes of one pass: refuse what is not ours, remove what others added in fields we own, apply
// what changed or drifted. Never throws: the outcome goes into the status (reconcile.ts), which says why.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ANNOTATION_SPEC_HASH, OPERATOR_FIELD_MANAGER } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { describeApiError } from '../runtime/kube.js';
import type { JsonPatchOp } from '../runtime/json-patch.js';
import { childConflict } from './children.js';
import { childDrift } from './drift.js';
import type { ChildrenOutcome } from './status.js';

/** The subset of ReconcilePorts this needs. */
export interface ChildPorts {
  getChild(kind: string, namespace: string, name: string): KubernetesObject | undefined;
  readChild(kind: string, namespace: string, name: string): Promise<KubernetesObject | undefined>;
  applyChild(child: KubernetesObject): Promise<void>;
  patchChild(child: KubernetesObject, ops: JsonPatchOp[]): Promise<void>;
}

export interface ChildrenApplied {
  writes: number;
  outcome: ChildrenOutcome;
  /** Children whose owned fields had drifted, and how (for the log). */
  repaired: { child: string; reasons: string[] }[];
}

export const describeChild = (c: KubernetesObject) => `${c.kind} ${c.metadata?.namespace}/${c.metadata?.name}`;

/**
 * `writeOnly(child)`: a kind the operator may write but not read (the BGP Secret): never read, checked or
 * compared; `skip(child)` says whether it is current.
 */
export async function applyChildren(
  plb: PortableLoadBalancer,
  planned: readonly KubernetesObject[],
  ports: ChildPorts,
  writeOnly: (child: KubernetesObject) => { current: boolean } | undefined = () => undefined,
): Promise<ChildrenApplied> {
  const live = new Map<KubernetesObject, KubernetesObject | undefined>();
  const outcome: ChildrenOutcome = { conflicts: [] };
  const repaired: ChildrenApplied['repaired'] = [];
  let writes = 0;
  // The caches hold only what carries our label: an object someone else made may still be there, so what they
  // lack is read, all at once (a new PLB's children are all missing: one round trip after another was 4 of its
  // pass's 12).
  const read = await Promise.all(planned.filter((child) => !writeOnly(child)).map(async (child) => {
    const m = child.metadata ?? {};
    const cached = ports.getChild(child.kind ?? '', m.namespace ?? '', m.name ?? '');
    try {
      return { child, have: cached ?? await ports.readChild(child.kind ?? '', m.namespace ?? '', m.name ?? '') };
    } catch (error) {
      return { child, error };
    }
  }));
  for (const r of read) {
    if ('error' in r) return { writes, repaired, outcome: { ...outcome, applyError: `reading ${describeChild(r.child)} failed: ${describeApiError(r.error)}` } };
    live.set(r.child, r.have);
    const conflict = childConflict(r.child, r.have, plb);
    if (conflict) outcome.conflicts.push(conflict);
  }
  // Not one write while any child is someone else's: applying the rest would half-adopt the set.
  if (outcome.conflicts.length > 0) return { writes, outcome, repaired };
  for (const child of planned) {
    const wo = writeOnly(child);
    const have = live.get(child);
    const changed = wo ? !wo.current : have?.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== child.metadata?.annotations?.[ANNOTATION_SPEC_HASH];
    // Also when unchanged: someone may have scaled, edited or added to it since (drift.ts).
    const drift = have && !wo ? childDrift(child, have, OPERATOR_FIELD_MANAGER) : undefined;
    if (!changed && !drift) continue;
    if (drift && !changed) repaired.push({ child: describeChild(child), reasons: drift.reasons });
    try {
      if (drift && drift.removals.length > 0) {
        await ports.patchChild(child, drift.removals);
        writes++;
      }
      await ports.applyChild(child);
      writes++;
    } catch (error) {
      // Later children (the Deployment last) need the earlier ones: stop here.
      return { writes, repaired, outcome: { ...outcome, applyError: `applying ${describeChild(child)} failed: ${describeApiError(error)}` } };
    }
  }
  return { writes, outcome, repaired };
}
