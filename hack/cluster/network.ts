// The cluster's network, built from the plan with iproute2 inside the cluster's own namespaces (the root
// namespace gets nothing): the router's lan bridge, one veth per node and for the control plane onto it, the
// client behind the router, and the routed pod network (each pod CIDR via its node, on the router and on every
// other node).
import { run, inNs } from './exec.js';
import { LAN_CIDR, CLIENT_CIDR, podRoutes, type ClusterPlan } from './plan.js';

const ip = (ns: string, args: string[]) => run('ip', ['-n', ns, ...args]);
const sysctls = (ns: string, values: string[]) => inNs(ns, ['sysctl', '-qw', ...values]);
const prefixLen = (cidr: string) => cidr.split('/')[1]!;

// Layer-4 ECMP by the packet's own headers (src/dst address, protocol, src/dst port). Policy 1 may hash a
// socket's tx hash carried across veths instead, which changes when TCP retransmits: a connection then moves to
// another next hop mid-flow (seen in ../shared/notes/bgp-announcement.md §4).
const ECMP = ['net.ipv4.fib_multipath_hash_policy=3', 'net.ipv4.fib_multipath_hash_fields=0x0037'];

export async function createNetwork(plan: ClusterPlan): Promise<void> {
  for (const ns of plan.namespaces) {
    await run('ip', ['netns', 'add', ns]);
    await ip(ns, ['link', 'set', 'lo', 'up']);
  }
  const rtr = plan.router.ns;
  await ip(rtr, ['link', 'add', 'lan', 'type', 'bridge']);
  await ip(rtr, ['addr', 'add', `${plan.router.lanIp}/${prefixLen(LAN_CIDR)}`, 'dev', 'lan']);
  await ip(rtr, ['link', 'set', 'lan', 'up']);
  // Nodes reach each other on the lan directly; the router forwards lan to lan only for the client's replies.
  await sysctls(rtr, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.lan.send_redirects=0', ...ECMP]);

  const hosts = [{ ns: plan.controlPlane.ns, ip: plan.controlPlane.ip, port: plan.controlPlane.routerPort }, ...plan.nodes.map((n) => ({ ns: n.name, ip: n.ip, port: n.routerPort }))];
  for (const h of hosts) {
    await ip(rtr, ['link', 'add', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
    await ip(rtr, ['link', 'set', h.port, 'master', 'lan', 'up']);
    await ip(h.ns, ['addr', 'add', `${h.ip}/${prefixLen(LAN_CIDR)}`, 'dev', 'eth0']);
    await ip(h.ns, ['link', 'set', 'eth0', 'up']);
    await ip(h.ns, ['route', 'add', 'default', 'via', plan.router.lanIp]);
    for (const r of podRoutes(plan, h.ns)) await ip(h.ns, ['route', 'add', r.to, 'via', r.via]);
  }
  for (const r of podRoutes(plan)) await ip(rtr, ['route', 'add', r.to, 'via', r.via]);
  for (const n of plan.nodes) {
    // Forwarding for the pods; bridged pod traffic through iptables, which kube-proxy's Service rules need.
    await sysctls(n.name, ['net.ipv4.ip_forward=1', 'net.bridge.bridge-nf-call-iptables=1', ...ECMP]);
  }

  const client = plan.client;
  await ip(rtr, ['link', 'add', 'client', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.ns]);
  await ip(rtr, ['addr', 'add', `${plan.router.clientIp}/${prefixLen(CLIENT_CIDR)}`, 'dev', 'client']);
  await ip(rtr, ['link', 'set', 'client', 'up']);
  await ip(client.ns, ['addr', 'add', `${client.ip}/${prefixLen(CLIENT_CIDR)}`, 'dev', 'eth0']);
  await ip(client.ns, ['link', 'set', 'eth0', 'up']);
  await ip(client.ns, ['route', 'add', 'default', 'via', client.gateway]);
  // The client network is behind the router: the nodes and the control plane reach it through their default route.
}

/** Removes the namespaces of the plan that exist (veths and bridges go with them). */
export async function removeNamespaces(names: string[]): Promise<void> {
  for (const ns of [...names].reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

export async function existingNamespaces(owns: (name: string) => boolean): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n && owns(n));
}
