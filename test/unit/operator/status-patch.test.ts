import { describe, expect, it } from '@jest/globals';
import { statusPatch } from '../../../src/operator/status-patch.js';

const cond = { type: 'Ready', status: 'True' as const, reason: 'X', message: '', lastTransitionTime: '2026-11-26T00:00:00Z' };

describe('statusPatch', () => {
  it('creates status on an object that has none, only if the object is still the version the cache saw', () => {
    expect(statusPatch(undefined, { observedGeneration: 1, conditions: [cond] }, '812')).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '812' },
      { op: 'add', path: '/status', value: {} },
      { op: 'add', path: '/status/observedGeneration', value: 1 },
      { op: 'add', path: '/status/conditions', value: [cond] },
    ]);
  });

  it('returns no ops when nothing the operator owns changed', () => {
    const s = { observedGeneration: 2, conditions: [cond], backends: { ready: 1, total: 1 }, loadBalancers: [{ pod: 'a' }] };
    expect(statusPatch(s, structuredClone(s))).toEqual([]);
  });

  it('replaces only changed fields and never rewrites agent entries', () => {
    const current = { observedGeneration: 2, conditions: [cond], loadBalancers: [{ pod: 'a', ready: true, backends: 2 }, { pod: 'b', ready: false, reason: 'X' }] };
    const next = { ...current, observedGeneration: 3, loadBalancers: [{ pod: 'a', ready: true, backends: 5 }, { pod: 'b', ready: false, reason: 'Y' }] };
    expect(statusPatch(current, next)).toEqual([{ op: 'replace', path: '/status/observedGeneration', value: 3 }]);
  });

  it('marks a ready entry the operator judged dead not ready, guarded by its pod and the report it judged', () => {
    const t = '2026-12-03T08:00:00Z';
    const current = { loadBalancers: [{ pod: 'a', ready: true, lastUpdateTime: t }, { pod: 'b', ready: true, lastUpdateTime: t }] };
    const next = { loadBalancers: [current.loadBalancers[0]!, { ...current.loadBalancers[1]!, ready: false, reason: 'NodeNotReady', message: 'node n2 is not Ready' }] };
    expect(statusPatch(current, next)).toEqual([
      { op: 'test', path: '/status/loadBalancers/1/pod', value: 'b' },
      { op: 'test', path: '/status/loadBalancers/1/lastUpdateTime', value: t },
      { op: 'add', path: '/status/loadBalancers/1/ready', value: false },
      { op: 'add', path: '/status/loadBalancers/1/reason', value: 'NodeNotReady' },
      { op: 'add', path: '/status/loadBalancers/1/message', value: 'node n2 is not Ready' },
    ]);
  });

  it('lifts a mark (the pod is Ready again): ready, the mark\'s reason and message gone, guarded by the mark it lifts', () => {
    const t = '2026-12-03T08:00:00Z';
    const current = { loadBalancers: [{ pod: 'a', ready: true, lastUpdateTime: t }, { pod: 'b', ready: false, reason: 'PodNotReady', message: 'pod b turned not Ready', lastUpdateTime: t, backends: 2 }] };
    const next = { loadBalancers: [current.loadBalancers[0]!, { pod: 'b', ready: true, lastUpdateTime: t, backends: 2 }] };
    expect(statusPatch(current, next)).toEqual([
      { op: 'test', path: '/status/loadBalancers/1/pod', value: 'b' },
      { op: 'test', path: '/status/loadBalancers/1/lastUpdateTime', value: t },
      { op: 'test', path: '/status/loadBalancers/1/reason', value: 'PodNotReady' },
      { op: 'replace', path: '/status/loadBalancers/1/ready', value: true },
      { op: 'remove', path: '/status/loadBalancers/1/reason' },
      { op: 'remove', path: '/status/loadBalancers/1/message' },
    ]);
  });

  it('marks before it removes: indexes are those of the entries as read', () => {
    const current = { loadBalancers: [{ pod: 'gone' }, { pod: 'b', ready: true }] };
    const ops = statusPatch(current, { loadBalancers: [{ pod: 'b', ready: false, reason: 'PodNotReady', message: 'm' }] });
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      'test /status/loadBalancers/1/pod', 'add /status/loadBalancers/1/ready', 'add /status/loadBalancers/1/reason', 'add /status/loadBalancers/1/message',
      'test /status/loadBalancers/0/pod', 'remove /status/loadBalancers/0',
    ]);
  });

  it('removes entries of vanished pods from the highest index down, each guarded by a test of its pod name', () => {
    const current = { loadBalancers: [{ pod: 'a' }, { pod: 'b' }, { pod: 'c' }] };
    expect(statusPatch(current, { loadBalancers: [{ pod: 'b' }] })).toEqual([
      { op: 'test', path: '/status/loadBalancers/2/pod', value: 'c' },
      { op: 'remove', path: '/status/loadBalancers/2' },
      { op: 'test', path: '/status/loadBalancers/0/pod', value: 'a' },
      { op: 'remove', path: '/status/loadBalancers/0' },
    ]);
  });

  it('removes node speakers\' entries of nodes without a live LB pod, guarded by their keys, and leaves the others as their nodes wrote them', () => {
    const ns = (node: string, peer: string, announced = true) => ({ node, peer, state: 'Established', announced });
    const current = { nodeSessions: [ns('n1', 'tor'), ns('n2', 'tor'), ns('n2', 'tor-b'), ns('n3', 'tor')] };
    expect(statusPatch(current, { nodeSessions: [ns('n1', 'tor', false), ns('n3', 'tor')] })).toEqual([
      { op: 'test', path: '/status/nodeSessions/2/node', value: 'n2' },
      { op: 'test', path: '/status/nodeSessions/2/peer', value: 'tor-b' },
      { op: 'remove', path: '/status/nodeSessions/2' },
      { op: 'test', path: '/status/nodeSessions/1/node', value: 'n2' },
      { op: 'test', path: '/status/nodeSessions/1/peer', value: 'tor' },
      { op: 'remove', path: '/status/nodeSessions/1' },
    ]);
  });

  it('leaves node speakers\' entries alone when the pass did not judge them', () => {
    expect(statusPatch({ nodeSessions: [{ node: 'n1', peer: 'tor' }] }, {})).toEqual([]);
  });
});
