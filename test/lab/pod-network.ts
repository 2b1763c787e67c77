// The lab's network, shaped like a pod network the upstream router reaches directly (pods on the router's own
// network: macvlan, ipvlan or Multus in a real cluster): one L2 segment (10.243.0.0/17), a bridge in the
// "router" namespace, carries the router (10.243.0.1), both nodes' addresses and every pod's eth0. The LB pods peer with the router
// over it (single-hop eBGP + BFD) and announce the VIP with their own address as next hop; the router (FRR)
// spreads the VIP over them by ECMP with an L4 hash. A "client" namespace sits behind the router. Pods can also
// sit on an overlay behind their node (addPod's `overlay`: 10.244.<node>.0/24, egress masqueraded, the router
// reaches only node addresses): the lab's NodeIP PLB, announced by the nodes.
//
// This process runs in the first node's namespace (hack/lab.sh puts it there); the second node is another
// namespace. A node's "link cut" takes the node's and its pods' ports on the segment down at once: the silent
// death BFD must detect.
import { inNs, sh } from './sh.js';

export const SEGMENT = '10.243.0.0/17';
const SEGMENT_BITS = 17;
/** The router on the pods' segment: the BGPPeer's peerAddress. */
export const ROUTER_IP = '10.243.0.1';
/** The router's MAC on the segment (locally administered): fixed, whatever ports join and leave the bridge. */
export const ROUTER_MAC = '02:00:0a:f3:00:01';
export const NODE_IPS = ['10.243.100.1', '10.243.100.2'] as const;
/** Node 1, where the control plane listens. */
export const NODE_IP = NODE_IPS[0];
const ROUTER_CLIENT_LINK = '10.243.253.0';
export const CLIENT_IP = '10.243.253.1';
/** Overlay pods' addresses: the router has no route to them. */
export const OVERLAY_PODS = '10.244.0.0/16';
export const ROUTER_ASN = 64500;
export const LB_ASN = 64512;

export interface LabNode {
  name: string;
  ns: string;
  ip: string;
  /** The node's uplink port on the segment's bridge (router namespace). */
  port: string;
}

export interface LabPod {
  ns: string;
  ip: string;
  node: LabNode;
  /** The pod's port on the segment's bridge (router namespace), or its veth in the node (overlay). */
  port: string;
  overlay?: boolean;
}

export class PodNetwork {
  readonly namespaces: string[] = [];
  readonly nodes: LabNode[];
  readonly #pods = new Map<string, LabPod>();
  #nextPod = 0;

  constructor(
    readonly prefix: string,
    /** The namespace this process runs in: node 1 (created by hack/lab.sh). */
    readonly nodeNs: string,
  ) {
    this.nodes = NODE_IPS.map((ip, i) => ({ name: `lab-node-${i + 1}`, ns: i === 0 ? nodeNs : `${prefix}node${i + 1}`, ip, port: `n${i + 1}` }));
  }

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

