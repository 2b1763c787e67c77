// This LB pod's entry in status.loadBalancers[]. Pure; the agent writes it with server-side apply under its own
// field manager, and only when something other than the timestamp changed.
import type { LoadBalancerEntry } from '../../operator/status.js';
import type { SessionState } from '../bgp/sessions.js';

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
