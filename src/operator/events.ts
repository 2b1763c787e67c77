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