  /** The segment, the nodes on it, the router's forwarding and ECMP hashing, the client behind the router. */
  async create(): Promise<void> {
    await this.#addNs(this.router);
    await this.#addNs(this.client);
    for (const n of this.nodes.slice(1)) await this.#addNs(n.ns);
    await sh('ip', ['link', 'set', 'lo', 'up']);
    const r = (args: string[]) => inNs(this.router, args);
    await r(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // ECMP by L4 hash over src/dst address, protocol and ports (0x0037): reproducible in a veth lab, where
    // policy 1 hashes a per-socket value and sends identical 5-tuples to different next hops.
    await r(['sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=3']);
    await r(['sysctl', '-qw', 'net.ipv4.fib_multipath_hash_fields=0x0037']);
    // The bridge gets an address of its own: without one, Linux gives it the lowest MAC among its ports, so the
    // router's MAC moved whenever the port lending it left (a pod deleted), and an LB pod whose BIRD was down
    // meanwhile redialled the old MAC until its ARP entry expired: 27-54 s BGP reconnects after pod churn.
    await r(['ip', 'link', 'add', 'fabric', 'address', ROUTER_MAC, 'type', 'bridge']);
    await r(['ip', 'addr', 'add', `${ROUTER_IP}/${SEGMENT_BITS}`, 'dev', 'fabric']);
    await r(['ip', 'link', 'set', 'fabric', 'up']);
    for (const n of this.nodes) {
      await sh('ip', ['link', 'add', n.port, 'netns', this.router, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', n.ns]);
      await r(['ip', 'link', 'set', n.port, 'master', 'fabric', 'up']);
      await inNs(n.ns, ['ip', 'addr', 'add', `${n.ip}/${SEGMENT_BITS}`, 'dev', 'uplink']);
      await inNs(n.ns, ['ip', 'link', 'set', 'uplink', 'up']);
      await inNs(n.ns, ['ip', 'route', 'add', 'default', 'via', ROUTER_IP]);
      // For overlay pods: the node forwards for them, masquerades their egress (as an overlay CNI does) and
      // spreads a VIP over several of its LB pods by L4 hash.
      await inNs(n.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await inNs(n.ns, ['sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
      await inNs(n.ns, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', OVERLAY_PODS, '!', '-d', OVERLAY_PODS, '-o', 'uplink', '-j', 'MASQUERADE']);
    }
    // Between nodes, each node's overlay pod subnet via that node (flannel's host-gw): nodes reach every pod, the
    // router none.
    for (const [i, n] of this.nodes.entries()) {
      for (const [j, other] of this.nodes.entries()) {
        if (i !== j) await inNs(n.ns, ['ip', 'route', 'add', `10.244.${j + 1}.0/24`, 'via', other.ip]);
      }
    }
    await sh('ip', ['link', 'add', 'r-client', 'netns', this.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.client]);
    await r(['ip', 'addr', 'add', `${ROUTER_CLIENT_LINK}/31`, 'dev', 'r-client']);
    await r(['ip', 'link', 'set', 'r-client', 'up']);
    await inNs(this.client, ['ip', 'addr', 'add', `${CLIENT_IP}/31`, 'dev', 'eth0']);
    await inNs(this.client, ['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(this.client, ['ip', 'route', 'add', 'default', 'via', ROUTER_CLIENT_LINK]);
  }

  /**
   * A pod namespace on `node`; returns its namespace and IP. On the segment (eth0 a port of the router's bridge:
   * the router reaches the pod's address), or `overlay`: behind its node like on flannel or kindnet, a routed /32
   * veth into the node (10.244.<node>.<n>), the node masquerading the pod's egress to its own address, so the
   * router knows only node addresses.
   */
  async addPod(key: string, node: LabNode, overlay = false): Promise<LabPod> {
    if (overlay) return this.#addOverlayPod(key, node);
    const n = ++this.#nextPod;
    const index = this.nodes.indexOf(node) + 1;
    // 10.243.<node>.<n>: which node a pod is on shows in its address.
    const ip = `10.243.${index}.${(n % 250) + 2}`;
    const ns = `${this.prefix}p${n}`;
    const port = `p${n}`;
    await this.#addNs(ns);
    await sh('ip', ['link', 'add', port, 'netns', this.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(this.router, ['ip', 'link', 'set', port, 'master', 'fabric', 'up']);
    await inNs(ns, ['ip', 'addr', 'add', `${ip}/${SEGMENT_BITS}`, 'dev', 'eth0']);
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    await inNs(ns, ['ip', 'route', 'add', 'default', 'via', ROUTER_IP]);
    const pod = { ns, ip, node, port };
    this.#pods.set(key, pod);
    return pod;
  }

  async #addOverlayPod(key: string, node: LabNode): Promise<LabPod> {
    const n = ++this.#nextPod;
    const index = this.nodes.indexOf(node) + 1;
    const ip = `10.244.${index}.${(n % 250) + 2}`;
    const ns = `${this.prefix}p${n}`;
    const port = `o${n}`;
    await this.#addNs(ns);
    await sh('ip', ['link', 'add', port, 'netns', node.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await inNs(node.ns, ['ip', 'link', 'set', port, 'up']);
    await inNs(node.ns, ['ip', 'route', 'add', `${ip}/32`, 'dev', port]);
    const mac = (await inNs(node.ns, ['cat', `/sys/class/net/${port}/address`])).trim();
    await inNs(ns, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    // Calico's and kindnet's trick: a link-local gateway the node answers for, its MAC fixed.
    await inNs(ns, ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
    await inNs(ns, ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    await inNs(ns, ['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
    const pod = { ns, ip, node, port, overlay: true };
    this.#pods.set(key, pod);
    return pod;
  }

  async removePod(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod) return;
    this.#pods.delete(key);
    await sh('ip', ['netns', 'del', pod.ns]).catch(() => undefined);
    this.namespaces.splice(this.namespaces.indexOf(pod.ns), 1);
  }

  /** A node's link to the segment cut (or restored): its own port and every port of its pods, at once. */
  async setNodeLink(node: LabNode, up: boolean, nodeOnly = false): Promise<void> {
    // Overlay pods are behind the node's own port: cutting it cuts them. `nodeOnly`: the segment pods keep theirs.
    const pods = nodeOnly ? [] : [...this.#pods.values()].filter((p) => p.node === node && !p.overlay);
    const ports = [node.port, ...pods.map((p) => p.port)];
    // One `ip -batch`: every port goes down within a millisecond, as when the node's NIC dies.
    await sh('sh', ['-c', `printf '%s\\n' ${ports.map((p) => `'link set ${p} ${up ? 'up' : 'down'}'`).join(' ')} | ip -n ${this.router} -batch -`]);
  }

  async destroy(): Promise<void> {
    for (const ns of [...this.namespaces].reverse()) await sh('ip', ['netns', 'del', ns]).catch(() => undefined);
    this.namespaces.length = 0;
  }
}
