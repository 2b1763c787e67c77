// The standalone agent (`plb-agent run --file`) with a BGPPeer document beside its PortableLoadBalancer: it runs
// BIRD itself and announces the VIP from its own namespace (next hop: its interface address) to a real FRR
// router in the node namespace; on SIGTERM it withdraws at once, keeps forwarding for spec.drainSeconds, then
// stops. (A static route of lower preference at the router shows the forwarding after the withdrawal.)
import { expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrrRouter } from '../support/frr-router.js';
import { AgentProcess } from './support/agent-process.js';
import { aroundAll } from './support/around-all.js';
import { LOAD, PODS, ROOT, VIP, plbYaml, type Tally } from './support/lab.js';
import { inNs } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { Scratch } from './support/scratch.js';
import { Topology } from './support/topology.js';

const SERVER = join(ROOT, 'test/dataplane/support/backend-server.mjs');
const describeIf = suiteIf(missingPrerequisites(null, ['nft', 'bird', 'vtysh']), 'standalone agent with BGP');

describeIf('plb-agent run --file with a BGPPeer', () => {
  const topo = new Topology(`sbgp-${process.pid}-`);
  const scratch = new Scratch('sbgp-');
  let dir = '';
  let frr: FrrRouter | undefined;
  let agent: AgentProcess | undefined;

  aroundAll(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'plb-sbgp-'));
      await topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
      for (const b of ['b1', 'b2', 'b3'] as const) await topo.spawn(topo.ns(b), ['node', SERVER, b, '8080', '5353']).waitFor(/^ready/);
      // The node is the router: FRR accepts the LB pod (one routed hop away: multihop, and so multihop BFD).
      frr = await FrrRouter.start({
        netns: topo.node, name: `sbgp-${process.pid}`, asn: 64500, routerId: topo.nodeIp, listenRanges: ['10.240.0.0/16'],
        remoteAs: 64512, multihop: true, bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 }, logDir: dir,
      });
      await frr.watch(VIP);
      const plb = plbYaml({ dataPlane: 'nftables', backends: (['b1', 'b2', 'b3'] as const).map((b) => ({ ip: PODS[b], weight: 1 })) })
        .replace('spec:\n', 'spec:\n  drainSeconds: 3\n');
      const file = join(dir, 'plb.yaml');
      writeFileSync(file, `${plb}---\napiVersion: portablelb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: node-router}\n` +
        `spec: {peerAddress: ${topo.nodeIp}, peerASN: 64500, myASN: 64512, ebgpMultihop: true, connectTime: 1s, bfd: {}}\n`);
      await scratch.create();
      agent = new AgentProcess(topo, topo.ns('lb'), scratch.mainJs, ['--file', file, '--interface', 'eth0', '--listen', '127.0.0.1:0']);
      await agent.start();
    },
    async () => {
      await agent?.kill('SIGKILL').catch(() => undefined);
      await frr?.stop();
      await topo.destroy();
      await scratch.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  );

  test('announces the VIP with its own address as next hop, and the traffic flows', async () => {
    await frr!.waitForHops((h) => h.join() === PODS.lb, 30_000);
    const tally = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'http', `http://${VIP}/`, '150', '4', 'close'], 60_000)) as Tally;
    expect(tally.failed).toBe(0);
    expect(Object.keys(tally.counts).sort()).toEqual(['b1', 'b2', 'b3']);
  });

  test('SIGTERM: withdrawn at once, still forwarding for drainSeconds, then stopped', async () => {
    // What keeps the client's traffic coming after the withdrawal: a static route in a table of its own (zebra
    // leaves other tables alone; in the main table a kernel route would outrank BGP's).
    await inNs(topo.node, ['ip', 'route', 'add', `${VIP}/32`, 'via', PODS.lb, 'table', '100']);
    await inNs(topo.node, ['ip', 'rule', 'add', 'from', PODS.cli, 'lookup', '100', 'priority', '100']);
    const t0 = Date.now();
    const exited = agent!.kill('SIGTERM');
    const gone = await frr!.waitForHops((h) => h.length === 0, 5_000, t0).catch(() => undefined);
    const withdrawn = JSON.parse(await inNs(topo.node, ['vtysh', '-N', `sbgp-${process.pid}`, '-c', `show bgp ipv4 unicast ${VIP}/32 json`]).catch(() => '{}')) as { paths?: unknown[] };
    const during = JSON.parse(await inNs(topo.ns('cli'), ['node', LOAD, 'http', `http://${VIP}/`, '60', '2', 'close'], 60_000)) as Tally;
    await exited;
    const stoppedMs = Date.now() - t0;
    console.log(`BGP route gone ${gone ? gone.at - t0 : '?'} ms after SIGTERM; agent exited after ${stoppedMs} ms`);
    expect(withdrawn.paths ?? []).toEqual([]);
    expect(gone).toBeDefined();
    expect(during.failed).toBe(0);
    expect(stoppedMs).toBeGreaterThanOrEqual(3_000);
    expect(agent!.log()).toMatch(/withdrew 10\.240\.200\.10 from 1 BGP peer\(s\); forwarding for 3 s/);
  });
});
