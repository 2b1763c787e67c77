// What an LB pod's agent does on SIGTERM or SIGINT. Pure sequencing behind narrow ports (main.ts wires them), so
// that every path is unit-tested with a fake clock and a recording data plane.
//
// A pod being deleted drains: its readiness fails and its status.loadBalancers entry goes at once (the operator
// drops it too), so routers that follow that list withdraw the pod while it still forwards; after
// spec.drainSeconds it detaches and removes its kernel state. A container restart (pod not being deleted) leaves
// the programs and pinned maps in place and exits at once, so flows survive. A second signal cuts a drain short.
// When the API server cannot say whether the pod is being deleted, it drains as if it were but keeps its pinned
// state: purging a restarting pod's maps would cut its flows, and a deleted pod's pins go at the next sweep of a
// sibling LB pod on the node (pins.ts).
import { DEFAULT_DRAIN_SECONDS } from '../../api/defaults.js';

/**
 * What a failed read of the agent's own pod says about its deletion, by the API server's status code:
 *   - 404: the pod object is gone: deleted.
 *   - 401, 403: the agent's credentials are revoked. The service account token is bound to the pod (invalid once
 *     the pod object is gone), and the ServiceAccount, Role and RoleBinding are the PLB's children (garbage-
 *     collected with it): both happen only when the pod is being deleted. Counted as deleted, so a deleted PLB
 *     leaves no pinned maps (e2e "deleting the PLB leaves ... no pinned maps": 20 pin files of 2 LB pods stayed
 *     when these were 'unknown').
 *   - anything else (no answer in time, a connection refused, 5xx): 'unknown', keep the state.
 */
export function deletionFromLookupFailure(code: number | undefined): true | 'unknown' {
  return code === 404 || code === 401 || code === 403 ? true : 'unknown';
}

export interface ShutdownPorts {
  /** Whether the pod is being deleted (gone counts as deleted); 'unknown' when the API server could not say. */
  podDeleting(): Promise<boolean | 'unknown'>;
  /** /readyz answers 503 "draining" from now on. */
  markDraining(): void;
  /**
   * Stops writing status and removes this pod's own status.loadBalancers entry; keeps programming the kernel.
   * Never rejects: a failure is logged (the operator drops the entry of a deleted pod anyway).
   */
  withdraw(): Promise<void>;
  /** Stops watches and timers; the kernel keeps what is programmed. */
  stopAgent(): Promise<void>;
  /** Closes the health server and the data plane; `remove`: detach programs and remove pinned state. */
  close(remove: boolean): Promise<void>;
  /** Resolves after `ms`, or early once `signal` is aborted. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): number;
  log(message: string): void;
}

export class Shutdown {
  readonly #cutShort = new AbortController();
  #done: Promise<void> | undefined;

  constructor(
    private readonly p: ShutdownPorts,
    private readonly drainSeconds: number,
  ) {}

  /** The first signal starts the sequence; a later one ends a drain at once. Resolves when the agent may exit. */
  signal(name: string): Promise<void> {
    if (!this.#done) {
      this.#done = this.#run(name);
    } else if (!this.#cutShort.signal.aborted) {
      this.p.log(`${name}: second signal, cutting the drain short`);
      this.#cutShort.abort();
    }
    return this.#done;
  }

  async #run(signal: string): Promise<void> {
    this.p.markDraining();
    const deleting = await this.p.podDeleting();
    if (!deleting) {
      this.p.log(`${signal}: container stop without pod deletion: leaving programs in place for the restart`);
      await this.p.stopAgent();
      await this.p.close(false);
      return;
    }
    const unsure = deleting === 'unknown';
    const ending = unsure ? 'keeping programs and pinned maps (the API server could not say whether the pod is deleted)' : 'removing programs and pinned maps';
    const skip = this.drainSeconds <= 0 ? 'drainSeconds is 0' : this.#cutShort.signal.aborted ? 'a second signal came' : undefined;
    if (skip) {
      this.p.log(`${signal}: pod is being deleted${unsure ? ' (perhaps)' : ''}, no drain (${skip}): ${ending}`);
    } else {
      this.p.log(`${signal}: pod is being deleted${unsure ? ' (perhaps)' : ''}: draining for ${this.drainSeconds} s (readiness fails, withdrawing the ` +
        'status.loadBalancers entry; the data plane keeps forwarding while routers withdraw this pod)');
      const started = this.p.now();
      // Not awaited: an unreachable API server must not stretch the drain into the kubelet's SIGKILL.
      void this.p.withdraw();
      await this.p.sleep(this.drainSeconds * 1000, this.#cutShort.signal);
      const took = ((this.p.now() - started) / 1000).toFixed(1);
      this.p.log(`drain ended after ${took} s${this.#cutShort.signal.aborted ? ' (cut short by a second signal)' : ''}: ${ending}`);
    }
    await this.p.stopAgent();
    await this.p.close(!unsure);
  }
}

/**
 * PLB_DRAIN_SECONDS as the operator's Deployment sets it (spec.drainSeconds). Absent or malformed (an operator
 * from before the field, a hand-made pod): the CRD's default, which fits the old 30 s grace period too.
 */
export function drainSecondsFromEnv(value: string | undefined): number {
  const n = Number(value);
  return value && /^\d+$/.test(value.trim()) && Number.isSafeInteger(n) ? n : DEFAULT_DRAIN_SECONDS;
}
