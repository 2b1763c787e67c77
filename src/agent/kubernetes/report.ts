// This LB pod's entry in status.loadBalancers[]. Pure; the agent writes it with server-side apply under its own
// field manager when something other than the timestamp changed, and again on every repair pass (shouldWrite).
import type { LoadBalancerEntry } from '../../api/status.js';
import type { SessionState } from '../bgp/sessions.js';
import { FORWARDING_DISABLED } from '../forwarding.js';
import { SPREADING_IGNORED } from '../spreading.js';

export interface ReportInput {
  pod: string;
  node: string;
  podIP: string;
  /** The VIP the kernel holds, once programmed. */
  vip?: string;
  /** Where the data plane runs (tc, native, generic, ipvs, nftables), or undefined before the first apply. */
  attach: string | undefined;
  generation: number | undefined;
  backends: number;
  /** The kernel holds the desired state of `generation`. */
  ready: boolean;
  /** CamelCase, when not ready or degraded. */
  reason?: string;
  message?: string;
  /** The pod's BGP sessions; absent when no BGPPeer serves the PLB on this node. */
  sessions?: readonly SessionState[];
}

export function statusEntry(r: ReportInput, now: Date): LoadBalancerEntry {
  return {
    pod: r.pod,
    ...(r.node ? { node: r.node } : {}),
    ...(r.podIP ? { podIP: r.podIP } : {}),
    ...(r.vip ? { vip: r.vip } : {}),
    ...(r.attach ? { attach: r.attach } : {}),
    ...(r.generation !== undefined && r.ready ? { programmedGeneration: r.generation } : {}),
    backends: r.backends,
    ready: r.ready,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.message ? { message: r.message.slice(0, 4096) } : {}),
    ...(r.sessions && r.sessions.length > 0
      ? { sessions: r.sessions.map((s) => ({ ...s, ...(s.lastError ? { lastError: s.lastError.slice(0, 1024) } : {}) })) }
      : {}),
    lastUpdateTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** Whether writing `next` would tell the operator anything new. */
export function entryChanged(previous: LoadBalancerEntry | undefined, next: LoadBalancerEntry): boolean {
  if (!previous) return true;
  const strip = ({ lastUpdateTime: _, ...rest }: LoadBalancerEntry) => JSON.stringify(Object.entries(rest).sort());
  return strip(previous) !== strip(next);
}

export interface WriteInput {
  /** What this agent last wrote successfully (undefined: nothing yet, or the last write failed). */
  written: LoadBalancerEntry | undefined;
  next: LoadBalancerEntry;
  /** This sync is a periodic repair pass. */
  repair: boolean;
  /** The pod is being deleted: its entry was withdrawn. */
  withdrawn: boolean;
}

/**
 * Whether to write the entry. A change is written at once. A repair pass writes even an unchanged entry: the
 * entry can vanish without this agent seeing it (the operator prunes entries of pods missing from a lagging
 * cache), and only a re-assert brings it back; it also refreshes lastUpdateTime, the entry's heartbeat.
 * Nothing once withdrawn.
 */
export function shouldWrite(w: WriteInput): boolean {
  if (w.withdrawn) return false;
  return w.repair || entryChanged(w.written, w.next);
}

/** What one programming pass met besides its success (cluster-agent.ts gathers it). */
export interface ProgrammedInput {
  /** The data plane's own warnings (a sysctl it could not set, a conntrack delete that failed). */
  warnings: readonly string[];
  /** Backend problems of the desired state (a backend of the other family, none ready). */
  backendProblems: readonly string[];
  /** The overlay's MTU problem, if any. */
  notes: readonly string[];
  /** Why the kernel does not forward VIP traffic (forwarding.ts): fatal. */
  forwarding?: string;
  /** Why spec.cpuSpreading is not applied on this node (spreading.ts): advisory. */
  spreadingIgnored?: string;
  /** Spreading writes the kernel refused and node-level advice: shown, not a reason. */
  spreadingNotes: readonly string[];
}

/**
 * Ready or not, and the reason the entry reports, after the data plane was programmed. Only what stops the pod
 * forwarding is fatal (ip_forward off: every packet the data plane translates is dropped, so claiming ready would
 * black-hole the pod's share). What only costs performance (CPU spreading a node cannot meet) is a reason,
 * which the operator turns into Degraded, and the pod serves.
 */
export function programmedVerdict(i: ProgrammedInput): { ready: boolean; reason?: string; message?: string } {
  const problems = [...i.warnings, ...i.backendProblems, ...i.notes, ...(i.spreadingIgnored ? [i.spreadingIgnored] : []), ...i.spreadingNotes];
  if (i.forwarding) return { ready: false, reason: FORWARDING_DISABLED, message: [i.forwarding, ...problems].join('; ') };
  if (i.warnings.length > 0 || i.backendProblems.length > 0 || i.notes.length > 0) {
    return { ready: true, reason: i.warnings.length > 0 ? 'DataPlaneWarning' : 'BackendProblem', message: problems.join('; ') };
  }
  if (i.spreadingIgnored) return { ready: true, reason: SPREADING_IGNORED, message: problems.join('; ') };
  // Node-level advice only: worth showing, not worth a Degraded condition.
  if (i.spreadingNotes.length > 0) return { ready: true, message: problems.join('; ') };
  return { ready: true };
}
