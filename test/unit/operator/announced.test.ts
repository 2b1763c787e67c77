// The Announced condition ("announced by N of M LB pods") and which BGPPeers serve a PLB. Pure, table-driven.
import { describe, expect, it } from '@jest/globals';
import { findCondition } from '../../../src/api/conditions.js';
import type { BGPPeer, PortableLoadBalancer } from '../../../src/api/generated.js';
import { resolvePeers, servesPlb } from '../../../src/operator/bgp-peers.js';
import { sessionEvents, type SessionsSeen } from '../../../src/operator/events.js';
import { computeStatus } from '../../../src/operator/status.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';
import { lbPod, plb } from '../support/builders.js';

const now = new Date('2026-11-26T12:00:00Z');
const session = (state: string, announced: boolean, extra = {}) => ({ peer: 'tor', peerAddress: '10.0.0.1', state, announced, ...extra });
const entry = (pod: string, sessions: LoadBalancerEntry['sessions']): LoadBalancerEntry => ({
  pod, node: 'n1', podIP: '10.244.1.5', programmedGeneration: 3, backends: 3, ready: true, ...(sessions ? { sessions } : {}),
});
const pods = [lbPod('a', 'n1'), lbPod('b', 'n2')];

describe('the Announced condition', () => {
  it.each<[string, LoadBalancerEntry[], number, string[], string, string, RegExp]>([
    ['no peer serves the PLB', [entry('a', undefined)], 0, [], 'False', 'NoBGPPeers', /route the VIP to the LB pods .* yourself/],
    ['both LB pods announce', [entry('a', [session('Established', true)]), entry('b', [session('Established', true)])], 1, [], 'True', 'AllReplicasAnnounced', /announced by 2 of 2 LB pod\(s\) to 1 BGP peer/],
    ['one of two announces', [entry('a', [session('Established', true)]), entry('b', [session('Established', false)])], 1, [], 'True', 'SomeReplicasAnnounced', /announced by 1 of 2/],
    ['none announces: says each pod\'s sessions', [entry('a', [session('Active', false, { lastError: 'Socket: Connection refused', bfdState: 'Down' })]), entry('b', undefined)], 1, [], 'False', 'NotAnnounced',
      /0 of 2 .*pod a: tor Active\/BFD Down \(Socket: Connection refused\); pod b: no session reported/],
    // NodeIP peers are the nodes' to speak to (src/node/): the LB pods report them left out, not failing.
    ['only NodeIP peers: announced by the nodes, which report no session here', [
      entry('a', [session('Idle', false, { lastError: 'nextHopMode NodeIP: announced by the node (plb-agent node-routes), not by the LB pod' })]),
      entry('b', [session('Idle', false, { lastError: 'nextHopMode NodeIP: announced by the node (plb-agent node-routes), not by the LB pod' })]),
    ], 1, [], 'Unknown', 'AnnouncedByNodes', /nextHopMode NodeIP.*node-routes/],
    ['a NodeIP peer next to a PodIP peer that is down: not announced by the pods', [
      entry('a', [session('Idle', false, { lastError: 'nextHopMode NodeIP: announced by the node (plb-agent node-routes), not by the LB pod' }), { ...session('Active', false), peer: 'tor-b' }]),
    ], 2, [], 'False', 'NotAnnounced', /0 of 1/],
    ['an unreadable password keeps the only peer out', [entry('a', undefined)], 0, ['BGPPeer tor: password Secret x/y cannot be read'], 'False', 'PeerProblem', /password Secret x\/y/],
  ])('%s', (_name, entries, peers, problems, status, reason, message) => {
    const s = computeStatus(plb({}, { loadBalancers: entries }), { lbPods: pods, backends: { ready: 1, total: 1 }, bgpPeers: peers, bgpProblems: problems }, now);
    const c = findCondition(s.conditions, 'Announced');
    expect([c?.status, c?.reason]).toEqual([status, reason]);
    expect(c?.message).toMatch(message);
  });

  // NodeIP peers: the LB pods leave the session to their node (lastError says so); the nodes report theirs in
  // status.nodeSessions (src/node/status.ts), and an LB pod counts when the speaker of its node announces.
  const leftToNode = session('Idle', false, { lastError: 'nextHopMode NodeIP: announced by the node (plb-agent node-routes), not by the LB pod' });
  const onNode = (pod: string, node: string) => ({ ...entry(pod, [leftToNode]), node });
  const nodeSession = (node: string, state: string, announced: boolean, extra = {}) => ({ node, peer: 'tor', peerAddress: '10.0.0.1', state, announced, ...extra });
  type NodeSessions = NonNullable<NonNullable<PortableLoadBalancer['status']>['nodeSessions']>;
  it.each<[string, LoadBalancerEntry[], NodeSessions, string, string, RegExp]>([
    ['both nodes announce', [onNode('a', 'n1'), onNode('b', 'n2')], [nodeSession('n1', 'Established', true), nodeSession('n2', 'Established', true)],
      'True', 'AllReplicasAnnounced', /announced for 2 of 2 LB pod\(s\) to 1 BGP peer\(s\), by the speakers of their node\(s\) n1, n2/],
    ['one node\'s session is down', [onNode('a', 'n1'), onNode('b', 'n2')], [nodeSession('n1', 'Established', true), nodeSession('n2', 'Active', false)],
      'True', 'SomeReplicasAnnounced', /announced for 1 of 2 .* n1 /],
    ['no node announces: each pod with its node\'s sessions', [onNode('a', 'n1'), onNode('b', 'n2')],
      [nodeSession('n1', 'Active', false, { bfdState: 'Down', lastError: 'Socket: Connection refused' }), nodeSession('n2', 'Established', false)],
      'False', 'NotAnnounced', /0 of 2 .*pod a: tor Active\/BFD Down \(Socket: Connection refused\) from node n1; pod b: tor Established from node n2/],
    ['a node marked NotReady does not count, whatever its last report said', [onNode('a', 'n1'), { ...onNode('b', 'n2'), ready: false, reason: 'NodeNotReady' }],
      [nodeSession('n1', 'Established', true), nodeSession('n2', 'Established', true)], 'True', 'SomeReplicasAnnounced', /1 of 2/],
    ['only another node reported (not one of the LB pods\'): unknown', [onNode('a', 'n1')], [nodeSession('n9', 'Established', true)],
      'Unknown', 'AnnouncedByNodes', /no node of the 1 LB pod\(s\) has reported .*nodeRoutes.enabled/],
  ])('NodeIP: %s', (_name, entries, nodeSessions, status, reason, message) => {
    const s = computeStatus(plb({}, { loadBalancers: entries, nodeSessions }), { lbPods: pods, backends: { ready: 1, total: 1 }, bgpPeers: 1 }, now);
    const c = findCondition(s.conditions, 'Announced');
    expect([c?.status, c?.reason]).toEqual([status, reason]);
    expect(c?.message).toMatch(message);
  });

  it('keeps the node sessions of nodes with a live LB pod and drops the others (the status write removes them)', () => {
    const nodeSessions = [nodeSession('n1', 'Established', true), nodeSession('n2', 'Established', true), nodeSession('n9', 'Established', true)];
    const s = computeStatus(plb({}, { loadBalancers: [onNode('a', 'n1')], nodeSessions }), { lbPods: [lbPod('a', 'n1'), { ...lbPod('b', 'n2'), status: { phase: 'Failed' } }], backends: { ready: 1, total: 1 }, bgpPeers: 1 }, now);
    expect(s.nodeSessions?.map((e) => e.node)).toEqual(['n1']);
  });

  it('does not change Ready: a PLB without a peer is served where the VIP is routed statically', () => {
    const s = computeStatus(plb({}, { loadBalancers: [entry('a', undefined)] }), { lbPods: pods, backends: { ready: 1, total: 1 }, bgpPeers: 0 }, now);
    expect(findCondition(s.conditions, 'Ready')?.status).toBe('True');
  });
});

