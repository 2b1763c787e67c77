// The BIRD of one LB pod and the agent's hold on it: render the config, `birdc configure` on every change of the
// text (never a restart: BIRD keeps the sessions and only re-exports, so a VIP withdrawal reaches the router in
// ~70 ms), poll session and BFD state. Two ways to run BIRD:
//  - external: the LB pod's `speaker` container runs it (same image), sharing a directory with the agent; an
//    agent restart then leaves the sessions and the route up (the kernel keeps forwarding meanwhile), and the new
//    agent takes over the socket. What the Deployment does.
//  - child: the agent spawns it (standalone mode, or an LB pod without the speaker container), restarts it if
//    it dies, and it dies with the agent (pdeathsig).
// SIGTERM to BIRD sends a Cease to every peer, so the router withdraws at once when the speaker stops.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { birdCommand } from './birdc.js';
import type { PeerConfig } from '../../api/bgp-peer.js';
import { renderBirdConfig, type RenderedConfig, type SpeakerInput } from './bird-config.js';
import { parseBfdSessions, parseProtocols, sessionStates, type SessionState } from './sessions.js';

export interface SpeakerOptions<I extends { peers: readonly PeerConfig[] } = SpeakerInput> {
  /** Holds bird.conf and the control socket; per pod (an emptyDir or the pod's own /run). */
  dir: string;
  log(message: string): void;
  /** Called when a polled session state differs from the last one. */
  onChange?(sessions: readonly SessionState[]): void;
  /** The BIRD command line before its options (default bird; a test prefixes ip netns exec). */
  birdCommand?: readonly string[];
  /** Another container runs BIRD on `dir`'s config and socket: never spawn or stop it. */
  external?: boolean;
  pollMs?: number;
  /** The config for an input: an LB pod's by default, the node's speaker gives renderNodeBirdConfig. */
  render?: (input: I) => RenderedConfig;
}

export class BirdSpeaker<I extends { peers: readonly PeerConfig[] } = SpeakerInput> {
  readonly #o: SpeakerOptions<I>;
  readonly #render: (input: I) => RenderedConfig;
  readonly #conf: string;
  readonly #socket: string;
  #child: ChildProcess | undefined;
  #rendered: RenderedConfig | undefined;
  #input: I | undefined;
  #sessions: SessionState[] = [];
  #poll: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;
  /** Last error of BIRD itself (start, configure), reported on every session. */
  lastError: string | undefined;

  constructor(o: SpeakerOptions<I>) {
    this.#o = o;
    this.#render = o.render ?? (renderBirdConfig as unknown as (input: I) => RenderedConfig);
    mkdirSync(o.dir, { recursive: true });
    this.#conf = join(o.dir, 'bird.conf');
    this.#socket = join(o.dir, 'bird.ctl');
  }

  get sessions(): readonly SessionState[] {
    return this.#sessions;
  }

  /** Whether the VIP is announced over at least one session right now. */
  get announced(): boolean {
    return this.#sessions.some((s) => s.announced);
  }

