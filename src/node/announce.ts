// What a node's speaker announces for BGPPeers with nextHopMode NodeIP. Pure.
//
// Why the node speaks, not the LB pod: on an overlay or NATed pod network the router reaches nodes only, so the
// LB pod's session would leave through the node's masquerade. The router then sees one neighbour per node
// address (a second LB pod on the node collides with the first), and BFD cannot work (the router's BFD packets
// go to the node's address, where nothing answers: they are not replies the NAT knows). The node's own speaker
// has the node's address: one session per router and node, BFD on that session, announcing the VIP of every
// PLB with a serving LB pod on this node, next hop = the node; routes.ts hands the VIP on to those pods.
//
// A VIP is announced to a peer when the peer serves its PLB (namespaces, loadBalancerSelector), the peer's
// nodeSelector picks this node, and at least one LB pod of the PLB on this node serves: its entry in
// status.loadBalancers says its kernel holds the desired state (ready) for the granted VIP (status.vip) with at
// least one backend, and the pod is not being deleted (announce.ts's rules, as the API reports them). The node
// withdraws as soon as its last serving LB pod stops serving; the node route stays through the pod's drain.
import type { V1Pod } from '@kubernetes/client-node';
import type { PeerConfig } from '../api/bgp-peer.js';
import type { BGPPeer, PortableLoadBalancer } from '../api/generated.js';
import { matchesSelector } from '../api/selector.js';
import { byName, peerSettings, servesPlb, type PasswordLookup } from '../operator/bgp-peers.js';
import { keyOf, lbPodsOn } from './lb-pods.js';

export interface NodeFacts {
  name: string;
  labels?: Record<string, string>;
}

export type NodePeer = PeerConfig & { vips: string[] };

export interface NodeAnnouncements {
  peers: NodePeer[];
  /** Per VIP: why it is (or is not) announced from this node, for the log. */
  vips: Record<string, string>;
  /** What the admin must fix (an unreadable password, a bad duration): that peer is left out. */
  problems: string[];
}

/** The PLBs (namespace/name) with an LB pod serving on `node`, and why the others with a pod here are not. */
export function servingPlbs(node: string, pods: readonly V1Pod[], plbs: readonly PortableLoadBalancer[]): { serving: Set<string>; why: Record<string, string> } {
  const serving = new Set<string>();
  const why: Record<string, string> = {};
  for (const { pod, plb } of lbPodsOn(node, pods, plbs)) {
    const key = keyOf(plb);
    const vip = plb.status?.vip;
    if (!vip) continue;
    const entry = plb.status?.loadBalancers?.find((e) => e.pod === pod.metadata?.name);
    const problem = pod.metadata?.deletionTimestamp ? 'being deleted (draining)'
      : pod.status?.phase !== 'Running' ? `phase ${pod.status?.phase ?? 'unknown'}`
      : !entry ? 'no status entry yet'
      : entry.ready !== true ? `not programmed${entry.reason ? ` (${entry.reason})` : ''}`
      : entry.vip !== undefined && entry.vip !== vip ? `holds ${entry.vip}, not the granted ${vip}`
      : (entry.backends ?? 0) < 1 ? 'no ready backend'
      : undefined;
    if (problem === undefined) {
      serving.add(key);
      why[vip] = `LB pod ${pod.metadata?.name} serves`;
    } else if (!serving.has(key)) {
      why[vip] = `LB pod ${pod.metadata?.name}: ${problem}`;
    }
  }
  return { serving, why };
}

export function nodeAnnouncements(
  node: NodeFacts,
  pods: readonly V1Pod[],
  plbs: readonly PortableLoadBalancer[],
  peers: readonly BGPPeer[],
  password: PasswordLookup,
): NodeAnnouncements {
  const problems: string[] = [];
  const out: NodePeer[] = [];
  const { serving, why } = servingPlbs(node.name, pods, plbs);
  for (const peer of byName(peers)) {
    if (peer.spec.nextHopMode !== 'NodeIP') continue;
    const selector = peer.spec.nodeSelector ?? {};
    if (Object.keys(selector).length > 0 && !matchesSelector({ matchLabels: selector }, node.labels)) continue;
    const settled = peerSettings(peer, password);
    if ('problem' in settled) {
      problems.push(settled.problem);
      continue;
    }
    const vips = plbs
      .filter((p) => serving.has(keyOf(p)) && servesPlb(peer, p))
      .map((p) => p.status!.vip!);
    out.push({ ...settled.config, vips: [...new Set(vips)].sort() });
  }
  return { peers: out, vips: why, problems };
}