const peer = (name: string, spec: Partial<BGPPeer['spec']> = {}): BGPPeer => ({
  apiVersion: 'portablelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name }, spec: { peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, ...spec },
});

describe('which BGPPeers serve a PortableLoadBalancer', () => {
  const web = plb();
  web.metadata!.labels = { exposure: 'internet' };
  it.each<[string, Partial<BGPPeer['spec']>, boolean]>([
    ['a peer without selection serves every PLB', {}, true],
    ['a peer for the PLB\'s namespace', { namespaces: ['shop', 'web'] }, true],
    ['a peer for other namespaces', { namespaces: ['web'] }, false],
    ['a peer selecting the PLB\'s labels', { loadBalancerSelector: { matchLabels: { exposure: 'internet' } } }, true],
    ['a peer selecting other labels', { loadBalancerSelector: { matchLabels: { exposure: 'internal' } } }, false],
    ['both must hold', { namespaces: ['shop'], loadBalancerSelector: { matchExpressions: [{ key: 'exposure', operator: 'DoesNotExist' }] } }, false],
  ])('%s', (_name, spec, serves) => {
    expect(servesPlb(peer('p', spec), web)).toBe(serves);
  });

  it('resolves defaults, durations, passwords and nodeSelectors into what the agent needs', () => {
    const r = resolvePeers(web, [peer('b', { holdTime: '1m30s', bfd: {} }), peer('a', { nodeSelector: { rack: 'r1' }, passwordSecretRef: { name: 's', namespace: 'n' } })],
      [{ metadata: { name: 'n2', labels: { rack: 'r1' } } }, { metadata: { name: 'n1', labels: { rack: 'r1' } } }, { metadata: { name: 'n3' } }],
      () => ({ value: 'pw' }));
    expect(r.problems).toEqual([]);
    expect(r.config.peers).toEqual([
      { name: 'a', peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 9, keepaliveTime: 3, connectTime: 2,
        ebgpMultihop: false, password: 'pw', nextHopMode: 'PodIP', nodes: ['n1', 'n2'] },
      { name: 'b', peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 90, keepaliveTime: 30, connectTime: 2,
        ebgpMultihop: false, nextHopMode: 'PodIP', bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 } },
    ]);
  });
});

