// Prometheus text exposition of a data plane observation. Pure, so the format is unit-tested.
import type { DataPlaneObservation } from '../dataplane/types.js';
import type { AnnounceDecision } from './bgp/announce.js';
import type { SessionState } from './bgp/sessions.js';

/** What /metrics says about BGP: the sessions BIRD reports and the agent's announce decision. */
export interface BgpMetrics {
  readonly sessions: readonly SessionState[];
  readonly decision: AnnounceDecision | undefined;
}

export interface AgentHealth {
  ready: boolean;
  applies: number;
  applyErrors: number;
}

type Labels = Record<string, string | number>;

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** A Prometheus text exposition being built: one HELP/TYPE header per family, then its samples. */
export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number]>): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) this.lines.push(`${name}${labels(l)} ${v}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * The session families, shared by the LB pod's agent and the node's speaker (src/node/metrics.ts). `prefixes` says
 * how many prefixes a session announces: the VIP (0 or 1) for an LB pod, every VIP of the node for a node.
 */
export function renderSessions(e: Exposition, sessions: readonly SessionState[], prefixes: (s: SessionState) => number): void {
  const peer = (s: SessionState) => ({ peer: s.peer, peer_address: s.peerAddress });
  e.family('plb_bgp_session_established', 'gauge', 'Whether the BGP session to the peer is Established (1) or not (0).',
    sessions.map((s) => [{ ...peer(s), state: s.state }, s.state === 'Established' ? 1 : 0]));
  e.family('plb_bgp_bfd_up', 'gauge', 'Whether the BFD session to the peer is Up (1) or not (0); only peers with BFD.',
    sessions.filter((s) => s.bfdState !== undefined).map((s) => [{ ...peer(s), state: s.bfdState! }, s.bfdState === 'Up' ? 1 : 0]));
  e.family('plb_bgp_announced_prefixes', 'gauge', 'Prefixes (VIPs) announced to the peer right now.',
    sessions.map((s) => [peer(s), s.announced ? prefixes(s) : 0]));
}

function renderBgp(e: Exposition, bgp: BgpMetrics): void {
  renderSessions(e, bgp.sessions, () => 1);
  e.family('plb_bgp_announce_wanted', 'gauge', 'Whether the agent wants the VIP announced (1) or withdrawn (0), and why.',
    bgp.decision ? [[{ reason: bgp.decision.reason }, bgp.decision.announce ? 1 : 0]] : []);
}

export function renderMetrics(obs: DataPlaneObservation, health: AgentHealth, bgp?: BgpMetrics): string {
  const e = new Exposition();
  if (bgp) renderBgp(e, bgp);
  e.family('plb_agent_ready', 'gauge', 'Whether the last apply of the desired state succeeded.', [[{}, health.ready ? 1 : 0]]);
  e.family('plb_agent_applies_total', 'counter', 'Applies of the desired state, successful or not.', [[{}, health.applies]]);
  e.family('plb_agent_apply_errors_total', 'counter', 'Applies that failed.', [[{}, health.applyErrors]]);
  e.family('plb_dataplane_attached', 'gauge', 'Where the data plane program runs (1 for the active hook).',
    obs.attach ? [[{ data_plane: obs.dataPlane, hook: obs.attach, interface: obs.interface ?? '' }, 1]] : []);
  e.family('plb_dataplane_warnings', 'gauge', 'Problems the data plane reports that need a change by the user (see the agent log).',
    [[{}, obs.warnings.length]]);
  const svc = (s: DataPlaneObservation['services'][number]) => ({ vip: s.vip, port: s.port, protocol: s.protocol });
  const serviceCounters: Array<[string, keyof DataPlaneObservation['services'][number], string]> = [
    ['plb_service_packets_total', 'packets', 'Packets from clients translated towards a backend.'],
    ['plb_service_bytes_total', 'bytes', 'Bytes from clients translated towards a backend.'],
    ['plb_service_reply_packets_total', 'replyPackets', 'Reply packets translated back to clients.'],
    ['plb_service_reply_bytes_total', 'replyBytes', 'Reply bytes translated back to clients.'],
    ['plb_service_new_flows_total', 'newFlows', 'Flows created (a backend chosen and an SNAT port claimed).'],
    ['plb_service_no_backend_total', 'noBackend', 'New flows dropped because no backend was active.'],
    ['plb_service_snat_exhausted_total', 'snatExhausted', 'New flows dropped because no SNAT port was free.'],
    ['plb_service_fib_failures_total', 'fibFailures', 'Packets dropped because the kernel had no usable route.'],
  ];
  for (const [name, field, help] of serviceCounters) {
    e.family(name, 'counter', help, obs.services.map((s) => [svc(s), s[field] as number]));
  }
  const be = (b: DataPlaneObservation['backends'][number]) => ({ backend: b.ip, state: b.state });
  const backendCounters: Array<[string, 'packets' | 'bytes' | 'replyPackets' | 'replyBytes' | 'newFlows', string]> = [
    ['plb_backend_packets_total', 'packets', 'Packets sent to the backend.'],
    ['plb_backend_bytes_total', 'bytes', 'Bytes sent to the backend.'],
    ['plb_backend_reply_packets_total', 'replyPackets', 'Reply packets from the backend.'],
    ['plb_backend_reply_bytes_total', 'replyBytes', 'Reply bytes from the backend.'],
    ['plb_backend_new_flows_total', 'newFlows', 'Flows assigned to the backend.'],
  ];
  for (const [name, field, help] of backendCounters) {
    e.family(name, 'counter', help, obs.backends.map((b) => [be(b), b[field]]));
  }
  e.family('plb_service_open_flows', 'gauge', 'Open TCP flows (handshake or established, not closing) as the last flow garbage-collection pass counted them (xdp).',
    obs.services.filter((s) => s.openFlows !== undefined).map((s) => [svc(s), s.openFlows!]));
  e.family('plb_backend_snat_exhausted_total', 'counter', 'New flows to the backend dropped because no SNAT port towards it was free (xdp).',
    obs.backends.filter((b) => b.snatExhausted !== undefined).map((b) => [be(b), b.snatExhausted!]));
  if (obs.flows) {
    e.family('plb_flow_entries', 'gauge', 'Flow table entries in use after the last garbage-collection pass (two per flow; xdp).', [[{}, obs.flows.entries]]);
    e.family('plb_flow_capacity_entries', 'gauge', 'Flow table size in entries (spec.xdp.maxFlows x 2, rounded up to 128, + 128 per CPU).', [[{}, obs.flows.capacity]]);
    e.family('plb_flow_table_memory_bytes', 'gauge', 'Kernel memory of the flow table.', [[{}, obs.flows.memoryBytes]]);
    e.family('plb_flow_expired_total', 'counter', 'Flow table entries removed because their flow had expired.', [[{}, obs.flows.expiredTotal]]);
    e.family('plb_flow_gc_seconds', 'gauge', 'Duration of the last garbage-collection pass over the flow table.', [[{}, obs.flows.lastGcSeconds]]);
  }
  e.family('plb_dataplane_events_total', 'counter', 'Data-plane wide events by kind (passed, fragments, noNeighbour, ...).',
    Object.entries(obs.global).map(([kind, v]) => [{ kind }, v]));
  return e.text();
}
