// The upstream router's part, played by the lab: VIP/32 over ECMP to the LB pods whose agents report ready in
// status.loadBalancers[], and nothing else, as README asks of a real router. A deleted LB pod leaves that list at
// once and keeps forwarding for spec.drainSeconds, so following the list (1 s late, under load) is enough:
// no hook tells the router that a pod is terminating. Every change of the next-hop list is recorded: each one
// can break the connections in flight whose hash moves.
import type { ControlPlane } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { NAMESPACE, VIP } from './objects.js';
import type { PodNetwork } from './pod-network.js';

export class Router {
  /** `at`: epoch milliseconds. */
  readonly changes: Array<{ at: number; hops: string[] }> = [];
  #hops: string[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  readonly #lagging = new Set<NodeJS.Timeout>();

  constructor(private readonly cp: ControlPlane, private readonly net: PodNetwork) {}

  get hops(): string[] {
    return [...this.#hops];
  }

  /**
   * Next hops from this PLB's status; serialized, so the route always follows the newest computation. Ignored
   * while follow() runs: the follower alone drives the route then, with its lag.
   */
  sync(plb: PortableLoadBalancer): Promise<string[]> {
    return this.#timer ? Promise.resolve(this.hops) : this.#sync(plb);
  }

  #sync(plb: PortableLoadBalancer): Promise<string[]> {
    const ips = (plb.status?.loadBalancers ?? []).filter((e) => e.ready && e.podIP).map((e) => e.podIP!).sort();
    return this.#apply(ips);
  }

  /**
   * Polls the PLB's status every `ms` until stop(), and acts on what it read `lagMs` later: the time a real
   * router takes to follow (a controller's watch and resync, a BGP update travelling to the edge).
   */
  follow(ms: number, lagMs: number): void {
    const plbs = plbClient(this.cp.kubeConfig);
    let asked = 0;
    let acted = 0;
    this.#timer = setInterval(() => {
      const poll = ++asked;
      void plbs.get(NAMESPACE, 'web').then(
        (p) => this.#lagging.add(setTimeout(() => {
          // Answers can overtake each other: never act on an older read after a newer one.
          if (poll < acted) return;
          acted = poll;
          void this.#sync(p).catch(() => undefined);
        }, lagMs)),
        () => undefined,
      );
    }, ms);
  }

  /** Stops polling; what was read but not acted on yet is dropped. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const t of this.#lagging) clearTimeout(t);
    this.#lagging.clear();
  }

  #apply(ips: string[]): Promise<string[]> {
    const run = this.#queue.then(async () => {
      if (ips.join() === this.#hops.join()) return this.#hops;
      await this.net.routeVip(VIP, ips);
      this.#hops = ips;
      this.changes.push({ at: Date.now(), hops: ips });
      return ips;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
