// /healthz and /readyz verdicts from what a process's loops report. Pure. A loop that waits on a request
// past its deadline is not "alive but slow": with every request and child process bounded, a pass that runs
// longer than its stall threshold is stuck on something (a webhook, a half-open connection, a hung command), and
// the replica says so instead of answering 200 while it does nothing.
//   ready: caches synced, no pass running longer than stallMs, the leader-election loop ticking.
//   live:  no pass still running wedgeMs after it started (its deadline could not end it), the election loop
//          not silent for wedgeMs: a restart is the only cure.
import type { RunningPass } from './workqueue.js';

export interface Verdict {
  ok: boolean;
  message: string;
}

export interface HealthInput {
  /** Informer caches (or the agent's watches) have their first list. */
  synced: boolean;
  /** Passes in flight (WorkQueue.stalled(0), or the agent's one sync loop). */
  passes: readonly RunningPass[];
  /** Longer than this, a pass makes the replica not ready. */
  stallMs: number;
  /** Longer than this, a pass makes the replica not live. */
  wedgeMs: number;
  /** ms since the leader-election loop last finished an attempt; undefined without election. */
  electionSilentMs?: number;
}

const describe = (p: RunningPass) => `${p.key} running for ${Math.round(p.runningMs / 1000)} s${p.abandoned ? ' (past its deadline)' : ''}`;

export function healthVerdicts(h: HealthInput): { live: Verdict; ready: Verdict } {
  const wedged = h.passes.filter((p) => p.runningMs > h.wedgeMs);
  const electionWedged = h.electionSilentMs !== undefined && h.electionSilentMs > h.wedgeMs;
  const liveProblems = [
    ...(wedged.length > 0 ? [`wedged: ${wedged.map(describe).join(', ')}`] : []),
    ...(electionWedged ? [`leader election loop silent for ${Math.round(h.electionSilentMs! / 1000)} s`] : []),
  ];
  const live: Verdict = liveProblems.length > 0 ? { ok: false, message: liveProblems.join('; ') } : { ok: true, message: 'ok' };
  const stalled = h.passes.filter((p) => p.runningMs > h.stallMs);
  const readyProblems = [
    ...(h.synced ? [] : ['caches not synced']),
    ...(stalled.length > 0 ? [`stalled: ${stalled.map(describe).join(', ')}`] : []),
    ...(electionWedged ? [`leader election loop silent for ${Math.round(h.electionSilentMs! / 1000)} s`] : []),
  ];
  const ready: Verdict = readyProblems.length > 0 ? { ok: false, message: readyProblems.join('; ') } : { ok: true, message: 'ok' };
  return { live, ready };
}
