// Judging the lab's chaos rounds (chaos-steps.ts) from their numbers, and which pin directories on the lab's
// bpffs belong to no pod: pure, so the rules are unit-tested (test/unit/lab/chaos-verdict.test.ts).

export type Fault = 'operator' | 'apiServer' | 'agent';

/** What one fault under the steady load measured. */
export interface RoundNumbers {
  /** Connection attempts of the steady load, and how many never completed their handshake. */
  attempts: number;
  failedConnects: number;
  /** Connections that were up and broke; allowed: one per worker per next-hop change (under-load.ts). */
  brokenInFlight: number;
  inFlightAllowed: number;
  nextHopChanges: number;
  /** Ready=True at the current generation again, every LB pod announcing, the router agreeing. */
  converged: boolean;
  /** operator: ms from the SIGKILL until the new operator held the Lease; its repair of the edited Role. */
  leaseTakenMs?: number;
  roleRepaired?: boolean;
  /** operator: how many times the operators logged "drift repaired" for that Role since the kill (one edit: 1). */
  roleRepairs?: number;
  /** apiServer: ms the SIGKILL and restart took until it served again. */
  restartMs?: number;
  /** agent: the restarted container runs under another PID, /readyz 200 again after readyAgainMs, still announced. */
  newPid?: boolean;
  readyAgainMs?: number;
  stillAnnouncing?: boolean;
  /**
   * agent: the pod's Ready went False in a sample (the kubelet reported the container's exit), and of the PLB's
   * entries for the pod, sampled every 200 ms from the SIGKILL until the round converged, how many were not ready
   * (the operator's restart grace keeps it ready while the container restarts).
   */
  podReadyWentFalse?: boolean;
  entrySamples?: number;
  entryNotReadySamples?: number;
}

/**
 * Bounds: the Lease is taken at most lease duration + retry period (17 s) after the old leader's last renewal,
 * plus the new process's start on a loaded 2-core machine; a restarted agent adopts its pinned maps and is ready
 * in a few seconds (measured 2.2-2.4 s).
 */
export const LIMITS = { leaseTakenMs: 25_000, readyAgainMs: 10_000 };

export function judgeRound(fault: Fault, n: RoundNumbers): { ok: boolean; problems: string[] } {
  const problems: string[] = [];
  if (n.attempts === 0) problems.push('no load ran');
  if (n.failedConnects > 0) problems.push(`${n.failedConnects} failed connects`);
  if (n.brokenInFlight > n.inFlightAllowed) problems.push(`${n.brokenInFlight} broke in flight (allowed ${n.inFlightAllowed})`);
  if (!n.converged) problems.push('did not converge');
  // An operator or an agent process is not on the data path: the router must not notice either going.
  if (fault !== 'apiServer' && n.nextHopChanges > 0) problems.push(`${n.nextHopChanges} next-hop changes`);
  if (fault === 'operator') {
    if (n.leaseTakenMs === undefined) problems.push('the new operator never took the Lease');
    else if (n.leaseTakenMs > LIMITS.leaseTakenMs) problems.push(`Lease taken after ${n.leaseTakenMs} ms (> ${LIMITS.leaseTakenMs})`);
    if (n.roleRepaired !== true) problems.push('the edited Role was not repaired');
    // One edit, one repair: a second means a pass judged the version its own write had replaced (written.ts).
    else if (n.roleRepairs !== undefined && n.roleRepairs !== 1) problems.push(`the edited Role was repaired ${n.roleRepairs} times (one edit: once)`);
  }
  if (fault === 'apiServer' && n.restartMs === undefined) problems.push('the API server did not serve again');
  if (fault === 'agent') {
    if (n.newPid !== true) problems.push('the container was not restarted (same or no PID)');
    if (n.readyAgainMs === undefined) problems.push('/readyz never answered 200 again');
    else if (n.readyAgainMs > LIMITS.readyAgainMs) problems.push(`/readyz 200 after ${n.readyAgainMs} ms (> ${LIMITS.readyAgainMs})`);
    if (n.stillAnnouncing !== true) problems.push('the pod no longer announces');
    // Without the turn the entry's readiness says nothing of the grace.
    if (n.podReadyWentFalse !== true) problems.push('the pod\'s Ready never went False (the restart grace was not exercised)');
    if (!n.entrySamples) problems.push('the entry was not sampled');
    else if ((n.entryNotReadySamples ?? 0) > 0) problems.push(`the entry was not ready in ${n.entryNotReadySamples} of ${n.entrySamples} samples`);
  }
  return { ok: problems.length === 0, problems };
}

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A pod's directory under <bpffs>/portable-lb/<namespace>/: its name and what it holds. */
export interface PinDir {
  namespace: string;
  pod: string;
  children: readonly string[];
}

/**
 * The pin directories of pods that are gone, relative to <bpffs>/portable-lb: a pod's directory when no pod of
 * that name exists, a UID directory when the pod of that name has another UID. `live`: namespace/name -> UID.
 */
export function leakedPins(dirs: readonly PinDir[], live: ReadonlyMap<string, string>): string[] {
  return dirs.flatMap((d) => {
    const uid = live.get(`${d.namespace}/${d.pod}`);
    if (uid === undefined) return [`${d.namespace}/${d.pod}`];
    return d.children.filter((c) => UID.test(c) && c !== uid).map((c) => `${d.namespace}/${d.pod}/${c}`);
  });
}

/** "drift repaired" lines of an operator's JSON log for `child` (e.g. "Role shop/web-lb") at or after `since` (ms). */
export function repairsLogged(log: string, child: string, since: number): number {
  let n = 0;
  for (const line of log.split('\n')) {
    if (!line.includes('drift repaired')) continue;
    try {
      const e = JSON.parse(line) as { msg?: string; child?: string; time?: string };
      if (e.msg === 'drift repaired' && e.child === child && Date.parse(e.time ?? '') >= since) n++;
    } catch {
      // A line cut by the SIGKILL: not an entry.
    }
  }
  return n;
}