  /** Serialized: one render + configure at a time, in call order. */
  update(input: I): Promise<void> {
    const run = this.#queue.then(() => this.#update(input));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #update(input: I): Promise<void> {
    if (this.#stopped) return;
    this.#input = input;
    // A speaker container keeps running without peers: it gets a config without sessions instead.
    if (input.peers.length === 0 && !this.#o.external) {
      await this.#stopBird();
      this.#rendered = undefined;
      this.#setSessions([]);
      return;
    }
    const rendered = this.#render(input);
    const changed = rendered.text !== this.#rendered?.text;
    if (changed) {
      const tmp = `${this.#conf}.tmp`;
      writeFileSync(tmp, rendered.text);
      renameSync(tmp, this.#conf);
    }
    if (this.#o.external) {
      this.#startPolling();
    } else if (!this.#child) {
      this.#rendered = rendered;
      await this.#startBird();
      return;
    }
    if (!changed) return;
    try {
      const started = performance.now();
      await birdCommand(this.#socket, 'configure', 10_000);
      this.#rendered = rendered;
      this.lastError = undefined;
      this.#o.log(`bgp: reconfigured BIRD in ${Math.round(performance.now() - started)} ms (${rendered.summary})`);
    } catch (error) {
      // BIRD checks a config before applying it: on a rejection the old one keeps running.
      this.lastError = (error as Error).message;
      this.#o.log(`bgp: ${this.lastError}`);
      // The speaker container reads the file when it (re)starts: nothing to tell it before that.
      if (this.#o.external && /control socket|ENOENT|ECONNREFUSED/.test(this.lastError)) {
        this.#rendered = rendered;
        return;
      }
      throw error;
    }
    void this.#refresh();
  }

  #startPolling(): void {
    if (this.#poll) return;
    this.#poll = setInterval(() => void this.#refresh(), this.#o.pollMs ?? 1_000);
  }

  async #startBird(): Promise<void> {
    // pdeathsig: BIRD dies with the agent (SIGKILL included) and its Cease withdraws the VIP at once; in a
    // container the PID namespace would end it too, but not in the lab or a standalone run.
    const [bird = 'bird', ...pre] = this.#o.birdCommand ?? ['setpriv', '--pdeathsig', 'TERM', '--', 'bird'];
    const child = spawn(bird, [...pre, '-f', '-c', this.#conf, '-s', this.#socket, '-P', join(this.#o.dir, 'bird.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const relay = (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) this.#o.log(`bird: ${line.trim()}`);
    };
    child.stdout?.on('data', relay);
    child.stderr?.on('data', relay);
    child.once('error', (e) => {
      if (this.#child === child) this.#child = undefined;
      this.lastError = `cannot start ${bird}: ${e.message}`;
      this.#o.log(`bgp: ${this.lastError}`);
    });
    child.once('exit', (code, signal) => {
      // #stopBird() lets go of the child before it signals it: that exit is intended.
      if (this.#child !== child || this.#stopped) return;
      this.#child = undefined;
      this.lastError = `BIRD exited (${signal ?? `code ${code}`}); restarting`;
      this.#o.log(`bgp: ${this.lastError}`);
      this.#setSessions(this.#sessions.map((s) => ({ ...s, state: 'Idle', announced: false, lastError: this.lastError })));
      // Restarted with the last input after a pause, so a config BIRD refuses at start does not spin.
      void sleep(1_000).then(() => {
        if (!this.#stopped && !this.#child && this.#input) void this.update({ ...this.#input });
      });
    });
    this.#o.log(`bgp: started BIRD (pid ${child.pid}) for ${Object.keys(this.#rendered?.protocols ?? {}).length} peer(s)`);
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#startPolling();
  }

  async #refresh(): Promise<void> {
    const rendered = this.#rendered;
    const input = this.#input;
    if (!rendered || !input || (!this.#child && !this.#o.external)) return;
    try {
      const protocols = parseProtocols(await birdCommand(this.#socket, 'show protocols all', 3_000));
      // BIRD answers: errors about reaching or starting it are over.
      if (this.lastError && /^BIRD exited|^cannot start|control socket|ENOENT|ECONNREFUSED/.test(this.lastError)) this.lastError = undefined;
      // Only peers that got a session: BIRD runs no BFD protocol when every BFD peer was left out (NodeIP peers
      // are the node's), and `show bfd sessions` then fails.
      const sessionPeers = new Set(Object.values(rendered.protocols));
      const wantsBfd = input.peers.some((p) => p.bfd && sessionPeers.has(p.name));
      const bfd = wantsBfd ? parseBfdSessions(await birdCommand(this.#socket, 'show bfd sessions', 3_000)) : new Map<string, string>();
      const addresses = Object.fromEntries(input.peers.map((p) => [p.name, p.peerAddress]));
      const bfdWanted = Object.fromEntries(input.peers.map((p) => [p.name, p.bfd !== undefined]));
      this.#setSessions(sessionStates(rendered.protocols, addresses, bfdWanted, protocols, bfd, rendered.skipped));
    } catch (error) {
      // BIRD is starting (no socket yet) or restarting: the next poll tells. A speaker container that is gone
      // announces nothing: say so rather than keep the last good state.
      if (this.#o.external) {
        this.#setSessions(this.#sessions.map((s) => ({ ...s, state: 'Idle', ...(s.bfdState ? { bfdState: 'Down' } : {}), announced: false, lastError: `speaker: ${(error as Error).message}` })));
      }
    }
  }

  #setSessions(next: SessionState[]): void {
    const withError = this.lastError ? next.map((s) => ({ ...s, lastError: s.lastError ?? this.lastError })) : next;
    if (JSON.stringify(withError) === JSON.stringify(this.#sessions)) return;
    const before = new Map(this.#sessions.map((s) => [s.peer, s]));
    for (const s of withError) {
      const old = before.get(s.peer);
      if (old?.state !== s.state || old?.bfdState !== s.bfdState || old?.announced !== s.announced) {
        this.#o.log(`bgp: session ${s.peer} (${s.peerAddress}) ${s.state}${s.bfdState ? `, BFD ${s.bfdState}` : ''}, ` +
          `${s.announced ? 'announcing' : 'not announcing'}${s.lastError ? ` (last error: ${s.lastError})` : ''}`);
      }
    }
    this.#sessions = withError;
    this.#o.onChange?.(withError);
  }

  async #stopBird(): Promise<void> {
    clearInterval(this.#poll);
    this.#poll = undefined;
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const wait = new AbortController();
    const killed = await Promise.race([exited.then(() => true), sleep(3_000, undefined, { signal: wait.signal }).then(() => false, () => true)]);
    wait.abort();
    if (!killed) child.kill('SIGKILL');
    this.#o.log('bgp: stopped BIRD');
  }

  /** Stops BIRD: its Cease tells every router to withdraw at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queue;
    await this.#stopBird();
  }
}
