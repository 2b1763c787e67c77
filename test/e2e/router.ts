// The upstream router's part in the e2e suite, as the README asks of a real network with static routes: it
// follows status.loadBalancers[] of one PLB (polled every second, what a small controller or a script would do)
// and keeps the VIP's routes on the nodes and on the router in front of them (routes.ts) equal to it. Each
// change is recorded, to line up with failures of a steady load.
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { kubectl } from './kube.js';
import type { Provider } from './provider.js';
import { NO_ROUTES, routeSteps, vipRoutes, type VipRoutes } from './routes.js';

export class RouteFollower {
  readonly changes: Array<{ at: number; routes: VipRoutes }> = [];
  #routes: VipRoutes = NO_ROUTES;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly provider: Provider,
    private readonly namespace: string,
    private readonly name: string,
    private readonly vip: string,
  ) {}

  get routes(): VipRoutes {
    return this.#routes;
  }

  /** Reads the PLB once and applies what changed; serialized, so routes always follow the newest read. */
  sync(): Promise<VipRoutes> {
    const run = this.#queue.then(async () => {
      // A failed read changes nothing (a router keeps its routes when its controller loses the API); only a PLB
      // that is gone means no routes.
      const out = await kubectl(['-n', this.namespace, 'get', 'plb', this.name, '--ignore-not-found', '-o', 'json']).catch(() => undefined);
      if (out === undefined) return this.#routes;
      const plb = out.trim() ? (JSON.parse(out) as PortableLoadBalancer) : undefined;
      const next = vipRoutes(plb?.status?.loadBalancers ?? [], await this.provider.nodeIps());
      for (const step of routeSteps(this.#routes, next)) {
        if (step.where === 'upstream') await this.provider.routeUpstream(this.vip, step.hops);
        else await this.provider.routeOnNode(step.node, this.vip, step.hops);
      }
      if (routeSteps(this.#routes, next).length > 0) this.changes.push({ at: Date.now(), routes: next });
      this.#routes = next;
      return next;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  follow(everyMs = 1000): void {
    this.#timer ??= setInterval(() => void this.sync().catch(() => undefined), everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#queue;
  }
}
