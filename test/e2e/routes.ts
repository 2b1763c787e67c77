// Static routes for a VIP, as the README's "Install into a real cluster" asks of a network whose pod addresses
// are routed through their nodes (kindnet, flannel host-gw, Calico, hack/cluster): the upstream router sends the
// VIP to the nodes that run a ready LB pod (ECMP), and each such node sends it to its own ready LB pods. A node
// without that route would send the VIP back out of its default route. Pure: status in, routes and the order
// to change them out.
import type { PortableLoadBalancer } from '../../src/api/generated.js';

export type LbEntry = NonNullable<NonNullable<PortableLoadBalancer['status']>['loadBalancers']>[number];

export interface VipRoutes {
  /** Next hops of the upstream router: node addresses, sorted. */
  upstream: string[];
  /** Per node name: its ready LB pods' addresses, sorted (nodes without one are absent). */
  nodes: Record<string, string[]>;
}

export const NO_ROUTES: VipRoutes = { upstream: [], nodes: {} };

/** Only entries the agent reports ready (status.loadBalancers[] is what a router follows, not pod events). */
export function vipRoutes(entries: readonly LbEntry[], nodeIps: Readonly<Record<string, string>>): VipRoutes {
  const nodes: Record<string, string[]> = {};
  for (const e of entries) {
    if (!e.ready || !e.podIP || !e.node) continue;
    if (!nodeIps[e.node]) throw new Error(`LB pod ${e.pod} runs on ${e.node}, a node with no known address`);
    (nodes[e.node] ??= []).push(e.podIP);
  }
  for (const hops of Object.values(nodes)) hops.sort();
  const upstream = Object.keys(nodes).map((n) => nodeIps[n]!).sort();
  return { upstream, nodes };
}

export type RouteStep = { where: 'upstream'; hops: string[] } | { where: 'node'; node: string; hops: string[] };

const same = (a: readonly string[] = [], b: readonly string[] = []) => a.join() === b.join();

/**
 * What to change, in an order that never sends the VIP to a node without a route for it: nodes gain routes
 * before the upstream router points at them, and lose them only after it stopped. An empty `hops` = remove.
 */
export function routeSteps(from: VipRoutes, to: VipRoutes): RouteStep[] {
  const names = [...new Set([...Object.keys(from.nodes), ...Object.keys(to.nodes)])].sort();
  const gained = names.filter((n) => to.nodes[n] && !same(from.nodes[n], to.nodes[n]));
  const lost = names.filter((n) => !to.nodes[n] && from.nodes[n]);
  return [
    ...gained.map((node): RouteStep => ({ where: 'node', node, hops: to.nodes[node]! })),
    ...(same(from.upstream, to.upstream) ? [] : [{ where: 'upstream', hops: to.upstream } as RouteStep]),
    ...lost.map((node): RouteStep => ({ where: 'node', node, hops: [] })),
  ];
}
