// nextHopMode NodeIP on an overlay-like pod network the router cannot reach: the LB pod sits behind its node
// (a routed /32 veth, pod egress masqueraded to the node's address), its BIRD peers with an FRR router through
// that NAT (multihop), announcing the VIP with the node's address as next hop; the node-route component's core
// (src/node/routes.ts) and kernel side (kernel-routes.ts) install `VIP via <pod>` in the node. The client behind
// the router reaches the VIP, the reply leaves with the VIP as source, unmasqueraded. A stand-in for the pod's data
// plane answers on the VIP (the data planes have their own suites).
import { expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { PeerConfig } from '../../src/api/bgp-peer.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { BirdSpeaker } from '../../src/agent/bgp/speaker.js';
import { KernelRoutes } from '../../src/node/kernel-routes.js';
import { desiredNodeRoutes, routeChanges } from '../../src/node/routes.js';
import { FrrRouter } from '../support/frr-router.js';
import { aroundAll } from './support/around-all.js';
import { inNs, killAll, sh, spawnInNs } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

const p = `bnh-${process.pid}-`;
const ns = { router: `${p}r`, node: `${p}n`, pod: `${p}p`, client: `${p}c` };
const VIP = '192.0.2.10';
const NODE_IP = '10.251.0.2';
const ROUTER_IP = '10.251.0.1';
const POD_IP = '10.252.1.5';
const CLIENT_IP = '10.251.9.2';
const peer: PeerConfig = {
  name: 'tor', peerAddress: ROUTER_IP, peerASN: 64500, myASN: 64512, peerPort: 179, holdTime: 9, keepaliveTime: 3, connectTime: 1,
  ebgpMultihop: true, nextHopMode: 'NodeIP',
};
// The cluster's view the node-route component would watch: this LB pod, programmed, on node n1.
const pod: V1Pod = {
  metadata: { name: 'web-lb-a', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'portable-lb', 'portablelb.io/name': 'web' } },
  spec: { nodeName: 'n1', containers: [] },
  status: { podIP: POD_IP, phase: 'Running' },
};
const plb = {
  apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', metadata: { name: 'web', namespace: 'shop' },
  spec: { vip: VIP, ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.0.1' }] } },
  status: { vip: VIP, loadBalancers: [{ pod: 'web-lb-a', ready: true, programmedGeneration: 1, vip: VIP }] },
} as PortableLoadBalancer;

const describeIf = suiteIf(missingPrerequisites(null, ['bird', 'vtysh', 'iptables']), 'NodeIP next hop');

describeIf('nextHopMode NodeIP: announced through the node, routed by the node to its LB pod', () => {
  const procs = new Set<import('node:child_process').ChildProcess>();
  let dir = '';
  let frr: FrrRouter | undefined;
  let speaker: BirdSpeaker | undefined;
  const routes = new KernelRoutes(['ip', 'netns', 'exec', ns.node]);
  const reconcileNode = async (pods: V1Pod[]) => {
    const { install, remove } = routeChanges(desiredNodeRoutes('n1', pods, [plb]), await routes.list());
    for (const r of install) await routes.install(r);
    for (const d of remove) await routes.remove(d);
  };
  const fetchVip = () => inNs(ns.client, ['node', '-e',
    `fetch("http://${VIP}:8080/",{signal:AbortSignal.timeout(3000)}).then(r=>r.text()).then(t=>process.stdout.write(t),e=>process.stdout.write("failed "+e.cause?.code))`]);

  aroundAll(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'plb-bnh-'));
      for (const n of Object.values(ns)) {
        await sh('ip', ['netns', 'add', n]);
        await inNs(n, ['ip', 'link', 'set', 'lo', 'up']);
      }
      // router <-> node (the network the router knows), router <-> client
      await sh('ip', ['link', 'add', 'r-node', 'netns', ns.router, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', ns.node]);
      await sh('ip', ['link', 'add', 'r-cli', 'netns', ns.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.client]);
      await inNs(ns.router, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      for (const [n, dev, addr] of [[ns.router, 'r-node', `${ROUTER_IP}/24`], [ns.node, 'uplink', `${NODE_IP}/24`], [ns.router, 'r-cli', '10.251.9.1/24'], [ns.client, 'eth0', `${CLIENT_IP}/24`]] as const) {
        await inNs(n, ['ip', 'addr', 'add', addr, 'dev', dev]);
        await inNs(n, ['ip', 'link', 'set', dev, 'up']);
      }
      await inNs(ns.client, ['ip', 'route', 'add', 'default', 'via', '10.251.9.1']);
      // node: forwards, routes the pod's /32 to its veth, masquerades pod egress (an overlay CNI's outgoing NAT)
      await inNs(ns.node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      await inNs(ns.node, ['ip', 'route', 'add', 'default', 'via', ROUTER_IP]);
      await sh('ip', ['link', 'add', 'h-pod', 'netns', ns.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.pod]);
      await inNs(ns.node, ['ip', 'link', 'set', 'h-pod', 'up']);
      await inNs(ns.node, ['ip', 'route', 'add', `${POD_IP}/32`, 'dev', 'h-pod']);
      await inNs(ns.node, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.252.0.0/16', '-o', 'uplink', '-j', 'MASQUERADE']);
      const mac = (await inNs(ns.node, ['cat', '/sys/class/net/h-pod/address'])).trim();
      await inNs(ns.pod, ['ip', 'addr', 'add', `${POD_IP}/32`, 'dev', 'eth0']);
      await inNs(ns.pod, ['ip', 'link', 'set', 'eth0', 'up']);
      await inNs(ns.pod, ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
      await inNs(ns.pod, ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
      await inNs(ns.pod, ['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
      // The stand-in data plane: the VIP on lo and a server answering on it.
      await inNs(ns.pod, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
      const server = spawnInNs(ns.pod, ['node', '-e', `require("http").createServer((q,s)=>s.end("pod")).listen(8080,"${VIP}",()=>console.log("ready"))`], procs);
      await server.waitFor(/ready/);
      frr = await FrrRouter.start({
        netns: ns.router, name: `${p}frr`, asn: 64500, routerId: ROUTER_IP, listenRanges: ['10.251.0.0/24'], remoteAs: 64512, multihop: true, logDir: dir,
      });
      await frr.watch(VIP);
      speaker = new BirdSpeaker({ dir, log: () => undefined, birdCommand: ['ip', 'netns', 'exec', ns.pod, 'bird'], pollMs: 200 });
    },
    async () => {
      await speaker?.stop();
      await frr?.stop();
      await killAll(procs);
      for (const n of Object.values(ns)) await sh('ip', ['netns', 'del', n]).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );

  test('the router learns the VIP via the node (its session came through the node\'s NAT) and the client reaches the pod', async () => {
    await reconcileNode([pod]);
    await speaker!.update({ vip: VIP, announce: true, podIP: POD_IP, nodeIP: NODE_IP, peers: [peer] });
    await frr!.waitForHops((h) => h.join() === NODE_IP, 20_000);
    expect(Object.keys(await frr!.neighbors())).toEqual([NODE_IP]);
    expect(await routes.list()).toEqual([{ dst: `${VIP}/32`, via: [POD_IP] }]);
    expect(await fetchVip()).toBe('pod');
  });

  test('the node route goes when the LB pod is gone, also when the component restarts without it (found by its protocol)', async () => {
    // A fresh KernelRoutes, as after a restart: it finds its own route by protocol and removes what nobody wants.
    const restarted = new KernelRoutes(['ip', 'netns', 'exec', ns.node]);
    expect(routeChanges(desiredNodeRoutes('n1', [], [plb]), await restarted.list())).toEqual({ install: [], remove: [`${VIP}/32`] });
    await reconcileNode([]);
    expect(await routes.list()).toEqual([]);
    expect(await fetchVip()).toMatch(/^failed/);
    // Other routes of the node are never touched.
    expect(await inNs(ns.node, ['ip', 'route', 'show', `${POD_IP}/32`])).toContain('dev h-pod');
    await reconcileNode([pod]);
    expect(await fetchVip()).toBe('pod');
  });
});
