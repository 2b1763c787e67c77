// The node's BGP speaker for nextHopMode NodeIP peers: BIRD on the node (the node-routes DaemonSet's pod, host
// network), driven by nodeAnnouncements (announce.ts) and rendered by renderNodeBirdConfig: one session per router
// from the node's address, BFD on it, the VIPs of the PLBs whose LB pods on this node serve. Reconfigured, never
// restarted, when the set changes; BIRD dies with the component (pdeathsig) and its Cease withdraws at once.
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancer } from '../api/generated.js';
import { renderNodeBirdConfig, type NodeSpeakerInput } from '../agent/bgp/bird-config.js';
import type { SessionState } from '../agent/bgp/sessions.js';
import { BirdSpeaker } from '../agent/bgp/speaker.js';
import type { PasswordLookup } from '../operator/bgp-peers.js';
import { nodeAnnouncements, type NodeFacts, type NodePeer } from './announce.js';

export interface NodeSpeakerOptions {
  /** The node's addresses (status.hostIPs): the sessions' source and the next hop. */
  nodeIPs: readonly string[];
  /** BIRD's config and control socket. */
  dir: string;
  log(message: string): void;
  birdCommand?: readonly string[];
  pollMs?: number;
  /** A polled session or BFD state changed (main.ts reports it into the PLBs' status.nodeSessions). */
  onChange?(): void;
}

export class NodeSpeaker {
  readonly #o: NodeSpeakerOptions;
  readonly #bird: BirdSpeaker<NodeSpeakerInput>;
  #said = '';
  #vipsByPeer = new Map<string, number>();
  #configured: readonly NodePeer[] = [];

  constructor(o: NodeSpeakerOptions) {
    this.#o = o;
    this.#bird = new BirdSpeaker<NodeSpeakerInput>({
      dir: o.dir, log: o.log, render: renderNodeBirdConfig, ...(o.birdCommand ? { birdCommand: o.birdCommand } : {}), ...(o.pollMs ? { pollMs: o.pollMs } : {}),
      ...(o.onChange ? { onChange: () => o.onChange!() } : {}),
    });
  }

  get sessions(): readonly SessionState[] {
    return this.#bird.sessions;
  }

  /** Per BGPPeer name: how many VIPs the last sync asked BIRD to announce to it (for /metrics). */
  get vipsByPeer(): ReadonlyMap<string, number> {
    return this.#vipsByPeer;
  }

  /** The peers the last sync configured, each with the VIPs announced to it (status.ts reports per PLB from these). */
  get configured(): readonly NodePeer[] {
    return this.#configured;
  }

  /** Makes BIRD announce what the cluster's state says this node should; logs what changed and why. */
  async sync(node: NodeFacts, pods: readonly V1Pod[], plbs: readonly PortableLoadBalancer[], peers: readonly BGPPeer[], password: PasswordLookup): Promise<void> {
    const want = nodeAnnouncements(node, pods, plbs, peers, password);
    const said = JSON.stringify([want.peers.map((p) => [p.name, p.vips]), want.vips, want.problems]);
    if (said !== this.#said) {
      this.#said = said;
      for (const p of want.problems) this.#o.log(`bgp: ${p}`);
      for (const p of want.peers) this.#o.log(`bgp: to ${p.name} (${p.peerAddress}) from ${node.name}: ${p.vips.join(', ') || 'nothing'}`);
      for (const [vip, why] of Object.entries(want.vips)) this.#o.log(`bgp: ${vip}: ${why}`);
    }
    this.#vipsByPeer = new Map(want.peers.map((p) => [p.name, p.vips.length]));
    this.#configured = want.peers;
    await this.#bird.update({ nodeIPs: this.#o.nodeIPs, peers: want.peers });
  }

  /** Stops BIRD: its Cease withdraws every VIP of this node at once (the node routes stay). */
  stop(): Promise<void> {
    return this.#bird.stop();
  }
}
