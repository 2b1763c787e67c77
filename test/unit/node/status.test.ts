// What a node reports into its PLBs' status.nodeSessions, and which writes that takes. Table-driven.
import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancer } from '../../../src/api/generated.js';
import type { SessionState } from '../../../src/agent/bgp/sessions.js';
import type { NodePeer } from '../../../src/node/announce.js';
import { changedReports, nodeFieldManager, nodeSessionReports, ownEntries } from '../../../src/node/status.js';
import type { NodeSession } from '../../../src/api/status.js';
import { plb } from '../support/builders.js';
import { lbPod, nodeIPPeer } from './builders.js';

const now = new Date('2026-12-07T12:00:00Z');
const earlier = '2026-12-07T11:00:00.000Z';
const web = plb({}, { vip: '192.0.2.10' });
const api = { ...plb({}, { vip: '192.0.2.20' }), metadata: { ...plb().metadata, name: 'api' } };
const configured = (name: string, vips: string[], peerAddress = '10.0.0.1'): NodePeer =>
  ({ name, peerAddress, peerASN: 64500, myASN: 64512, vips } as unknown as NodePeer);
const session = (peer: string, state: string, extra: Partial<SessionState> = {}): SessionState => ({ peer, peerAddress: '10.0.0.1', state, announced: state === 'Established', ...extra });

interface Case {
  pods: V1Pod[];
  plbs?: PortableLoadBalancer[];
  peers?: BGPPeer[];
  configured?: NodePeer[];
  sessions?: SessionState[];
  previous?: Map<string, NodeSession[]>;
}
const report = (c: Case) => Object.fromEntries(nodeSessionReports({
  node: 'n1', pods: c.pods, plbs: c.plbs ?? [web], peers: c.peers ?? [nodeIPPeer('tor')],
  configured: c.configured ?? [configured('tor', ['192.0.2.10'])], sessions: c.sessions ?? [session('tor', 'Established', { bfdState: 'Up' })],
  previous: c.previous ?? new Map(), now,
}));