describe('BGP session Events', () => {
  const e = (state: string): SessionsSeen => ({ entries: [{ pod: 'a', sessions: [{ peer: 'tor', peerAddress: '10.0.0.1', state }] }] });
  const n = (state: string, bfdState?: string): SessionsSeen => ({ entries: [{ pod: 'a' }], nodeSessions: [{ node: 'n1', peer: 'tor', peerAddress: '10.0.0.1', state, ...(bfdState ? { bfdState } : {}) }] });
  it.each<[string, SessionsSeen | undefined, SessionsSeen, string[]]>([
    ['nothing on the first sight after a start', undefined, e('Established'), []],
    ['Up when a session becomes Established', e('Active'), e('Established'), ['Normal BGPSessionUp LB pod a: BGP session to tor (10.0.0.1) Established']],
    ['Down when an Established session leaves it', e('Established'), e('Idle'), ['Warning BGPSessionDown LB pod a: BGP session to tor (10.0.0.1) Idle']],
    ['nothing while it stays down', e('Active'), e('Connect'), []],
    ['nothing for a new session that is not up yet', { entries: [{ pod: 'a', sessions: [] }] }, e('Active'), []],
    ['Up for a new session that is up', { entries: [{ pod: 'a', sessions: [] }] }, e('Established'), ['Normal BGPSessionUp LB pod a: BGP session to tor (10.0.0.1) Established']],
    // NodeIP peers: the node's speaker holds the session (status.nodeSessions).
    ['a node\'s session comes up', n('Active'), n('Established', 'Up'), ['Normal BGPSessionUp node n1: BGP session to tor (10.0.0.1) Established, BFD Up']],
    ['a node\'s session goes down (BFD)', n('Established', 'Up'), n('Active', 'Down'), ['Warning BGPSessionDown node n1: BGP session to tor (10.0.0.1) Active, BFD Down']],
    ['a node\'s first report, up', { entries: [{ pod: 'a' }] }, n('Established'), ['Normal BGPSessionUp node n1: BGP session to tor (10.0.0.1) Established']],
    ['a node\'s entries removed (its speaker stopped): no Event for a session that is not there', n('Established'), { entries: [{ pod: 'a' }] }, []],
  ])('%s', (_name, before, after, want) => {
    expect(sessionEvents(before, after).map((x) => `${x.type} ${x.reason} ${x.message}`)).toEqual(want);
  });
});
