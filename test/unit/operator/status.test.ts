import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { findCondition } from '../../../src/api/conditions.js';
import type { PortableLoadBalancerSpec } from '../../../src/api/generated.js';
import { computeStatus } from '../../../src/operator/status.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';
import { statusPatch } from '../../../src/operator/status-patch.js';
import { lbPod, plb } from '../support/builders.js';

const now = new Date('2026-11-26T12:00:00Z');
const entry = (pod: string, e: Partial<LoadBalancerEntry> = {}): LoadBalancerEntry => ({
  pod,
  node: 'n1',
  podIP: '10.244.1.5',
  attach: 'tc',
  programmedGeneration: 3,
  backends: 3,
  ready: true,
  ...e,
});
const twoRunning = [lbPod('web-lb-a', 'n1'), lbPod('web-lb-b', 'n2')];

interface Row {
  name: string;
  spec?: Partial<PortableLoadBalancerSpec>;
  backends?: { ready: number; total: number };
  lbPods: V1Pod[];
  entries?: LoadBalancerEntry[];
  want: Record<string, [string, string]>;
  message?: [string, RegExp];
}

const rows: Row[] = [
  {
    name: 'no pods match the selector: not Ready, NoMatchingPods',
    backends: { ready: 0, total: 0 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b')],
    want: { Ready: ['False', 'NoMatchingPods'], BackendsResolved: ['False', 'NoMatchingPods'], DataPlaneProgrammed: ['True', 'AllReplicasProgrammed'] },
    message: ['Ready', /no pod in namespace shop matches the selector app=web/],
  },
  {
    name: 'matching pods none of which is ready: NoReadyBackends',
    backends: { ready: 0, total: 2 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b')],
    want: { Ready: ['False', 'NoReadyBackends'], BackendsResolved: ['False', 'NoReadyBackends'] },
  },
  {
    name: 'LB pods not scheduled to any node: WaitingForReplicas, and says so',
    backends: { ready: 3, total: 3 },
    lbPods: [lbPod('web-lb-a'), lbPod('web-lb-b')],
    want: { Ready: ['False', 'WaitingForReplicas'], DataPlaneProgrammed: ['False', 'WaitingForReplicas'], Degraded: ['False', 'AsExpected'] },
    message: ['DataPlaneProgrammed', /0 of 2 LB pod\(s\) programmed: 2 LB pod\(s\) Pending: not scheduled to any node/],
  },
  {
    name: 'no LB pods yet: waiting for the Deployment',
    backends: { ready: 3, total: 3 },
    lbPods: [],
    want: { Ready: ['False', 'WaitingForReplicas'] },
    message: ['Ready', /waiting for the Deployment to create 2 LB pod/],
  },
  {
    name: 'some agents not yet programmed: Ready on the ones that are, Degraded until all are',
    backends: { ready: 3, total: 3 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b', { programmedGeneration: 2 })],
    want: { Ready: ['True', 'SomeReplicasProgrammed'], DataPlaneProgrammed: ['True', 'SomeReplicasProgrammed'], Degraded: ['True', 'ReplicasNotProgrammed'] },
  },
  {
    name: 'agents that reported an older generation only: NotProgrammed',
    backends: { ready: 3, total: 3 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a', { programmedGeneration: 2 }), entry('web-lb-b', { programmedGeneration: 2 })],
    want: { Ready: ['False', 'NotProgrammed'], DataPlaneProgrammed: ['False', 'NotProgrammed'] },
  },
  {
    name: 'all programmed: Ready, AllReplicasProgrammed, not Degraded',
    backends: { ready: 3, total: 3 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b')],
    want: { Ready: ['True', 'AllReplicasProgrammed'], BackendsResolved: ['True', 'BackendsReady'], DataPlaneProgrammed: ['True', 'AllReplicasProgrammed'], Degraded: ['False', 'AsExpected'] },
  },
  {
    name: 'an agent reports a missing kernel feature: Degraded and not programmed, with its message',
    spec: { dataPlane: 'ipvs' },
    backends: { ready: 3, total: 3 },
    lbPods: twoRunning,
    entries: [
      entry('web-lb-a', { ready: false, reason: 'KernelFeatureMissing', message: 'IPVS is not available: load ip_vs on the node', programmedGeneration: 0 }),
      entry('web-lb-b', { ready: false, reason: 'KernelFeatureMissing', message: 'IPVS is not available: load ip_vs on the node', programmedGeneration: 0 }),
    ],
    want: { Ready: ['False', 'KernelFeatureMissing'], DataPlaneProgrammed: ['False', 'KernelFeatureMissing'], Degraded: ['True', 'KernelFeatureMissing'] },
    message: ['Degraded', /pod web-lb-a on node n1: IPVS is not available: load ip_vs on the node/],
  },
  {
    name: 'flannel udp overlay: serving, but warned as Degraded OverlayUnsuitable',
    spec: { overlay: { mode: 'udp' } },
    backends: { ready: 3, total: 3 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b')],
    want: { Ready: ['True', 'AllReplicasProgrammed'], Degraded: ['True', 'OverlayUnsuitable'] },
    message: ['Degraded', /30-54k req\/s/],
  },
  {
    name: 'static addresses count as resolved backends',
    spec: { backends: { addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] } },
    lbPods: twoRunning,
    entries: [entry('web-lb-a'), entry('web-lb-b')],
    want: { Ready: ['True', 'AllReplicasProgrammed'], BackendsResolved: ['True', 'StaticBackends'] },
  },
  {
    name: 'an agent reason that is not a CamelCase token becomes AgentError instead of a rejected status write',
    backends: { ready: 1, total: 1 },
    lbPods: twoRunning,
    entries: [entry('web-lb-a', { ready: false, reason: 'bad reason!', message: 'boom' })],
    want: { DataPlaneProgrammed: ['False', 'AgentError'] },
  },
];

describe('computeStatus', () => {
  it.each(rows)('$name', ({ spec, backends, lbPods, entries, want, message }) => {
    const status = computeStatus(plb(spec, entries ? { loadBalancers: entries } : undefined), { lbPods, backends }, now);
    for (const [type, [s, reason]] of Object.entries(want)) {
      expect([type, findCondition(status.conditions, type)?.status, findCondition(status.conditions, type)?.reason]).toEqual([type, s, reason]);
    }
    if (message) expect(findCondition(status.conditions, message[0])?.message).toMatch(message[1]);
    for (const c of status.conditions ?? []) expect(c.observedGeneration).toBe(3);
    expect(status.observedGeneration).toBe(3);
  });

  it('drops entries of LB pods that no longer exist and keeps the rest as the agents wrote them', () => {
    const kept = entry('web-lb-a');
    const status = computeStatus(plb({}, { loadBalancers: [kept, entry('web-lb-gone')] }), { lbPods: twoRunning, backends: { ready: 1, total: 1 } }, now);
    expect(status.loadBalancers).toEqual([kept]);
  });

  it('drops the entry of an LB pod being deleted at once, while its agent still drains, so routers withdraw it', () => {
    const kept = entry('web-lb-a');
    const terminating = lbPod('web-lb-b', 'n2');
    terminating.metadata!.deletionTimestamp = new Date('2026-11-26T11:59:59Z');
    const lbPods = [lbPod('web-lb-a', 'n1'), terminating];
    const status = computeStatus(plb({}, { loadBalancers: [kept, entry('web-lb-b')] }), { lbPods, backends: { ready: 1, total: 1 } }, now);
    expect(status.loadBalancers).toEqual([kept]);
    expect(statusPatch(plb({}, { loadBalancers: [kept, entry('web-lb-b')] }).status, status)).toEqual(
      expect.arrayContaining([
        { op: 'test', path: '/status/loadBalancers/1/pod', value: 'web-lb-b' },
        { op: 'remove', path: '/status/loadBalancers/1' },
      ]),
    );
    // Only the LB pods still serving count: one of two replicas holds the generation.
    expect(findCondition(status.conditions, 'DataPlaneProgrammed')?.reason).toBe('SomeReplicasProgrammed');
  });

  it('reports backend counts for selectors and static addresses', () => {
    expect(computeStatus(plb(), { lbPods: [], backends: { ready: 2, total: 5 } }, now).backends).toEqual({ ready: 2, total: 5 });
    const s = plb({ backends: { addresses: [{ ip: '10.0.0.1' }] } });
    expect(computeStatus(s, { lbPods: [], backends: undefined }, now).backends).toEqual({ ready: 1, total: 1 });
  });
});
