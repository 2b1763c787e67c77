// Which routes a node needs for BGPPeers with nextHopMode NodeIP: the router sends the VIP to the node's address,
// and the node must hand it to its own LB pod(s) of that VIP: `VIP via <LB pod IP>` (ECMP over several). Pure.
//
// A next hop exists from the moment an LB pod reports its VIP programmed until its drain ends: kept through the
// drain (the pod withdrew its announcement and still forwards what the router sends meanwhile), dropped when the
// drain is over, because then the agent stops forwarding and the kubelet tears the pod's network down before the
// pod is gone from the API; another LB pod of the VIP on this node still announces, so the router keeps sending
// here, and a next hop left on the dead pod answered those connections with EHOSTUNREACH (seen on real nodes in a
// `kubectl drain` of a node with two LB pods). The routes carry their own protocol number (NODE_ROUTE_PROTO), so the component finds
// and removes its own after a restart or a pod that vanished while it was down; a node reboot empties the table
// and the component installs them again from the cluster's state.
import type { V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../api/generated.js';
import { drainSecondsFromEnv } from '../agent/kubernetes/shutdown.js';
import { lbPodsOn } from './lb-pods.js';

/** rtnetlink protocol of the routes this component owns (ip route ... proto 233; unassigned in rt_protos). */
export const NODE_ROUTE_PROTO = 233;

export interface NodeRoute {
  /** The VIP with its prefix length (/32 or /128). */
  dst: string;
  /** LB pod addresses, sorted. */
  via: string[];
}

/**
 * When a deleted LB pod's drain ends (ms since the epoch): its deletion (deletionTimestamp less the grace period it
 * was given) plus the drain its agent was given (PLB_DRAIN_SECONDS in its spec, as the operator rendered it; the
 * agent starts draining when the kubelet signals it, a little later, so it still forwards at this moment).
 */
export function drainEndsAt(pod: V1Pod): number | undefined {
  const at = pod.metadata?.deletionTimestamp;
  if (!at) return undefined;
  const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 0;
  const drain = drainSecondsFromEnv(pod.spec?.containers?.flatMap((c) => c.env ?? []).find((e) => e.name === 'PLB_DRAIN_SECONDS')?.value);
  return new Date(at).getTime() + (drain - grace) * 1000;
}

/** The next moment a deleted LB pod's drain ends on `node` after `now`: the routes change then, without an API event. */
export function nextDrainEnd(node: string, pods: readonly V1Pod[], plbs: readonly PortableLoadBalancer[], now: number): number | undefined {
  const ends = lbPodsOn(node, pods, plbs).map(({ pod }) => drainEndsAt(pod)).filter((t): t is number => t !== undefined && t > now);
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

export function desiredNodeRoutes(node: string, pods: readonly V1Pod[], plbs: readonly PortableLoadBalancer[], now = Date.now()): NodeRoute[] {
  const byVip = new Map<string, Set<string>>();
  for (const { pod, plb } of lbPodsOn(node, pods, plbs)) {
    const podIP = pod.status?.podIP;
    const phase = pod.status?.phase;
    if (!podIP || phase === 'Succeeded' || phase === 'Failed') continue;
    const entry = plb.status?.loadBalancers?.find((e) => e.pod === pod.metadata?.name);
    // The granted VIP only: spec.vip is a request the allocator may refuse (VIPConflict), and routing it here would
    // pull another holder's traffic into this node.
    const vip = plb.status?.vip;
    // Programmed with that VIP (its entry says so) or draining (its entry is gone, the pod still forwards until
    // its drain ends).
    const programmed = entry?.ready === true && entry.programmedGeneration !== undefined && (entry.vip === undefined || entry.vip === vip);
    const deleted = pod.metadata?.deletionTimestamp !== undefined;
    const draining = deleted && now < drainEndsAt(pod)!;
    if (!vip || (deleted ? !draining : !programmed)) continue;
    const family = vip.includes(':') ? 6 : 4;
    const via = [pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)].find((ip) => ip && (ip.includes(':') ? 6 : 4) === family);
    if (!via) continue;
    const dst = `${vip}/${family === 4 ? 32 : 128}`;
    byVip.set(dst, (byVip.get(dst) ?? new Set()).add(via));
  }
  return [...byVip.entries()].map(([dst, via]) => ({ dst, via: [...via].sort() })).sort((a, b) => (a.dst < b.dst ? -1 : 1));
}

/** What to change: routes to (re)install and destinations to remove, given what the kernel holds. */
export function routeChanges(want: readonly NodeRoute[], have: readonly NodeRoute[]): { install: NodeRoute[]; remove: string[] } {
  const key = (r: NodeRoute) => `${r.dst} ${r.via.join(',')}`;
  const haveKeys = new Set(have.map(key));
  const wantDst = new Set(want.map((r) => r.dst));
  return {
    install: want.filter((r) => !haveKeys.has(key(r))),
    remove: have.filter((r) => !wantDst.has(r.dst)).map((r) => r.dst),
  };
}
