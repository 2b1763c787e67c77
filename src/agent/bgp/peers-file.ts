// The peers an LB pod speaks to, from the <plb>-lb-bgp Secret the operator writes and the kubelet mounts
// (peers.json under BGP_PEERS_DIR). Pure parse + filter; the cluster agent re-reads the file when the kubelet
// swaps the volume's content (and every few seconds, for platforms whose volume updates fire no event).
import type { PeerConfig } from '../../api/bgp-peer.js';

export interface PeersFile {
  peers: Array<PeerConfig & { nodes?: string[] }>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses peers.json; throws with what is wrong (the operator writes it, so this means a version skew). */
export function parsePeersFile(text: string): PeersFile {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc) || !Array.isArray(doc['peers'])) throw new Error('peers.json: want {"peers": [...]}');
  for (const [i, p] of doc['peers'].entries()) {
    if (!isObject(p) || typeof p['name'] !== 'string' || typeof p['peerAddress'] !== 'string' || typeof p['peerASN'] !== 'number' ||
      typeof p['myASN'] !== 'number' || typeof p['holdTime'] !== 'number') {
      throw new Error(`peers.json: peers[${i}] lacks name, peerAddress, peerASN, myASN or holdTime`);
    }
  }
  return doc as unknown as PeersFile;
}

/** The peers for the LB pod's node: a peer with `nodes` applies only there (its BGPPeer's nodeSelector). */
export function peersForNode(file: PeersFile, node: string): PeerConfig[] {
  return file.peers.filter((p) => !p.nodes || p.nodes.includes(node)).map(({ nodes: _, ...peer }) => peer);
}
