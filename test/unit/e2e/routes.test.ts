// The static routes the e2e suite keeps for a VIP (what README asks of a routed pod network): the upstream router
// to the nodes of ready LB pods, each node to its ready LB pods, changed in an order that never points the router
// at a node without a route.
import { describe, expect, test } from '@jest/globals';
import { NO_ROUTES, routeSteps, vipRoutes, type LbEntry } from '../../../test/e2e/routes.js';

const ips = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3' };
const entry = (pod: string, node: string, podIP: string, ready = true): LbEntry => ({ pod, node, podIP, ready });

describe('vipRoutes', () => {
  test.each<[string, LbEntry[], ReturnType<typeof vipRoutes>]>([
    ['no entries: no routes', [], NO_ROUTES],
    ['one pod per node', [entry('p1', 'b', '10.1.2.5'), entry('p2', 'a', '10.1.1.5')],
      { upstream: ['10.0.0.1', '10.0.0.2'], nodes: { a: ['10.1.1.5'], b: ['10.1.2.5'] } }],
    ['two pods on one node: ECMP on the node, one hop upstream', [entry('p1', 'a', '10.1.1.9'), entry('p2', 'a', '10.1.1.5')],
      { upstream: ['10.0.0.1'], nodes: { a: ['10.1.1.5', '10.1.1.9'] } }],
    ['an entry that is not ready is not routed', [entry('p1', 'a', '10.1.1.5'), entry('p2', 'b', '10.1.2.5', false)],
      { upstream: ['10.0.0.1'], nodes: { a: ['10.1.1.5'] } }],
    ['an entry without pod IP or node yet is not routed', [{ pod: 'p', ready: true }], NO_ROUTES],
  ])('%s', (_, entries, want) => {
    expect(vipRoutes(entries, ips)).toEqual(want);
  });

  test('an LB pod on a node of unknown address is an error, not a silent drop', () => {
    expect(() => vipRoutes([entry('p', 'z', '10.9.9.9')], ips)).toThrow(/no known address/);
  });
});

describe('routeSteps', () => {
  const ab = vipRoutes([entry('p1', 'a', '10.1.1.5'), entry('p2', 'b', '10.1.2.5')], ips);
  const bc = vipRoutes([entry('p2', 'b', '10.1.2.5'), entry('p3', 'c', '10.1.3.5')], ips);

  test.each<[string, typeof ab, typeof ab, ReturnType<typeof routeSteps>]>([
    ['nothing changes: no step', ab, ab, []],
    ['first routes: nodes before the router', NO_ROUTES, ab, [
      { where: 'node', node: 'a', hops: ['10.1.1.5'] }, { where: 'node', node: 'b', hops: ['10.1.2.5'] },
      { where: 'upstream', hops: ['10.0.0.1', '10.0.0.2'] }]],
    ['an LB pod moves: the new node first, the router, then the old node loses its route', ab, bc, [
      { where: 'node', node: 'c', hops: ['10.1.3.5'] }, { where: 'upstream', hops: ['10.0.0.2', '10.0.0.3'] },
      { where: 'node', node: 'a', hops: [] }]],
    ['all gone: the router first, then the nodes', ab, NO_ROUTES, [
      { where: 'upstream', hops: [] }, { where: 'node', node: 'a', hops: [] }, { where: 'node', node: 'b', hops: [] }]],
  ])('%s', (_, from, to, want) => {
    expect(routeSteps(from, to)).toEqual(want);
  });

  test('a second pass over the same status changes nothing', () => {
    expect(routeSteps(bc, vipRoutes([entry('p3', 'c', '10.1.3.5'), entry('p2', 'b', '10.1.2.5')], ips))).toEqual([]);
  });
});
