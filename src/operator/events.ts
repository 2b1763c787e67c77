// Kubernetes Events for condition transitions, so `kubectl describe plb` tells the story. Pure: which events a
// status change deserves; the controller records them after the status write succeeded.
import type { Condition } from '../api/conditions.js';
import { ConditionType } from '../api/constants.js';

export interface PlbEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Decisions that refuse a PLB: a Warning even on the first pass. */
const REFUSALS = new Set(['VIPAssigned', 'Accepted']);

/** Bad news is a Warning: Ready or a specific aspect going False, Degraded going True. */
function isBad(c: Condition): boolean {
  return c.type === ConditionType.Degraded ? c.status === 'True' : c.status !== 'True';
}

export function transitionEvents(before: readonly Condition[] | undefined, after: readonly Condition[]): PlbEvent[] {
  const events: PlbEvent[] = [];
  for (const c of after) {
    const old = before?.find((b) => b.type === c.type);
    if (old && old.status === c.status && old.reason === c.reason) continue;
    // A fresh object starting out "not ready yet" is not news; its first Ready is. A refusal (no VIP for it,
    // its template not allowed) is news from the start.
    if (!old && isBad(c) && c.type !== ConditionType.Degraded && !REFUSALS.has(c.type)) continue;
    if (!old && c.type === ConditionType.Degraded && c.status === 'False') continue;
    // Placed as the class says: expected, not news (a refusal is).
    if (!old && c.type === 'Accepted' && c.status === 'True') continue;
    events.push({
      type: isBad(c) ? 'Warning' : 'Normal',
      reason: c.reason,
      message: `${c.type}=${c.status}${c.message ? `: ${c.message}` : ''}`.slice(0, 1024),
    });
  }
  return events;
}

type Entry = { pod: string; sessions?: Array<{ peer: string; peerAddress?: string; state?: string; bfdState?: string }> };

/**
 * BGP session transitions between two readings of status.loadBalancers, one Event each: Normal when a session
 * reaches Established, Warning when an Established one leaves it (a router or BFD failure, or the pod stopping).
 * `before` undefined (the operator just started): nothing is news yet.
 */
export function sessionEvents(before: readonly Entry[] | undefined, after: readonly Entry[]): PlbEvent[] {
  if (!before) return [];
  const old = new Map(before.flatMap((e) => (e.sessions ?? []).map((s) => [`${e.pod}/${s.peer}`, s] as const)));
  const events: PlbEvent[] = [];
  for (const e of after) {
    for (const s of e.sessions ?? []) {
      const was = old.get(`${e.pod}/${s.peer}`)?.state;
      const up = s.state === 'Established';
      if ((was === 'Established') === up) continue;
      if (was === undefined && !up) continue;
      const where = `LB pod ${e.pod}: BGP session to ${s.peer} (${s.peerAddress ?? '?'})`;
      events.push(
        up
          ? { type: 'Normal', reason: 'BGPSessionUp', message: `${where} Established${s.bfdState ? `, BFD ${s.bfdState}` : ''}` }
          : { type: 'Warning', reason: 'BGPSessionDown', message: `${where} ${s.state ?? 'down'}${s.bfdState ? `, BFD ${s.bfdState}` : ''}` },
      );
    }
  }
  return events;
}
