// What a node's speaker announces for nextHopMode NodeIP peers: table-driven over pods, PLBs and peers.
import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancer } from '../../../src/api/generated.js';
import { nodeAnnouncements } from '../../../src/node/announce.js';
import { plb } from '../support/builders.js';
import { lbPod, nodeIPPeer } from './builders.js';

type Entry = NonNullable<NonNullable<PortableLoadBalancer['status']>['loadBalancers']>[number];
const entry = (pod: string, e: Partial<Entry> = {}): Entry => ({ pod, ready: true, programmedGeneration: 3, vip: '192.0.2.10', backends: 2, ...e });
const web = (entries: Entry[], vip: string | null = '192.0.2.10'): PortableLoadBalancer =>
  plb({}, { ...(vip ? { vip } : {}), loadBalancers: entries });
const peer = nodeIPPeer;
const noPassword = () => ({ problem: 'no Secret' });
const node = { name: 'n1', labels: { rack: 'r1' } };

/** Peer name -> the VIPs announced to it (peers absent from the result are not the node's to speak to). */
const announced = (pods: V1Pod[], plbs: PortableLoadBalancer[], peers: BGPPeer[]) =>
  Object.fromEntries(nodeAnnouncements(node, pods, plbs, peers, noPassword).peers.map((p) => [p.name, p.vips]));

describe('nodeAnnouncements', () => {
  it.each<[string, V1Pod[], PortableLoadBalancer[], BGPPeer[], Record<string, string[]>]>([
    ['a serving LB pod on this node: announced', [lbPod('a', 'n1')], [web([entry('a')])], [peer('tor')], { tor: ['192.0.2.10'] }],
    ['PodIP peers are the LB pods\' own', [lbPod('a', 'n1')], [web([entry('a')])], [peer('tor', { nextHopMode: 'PodIP' })], {}],
    ['the LB pod on another node: the session stays, nothing announced', [lbPod('a', 'n2')], [web([entry('a')])], [peer('tor')], { tor: [] }],
    ['not programmed', [lbPod('a', 'n1')], [web([entry('a', { ready: false, reason: 'ProgrammingFailed' })])], [peer('tor')], { tor: [] }],
    ['no ready backend', [lbPod('a', 'n1')], [web([entry('a', { backends: 0 })])], [peer('tor')], { tor: [] }],
    ['no status entry yet', [lbPod('a', 'n1')], [web([])], [peer('tor')], { tor: [] }],
    ['draining (being deleted): withdrawn', [lbPod('a', 'n1', { deleting: true })], [web([entry('a')])], [peer('tor')], { tor: [] }],
    ['draining, but another LB pod of it on this node serves', [lbPod('a', 'n1', { deleting: true }), lbPod('b', 'n1')], [web([entry('a'), entry('b')])],
      [peer('tor')], { tor: ['192.0.2.10'] }],
    ['not Running', [lbPod('a', 'n1', { phase: 'Pending' })], [web([entry('a')])], [peer('tor')], { tor: [] }],
    ['no granted VIP (status.vip): nothing, whatever spec.vip asks', [lbPod('a', 'n1')], [web([entry('a')], null)], [peer('tor')], { tor: [] }],
    ['the pod holds another VIP than the granted one', [lbPod('a', 'n1')], [web([entry('a', { vip: '192.0.2.99' })])], [peer('tor')], { tor: [] }],
    ['a peer whose nodeSelector does not pick this node: no session', [lbPod('a', 'n1')], [web([entry('a')])],
      [peer('tor', { nodeSelector: { rack: 'r2' } }), peer('tor-r1', { nodeSelector: { rack: 'r1' } })], { 'tor-r1': ['192.0.2.10'] }],
    ['a peer that serves other namespaces only gets nothing of this PLB', [lbPod('a', 'n1')], [web([entry('a')])],
      [peer('tor', { namespaces: ['other'] }), peer('tor-shop', { namespaces: ['shop'] })], { tor: [], 'tor-shop': ['192.0.2.10'] }],
    ['a loadBalancerSelector that does not match', [lbPod('a', 'n1')], [web([entry('a')])], [peer('tor', { loadBalancerSelector: { matchLabels: { edge: 'yes' } } })], { tor: [] }],
    ['two PLBs served here, one per LB pod', [lbPod('a', 'n1'), lbPod('x', 'n1', { plbName: 'api' })],
      [web([entry('a')]), { ...plb({}, { vip: '192.0.2.20', loadBalancers: [entry('x', { vip: '192.0.2.20' })] }), metadata: { name: 'api', namespace: 'shop' } }],
      [peer('tor')], { tor: ['192.0.2.10', '192.0.2.20'] }],
    ['a password that cannot be read leaves the peer out', [lbPod('a', 'n1')], [web([entry('a')])],
      [peer('tor', { passwordSecretRef: { name: 's', namespace: 'plb-system' } })], {}],
  ])('%s', (_name, pods, plbs, peers, want) => {
    expect(announced(pods, plbs, peers)).toEqual(want);
  });

  it('resolves the peer like the operator does (defaults, durations, BFD) and says why a VIP is not announced', () => {
    const got = nodeAnnouncements(node, [lbPod('a', 'n1')], [web([entry('a', { backends: 0 })])], [peer('tor', { holdTime: '1m30s' })], noPassword);
    expect(got.peers).toEqual([expect.objectContaining({
      name: 'tor', holdTime: 90, keepaliveTime: 30, connectTime: 2, peerPort: 179, nextHopMode: 'NodeIP',
      bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 }, vips: [],
    })]);
    expect(got.vips).toEqual({ '192.0.2.10': 'LB pod a: no ready backend' });
  });

  it('reports a password it cannot read, and uses one it can', () => {
    const withRef = peer('tor', { passwordSecretRef: { name: 's', namespace: 'plb-system' } });
    expect(nodeAnnouncements(node, [], [], [withRef], noPassword).problems).toEqual([expect.stringContaining('password Secret plb-system/s (key password): no Secret')]);
    expect(nodeAnnouncements(node, [], [], [withRef], () => ({ value: 'pw' })).peers[0]?.password).toBe('pw');
  });
});
