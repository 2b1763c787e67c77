// The agent's BGP side: which peers (from the mounted peers file, or given by the standalone agent), whether to
// announce (announce.ts, asked after every sync), and the speaker that makes it so (speaker.ts). Withdrawing on
// drain is one reconfigure; stopping BIRD sends a Cease, so a dead or stopped agent is withdrawn at once.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PeerConfig } from '../../api/bgp-peer.js';
import { decideAnnouncement, type AnnounceDecision, type AnnounceInput } from './announce.js';
import { parsePeersFile, peersForNode } from './peers-file.js';
import type { SessionState } from './sessions.js';
import { BirdSpeaker } from './speaker.js';

export interface AnnouncerOptions {
  podIP: string;
  /** All the pod's addresses (dual-stack): the session's source is the one of the VIP's family. */
  podIPs?: readonly string[];
  /** The node's address (HOST_IP): next hop of NodeIP peers. */
  nodeIP?: string;
  node: string;
  /** Where BIRD's config and socket live (private to this pod). */
  dir: string;
  log(message: string): void;
  /** A session changed: the agent reports it. */
  onChange(): void;
  /** peers.json of the mounted Secret; or fixed peers (the standalone agent). */
  peersFile?: string;
  peers?: PeerConfig[];
  birdCommand?: readonly string[];
  /** BIRD runs in another container on `dir` (speaker.ts). */
  external?: boolean;
}

export class Announcer {
  readonly #o: AnnouncerOptions;
  readonly #speaker: BirdSpeaker;
  #peers: PeerConfig[];
  #peersText = '';
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #last: (AnnounceInput & { vip: string }) | undefined;
  decision: AnnounceDecision | undefined;
  /** Why the peers file could not be used, if it could not. */
  peersError: string | undefined;

  constructor(o: AnnouncerOptions) {
    this.#o = o;
    this.#peers = o.peers ?? [];
    this.#speaker = new BirdSpeaker({
      dir: o.dir, log: o.log, onChange: () => o.onChange(), ...(o.birdCommand ? { birdCommand: o.birdCommand } : {}), ...(o.external ? { external: true } : {}),
    });
  }

  get sessions(): readonly SessionState[] {
    return this.#speaker.sessions;
  }

  get peers(): readonly PeerConfig[] {
    return this.#peers;
  }

  /** The standalone agent's peers changed (its file was edited). */
  setPeers(peers: PeerConfig[]): void {
    this.#peers = peers;
  }

  /** Reads the peers file now, and again when the kubelet swaps it (and every 5 s). */
  async start(): Promise<void> {
    const file = this.#o.peersFile;
    if (!file) return;
    await this.#reload();
    try {
      // Secret volumes change by renaming a ..data symlink in the directory: watch the directory.
      this.#watcher = watch(dirname(file), () => void this.#reload());
    } catch {
      // No directory (no Secret yet, the volume is optional): the poll finds it when it appears.
    }
    this.#poll = setInterval(() => void this.#reload(), 5_000);
  }

  async #reload(): Promise<void> {
    const file = this.#o.peersFile!;
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text === this.#peersText) return;
    this.#peersText = text;
    try {
      const peers = text ? peersForNode(parsePeersFile(text), this.#o.node) : [];
      this.peersError = undefined;
      this.#o.log(`bgp: ${peers.length} peer(s) for node ${this.#o.node || '(unknown)'}: ${peers.map((p) => `${p.name} ${p.peerAddress} AS${p.peerASN}`).join(', ') || 'none'}`);
      this.#peers = peers;
    } catch (error) {
      // Keep the last good peers: a half-written or skewed file must not drop every session.
      this.peersError = (error as Error).message;
      this.#o.log(`bgp: ${this.peersError}; keeping the previous peers`);
    }
    if (this.#last) await this.decide(this.#last).catch(() => undefined);
  }

  /** Decides and makes BIRD say it; returns the decision. A configure BIRD refuses is logged and rethrown. */
  async decide(input: AnnounceInput & { vip: string }): Promise<AnnounceDecision> {
    this.#last = input;
    const decision = decideAnnouncement(input);
    if (decision.announce !== this.decision?.announce || decision.reason !== this.decision?.reason) {
      if (this.#peers.length > 0) this.#o.log(`bgp: ${decision.announce ? 'announce' : 'withdraw'} ${input.vip}: ${decision.message}`);
    }
    this.decision = decision;
    await this.#speaker.update({
      vip: input.vip, announce: decision.announce, podIP: this.#podIPFor(input.vip), peers: this.#peers,
      ...(this.#o.nodeIP ? { nodeIP: this.#o.nodeIP } : {}),
    });
    return decision;
  }

  /** No VIP is held any more: withdraw what was announced (nothing is programmed). */
  async standDown(): Promise<void> {
    if (!this.#last) return;
    await this.decide({ ...this.#last, programmed: false, heldGeneration: undefined });
  }

  #podIPFor(vip: string): string {
    const family = vip.includes(':') ? 6 : 4;
    return [this.#o.podIP, ...(this.#o.podIPs ?? [])].find((ip) => (ip.includes(':') ? 6 : 4) === family) ?? this.#o.podIP;
  }

  /** Withdraws the VIP from every peer (draining); resolves once BIRD has taken the new config. */
  async withdraw(): Promise<void> {
    if (!this.#last) return;
    await this.decide({ ...this.#last, draining: true });
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    clearInterval(this.#poll);
    await this.#speaker.stop();
  }
}
