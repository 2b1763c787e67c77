// Prometheus text exposition of `plb-agent node-routes`. Pure, so the format is unit-tested.
//
// The node speaks for nextHopMode NodeIP peers, so its sessions are nowhere else: an LB pod's /metrics and
// status.loadBalancers[].sessions[] cover only the sessions the LB pod speaks. The same family names as the
// agent's (renderSessions), so one alert rule covers both; `plb_bgp_announced_prefixes` counts every VIP the
// node announces to that peer.
import type { SessionState } from '../agent/bgp/sessions.js';
import { Exposition, renderSessions } from '../agent/metrics.js';
import type { NodeRoute } from './routes.js';

export interface NodeRoutesMetrics {
  /** The speaker's sessions (none when the node has no speaker). */
  sessions: readonly SessionState[];
  /** Per BGPPeer name: how many VIPs this node exports to it (BIRD exports them once the session is up). */
  vipsByPeer: ReadonlyMap<string, number>;
  /** The node's `VIP via <LB pod>` routes as the last sync left them. */
  routes: readonly NodeRoute[];
  syncs: number;
  syncErrors: number;
}

export function renderNodeMetrics(m: NodeRoutesMetrics): string {
  const e = new Exposition();
  renderSessions(e, m.sessions, (s) => m.vipsByPeer.get(s.peer) ?? 0);
  e.family('plb_node_route_next_hops', 'gauge', 'Next hops (LB pods on this node) of the node\'s route for the VIP.',
    m.routes.map((r) => [{ vip: r.dst }, r.via.length]));
  e.family('plb_node_syncs_total', 'counter', 'Passes that brought the node\'s routes and announcements in line with the cluster.', [[{}, m.syncs]]);
  e.family('plb_node_sync_errors_total', 'counter', 'Passes that failed (retried on the next change or in 30 s; see the log).', [[{}, m.syncErrors]]);
  return e.text();
}
