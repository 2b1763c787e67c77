// The I/O of the pin sweep (pins.ts decides): list this pod's namespace directory on the node's bpffs, ask the
// API server about each sibling pod, remove what belongs to pods that are gone. The directory is read before
// the API server is asked: a pin directory exists only after its pod object did, so a pod missing from the
// answer was deleted, not not-yet-created. Unlinking a pin frees its maps once no program holds them (a gone
// pod's netns, and the program attached in it, went with it).
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiClient } from '../../runtime/deadline.js';
import { describeApiError, isNotFound } from '../../runtime/kube.js';
import { isSibling, sweepPlan, type PodLookup } from './pins.js';

export interface SweepPorts {
  lookup(name: string): Promise<PodLookup>;
  log(message: string): void;
}

export interface SweepResult {
  removed: string[];
  kept: string[];
}

/** `dir`: <root>/<pod namespace>; `self`: this agent's pod. */
export async function sweepPins(dir: string, self: { name: string; uid: string }, p: SweepPorts): Promise<SweepResult> {
  const result: SweepResult = { removed: [], kept: [] };
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const e of entries.filter((d) => d.isDirectory() && isSibling(d.name, self.name)).sort((a, b) => a.name.localeCompare(b.name))) {
    const children = await readdir(join(dir, e.name)).catch(() => [] as string[]);
    const lookup = e.name === self.name ? undefined : await p.lookup(e.name);
    const plan = sweepPlan({ pod: e.name, children }, self, lookup);
    if (lookup?.kind === 'unknown') p.log(`pin sweep: ${plan.why}`);
    for (const path of plan.remove) {
      try {
        await rm(join(dir, path), { recursive: true, force: true });
        result.removed.push(path);
        p.log(`pin sweep: removed ${join(dir, path)}: ${plan.why}`);
      } catch (error) {
        result.kept.push(path);
        p.log(`pin sweep: could not remove ${join(dir, path)} (retried on the next sweep): ${(error as Error).message}`);
      }
    }
    if (plan.remove.length === 0) result.kept.push(e.name);
  }
  return result;
}

/** Looks a pod of `namespace` up with a deadline: 404 is "gone", an answer "found", anything else "unknown". */
export function podLookup(kc: KubeConfig, namespace: string, timeoutMs = 5_000): SweepPorts['lookup'] {
  const core = apiClient(kc, CoreV1Api, { timeoutMs });
  return async (name) => {
    try {
      const uid = (await core.readNamespacedPod({ namespace, name })).metadata?.uid;
      // Without a UID nothing can be told apart: keep everything.
      return uid ? { kind: 'found', uid } : { kind: 'unknown', why: 'the pod has no metadata.uid' };
    } catch (error) {
      return isNotFound(error) ? { kind: 'gone' } : { kind: 'unknown', why: describeApiError(error) };
    }
  };
}
