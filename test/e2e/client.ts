// The client: a container on the kind docker network (outside the cluster, like a user's machine) that routes
// the VIP to the nodes running LB pods and sends HTTP requests, one connection each, counting who answered.
import { docker } from './cluster.js';

export interface Tally {
  /** backend pod name -> responses */
  counts: Record<string, number>;
  errors: number;
}

// Runs inside the client container (the portable-lb image has node). Sequential, bounded in count and time.
const LOAD = `
const [url, n, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const counts = {}; let errors = 0;
(async () => {
  for (let i = 0; i < n; i++) {
    try {
      const r = await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(timeout) });
      const who = (await r.text()).trim();
      counts[who] = (counts[who] ?? 0) + 1;
    } catch { errors++; }
  }
  console.log(JSON.stringify({ counts, errors }));
})();
`;

export class Client {
  constructor(readonly name: string) {}

  static async start(name: string, image: string): Promise<Client> {
    await docker(['rm', '-f', name]).catch(() => undefined);
    // NET_ADMIN to add the VIP route; L4 multipath hashing so that different connections use different LB pods.
    await docker(['run', '-d', '--name', name, '--network', 'kind', '--cap-add', 'NET_ADMIN',
      '--sysctl', 'net.ipv4.fib_multipath_hash_policy=1', '--entrypoint', 'sleep', image, 'infinity']);
    return new Client(name);
  }

  /** VIP/32 via every given next hop (ECMP when several). */
  async routeVip(vip: string, nextHops: string[]): Promise<void> {
    const hops = nextHops.flatMap((h) => ['nexthop', 'via', h]);
    await docker(['exec', this.name, 'ip', 'route', 'replace', `${vip}/32`, ...hops]);
  }

  async requests(url: string, n: number, timeoutMs = 2000): Promise<Tally> {
    return JSON.parse(await docker(['exec', this.name, 'node', '-e', LOAD, url, String(n), String(timeoutMs)])) as Tally;
  }

  async remove(): Promise<void> {
    await docker(['rm', '-f', this.name]).catch(() => undefined);
  }
}
