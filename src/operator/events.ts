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

interface Session {
  peer: string;
  peerAddress?: string;
  state?: string;
  bfdState?: string;
}
type Entry = { pod: string; sessions?: Session[] };
type NodeSession = Session & { node: string };

/** One reading of a PLB's BGP sessions: its LB pods' own (status.loadBalancers) and its nodes' (status.nodeSessions). */
export interface SessionsSeen {
  entries: readonly Entry[];
  nodeSessions?: readonly NodeSession[];
}

/** Each session of a reading by who holds it and its peer, with the words an Event names it by. */
function sessionsOf(seen: SessionsSeen): Map<string, { where: string; s: Session }> {
  const out = new Map<string, { where: string; s: Session }>();
  for (const e of seen.entries) for (const s of e.sessions ?? []) out.set(`pod ${e.pod}/${s.peer}`, { where: `LB pod ${e.pod}`, s });
  for (const s of seen.nodeSessions ?? []) out.set(`node ${s.node}/${s.peer}`, { where: `node ${s.node}`, s });
  return out;
}

/**
 * BGP session transitions between two readings of a PLB's sessions, one Event each: Normal when a session
 * reaches Established, Warning when an Established one leaves it (a router or BFD failure, the pod or the node's
 * speaker stopping). The LB pods' own sessions and, for NodeIP peers, their nodes' speakers' alike.
 * `before` undefined (the operator just started): nothing is news yet.
 */
export function sessionEvents(before: SessionsSeen | undefined, after: SessionsSeen): PlbEvent[] {
  if (!before) return [];
  const old = sessionsOf(before);
  const events: PlbEvent[] = [];
  for (const [key, { where: holder, s }] of sessionsOf(after)) {
    const was = old.get(key)?.s.state;
    const up = s.state === 'Established';
    if ((was === 'Established') === up) continue;
    if (was === undefined && !up) continue;
    const where = `${holder}: BGP session to ${s.peer} (${s.peerAddress ?? '?'})`;
    events.push(
      up
        ? { type: 'Normal', reason: 'BGPSessionUp', message: `${where} Established${s.bfdState ? `, BFD ${s.bfdState}` : ''}` }
        : { type: 'Warning', reason: 'BGPSessionDown', message: `${where} ${s.state ?? 'down'}${s.bfdState ? `, BFD ${s.bfdState}` : ''}` },
    );
  }
  return events;
}
