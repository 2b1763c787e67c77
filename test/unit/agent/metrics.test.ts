import { describe, expect, test } from '@jest/globals';
import { renderMetrics } from '../../../src/agent/metrics.js';
import type { DataPlaneObservation } from '../../../src/dataplane/types.js';

const obs: DataPlaneObservation = {
  dataPlane: 'xdp', attach: 'tc', interface: 'eth0', warnings: [],
  services: [{
    vip: '192.0.2.10', port: 80, protocol: 'TCP', targetPort: 8080, packets: 10, bytes: 1000, replyPackets: 8,
    replyBytes: 5000, newFlows: 2, noBackend: 1, snatExhausted: 0, fibFailures: 0,
  }],
  backends: [
    { ip: '10.0.1.1', state: 'active', packets: 6, bytes: 600, replyPackets: 5, replyBytes: 3000, newFlows: 1 },
    { ip: '10.0.1.2', state: 'draining', packets: 4, bytes: 400, replyPackets: 3, replyBytes: 2000, newFlows: 1 },
  ],
  global: { passed: 7, fragments: 0 },
};

describe('renderMetrics', () => {
  const text = renderMetrics(obs, { ready: true, applies: 3, applyErrors: 1 });

  test.each([
    'plb_agent_ready 1',
    'plb_agent_applies_total 3',
    'plb_agent_apply_errors_total 1',
    'plb_dataplane_attached{data_plane="xdp",hook="tc",interface="eth0"} 1',
    'plb_service_new_flows_total{vip="192.0.2.10",port="80",protocol="TCP"} 2',
    'plb_service_no_backend_total{vip="192.0.2.10",port="80",protocol="TCP"} 1',
    'plb_service_reply_bytes_total{vip="192.0.2.10",port="80",protocol="TCP"} 5000',
    'plb_backend_packets_total{backend="10.0.1.2",state="draining"} 4',
    'plb_dataplane_events_total{kind="passed"} 7',
    'plb_dataplane_warnings 0',
  ])('has the sample %s', (line) => {
    expect(text.split('\n')).toContain(line);
  });

  test('declares each family once with HELP and TYPE before its samples', () => {
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
    expect(text.indexOf('# TYPE plb_backend_packets_total counter')).toBeLessThan(text.indexOf('plb_backend_packets_total{'));
    expect(text.endsWith('\n')).toBe(true);
  });

  test('an unattached data plane reports no attachment sample', () => {
    const t = renderMetrics({ ...obs, attach: null, interface: null }, { ready: false, applies: 1, applyErrors: 1 });
    expect(t).not.toMatch(/^plb_dataplane_attached\{/m);
    expect(t).toMatch(/^plb_agent_ready 0$/m);
  });
});

describe('renderMetrics with BGP', () => {
  const text = renderMetrics(obs, { ready: true, applies: 1, applyErrors: 0 }, {
    sessions: [
      { peer: 'tor-a', peerAddress: '10.0.0.1', state: 'Established', bfdState: 'Up', announced: true },
      { peer: 'tor-b', peerAddress: '10.0.1.1', state: 'Active', bfdState: 'Down', announced: false, lastError: 'Socket: Connection refused' },
      { peer: 'rr', peerAddress: '10.0.2.1', state: 'Established', announced: false },
    ],
    decision: { announce: true, reason: 'Programmed', message: 'ok' },
  });

  test.each([
    'plb_bgp_session_established{peer="tor-a",peer_address="10.0.0.1",state="Established"} 1',
    'plb_bgp_session_established{peer="tor-b",peer_address="10.0.1.1",state="Active"} 0',
    'plb_bgp_bfd_up{peer="tor-a",peer_address="10.0.0.1",state="Up"} 1',
    'plb_bgp_bfd_up{peer="tor-b",peer_address="10.0.1.1",state="Down"} 0',
    'plb_bgp_announced_prefixes{peer="tor-a",peer_address="10.0.0.1"} 1',
    'plb_bgp_announced_prefixes{peer="rr",peer_address="10.0.2.1"} 0',
    'plb_bgp_announce_wanted{reason="Programmed"} 1',
  ])('has %s', (line) => {
    expect(text.split('\n')).toContain(line);
  });

  test('has no BFD sample for a peer without BFD', () => {
    expect(text).not.toMatch(/plb_bgp_bfd_up\{peer="rr"/);
  });
});
