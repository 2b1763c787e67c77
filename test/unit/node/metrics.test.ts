// The node's /metrics: the same session families as the agent's, prefixes counted per peer, routes and passes.
import { describe, expect, test } from '@jest/globals';
import { renderNodeMetrics } from '../../../src/node/metrics.js';

describe('renderNodeMetrics', () => {
  const text = renderNodeMetrics({
    sessions: [
      { peer: 'tor-a', peerAddress: '10.0.0.1', state: 'Established', bfdState: 'Up', announced: true },
      // Established but exporting nothing (BIRD's count): 0 announced, whatever the node wanted.
      { peer: 'tor-b', peerAddress: '10.0.1.1', state: 'Established', bfdState: 'Up', announced: false },
      { peer: 'rr', peerAddress: '10.0.2.1', state: 'Active', announced: false, lastError: 'Socket: Connection refused' },
    ],
    vipsByPeer: new Map([['tor-a', 3], ['tor-b', 2], ['rr', 3]]),
    routes: [{ dst: '192.0.2.10/32', via: ['10.244.1.5', '10.244.1.6'] }, { dst: '192.0.2.11/32', via: ['10.244.1.5'] }],
    syncs: 7,
    syncErrors: 1,
  });

  test.each([
    'plb_bgp_session_established{peer="tor-a",peer_address="10.0.0.1",state="Established"} 1',
    'plb_bgp_session_established{peer="rr",peer_address="10.0.2.1",state="Active"} 0',
    'plb_bgp_bfd_up{peer="tor-a",peer_address="10.0.0.1",state="Up"} 1',
    'plb_bgp_announced_prefixes{peer="tor-a",peer_address="10.0.0.1"} 3',
    'plb_bgp_announced_prefixes{peer="tor-b",peer_address="10.0.1.1"} 0',
    'plb_bgp_announced_prefixes{peer="rr",peer_address="10.0.2.1"} 0',
    'plb_node_route_next_hops{vip="192.0.2.10/32"} 2',
    'plb_node_route_next_hops{vip="192.0.2.11/32"} 1',
    'plb_node_syncs_total 7',
    'plb_node_sync_errors_total 1',
  ])('has %s', (line) => {
    expect(text.split('\n')).toContain(line);
  });

  test('no BFD sample for a peer without BFD, and no agent-only family', () => {
    expect(text).not.toMatch(/plb_bgp_bfd_up\{peer="rr"/);
    expect(text).not.toMatch(/plb_bgp_announce_wanted|plb_agent_ready/);
  });

  test('a node without a speaker: empty session families, still the route and pass counters', () => {
    const t = renderNodeMetrics({ sessions: [], vipsByPeer: new Map(), routes: [], syncs: 0, syncErrors: 0 });
    expect(t).toMatch(/^# TYPE plb_bgp_session_established gauge$/m);
    expect(t).not.toMatch(/^plb_bgp_session_established\{/m);
    expect(t).toMatch(/^plb_node_syncs_total 0$/m);
  });
});
