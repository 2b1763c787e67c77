// A Kubernetes-like pod network in namespaces (notes, topology 2): a "node" namespace with Calico-style routed
// /32 veths to each pod; every pod has one eth0, a /32 address and a default route via 169.254.1.1 (a static
// neighbour entry pointing at the host-side veth). The node routes the VIP to the LB pod, as a router would.
// A pod given an `ip6` is dual-stack the same way: a /128, a default route via fe80::1 (static neighbour), DAD off
// so addresses are usable at once.
import type { ChildProcess } from 'node:child_process';
import { inNs, killAll, sh, spawnInNs, type Spawned } from './netns.js';

export interface PodSpec {
  name: string;
  ip: string;
  ip6?: string;
}

export class Topology {
  readonly node: string;
  readonly nodeIp = '10.240.255.1';
  private readonly namespaces: string[] = [];
  /** Some pod has an IPv6 address: only then are IPv6 sysctls touched (a kernel may run without IPv6). */
  private ipv6 = false;
  readonly processes = new Set<ChildProcess>();

  constructor(readonly prefix: string) {
    this.node = `${prefix}node`;
  }

  ns(pod: string): string {
    return `${this.prefix}${pod}`;
  }

  async create(pods: PodSpec[]): Promise<void> {
    this.ipv6 = pods.some((p) => p.ip6);
    await this.addNs(this.node);
    await inNs(this.node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    if (this.ipv6) await inNs(this.node, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    // The node's own address, for traffic generated on the node (partial checksums through the LB).
    await inNs(this.node, ['ip', 'addr', 'add', `${this.nodeIp}/32`, 'dev', 'lo']);
    for (const pod of pods) await this.addPod(pod);
  }

  async routeVip(vip: string, via: string): Promise<void> {
    await inNs(this.node, ['ip', 'route', 'replace', `${vip}/${vip.includes(':') ? 128 : 32}`, 'via', via]);
  }

  spawn(ns: string, args: string[]): Spawned {
    return spawnInNs(ns, args, this.processes);
  }

  async destroy(): Promise<void> {
    await killAll(this.processes);
    // Deleting a namespace deletes its veth ends (and so their peers in the node namespace).
    for (const ns of this.namespaces.reverse()) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
  }

  private async addNs(name: string): Promise<void> {
    await sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await inNs(name, ['ip', 'link', 'set', 'lo', 'up']);
    // Interfaces created from now on inherit `default`: no duplicate address detection delaying IPv6 addresses.
    if (this.ipv6) await inNs(name, ['sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
  }

  private async addPod(pod: PodSpec): Promise<void> {
    const ns = this.ns(pod.name);
    const host = `h-${pod.name}`;
    await this.addNs(ns);
    await sh('ip', ['link', 'add', host, 'netns', this.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(this.node, ['ip', 'link', 'set', host, 'up']);
    await inNs(this.node, ['ip', 'route', 'add', `${pod.ip}/32`, 'dev', host]);
    const hostMac = (await inNs(this.node, ['cat', `/sys/class/net/${host}/address`])).trim();
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(ns, ['ip', 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0']);
    await inNs(ns, ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await inNs(ns, ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await inNs(ns, ['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', hostMac, 'dev', 'eth0', 'nud', 'permanent']);
    if (pod.ip6) {
      await inNs(this.node, ['ip', '-6', 'route', 'add', `${pod.ip6}/128`, 'dev', host]);
      await inNs(ns, ['ip', '-6', 'addr', 'add', `${pod.ip6}/128`, 'dev', 'eth0', 'nodad']);
      await inNs(ns, ['ip', '-6', 'neigh', 'replace', 'fe80::1', 'lladdr', hostMac, 'dev', 'eth0', 'nud', 'permanent']);
      await inNs(ns, ['ip', '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0']);
    }
  }
}
