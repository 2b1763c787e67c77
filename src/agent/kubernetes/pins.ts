// Where an LB pod's pinned BPF maps live on the node's bpffs, and which pin directories may go (pure).
//
// Pinned maps outlive their pod (the xdp plane's are ~90 MiB of unswappable kernel memory): a finished drain
// removes its own, but eviction, a SIGKILL after the grace period or a pod deleted while its agent crash-loops
// leave them behind. So pins are per pod UID, <root>/<pod namespace>/<pod name>/<pod UID>: a restarted container
// (same pod, same UID) adopts its own maps, a new pod that reuses a name does not. Every agent sweeps the
// directories of its own Deployment's pods on its node (the pod name's prefix) and removes those the API server
// says are gone. When the API server cannot say (unreachable, forbidden, slow), everything stays: keeping state
// costs memory until the next sweep, purging a live pod's maps would cut its flows at its next restart.

export const PIN_ROOT = '/sys/fs/bpf/portable-lb';

/** The pod's pin directory; without a UID (an operator from before POD_UID) the old per-name one. */
export function podPinDir(namespace: string, pod: string, uid: string | undefined, root = PIN_ROOT): string {
  return uid ? `${root}/${namespace}/${pod}/${uid}` : `${root}/${namespace}/${pod}`;
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The name prefix the pods of this pod's Deployment share: a ReplicaSet names its pods
 * <deployment>-<template hash>-<5 characters>, and every rollout keeps <deployment>-. A name of another shape
 * (a hand-made pod) has only itself. A wider match is only a lookup more: the API server's answer decides.
 */
export function siblingPrefix(pod: string): string | undefined {
  const parts = pod.split('-');
  return parts.length >= 3 ? `${parts.slice(0, -2).join('-')}-` : undefined;
}

export function isSibling(entry: string, self: string): boolean {
  const prefix = siblingPrefix(self);
  return entry === self || (prefix !== undefined && entry.startsWith(prefix));
}

/** What the API server says of the pod a directory is named after. */
export type PodLookup = { kind: 'found'; uid: string } | { kind: 'gone' } | { kind: 'unknown'; why: string };

export interface PinEntry {
  /** The directory's name: the pod's name. */
  pod: string;
  /** What it holds: UID directories (this layout), or pinned maps directly (the per-name layout of old agents). */
  children: readonly string[];
}

export interface SweepPlan {
  /** Paths relative to the namespace's directory, to remove recursively. */
  remove: string[];
  why: string;
}

/**
 * What to remove of one pod's pin directory. `self`: this agent's pod (alive by definition, whatever a lookup
 * says); `lookup`: the API server's answer about `entry.pod` (not asked for self).
 */
export function sweepPlan(entry: PinEntry, self: { name: string; uid: string }, lookup: PodLookup | undefined): SweepPlan {
  const live = entry.pod === self.name ? { kind: 'found' as const, uid: self.uid } : lookup;
  if (!live) return { remove: [], why: 'not looked up' };
  switch (live.kind) {
    case 'unknown':
      return { remove: [], why: `cannot tell whether pod ${entry.pod} exists (${live.why}): kept` };
    case 'gone':
      return { remove: [entry.pod], why: `pod ${entry.pod} no longer exists` };
    case 'found': {
      // Directories of earlier pods of the same name; the live pod's own and anything not of this layout stay.
      const stale = entry.children.filter((c) => UID.test(c) && c !== live.uid);
      return {
        remove: stale.map((c) => `${entry.pod}/${c}`),
        why: stale.length > 0 ? `pod ${entry.pod} is now UID ${live.uid}` : `pod ${entry.pod} exists`,
      };
    }
  }
}
