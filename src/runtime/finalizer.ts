// handleResourceFinalizer: @dot-i/k8s-operator's helper, without its race. Finalizers are changed with a JSON
// patch guarded by a `test` of the current list, so another controller's finalizer is never overwritten; a
// conflict fails the patch and the work queue retries.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { JsonPatchOp } from './json-patch.js';

export type FinalizerStep = { action: 'none' } | { action: 'add' | 'remove'; patch: JsonPatchOp[] } | { action: 'cleanup' };

/**
 * What to do about `finalizer` on `obj`: add it to a live object, run cleanup for a deleting one that still
 * carries it, then remove it. Pure; the caller performs the patch or the cleanup.
 */
export function finalizerStep(obj: KubernetesObject, finalizer: string, cleanedUp: boolean): FinalizerStep {
  const current = obj.metadata?.finalizers ?? [];
  const has = current.includes(finalizer);
  const deleting = Boolean(obj.metadata?.deletionTimestamp);
  const guard: JsonPatchOp[] = obj.metadata?.finalizers
    ? [{ op: 'test', path: '/metadata/finalizers', value: current }]
    : [];
  if (!deleting) {
    if (has) return { action: 'none' };
    const value = [...current, finalizer];
    return { action: 'add', patch: [...guard, { op: obj.metadata?.finalizers ? 'replace' : 'add', path: '/metadata/finalizers', value }] };
  }
  if (!has) return { action: 'none' };
  if (!cleanedUp) return { action: 'cleanup' };
  return {
    action: 'remove',
    patch: [...guard, { op: 'replace', path: '/metadata/finalizers', value: current.filter((f) => f !== finalizer) }],
  };
}

/**
 * Runs the finalizer protocol for one object: returns true when the caller should stop reconciling it
 * (it is being deleted). `patch` applies a JSON patch to the object; `cleanup` releases external state.
 */
export async function handleResourceFinalizer(
  obj: KubernetesObject,
  finalizer: string,
  patch: (ops: JsonPatchOp[]) => Promise<void>,
  cleanup: () => Promise<void>,
): Promise<boolean> {
  let step = finalizerStep(obj, finalizer, false);
  if (step.action === 'cleanup') {
    await cleanup();
    step = finalizerStep(obj, finalizer, true);
  }
  if (step.action === 'add' || step.action === 'remove') await patch(step.patch);
  return Boolean(obj.metadata?.deletionTimestamp);
}
