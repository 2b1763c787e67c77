// nextHopMode NodeIP on an overlay-like pod network the router cannot reach: two LB pods sit behind their node
// (routed /32 veths, pod egress masqueraded to the node's address). The node speaks for them: the node-routes
// component's speaker (src/node/speaker.ts: nodeAnnouncements + BIRD from the node's address) peers with an FRR
// router, one session for the node, BFD on it, the VIP's next hop = the node; its route side (routes.ts,
// kernel-routes.ts) installs `VIP via <pods>` in the node. The client behind the router reaches the VIP, the reply
// leaves with the VIP as source. Then: the node withdraws when its LB pods stop serving, and a cut of the node's
// link is detected by BFD (measured). Stand-ins for the pods' data plane answer on the VIP (the planes have their
// own suites).
import { expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancer } from '../../src/api/generated.js';
import { KernelRoutes } from '../../src/node/kernel-routes.js';
import { desiredNodeRoutes, routeChanges } from '../../src/node/routes.js';
import { renderNodeMetrics } from '../../src/node/metrics.js';
import { NodeSpeaker } from '../../src/node/speaker.js';
import { FrrRouter } from '../support/frr-router.js';
import { aroundAll } from './support/around-all.js';
import { inNs, killAll, sh, spawnInNs } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