describe('nodeSessionReports', () => {
  it.each<[string, Case, Record<string, Array<Partial<NodeSession>>>]>([
    ['an LB pod here, the session up and the VIP exported: announced', { pods: [lbPod('a', 'n1')] },
      { 'shop/web': [{ node: 'n1', peer: 'tor', peerAddress: '10.0.0.1', state: 'Established', bfdState: 'Up', announced: true, lastTransitionTime: now.toISOString() }] }],
    ['the session is up but the VIP is not exported (the pod does not serve yet): not announced',
      { pods: [lbPod('a', 'n1')], configured: [configured('tor', [])] }, { 'shop/web': [{ state: 'Established', announced: false }] }],
    ['the session is down, with its error', { pods: [lbPod('a', 'n1')], sessions: [session('tor', 'Active', { bfdState: 'Down', lastError: 'Socket: Connection refused' })] },
      { 'shop/web': [{ state: 'Active', bfdState: 'Down', announced: false, lastError: 'Socket: Connection refused' }] }],
    ['BIRD has not reported the session yet: Idle', { pods: [lbPod('a', 'n1')], sessions: [] }, { 'shop/web': [{ state: 'Idle', announced: false, peerAddress: '10.0.0.1' }] }],
    ['no LB pod of it on this node: nothing', { pods: [lbPod('a', 'n2')] }, {}],
    ['a finished LB pod: nothing', { pods: [lbPod('a', 'n1', { phase: 'Failed' })] }, {}],
    ['a draining LB pod: still reported (the node withdrew, it says so)', { pods: [lbPod('a', 'n1', { deleting: true })], configured: [configured('tor', [])] },
      { 'shop/web': [{ announced: false }] }],
    ['a peer that does not serve the PLB: no entry for it', { pods: [lbPod('a', 'n1')], peers: [nodeIPPeer('tor', { namespaces: ['other'] })] }, {}],
    ['a peer this node does not speak to (not configured): no entry', { pods: [lbPod('a', 'n1')], configured: [] }, {}],
    ['two peers: one entry each, by name', {
      pods: [lbPod('a', 'n1')], peers: [nodeIPPeer('tor-b'), nodeIPPeer('tor-a')],
      configured: [configured('tor-b', ['192.0.2.10'], '10.0.0.2'), configured('tor-a', ['192.0.2.10'])], sessions: [session('tor-a', 'Established'), session('tor-b', 'Connect', { peerAddress: '10.0.0.2' })],
    }, { 'shop/web': [{ peer: 'tor-a', announced: true }, { peer: 'tor-b', state: 'Connect', announced: false }] }],
    ['two PLBs with pods here: each gets its own, announced by its own VIP', {
      pods: [lbPod('a', 'n1'), lbPod('b', 'n1', { plbName: 'api' })], plbs: [web, api],
    }, { 'shop/web': [{ announced: true }], 'shop/api': [{ announced: false }] }],
    ['an LB pod in the class\'s pod namespace reports into its PLB\'s', { pods: [lbPod('a', 'n1', { plbNamespace: 'shop' })] }, { 'shop/web': [{ announced: true }] }],
    ['unchanged since the last report: the transition time stays', {
      pods: [lbPod('a', 'n1')], previous: new Map([['shop/web', [{ node: 'n1', peer: 'tor', state: 'Established', bfdState: 'Up', announced: true, lastTransitionTime: earlier }]]]),
    }, { 'shop/web': [{ lastTransitionTime: earlier }] }],
    ['BFD went down since: a new transition time', {
      pods: [lbPod('a', 'n1')], sessions: [session('tor', 'Established', { bfdState: 'Down' })],
      previous: new Map([['shop/web', [{ node: 'n1', peer: 'tor', state: 'Established', bfdState: 'Up', announced: true, lastTransitionTime: earlier }]]]),
    }, { 'shop/web': [{ bfdState: 'Down', lastTransitionTime: now.toISOString() }] }],
    ['a long error is cut to the CRD\'s 1024 characters', { pods: [lbPod('a', 'n1')], sessions: [session('tor', 'Active', { lastError: 'x'.repeat(5000) })] },
      { 'shop/web': [{ lastError: 'x'.repeat(1024) }] }],
  ])('%s', (_name, c, want) => {
    const got = report(c);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [key, entries] of Object.entries(want)) {
      expect(got[key]).toHaveLength(entries.length);
      entries.forEach((e, i) => expect(got[key]![i]).toMatchObject(e));
    }
  });
});

const entry = (peer: string, announced: boolean): NodeSession => ({ node: 'n1', peer, state: 'Established', announced, lastTransitionTime: earlier });

describe('changedReports: the writes, judged against what the PLBs hold', () => {
  it.each<[string, Record<string, NodeSession[]>, Record<string, NodeSession[]>, Record<string, NodeSession[]>]>([
    ['nothing held, something to say: written', {}, { 'shop/web': [entry('tor', true)] }, { 'shop/web': [entry('tor', true)] }],
    ['held as it should be: no write', { 'shop/web': [entry('tor', true)] }, { 'shop/web': [entry('tor', true)] }, {}],
    ['changed: written', { 'shop/web': [entry('tor', true)] }, { 'shop/web': [entry('tor', false)] }, { 'shop/web': [entry('tor', false)] }],
    ['held, nothing to say any more (the last LB pod left): emptied', { 'shop/web': [entry('tor', true)] }, {}, { 'shop/web': [] }],
    ['removed by someone else (a lagging operator cache): written again', {}, { 'shop/web': [entry('tor', true)] }, { 'shop/web': [entry('tor', true)] }],
  ])('%s', (_name, held, next, writes) => {
    expect(Object.fromEntries(changedReports(new Map(Object.entries(held)), new Map(Object.entries(next))))).toEqual(writes);
  });
});

describe('ownEntries', () => {
  it('takes this node\'s entries of each PLB, not other nodes\'', () => {
    const held = plb({}, { vip: '192.0.2.10', nodeSessions: [entry('tor', true), { ...entry('tor', true), node: 'n2' }] });
    expect(Object.fromEntries(ownEntries('n1', [held, api]))).toEqual({ 'shop/web': [entry('tor', true)] });
  });

  it('one field manager per node, so a node\'s empty apply removes only its own entries', () => {
    expect(nodeFieldManager('n1')).toBe('plb-node-routes/n1');
  });
});
