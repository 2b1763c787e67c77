// Whether an LB pod announces its VIP now. Pure; the agent asks after every sync and on drain. "Announce only
// what is true": the router sends a pod traffic only while the pod's kernel holds the generation it is meant to
// hold and has a backend to send it to. A spec change is applied before this is asked again, so a pod whose
// apply succeeded never sees a stale generation here; one whose apply failed withdraws until it succeeds.
export interface AnnounceInput {
  /** The pod is shutting down (SIGTERM, being deleted): withdraw first, then forward for drainSeconds. */
  draining: boolean;
  /** The last apply of the desired state succeeded. */
  programmed: boolean;
  /** The generation the kernel holds, and the newest one this pod is meant to hold (its own data plane's). */
  heldGeneration: number | undefined;
  wantedGeneration: number | undefined;
  /** Backends programmed (ready pods or static addresses). */
  backends: number;
}

export type WithdrawReason = 'Draining' | 'ProgrammingFailed' | 'NotProgrammed' | 'StaleGeneration' | 'NoReadyBackends';

export type AnnounceDecision =
  | { announce: true; reason: 'Programmed'; message: string }
  | { announce: false; reason: WithdrawReason; message: string };

export function decideAnnouncement(i: AnnounceInput): AnnounceDecision {
  const no = (reason: WithdrawReason, message: string): AnnounceDecision => ({ announce: false, reason, message });
  // Order matters only for the message: every row here withdraws.
  if (i.draining) return no('Draining', 'the LB pod is shutting down: withdrawn, forwarding until the drain ends');
  if (i.heldGeneration === undefined && !i.programmed) return no('NotProgrammed', 'the kernel holds no desired state yet');
  if (!i.programmed) return no('ProgrammingFailed', 'the last apply failed: withdrawn until the kernel holds the desired state');
  if (i.wantedGeneration !== undefined && i.heldGeneration !== i.wantedGeneration) {
    return no('StaleGeneration', `the kernel holds generation ${i.heldGeneration ?? 'none'}, not ${i.wantedGeneration}`);
  }
  if (i.backends < 1) return no('NoReadyBackends', 'no backend is ready: withdrawn so the router sends the VIP to LB pods that can serve it');
  return { announce: true, reason: 'Programmed', message: `generation ${i.heldGeneration} programmed with ${i.backends} backend(s)` };
}