const p = `bnh-${process.pid}-`;
const ns = { router: `${p}r`, node: `${p}n`, podA: `${p}a`, podB: `${p}b`, client: `${p}c` };
const VIP = '192.0.2.10';
const NODE_IP = '10.251.0.2';
const ROUTER_IP = '10.251.0.1';
const POD_IPS = { podA: '10.252.1.5', podB: '10.252.1.6' } as const;
const CLIENT_IP = '10.251.9.2';
const peer: BGPPeer = {
  apiVersion: 'portablelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name: 'tor' },
  spec: { peerAddress: ROUTER_IP, peerASN: 64500, myASN: 64512, connectTime: '1s', nextHopMode: 'NodeIP', bfd: {} },
};
// The cluster's view the component watches: two LB pods of one PLB on node n1.
const lbPod = (name: string, ip: string): V1Pod => ({
  metadata: { name, namespace: 'shop', labels: { 'app.kubernetes.io/name': 'portable-lb', 'portablelb.io/name': 'web' } },
  spec: { nodeName: 'n1', containers: [] },
  status: { podIP: ip, phase: 'Running' },
});
const pods = [lbPod('web-lb-a', POD_IPS.podA), lbPod('web-lb-b', POD_IPS.podB)];
const plbWith = (backends: { a: number; b: number }): PortableLoadBalancer => ({
  apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', metadata: { name: 'web', namespace: 'shop', generation: 1 },
  spec: { vip: VIP, ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.0.1' }] } },
  status: {
    vip: VIP,
    loadBalancers: [
      { pod: 'web-lb-a', ready: true, programmedGeneration: 1, vip: VIP, backends: backends.a },
      { pod: 'web-lb-b', ready: true, programmedGeneration: 1, vip: VIP, backends: backends.b },
    ],
  },
} as PortableLoadBalancer);
const noPassword = () => ({ problem: 'none expected' });

const describeIf = suiteIf(missingPrerequisites(null, ['bird', 'vtysh', 'iptables']), 'NodeIP next hop');

describeIf('nextHopMode NodeIP: the node announces for its LB pods (BFD on its session) and routes the VIP to them', () => {
  const procs = new Set<import('node:child_process').ChildProcess>();
  let dir = '';
  let frr: FrrRouter | undefined;
  let speaker: NodeSpeaker | undefined;
  const routes = new KernelRoutes(['ip', 'netns', 'exec', ns.node]);
  /** What the component's sync does, against this suite's node. */
  const syncNode = async (plb: PortableLoadBalancer, lbPods: V1Pod[] = pods) => {
    const { install, remove } = routeChanges(desiredNodeRoutes('n1', lbPods, [plb]), await routes.list());
    for (const r of install) await routes.install(r);
    for (const d of remove) await routes.remove(d);
    await speaker!.sync({ name: 'n1' }, lbPods, [plb], [peer], noPassword);
  };
  /** `n` requests to the VIP from the client, each on a new connection; the answers (or "failed <code>"). */
  const fetchVips = async (n: number): Promise<string[]> => JSON.parse(await inNs(ns.client, ['node', '-e', `
    const http = require("http");
    const one = () => new Promise((ok) => {
      const q = http.get({ host: "${VIP}", port: 8080, agent: false, timeout: 3000 }, (r) => { let b = ""; r.on("data", (c) => b += c); r.on("end", () => ok(b)); });
      q.on("timeout", () => q.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
      q.on("error", (e) => ok("failed " + e.code));
    });
    (async () => { const out = []; for (let i = 0; i < ${n}; i++) out.push(await one()); process.stdout.write(JSON.stringify(out)); })();`])) as string[];
  const fetchVip = async () => (await fetchVips(1))[0]!;
  const bfdUp = async () => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const n = (await frr!.neighbors())[NODE_IP];
      if (n?.state === 'Established' && n.bfd === 'Up') return;
      if (Date.now() > deadline) throw new Error(`BFD not up: ${JSON.stringify(n)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

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
      // node: forwards, routes each pod's /32 to its veth, masquerades pod egress (an overlay CNI's outgoing NAT)
      await inNs(ns.node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      // The node's ECMP over its LB pods hashes L4 (policy 0, the default, hashes addresses only: one client, one pod).
      await inNs(ns.node, ['sysctl', '-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
      await inNs(ns.node, ['ip', 'route', 'add', 'default', 'via', ROUTER_IP]);
      await inNs(ns.node, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.252.0.0/16', '-o', 'uplink', '-j', 'MASQUERADE']);
      for (const key of ['podA', 'podB'] as const) {
        const host = `h-${key}`;
        await sh('ip', ['link', 'add', host, 'netns', ns.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[key]]);
        await inNs(ns.node, ['ip', 'link', 'set', host, 'up']);
        await inNs(ns.node, ['ip', 'route', 'add', `${POD_IPS[key]}/32`, 'dev', host]);
        const mac = (await inNs(ns.node, ['cat', `/sys/class/net/${host}/address`])).trim();
        await inNs(ns[key], ['ip', 'addr', 'add', `${POD_IPS[key]}/32`, 'dev', 'eth0']);
        await inNs(ns[key], ['ip', 'link', 'set', 'eth0', 'up']);
        await inNs(ns[key], ['ip', 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
        await inNs(ns[key], ['ip', 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
        await inNs(ns[key], ['ip', 'neigh', 'replace', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
        // The stand-in data plane: the VIP on lo and a server answering on it with the pod's name.
        await inNs(ns[key], ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']);
        const server = spawnInNs(ns[key], ['node', '-e', `require("http").createServer((q,s)=>s.end("${key}")).listen(8080,"${VIP}",()=>console.log("ready"))`], procs);
        await server.waitFor(/ready/);
      }
      frr = await FrrRouter.start({
        netns: ns.router, name: `${p}frr`, asn: 64500, routerId: ROUTER_IP, listenRanges: ['10.251.0.0/24'], remoteAs: 64512,
        bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 }, logDir: dir,
      });
      await frr.watch(VIP);
      speaker = new NodeSpeaker({ nodeIPs: [NODE_IP], dir: join(dir, 'speaker'), log: () => undefined, birdCommand: ['ip', 'netns', 'exec', ns.node, 'bird'], pollMs: 200 });
    },
    async () => {
      await speaker?.stop();
      await frr?.stop();
      await killAll(procs);
      for (const n of Object.values(ns)) await sh('ip', ['netns', 'del', n]).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );

  test('the router learns the VIP via the node over one session with BFD Up; the node spreads it over both LB pods', async () => {
    await syncNode(plbWith({ a: 1, b: 1 }));
    await frr!.waitForHops((h) => h.join() === NODE_IP, 20_000);
    await bfdUp();
    expect(Object.keys(await frr!.neighbors())).toEqual([NODE_IP]);
    expect(await routes.list()).toEqual([{ dst: `${VIP}/32`, via: [POD_IPS.podA, POD_IPS.podB].sort() }]);
    expect([...new Set(await fetchVips(40))].sort()).toEqual(['podA', 'podB']);
    // The node's /metrics says what the router sees: BIRD's own session state, polled by the speaker.
    const metrics = async () => renderNodeMetrics({ sessions: speaker!.sessions, vipsByPeer: speaker!.vipsByPeer, routes: await routes.list(), syncs: 1, syncErrors: 0 }).split('\n');
    const deadline = Date.now() + 10_000;
    while (!(await metrics()).includes(`plb_bgp_bfd_up{peer="tor",peer_address="${ROUTER_IP}",state="Up"} 1`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await metrics()).toEqual(expect.arrayContaining([
      `plb_bgp_session_established{peer="tor",peer_address="${ROUTER_IP}",state="Established"} 1`,
      `plb_bgp_bfd_up{peer="tor",peer_address="${ROUTER_IP}",state="Up"} 1`,
      `plb_bgp_announced_prefixes{peer="tor",peer_address="${ROUTER_IP}"} 1`,
      `plb_node_route_next_hops{vip="${VIP}/32"} 2`,
    ]));
  });

  test('withdrawn when no LB pod on the node serves (no ready backend), announced again when one does; the session stays', async () => {
    await syncNode(plbWith({ a: 0, b: 1 }));
    expect(frr!.hops).toEqual([NODE_IP]);
    const at = Date.now();
    await syncNode(plbWith({ a: 0, b: 0 }));
    const gone = await frr!.waitForHops((h) => h.length === 0, 10_000, at);
    const back = Date.now();
    await syncNode(plbWith({ a: 1, b: 0 }));
    const again = await frr!.waitForHops((h) => h.join() === NODE_IP, 10_000, back);
    process.stdout.write(`node speaker: withdrawn ${gone.at - at} ms after its last LB pod stopped serving, announced again ${again.at - back} ms after one served\n`);
    expect((await frr!.neighbors())[NODE_IP]?.state).toBe('Established');
  });

  test('the node\'s link cut (silent): BFD withdraws the node within about 1 s (300 ms x 3), measured; back after the link returns', async () => {
    await syncNode(plbWith({ a: 1, b: 1 }));
    await frr!.waitForHops((h) => h.join() === NODE_IP, 20_000);
    await bfdUp();
    // The node goes silent: everything on its uplink dropped, in and out, no link state changing anywhere (a
    // link down would tell the router's kernel and FRR at once, and a dead node or a broken cable does not).
    const silence = (op: '-I' | '-D') => Promise.all([
      inNs(ns.node, ['iptables', op, 'INPUT', ...(op === '-I' ? ['1'] : []), '-i', 'uplink', '-j', 'DROP']),
      inNs(ns.node, ['iptables', op, 'OUTPUT', ...(op === '-I' ? ['1'] : []), '-o', 'uplink', '-j', 'DROP']),
    ]);
    const cutAt = Date.now();
    await silence('-I');
    let withdrawnMs = Infinity;
    let back: { at: number } | undefined;
    let restoredAt = 0;
    try {
      const gone = await frr!.waitForHops((h) => h.length === 0, 15_000, cutAt);
      withdrawnMs = gone.at - cutAt;
    } finally {
      restoredAt = Date.now();
      await silence('-D');
    }
    back = await frr!.waitForHops((h) => h.join() === NODE_IP, 30_000, restoredAt);
    process.stdout.write(`node speaker: link cut -> BFD withdrew the VIP in ${withdrawnMs} ms; back ${back.at - restoredAt} ms after the link returned\n`);
    // BFD declares the session down after up to 900 ms without packets, plus FRR's route removal; 1.5 s leaves room
    // for a loaded 2-core machine (as the lab judges it). Without BFD this is the 9 s hold time.
    expect(withdrawnMs).toBeLessThan(1_500);
    expect(await fetchVip()).toMatch(/^pod[AB]$/);
  });

  test('the node route goes when the LB pods are gone, also when the component restarts without them (found by its protocol)', async () => {
    const plb = plbWith({ a: 1, b: 1 });
    // A fresh KernelRoutes, as after a restart: it finds its own route by protocol and removes what nobody wants.
    const restarted = new KernelRoutes(['ip', 'netns', 'exec', ns.node]);
    expect(routeChanges(desiredNodeRoutes('n1', [], [plb]), await restarted.list())).toEqual({ install: [], remove: [`${VIP}/32`] });
    const at = Date.now();
    await syncNode(plb, []);
    expect(await routes.list()).toEqual([]);
    await frr!.waitForHops((h) => h.length === 0, 10_000, at);
    expect(await fetchVip()).toMatch(/^failed/);
    // Other routes of the node are never touched.
    expect(await inNs(ns.node, ['ip', 'route', 'show', `${POD_IPS.podA}/32`])).toContain('dev h-podA');
    await syncNode(plb);
    await frr!.waitForHops((h) => h.join() === NODE_IP, 10_000, at);
    expect(await fetchVip()).toMatch(/^pod[AB]$/);
  });
});
