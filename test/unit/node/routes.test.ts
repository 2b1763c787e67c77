// The node routes of nextHopMode NodeIP: VIP via the node's own LB pods, from programmed until gone. Table-driven.
import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../src/api/generated.js';
import { desiredNodeRoutes, routeChanges } from '../../../src/node/routes.js';
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
