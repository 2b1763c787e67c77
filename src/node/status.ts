// What a node's speaker reports into the PLBs it announces: status.nodeSessions, one entry per (node, peer)
// for every PLB with an LB pod on this node and every NodeIP peer of this node that serves that PLB. Pure.
//
// Why in the PLB and not only in the node's log and /metrics: with nextHopMode NodeIP the LB pods have no
// session of their own, so without these entries the PLB's Announced condition could only say "the nodes do it"
// (Unknown). Each node writes its own entries (server-side apply, field manager plb-node-routes/<node>, list map
// keyed by node and peer), so nodes never overwrite one another and the operator's status write leaves them alone.
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancer } from '../api/generated.js';
import type { SessionState } from '../agent/bgp/sessions.js';
import { servesPlb } from '../operator/bgp-peers.js';
import { sameJson } from '../runtime/canonical.js';
import type { NodePeer } from './announce.js';
import { keyOf, lbPodsOn } from './lb-pods.js';
import type { NodeSession } from '../api/status.js';

/** The field manager of a node's entries: one per node, so a node's apply of [] removes only its own. */
export const nodeFieldManager = (node: string): string => `plb-node-routes/${node}`;

/** The CRD's bound on lastError. */
const MAX_ERROR = 1024;

export interface NodeSessionInput {
  node: string;
  pods: readonly V1Pod[];
  plbs: readonly PortableLoadBalancer[];
  peers: readonly BGPPeer[];
  /** The peers this node's speaker was configured for in its last sync, each with the VIPs it announces. */
  configured: readonly NodePeer[];
  /** The speaker's polled session states. */
  sessions: readonly SessionState[];
  /** What the PLBs hold from this node (ownEntries of the cache): a transition time is kept while its session does not change. */
  previous: ReadonlyMap<string, readonly NodeSession[]>;
  now: Date;
}

/** Per PLB key (namespace/name): the entries this node should hold in its status.nodeSessions, sorted by peer. */
export function nodeSessionReports(input: NodeSessionInput): Map<string, NodeSession[]> {
  const out = new Map<string, NodeSession[]>();
  const peerByName = new Map(input.peers.map((p) => [p.metadata?.name ?? '', p]));
  const sessionOf = new Map(input.sessions.map((s) => [s.peer, s]));
  const now = input.now.toISOString();
  for (const { pod, plb } of lbPodsOn(input.node, input.pods, input.plbs)) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const key = keyOf(plb);
    if (out.has(key)) continue;
    const vip = plb.status?.vip;
    const before = new Map((input.previous.get(key) ?? []).map((e) => [e.peer, e]));
    const entries: NodeSession[] = [];
    for (const configured of input.configured) {
      const peer = peerByName.get(configured.name);
      if (!peer || !servesPlb(peer, plb)) continue;
      const s = sessionOf.get(configured.name);
      const entry: NodeSession = {
        node: input.node,
        peer: configured.name,
        peerAddress: s?.peerAddress || configured.peerAddress,
        state: s?.state ?? 'Idle',
        ...(s?.bfdState ? { bfdState: s.bfdState } : {}),
        announced: s?.state === 'Established' && vip !== undefined && configured.vips.includes(vip),
        ...(s?.lastError ? { lastError: s.lastError.slice(0, MAX_ERROR) } : {}),
      };
      const old = before.get(entry.peer);
      const same = old && old.state === entry.state && old.bfdState === entry.bfdState && old.announced === entry.announced;
      entries.push({ ...entry, lastTransitionTime: same && old.lastTransitionTime ? old.lastTransitionTime : now });
    }
    if (entries.length > 0) out.set(key, entries.sort((a, b) => (a.peer < b.peer ? -1 : 1)));
  }
  return out;
}

/**
 * The writes that make the PLBs hold `next`, given what they hold (ownEntries of the cache): every PLB whose
 * entries differ, and [] for a PLB that holds entries of this node it should not have any more (its last LB pod
 * left the node, no peer of this node serves it now, or an earlier run of this component wrote them). Judging
 * against the cache, not against what was written, repairs entries someone else removed (the operator prunes
 * nodes without LB pods of the PLB; on a lagging cache it may prune a new one) and needs no memory across restarts.
 */
export function changedReports(previous: ReadonlyMap<string, readonly NodeSession[]>, next: ReadonlyMap<string, readonly NodeSession[]>): Map<string, NodeSession[]> {
  const out = new Map<string, NodeSession[]>();
  for (const [key, entries] of next) if (!sameJson(previous.get(key), entries)) out.set(key, [...entries]);
  for (const key of previous.keys()) if (!next.has(key)) out.set(key, []);
  return out;
}

/** The entries `node` holds in the PLBs as the cache shows them, per PLB key. */
export function ownEntries(node: string, plbs: readonly PortableLoadBalancer[]): Map<string, NodeSession[]> {
  const out = new Map<string, NodeSession[]>();
  for (const plb of plbs) {
    const mine = (plb.status?.nodeSessions ?? []).filter((e) => e.node === node);
    if (mine.length > 0) out.set(keyOf(plb), mine);
  }
  return out;
}
