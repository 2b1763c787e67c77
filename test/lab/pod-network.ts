// The lab's network, shaped like a routed (Calico-style) pod network: this process runs in the "node"
// namespace; each pod is a namespace with one eth0 (a /32 address, default route via 169.254.1.1 on a routed
// veth); a "router" namespace between the node and a "client" namespace plays the upstream router that sends
// the VIP to the LB pods (ECMP over their pod IPs, as README's routing section describes).
import { inNs, sh } from './sh.js';

export const NODE_IP = '10.243.255.1';
const NODE_LINK = '10.243.254.0';
const ROUTER_NODE_LINK = '10.243.254.1';
const ROUTER_CLIENT_LINK = '10.243.253.0';
export const CLIENT_IP = '10.243.253.1';
export const POD_CIDR = '10.243.0.0/17';

export class PodNetwork {
  readonly namespaces: string[] = [];
  #nextIp = 2;

  constructor(
    readonly prefix: string,
    readonly nodeNs: string,
  ) {}

  get client(): string {
    return `${this.prefix}client`;
  }
  get router(): string {
    return `${this.prefix}router`;
  }

  async #addNs(name: string): Promise<void> {
    await sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
  }

  /** The node's own address, forwarding, and the router and client behind it. */
  async create(): Promise<void> {
    await sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    // ECMP over the LB pods by 5-tuple, as routers do: with the default (addresses only) every connection of the
    // one client would take the same LB pod, and losing the other one would go unnoticed.
    await sh('sysctl', ['-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
    await sh('ip', ['link', 'set', 'lo', 'up']);
    await sh('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
    await this.#addNs(this.router);
    await this.#addNs(this.client);
    await inNs(this.router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await sh('ip', ['link', 'add', 'n-router', 'type', 'veth', 'peer', 'name', 'r-node', 'netns', this.router]);
    await sh('ip', ['addr', 'add', `${NODE_LINK}/31`, 'dev', 'n-router']);
    await sh('ip', ['link', 'set', 'n-router', 'up']);
    await inNs(this.router, ['ip', 'addr', 'add', `${ROUTER_NODE_LINK}/31`, 'dev', 'r-node']);
    await inNs(this.router, ['ip', 'link', 'set', 'r-node', 'up']);
    await sh('ip', ['link', 'add', 'r-client', 'netns', this.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client]);
    await inNs(this.router, ['ip', 'addr', 'add', `${ROUTER_CLIENT_LINK}/31`, 'dev', 'r-client']);
    await inNs(this.router, ['ip', 'link', 'set', 'r-client', 'up']);
    await inNs(this.client, ['ip', 'addr', 'add', `${CLIENT_IP}/31`, 'dev', 'eth0']);
    await inNs(this.client, ['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(this.client, ['ip', 'route', 'add', 'default', 'via', ROUTER_CLIENT_LINK]);
    await inNs(this.router, ['ip', 'route', 'add', POD_CIDR, 'via', NODE_LINK]);
    await inNs(this.router, ['ip', 'route', 'add', `${NODE_IP}/32`, 'via', NODE_LINK]);
    await sh('ip', ['route', 'add', `${CLIENT_IP}/32`, 'via', ROUTER_NODE_LINK]);
  }

  /** A pod namespace with a routed /32 eth0; returns its namespace and IP. */
  async addPod(name: string): Promise<{ ns: string; ip: string; hostIf: string }> {
    const n = this.#nextIp++;
    const ip = `10.243.${Math.floor(n / 250)}.${(n % 250) + 2}`;
    const ns = `${this.prefix}p${n}`;
    const hostIf = `h-p${n}`;
    await this.#addNs(ns);
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    await sh('ip', ['route', 'add', `${ip}/32`, 'dev', hostIf]);
    const mac = (await sh('cat', [`/sys/class/net/${hostIf}/address`])).trim();
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(ns, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await inNs(ns, ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await inNs(ns, ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await inNs(ns, ['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
    void name;
    return { ns, ip, hostIf };
  }

  async removePod(ns: string): Promise<void> {
    await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.namespaces.splice(this.namespaces.indexOf(ns), 1);
  }

  /** The upstream router's job, done on the node: VIP/32 to every ready LB pod IP (ECMP), or no route. */
  async routeVip(vip: string, podIps: string[]): Promise<void> {
    if (podIps.length === 0) {
      await sh('ip', ['route', 'del', `${vip}/32`]).catch(() => undefined);
      return;
    }
    const hops = podIps.sort().flatMap((ip) => ['nexthop', 'via', ip]);
    await sh('ip', ['route', 'replace', `${vip}/32`, ...hops]);
    await inNs(this.router, ['ip', 'route', 'replace', `${vip}/32`, 'via', NODE_LINK]);
  }

  async destroy(): Promise<void> {
    for (const ns of [...this.namespaces].reverse()) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.namespaces.length = 0;
  }
}
