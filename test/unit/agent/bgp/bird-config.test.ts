// The BIRD config renderer against golden files (UPDATE_GOLDEN=1 rewrites them; review the diff like code), and
// `bird -p` parses every golden file when BIRD is installed (the real parser, not our idea of its grammar).
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerConfig } from '../../../../src/api/bgp-peer.js';
import { NODE_SPEAKS, protocolName, renderBirdConfig, renderNodeBirdConfig, type NodeSpeakerInput, type SpeakerInput } from '../../../../src/agent/bgp/bird-config.js';

const golden = join(process.cwd(), 'test/unit/agent/bgp/golden');
const base: PeerConfig = {
  name: 'tor-a', peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 9, keepaliveTime: 3,
  connectTime: 2, ebgpMultihop: false, nextHopMode: 'PodIP',
};
const bfd = { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 };

const cases: Array<[string, SpeakerInput]> = [
  ['announce-one-peer', { vip: '192.0.2.10', announce: true, podIP: '10.244.1.5', peers: [base] }],
  ['withdrawn', { vip: '192.0.2.10', announce: false, podIP: '10.244.1.5', peers: [base] }],
  ['two-peers-bfd-multihop-password', {
    vip: '192.0.2.10', announce: true, podIP: '10.244.1.5',
    peers: [
      { ...base, name: 'tor-b', peerAddress: '10.0.1.1', ebgpMultihop: true, bfd, password: 's3cret' },
      { ...base, ebgpMultihop: true, bfd: { receiveInterval: 500, transmitInterval: 200, detectMultiplier: 5 } },
    ],
  }],
  // The LB pod leaves a NodeIP peer to its node's speaker: no session from the pod.
  ['node-next-hop-ibgp', {
    vip: '192.0.2.10', announce: true, podIP: '10.244.1.5', nodeIP: '172.18.0.3',
    peers: [{ ...base, peerASN: 64512, nextHopMode: 'NodeIP', holdTime: 90, keepaliveTime: 30, connectTime: 5 }],
  }],
  ['ipv6', { vip: '2001:db8::10', announce: true, podIP: 'fd00::5', peers: [{ ...base, peerAddress: 'fd00::1', bfd }] }],
  ['skipped-peers', {
    vip: '192.0.2.10', announce: true, podIP: '10.244.1.5',
    peers: [
      { ...base, name: 'v6-router', peerAddress: 'fd00::1' },
      { ...base, name: 'node-mode', nextHopMode: 'NodeIP' },
      { ...base, name: 'bad-password', password: 'has"quote' },
    ],
  }],
];

// The node's speaker (nextHopMode NodeIP): one session per router from the node's address, each peer exporting the
// VIPs of the PLBs it serves, next hop the node.
const nodeCases: Array<[string, NodeSpeakerInput]> = [
  ['node-speaker-bfd-two-vips', {
    nodeIPs: ['172.18.0.3'],
    peers: [
      { ...base, nextHopMode: 'NodeIP', bfd, vips: ['192.0.2.20', '192.0.2.10'] },
      // serves other PLBs only: the session is up, exporting nothing
      { ...base, name: 'tor-b', peerAddress: '10.0.1.1', nextHopMode: 'NodeIP', ebgpMultihop: true, password: 's3cret', vips: [] },
    ],
  }],
  ['node-speaker-dual-stack', {
    nodeIPs: ['172.18.0.3', 'fd00:18::3'],
    peers: [
      { ...base, nextHopMode: 'NodeIP', bfd, vips: ['192.0.2.10'] },
      { ...base, name: 'tor-v6', peerAddress: 'fd00:18::1', nextHopMode: 'NodeIP', bfd, vips: ['2001:db8::10', '192.0.2.10'] },
    ],
  }],
];

const haveBird = existsSync('/usr/sbin/bird');

describe('renderBirdConfig', () => {
  it.each(cases)('%s matches its golden file', (name, input) => {
    const { text } = renderBirdConfig(input);
    const file = join(golden, `${name}.conf`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  (haveBird ? it.each(cases) : it.skip.each(cases))('%s is a config BIRD accepts (bird -p)', (name) => {
    expect(() => execFileSync('/usr/sbin/bird', ['-p', '-c', join(golden, `${name}.conf`)], { stdio: 'pipe' })).not.toThrow();
  });

  it.each(nodeCases)('node speaker: %s matches its golden file', (name, input) => {
    const { text } = renderNodeBirdConfig(input);
    const file = join(golden, `${name}.conf`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  (haveBird ? it.each(nodeCases) : it.skip.each(nodeCases))('node speaker: %s is a config BIRD accepts (bird -p)', (name) => {
    expect(() => execFileSync('/usr/sbin/bird', ['-p', '-c', join(golden, `${name}.conf`)], { stdio: 'pipe' })).not.toThrow();
  });

  it('node speaker: a peer of a family the node has no address of is left out, with the reason', () => {
    const v4Only = { ...nodeCases[1]![1], nodeIPs: ['172.18.0.3'] };
    const { protocols, skipped, summary } = renderNodeBirdConfig(v4Only);
    expect(Object.values(protocols)).toEqual(['tor-a']);
    expect(skipped).toEqual({ 'tor-v6': expect.stringContaining('no IPv6 address') as unknown as string });
    expect(summary).toBe('announcing 192.0.2.10/32');
    expect(renderNodeBirdConfig(nodeCases[1]![1]).summary).toBe('announcing 192.0.2.10/32, 2001:db8::10/128');
  });

  it('maps every rendered protocol back to its peer and says why a peer was left out', () => {
    const { protocols, skipped } = renderBirdConfig(cases[5]![1]);
    expect(protocols).toEqual({});
    expect(skipped).toEqual({
      'v6-router': expect.stringContaining("not of the VIP's address family") as unknown as string,
      'node-mode': NODE_SPEAKS,
      'bad-password': expect.stringContaining('quote') as unknown as string,
    });
  });

  it('is deterministic whatever the order of the peers', () => {
    const input = cases[2]![1];
    expect(renderBirdConfig({ ...input, peers: [...input.peers].reverse() }).text).toBe(renderBirdConfig(input).text);
  });

  it('keeps peer names that differ only in punctuation apart', () => {
    expect(protocolName('a-b')).not.toBe(protocolName('a.b'));
    expect(protocolName('tor-a')).toMatch(/^peer_tor_a_[0-9a-f]{4}$/);
  });
});
