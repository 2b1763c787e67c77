// The upstream router's part, played by the lab: VIP/32 over ECMP to the LB pods whose agents report ready in
// status.loadBalancers[], minus pods that have started terminating (withdrawn before their containers are
// stopped: the kubelet's beforeStop, what a preStop delay and a BGP withdrawal give in a real cluster).
// Every change of the next-hop list is recorded: each one can break the connections in flight whose hash moves.
import type { ControlPlane } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { NAMESPACE, VIP } from './objects.js';
import type { PodNetwork } from './pod-network.js';

export class Router {
  /** `at`: epoch milliseconds. */
  readonly changes: Array<{ at: number; hops: string[] }> = [];
  #hops: string[] = [];
  readonly #withdrawn = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly cp: ControlPlane, private readonly net: PodNetwork) {}

  get hops(): string[] {
    return [...this.#hops];
  }

  /** Next hops from this PLB's status; serialized, so the route always follows the newest computation. */
  sync(plb: PortableLoadBalancer): Promise<string[]> {
    const ips = (plb.status?.loadBalancers ?? []).filter((e) => e.ready && e.podIP && !this.#withdrawn.has(e.podIP)).map((e) => e.podIP!).sort();
    return this.#apply(ips);
  }

  /** The pod at `ip` is terminating: take it out of the list now (pod IPs are never reused in the lab). */
  withdraw(ip: string): Promise<string[]> {
    this.#withdrawn.add(ip);
    return this.#apply(this.#hops.filter((h) => h !== ip));
  }

  /** Polls the PLB's status every `ms` until stop(). */
  follow(ms: number): void {
    const plbs = plbClient(this.cp.kubeConfig);
    this.#timer = setInterval(() => void plbs.get(NAMESPACE, 'web').then((p) => this.sync(p), () => undefined), ms);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #apply(ips: string[]): Promise<string[]> {
    const run = this.#queue.then(async () => {
      const want = ips.filter((ip) => !this.#withdrawn.has(ip));
      if (want.join() === this.#hops.join()) return this.#hops;
      await this.net.routeVip(VIP, want);
      this.#hops = want;
      this.changes.push({ at: Date.now(), hops: want });
      return want;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
