// The agent's loop: source -> DesiredState -> DataPlane.apply, again whenever the source changes or a resync is
// due. A bad input never tears down what is programmed: the last good state keeps serving, the error is reported.
import type { DataPlane, DesiredState } from '../dataplane/types.js';
import { ConfigError } from './config.js';
import type { DesiredStateSource } from './file-source.js';
import { checkForwarding } from './forwarding.js';
import type { AgentHealth } from './metrics.js';

export interface AgentDeps {
  dataPlane: DataPlane;
  /** Throws ConfigError for what the user must fix, anything else for environment problems. */
  source: DesiredStateSource;
  log(message: string): void;
  /** Why the kernel does not forward the VIP's traffic, or undefined (forwarding.ts); injected by tests. */
  checkForwarding?: (plane: DataPlane['name'], vip: string) => Promise<string | undefined>;
}

export class Agent {
  readonly health: AgentHealth = { ready: false, applies: 0, applyErrors: 0 };
  lastError: string | null = null;
  lastDesired: DesiredState | null = null;
  private running: Promise<void> | null = null;
  private pending = false;
  private loggedWarnings = new Set<string>();

  constructor(private readonly deps: AgentDeps) {}

  /** Runs one sync; calls arriving while one runs are folded into a single follow-up sync. */
  sync(): Promise<void> {
    if (this.running) {
      this.pending = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.pending = false;
        await this.syncOnce();
      } while (this.pending);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * The apply's warnings (a sysctl it could not set) and those found by observing (a stalled XDP hook) are logged
   * once each, for as long as they last.
   */
  private async logNewWarnings(applied: readonly string[]): Promise<void> {
    const warnings = [...applied, ...(await this.deps.dataPlane.observe()).warnings];
    for (const w of warnings) {
      if (!this.loggedWarnings.has(w)) this.deps.log(`warning: ${w}`);
    }
    this.loggedWarnings = new Set(warnings);
  }

  private async syncOnce(): Promise<void> {
    this.health.applies++;
    try {
      const desired = await this.deps.source();
      const result = await this.deps.dataPlane.apply(desired);
      this.lastDesired = desired;
      if (result.changed) {
        this.deps.log(`programmed ${desired.vip} ports ${desired.ports.map((p) => `${p.port}/${p.protocol}`).join(',')} ` +
          `-> ${desired.backends.map((b) => `${b.ip}*${b.weight}`).join(',')} via ${result.attach} on ${desired.interface}`);
      }
      // Programmed but not forwarding is not ready, nor "still serving": the kernel drops what it would forward.
      const forwarding = await (this.deps.checkForwarding ?? checkForwarding)(this.deps.dataPlane.name, desired.vip);
      await this.logNewWarnings(result.warnings);
      if (forwarding) {
        this.health.ready = false;
        this.health.applyErrors++;
        this.lastError = forwarding;
        this.deps.log(`not ready: ${forwarding}`);
        return;
      }
      this.lastError = null;
      this.health.ready = true;
    } catch (err) {
      this.health.applyErrors++;
      this.lastError = err instanceof ConfigError ? `invalid ${err.message}` : (err as Error).message;
      this.deps.log(`apply failed${this.health.ready ? ' (still serving the last good state)' : ''}: ${this.lastError}`);
    }
  }
}
