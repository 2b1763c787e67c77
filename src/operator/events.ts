// Kubernetes Events for condition transitions, so `kubectl describe plb` tells the story. Pure: which events a
// status change deserves; the controller records them after the status write succeeded.
import type { Condition } from '../api/conditions.js';
import { ConditionType } from '../api/constants.js';

export interface PlbEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Bad news is a Warning: Ready or a specific aspect going False, Degraded going True. */
function isBad(c: Condition): boolean {
  return c.type === ConditionType.Degraded ? c.status === 'True' : c.status !== 'True';
}

export function transitionEvents(before: readonly Condition[] | undefined, after: readonly Condition[]): PlbEvent[] {
  const events: PlbEvent[] = [];
  for (const c of after) {
    const old = before?.find((b) => b.type === c.type);
    if (old && old.status === c.status && old.reason === c.reason) continue;
    // A fresh object starting out "not ready yet" is not news; its first Ready is.
    if (!old && isBad(c) && c.type !== ConditionType.Degraded) continue;
    if (!old && c.type === ConditionType.Degraded && c.status === 'False') continue;
    events.push({
      type: isBad(c) ? 'Warning' : 'Normal',
      reason: c.reason,
      message: `${c.type}=${c.status}${c.message ? `: ${c.message}` : ''}`.slice(0, 1024),
    });
  }
  return events;
}
