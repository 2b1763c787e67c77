// The node routes of nextHopMode NodeIP: VIP via the node's own LB pods, from programmed until gone. Table-driven.
import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';
import { desiredNodeRoutes, drainEndsAt, nextDrainEnd, routeChanges } from '../../../src/node/routes.js';
import { plb } from '../support/builders.js';
import { lbPod as podOn, type LbPodExtra } from './builders.js';

const lbPod = (name: string, node: string, ip: string, extra: Omit<LbPodExtra, 'ip'> = {}): V1Pod => podOn(name, node, { ...extra, ip });
const programmed = (pods: string[], vip = '192.0.2.10'): PortableLoadBalancer =>
  plb({ vip }, { vip, loadBalancers: pods.map((pod) => ({ pod, ready: true, programmedGeneration: 3, vip })) });

describe('desiredNodeRoutes', () => {
  it.each<[string, V1Pod[], PortableLoadBalancer[], Array<{ dst: string; via: string[] }>]>([
    ['one programmed LB pod on this node', [lbPod('a', 'n1', '10.244.1.5')], [programmed(['a'])], [{ dst: '192.0.2.10/32', via: ['10.244.1.5'] }]],
    ['two on this node: ECMP over both', [lbPod('b', 'n1', '10.244.1.6'), lbPod('a', 'n1', '10.244.1.5')], [programmed(['a', 'b'])],
      [{ dst: '192.0.2.10/32', via: ['10.244.1.5', '10.244.1.6'] }]],
    ['an LB pod on another node: none here', [lbPod('a', 'n2', '10.244.2.5')], [programmed(['a'])], []],
    ['not programmed yet: no route', [lbPod('a', 'n1', '10.244.1.5')], [plb({ vip: '192.0.2.10' })], []],
    ['draining (entry gone, pod still there): the route stays', [lbPod('a', 'n1', '10.244.1.5', { deleting: true })], [programmed([])],
      [{ dst: '192.0.2.10/32', via: ['10.244.1.5'] }]],
    ['a finished pod: none', [lbPod('a', 'n1', '10.244.1.5', { phase: 'Failed' })], [programmed(['a'])], []],
    ['a PLB that is gone: none', [lbPod('a', 'n1', '10.244.1.5')], [], []],
    ['LB pods in a class namespace find their PLB by label', [lbPod('a', 'n1', '10.244.1.5', { plbNamespace: 'shop' })], [programmed(['a'])],
      [{ dst: '192.0.2.10/32', via: ['10.244.1.5'] }]],
    // spec.vip is a request; status.vip is what the PLB was granted (the allocator may refuse it: VIPConflict).
    ['a requested VIP never granted (no status.vip): no route, even for a draining pod', [lbPod('a', 'n1', '10.244.1.5', { deleting: true })],
      [plb({ vip: '192.0.2.10' }, { loadBalancers: [] })], []],
    ['the entry holds another VIP than the granted one (a VIP move not yet programmed): no route until it holds it',
      [lbPod('a', 'n1', '10.244.1.5')], [plb({ vip: '192.0.2.11' }, { vip: '192.0.2.11', loadBalancers: [{ pod: 'a', ready: true, programmedGeneration: 3, vip: '192.0.2.10' }] })], []],
    ['a granted VIP from a pool (no spec.vip)', [lbPod('a', 'n1', '10.244.1.5')],
      [plb({ vip: undefined }, { vip: '192.0.2.12', loadBalancers: [{ pod: 'a', ready: true, programmedGeneration: 3, vip: '192.0.2.12' }] })], [{ dst: '192.0.2.12/32', via: ['10.244.1.5'] }]],
  ])('%s', (_name, pods, plbs, want) => {
    expect(desiredNodeRoutes('n1', pods, plbs)).toEqual(want);
  });

  // A deleted LB pod forwards until its drain ends (PLB_DRAIN_SECONDS after its deletion), then its kubelet tears its
  // network down before the pod leaves the API: its next hop must go with the drain, not with the pod.
  const deletedAt = Date.parse('2026-12-07T12:00:00Z');
  const deleted = (name: string, ip: string, drainSeconds?: string): V1Pod => {
    const pod = lbPod(name, 'n1', ip);
    pod.metadata!.deletionTimestamp = new Date(deletedAt + 30_000);
    pod.metadata!.deletionGracePeriodSeconds = 30;
    pod.spec!.containers = [{ name: 'agent', ...(drainSeconds !== undefined ? { env: [{ name: 'PLB_DRAIN_SECONDS', value: drainSeconds }] } : {}) }];
    return pod;
  };
  it.each<[string, V1Pod[], number, string[]]>([
    ['within its drain (15 s of a 30 s grace): both next hops', [deleted('a', '10.244.1.5', '15'), lbPod('b', 'n1', '10.244.1.6')], 14_000, ['10.244.1.5', '10.244.1.6']],
    ['its drain is over: only the serving pod, though the deleted one is still in the API', [deleted('a', '10.244.1.5', '15'), lbPod('b', 'n1', '10.244.1.6')], 15_000, ['10.244.1.6']],
    ['drainSeconds 0: gone at once', [deleted('a', '10.244.1.5', '0'), lbPod('b', 'n1', '10.244.1.6')], 100, ['10.244.1.6']],
    ['no PLB_DRAIN_SECONDS (an older operator): the CRD default, 10 s', [deleted('a', '10.244.1.5'), lbPod('b', 'n1', '10.244.1.6')], 9_000, ['10.244.1.5', '10.244.1.6']],
    ['no PLB_DRAIN_SECONDS, past 10 s', [deleted('a', '10.244.1.5'), lbPod('b', 'n1', '10.244.1.6')], 10_000, ['10.244.1.6']],
  ])('a deleted LB pod: %s', (_name, pods, msAfterDelete, via) => {
    const routes = desiredNodeRoutes('n1', pods, [programmed(['b'])], deletedAt + msAfterDelete);
    expect(routes.flatMap((r) => r.via)).toEqual(via);
  });

  it('the next drain end is when the routes change next; none once every drain is over', () => {
    const pods = [deleted('a', '10.244.1.5', '15'), deleted('c', '10.244.1.7', '5'), lbPod('b', 'n1', '10.244.1.6')];
    expect(drainEndsAt(pods[0]!)).toBe(deletedAt + 15_000);
    expect(nextDrainEnd('n1', pods, [programmed(['b'])], deletedAt)).toBe(deletedAt + 5_000);
    expect(nextDrainEnd('n1', pods, [programmed(['b'])], deletedAt + 5_000)).toBe(deletedAt + 15_000);
    expect(nextDrainEnd('n1', pods, [programmed(['b'])], deletedAt + 15_000)).toBeUndefined();
    expect(nextDrainEnd('n2', pods, [programmed(['b'])], deletedAt)).toBeUndefined();
  });

  it('an IPv6 VIP gets a /128 via the pod address of its family', () => {
    const pod = lbPod('a', 'n1', '10.244.1.5');
    pod.status!.podIPs = [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }];
    expect(desiredNodeRoutes('n1', [pod], [programmed(['a'], '2001:db8::10')])).toEqual([{ dst: '2001:db8::10/128', via: ['fd00::5'] }]);
  });
});

describe('routeChanges', () => {
  it.each<[string, Array<{ dst: string; via: string[] }>, Array<{ dst: string; via: string[] }>, { install: unknown[]; remove: string[] }]>([
    ['nothing to do when the kernel agrees (idempotent)', [{ dst: '192.0.2.10/32', via: ['a'] }], [{ dst: '192.0.2.10/32', via: ['a'] }], { install: [], remove: [] }],
    ['installs a missing route', [{ dst: '192.0.2.10/32', via: ['a'] }], [], { install: [{ dst: '192.0.2.10/32', via: ['a'] }], remove: [] }],
    ['replaces a route whose next hops changed', [{ dst: '192.0.2.10/32', via: ['a', 'b'] }], [{ dst: '192.0.2.10/32', via: ['a'] }],
      { install: [{ dst: '192.0.2.10/32', via: ['a', 'b'] }], remove: [] }],
    ['removes its own route nobody wants (a pod gone while the component was down)', [], [{ dst: '192.0.2.10/32', via: ['a'] }], { install: [], remove: ['192.0.2.10/32'] }],
  ])('%s', (_name, want, have, changes) => {
    expect(routeChanges(want, have)).toEqual(changes);
  });
});
