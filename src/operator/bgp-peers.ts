// Which BGPPeers serve a PortableLoadBalancer, resolved into what its LB pods need and nothing more. Pure.
//
// Why the operator resolves, not the agent: BGPPeers are cluster-scoped and their passwords sit in Secrets of
// the admin's choosing. Letting every LB pod (in tenant namespaces, next to tenant workloads) read all peers,
// all nodes and arbitrary Secrets would hand each of them the cluster's routing config; instead the one operator
// reads them and writes each PLB a Secret holding only the peers that serve it (with their passwords and the
// nodes they apply to), which that PLB's LB pods alone may read (their Role names it). A tenant's PLB has no
// field that names a peer: the peer's namespaces and loadBalancerSelector choose the PLBs.
import type { V1Node } from '@kubernetes/client-node';
import { peerConfig, type PeerConfig } from '../api/bgp-peer.js';
import type { BGPPeer, PortableLoadBalancer } from '../api/generated.js';
import { matchesSelector } from '../api/selector.js';

/** One peer as the agent gets it: `nodes` absent = on every node, else only on the nodes named. */
export type AgentPeer = PeerConfig & { nodes?: string[] };

/** The content of the PLB's BGP Secret (key PEERS_KEY). */
export interface AgentBgpConfig {
  peers: AgentPeer[];
}

export const PEERS_KEY = 'peers.json';

export interface PeerResolution {
  config: AgentBgpConfig;
  /** What the admin must fix (an unreadable password Secret); the peer is left out until then. */
  problems: string[];
}

export type PasswordLookup = (ref: NonNullable<BGPPeer['spec']['passwordSecretRef']>) => { value: string } | { problem: string };

export function servesPlb(peer: BGPPeer, plb: PortableLoadBalancer): boolean {
  const { namespaces, loadBalancerSelector } = peer.spec;
  if (namespaces && namespaces.length > 0 && !namespaces.includes(plb.metadata?.namespace ?? '')) return false;
  return !loadBalancerSelector || matchesSelector(loadBalancerSelector, plb.metadata?.labels);
}

/** Peers in name order, so what is written from them (the Secret, the speaker's config) is stable. */
export function byName(peers: readonly BGPPeer[]): BGPPeer[] {
  return [...peers].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
}

/**
 * One peer's session settings with its password read, or why the peer is left out (an unreadable password
 * Secret, invalid settings). Shared by the LB pods' resolution here and the nodes' (src/node/announce.ts), so
 * both say the same thing of the same problem.
 */
export function peerSettings(peer: BGPPeer, password: PasswordLookup): { config: PeerConfig } | { problem: string } {
  const name = peer.metadata?.name ?? '';
  const ref = peer.spec.passwordSecretRef;
  let secret: string | undefined;
  if (ref) {
    const got = password(ref);
    if ('problem' in got) {
      return { problem: `BGPPeer ${name}: password Secret ${ref.namespace}/${ref.name} (key ${ref.key ?? 'password'}): ${got.problem}; the peer is left out` };
    }
    secret = got.value;
  }
  try {
    return { config: peerConfig(name, peer.spec, secret) };
  } catch (error) {
    return { problem: `BGPPeer ${name}: ${(error as Error).message}` };
  }
}

export function resolvePeers(
  plb: PortableLoadBalancer,
  peers: readonly BGPPeer[],
  nodes: readonly V1Node[],
  password: PasswordLookup,
): PeerResolution {
  const problems: string[] = [];
  const out: AgentPeer[] = [];
  for (const peer of byName(peers)) {
    if (!servesPlb(peer, plb)) continue;
    const settled = peerSettings(peer, password);
    if ('problem' in settled) {
      problems.push(settled.problem);
      continue;
    }
    const config = settled.config;
    const selector = peer.spec.nodeSelector ?? {};
    const restricted = Object.keys(selector).length > 0;
    const matching = restricted
      ? nodes.filter((n) => matchesSelector({ matchLabels: selector }, n.metadata?.labels)).map((n) => n.metadata?.name ?? '').sort()
      : undefined;
    out.push({ ...config, ...(matching ? { nodes: matching } : {}) });
  }
  return { config: { peers: out }, problems };
}
