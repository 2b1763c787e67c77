// BGP on a real cluster, as README's "Getting VIP traffic to the LB pods: create a BGPPeer" says for a pod network
// whose router reaches the nodes, not the pods: a BGPPeer with nextHopMode NodeIP and BFD to an FRR router in front
// of the nodes, and the chart's nodeRoutes DaemonSet, whose speaker on each node announces the VIPs its LB pods
// serve (next hop: the node) and whose routes hand the VIP to those pods. A client outside the nodes reaches the
// VIP through the route the router learned; the test makes no route. Then what must hold with BGP: an agent
// restart keeps the route, an established connection and new ones (the operator's restart grace), `kubectl
// drain` under load keeps serving (the PLB's PodDisruptionBudget), deleting the
// PLB withdraws everything, and a node that dies leaves the router by BFD and its entry is marked NodeNotReady.
// The node stays dead: these run last.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { eventually, helm, kubectl, kubectlJson } from '../kube.js';
import { keepAlive, requests, steadyLoad, type KeepAliveTally, type SteadyTally } from '../load.js';
import { RESTART_GRACE_MS } from '../../../src/operator/liveness.js';
import { backendBudgetManifest, bgpPeerManifest } from '../manifests.js';
import { condition, PlbUnderTest, RELEASE_NAMESPACE } from '../plb.js';
import type { Provider, UpstreamBgp } from '../provider.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WORKERS = 4;
const ROUTER_ASN = 64500;
const LB_ASN = 64512;
/** The BGPPeer's bfd: {} defaults: a dead link or node is detected within 300 ms x 3 (the CRD's documentation). */
const BFD = { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 };
/**
 * The BGPPeer's holdTime default (9 s) less one keepalive interval (a third of it): the earliest the hold timer
 * could drop a silent node. A withdrawal before that was BFD's doing, not the hold timer's (measured: 831 ms).
 */
const HOLD_TIMER_EARLIEST_MS = 9000 - 3000;
/** The cluster's kube-controller-manager runs with the default node-monitor-grace-period. */
const NODE_MONITOR_GRACE_MS = 50_000;

export function bgpCases(provider: Provider, vip: string, missing: string | undefined): void {
  const peer = `e2e-${provider.name}-router`;
  (missing ? describe.skip : describe)(`a BGPPeer to the router in front of the nodes (${provider.name})`, () => {
    const plb = new PlbUnderTest(provider.image, vip, 'bgp');
    let bgp: UpstreamBgp | undefined;
    const router = () => bgp!.router;
    /** The nodes' addresses of this PLB's ready LB pods, sorted: the router's next hops in NodeIP mode. */
    const expectedHops = async () => {
      const ips = await provider.nodeIps();
      const entries = ((await plb.get()).status?.loadBalancers ?? []).filter((e) => e.ready);
      return [...new Set(entries.map((e) => ips[e.node!]!))].sort();
    };

    /** The count of ready entries, sampled every 500 ms until clearInterval(sampler). */
    const sampleReadyEntries = () => {
      const readyCounts: number[] = [];
      const sampler = setInterval(() => void plb.get().then((p) => readyCounts.push((p.status?.loadBalancers ?? []).filter((e) => e.ready).length), () => undefined), 500);
      return { readyCounts, sampler };
    };

    beforeAll(async () => {
      bgp = await provider.startBgp({ asn: ROUTER_ASN, lbAsn: LB_ASN, bfd: BFD });
      await router().watch(vip);
      // NodeIP next hops: the router reaches nodes, not pods (README: the chart's nodeRoutes DaemonSet).
      await helm(['upgrade', 'portable-lb', 'charts/portable-lb', '-n', RELEASE_NAMESPACE, '--reuse-values',
        '--set', 'nodeRoutes.enabled=true', '--wait', '--timeout', '180s']);
      await plb.createNamespace();
      await plb.backends(3);
      await kubectl(['apply', '-f', '-'], bgpPeerManifest(peer, {
        peerAddress: bgp.peerAddress, peerASN: ROUTER_ASN, myASN: LB_ASN, namespaces: [plb.namespace],
      }));
    });
    afterAll(async () => {
      await kubectl(['delete', 'bgppeer', peer, '--ignore-not-found', '--wait=false']).catch(() => undefined);
      await bgp?.router.stop();
      await plb.deleteNamespace();
    });

    test('the nodes announce the VIP of their serving LB pods and the router routes it to them (ECMP)', async () => {
      const applied = Date.now();
      await plb.apply('nftables', 2);
      const ready = await plb.waitReady(2);
      expect(new Set(ready.status!.loadBalancers!.map((e) => e.node)).size).toBe(2);
      const hops = await expectedHops();
      const route = await router().waitForHops((h) => h.join() === hops.join(), 120_000, applied);
      // One session per node (its speaker), BFD up on each.
      const neighbors = await eventually(async () => {
        const n = await router().neighbors();
        expect(Object.keys(n).sort()).toEqual(Object.values(await provider.nodeIps()).sort());
        for (const s of Object.values(n)) expect(s).toEqual({ state: 'Established', bfd: 'Up' });
        return n;
      }, 60_000);
      // Each node's speaker reports its session into the PLB (status.nodeSessions, written with the chart's RBAC),
      // and Announced counts both LB pods as announced by their nodes.
      const lbNodes = [...new Set(ready.status!.loadBalancers!.map((e) => e.node!))].sort();
      const announced = await eventually(async () => {
        const p = await plb.get();
        const c = condition(p, 'Announced');
        expect([c?.status, c?.reason]).toEqual(['True', 'AllReplicasAnnounced']);
        const sessions = (p.status?.nodeSessions ?? []).filter((e) => e.peer === peer);
        expect(sessions.map((e) => e.node).sort()).toEqual(lbNodes);
        for (const e of sessions) expect(e).toMatchObject({ state: 'Established', bfdState: 'Up', announced: true });
        return { message: c?.message, sessions };
      }, 60_000);
      console.log(`bgp: route ${vip} via ${route.hops.join(', ')} at the router ${route.at - applied} ms after the PLB was applied; ` +
        `neighbours ${JSON.stringify(neighbors)}; the LB pods' sessions ${JSON.stringify(ready.status!.loadBalancers!.map((e) => e.sessions))}; ` +
        `Announced: ${announced.message}; status.nodeSessions ${JSON.stringify(announced.sessions)}`);
    });

    test('a client outside the nodes reaches every backend through the route the router learned', async () => {
      const tally = await requests(provider, plb.url, 300);
      console.log(`bgp: 300 requests through ${router().hops.join(', ')}: ${JSON.stringify(tally)}`);
      expect(tally.errors).toBe(0);
      expect(Object.keys(tally.counts)).toHaveLength(3);
    });

    test('an agent container restart keeps the route (the operator\'s restart grace), an established connection and every new connection', async () => {
      const connection = await keepAlive(provider, plb.url, 100);
      const load = await steadyLoad(provider, plb.url, WORKERS, 20);
      // The nodes' speakers announce from the ready entries (src/node/announce.ts).
      const { readyCounts, sampler } = sampleReadyEntries();
      let tally: KeepAliveTally;
      let loaded: SteadyTally;
      let since = 0;
      let back = 0;
      try {
        await sleep(2000);
        since = Date.now();
        for (const pod of await plb.lbPods()) {
          const id = pod.status!.containerStatuses!.find((c) => c.name === 'agent')!.containerID!.replace(/^\w+:\/\//, '');
          await provider.killContainer(pod.spec!.nodeName!, id);
        }
        await eventually(async () => {
          for (const p of await plb.lbPods()) {
            const agent = p.status?.containerStatuses?.find((c) => c.name === 'agent');
            expect(agent?.restartCount ?? 0).toBeGreaterThanOrEqual(1);
            expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
          }
          await plb.expectReady(2);
        }, 120_000, 250);
        back = Date.now() - since;
        await sleep(2000);
      } finally {
        clearInterval(sampler);
        tally = await connection.stop();
        loaded = await load.stop();
      }
      // Per pod: the agent's exit, the pod Ready again and the restarted agent's first report, after the exit.
      const restarts = (await plb.lbPods()).map((p) => {
        const exited = Date.parse(String(p.status!.containerStatuses!.find((c) => c.name === 'agent')!.lastState!.terminated!.finishedAt));
        const ready = Date.parse(String(p.status!.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime));
        return { pod: p.metadata!.name!, readyAgainMs: ready - exited, readyAt: ready };
      });
      const reported = ((await plb.get()).status?.loadBalancers ?? []).map((e) => ({ pod: e.pod, ready: e.ready, lastUpdateTime: e.lastUpdateTime }));
      const changes = router().changes.filter((c) => c.at >= since);
      console.log(`bgp: both agents SIGKILLed and restarted, all Ready ${back} ms after the kills; per pod ${JSON.stringify(restarts)} (whole seconds; ` +
        `restart grace ${RESTART_GRACE_MS} ms); entries ${JSON.stringify(reported)}; ready entries sampled ${readyCounts.join(' ')}; ` +
        `keep-alive ${JSON.stringify(tally)}; new connections ${JSON.stringify({ ...loaded, counts: Object.values(loaded.counts) })}; route changes ${JSON.stringify(changes)}`);
      expect(changes).toEqual([]);
      expect(Math.min(...readyCounts)).toBe(2);
      // Each pod was not Ready for a while (its Ready condition moved after the kill): the grace kept the route.
      for (const r of restarts) expect(r.readyAt).toBeGreaterThanOrEqual(Math.floor(since / 1000) * 1000);
      expect(tally.errors).toEqual([]);
      expect(tally.connections).toBe(1);
      expect(loaded.failed).toEqual({ connect: 0, inFlight: 0 });
    });

    test('`kubectl drain` of a node with two of three LB pods keeps a steady load whole: the PodDisruptionBudget lets one go at a time', async () => {
      // Backends get their own budget, as a user's service would (a drain must not take all of them either).
      await kubectl(['-n', plb.namespace, 'apply', '-f', '-'], backendBudgetManifest());
      await kubectl(['-n', plb.namespace, 'patch', 'plb', 'web', '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
      await plb.waitReady(3);
      const budget = await kubectlJson<{ items: Array<{ metadata: { name: string }; spec: { maxUnavailable?: number } }> }>(
        ['get', 'pdb', '-A', '-l', `portablelb.io/name=web`]);
      expect(budget.items.map((b) => b.spec.maxUnavailable)).toEqual([1]);
      const byNode = new Map<string, number>();
      for (const p of await plb.lbPods()) byNode.set(p.spec!.nodeName!, (byNode.get(p.spec!.nodeName!) ?? 0) + 1);
      const [node] = [...byNode.entries()].sort((a, b) => b[1] - a[1])[0]!;
      const since = Date.now();
      // While the drain runs (the budget keeps at least 2 of 3).
      const { readyCounts, sampler } = sampleReadyEntries();
      const load = await steadyLoad(provider, plb.url, WORKERS, 20);
      const loadStart = Date.now();
      // What the drained node's route and LB pods did, on the load's clock, beside its failures (printed).
      const timeline: string[] = [];
      let watching = true;
      const watcher = (async () => {
        let hops = '';
        let pods = '';
        let webs = '';
        const show = (x: V1Pod) => `${x.metadata!.name}@${x.status?.podIP ?? '-'} ${x.status?.phase}${x.metadata?.deletionTimestamp ? ' deleting' : ''}`;
        while (watching) {
          const h = (await provider.vipHops({ node }, vip).catch(() => ['?'])).join(',');
          const p = (await plb.lbPods().catch(() => [])).filter((x) => x.spec?.nodeName === node).map(show).join('; ');
          const w = (await kubectlJson<{ items: V1Pod[] }>(['-n', plb.namespace, 'get', 'pods', '-l', 'app=web']).catch(() => ({ items: [] }))).items
            .filter((x) => x.spec?.nodeName === node).map(show).join('; ');
          const at = Date.now() - loadStart;
          if (h !== hops) timeline.push(`${at} ms: node route via [${(hops = h)}]`);
          if (p !== pods) timeline.push(`${at} ms: LB pods ${(pods = p) || 'none'}`);
          if (w !== webs) timeline.push(`${at} ms: backends ${(webs = w) || 'none'}`);
          await sleep(200);
        }
      })();
      let tally: SteadyTally;
      try {
        await sleep(2000);
        await kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=240s']);
        await plb.waitReady(3, 180_000);
        await sleep(2000);
      } finally {
        clearInterval(sampler);
        tally = await load.stop();
        watching = false;
        await watcher;
        await kubectl(['uncordon', node]);
      }
      console.log(`bgp: drained ${node}, on the load's clock: failures at ${JSON.stringify(tally.failureTimesMs)} ms (${JSON.stringify(tally.errors)}); ${timeline.join(' | ')}`);
      const changes = router().changes.filter((c) => c.at >= since);
      console.log(`bgp: drained ${node}: load ${JSON.stringify({ ...tally, counts: Object.values(tally.counts) })}; ready LB pods sampled ${readyCounts.join(' ')}; ` +
        `route changes ${JSON.stringify(changes.map((c) => ({ atMs: c.at - since, hops: c.hops })))}`);
      expect(Math.min(...readyCounts)).toBeGreaterThanOrEqual(2);
      expect(tally.failed.connect).toBe(0);
      // A connection in flight through the drained node when the router withdraws it is hashed to the other node,
      // which never saw it (the ECMP rehash, docs/bgp.md): at most one per worker and route change. Nothing else may
      // break one: a backend evicted with the node finishes what it serves (manifests.ts; with backends that exited
      // at SIGTERM this case saw 1-4 resets at that moment).
      expect(tally.failed.inFlight).toBeLessThanOrEqual(WORKERS * changes.length);
      for (const c of changes) expect(c.hops.length).toBeGreaterThan(0);
      // Back to two for the cases below.
      await kubectl(['-n', plb.namespace, 'patch', 'plb', 'web', '--type=merge', '-p', JSON.stringify({ spec: { replicas: 2 } })]);
      await plb.waitReady(2);
    });

    test('deleting the PLB withdraws the route at the router and leaves no node route and no LB pod', async () => {
      const deleted = Date.now();
      await kubectl(['-n', plb.namespace, 'delete', 'plb', 'web', '--wait=true', '--timeout=120s']);
      await router().waitForHops((h) => h.length === 0, 60_000, deleted);
      await eventually(async () => {
        expect(await plb.lbPods()).toEqual([]);
        // The node-routes DaemonSet removes its route once the pod is gone.
        for (const node of Object.keys(await provider.nodeIps())) expect(await provider.vipHops({ node }, vip)).toEqual([]);
      }, 120_000);
      expect(await requests(provider, plb.url, 5, 1000)).toEqual({ counts: {}, errors: 5 });
    });

    test('a node that dies (kubelet and containerd killed, its network cut) leaves the router by BFD, and the operator marks its LB pod\'s entry NodeNotReady', async () => {
      // Judged from this PLB's own route changes (waitForHops searches the recorded history): the earlier
      // cases' route had both nodes too, and a kill before the victim announced again left no change to see.
      const applied = Date.now();
      await plb.apply('nftables', 2);
      await plb.waitReady(2);
      const hops = await expectedHops();
      await router().waitForHops((h) => h.join() === hops.join(), 60_000, applied);
      // The victim: the LB pods' node with the fewest backends (an earlier drain may have put them all on one), so
      // the survivor has backends to serve with at once; the dead node's backends stay listed until
      // node-monitor-grace-period, which the `healed` wait below covers.
      const entries = (await plb.get()).status!.loadBalancers!;
      const backendsOn = new Map<string, number>();
      for (const p of (await kubectlJson<{ items: Array<{ spec: { nodeName?: string } }> }>(['-n', plb.namespace, 'get', 'pods', '-l', 'app=web'])).items) {
        backendsOn.set(p.spec.nodeName ?? '', (backendsOn.get(p.spec.nodeName ?? '') ?? 0) + 1);
      }
      const victim = entries.map((e) => e.node!).sort((a, b) => (backendsOn.get(a) ?? 0) - (backendsOn.get(b) ?? 0))[0]!;
      const victimIp = (await provider.nodeIps())[victim]!;
      const killedAt = Date.now();
      await provider.killNode!(victim);
      const withdrawn = await router().waitForHops((h) => !h.includes(victimIp) && h.length > 0, 30_000, killedAt);
      console.log(`bgp: node ${victim} (${victimIp}) died: the router dropped it after ${withdrawn.at - killedAt} ms ` +
        `(BFD ${BFD.transmitInterval} ms x ${BFD.detectMultiplier}), route now via ${withdrawn.hops.join(', ')}`);
      expect(withdrawn.at - killedAt).toBeLessThan(HOLD_TIMER_EARLIEST_MS);
      // Connections to the dead node's backends fail until the node controller marks them not ready
      // (node-monitor-grace-period) and the surviving agent drops them; then every request is answered again.
      const healed = await eventually(async () => {
        const tally = await requests(provider, plb.url, 30, 1000);
        expect(tally.errors).toBe(0);
        return tally;
      }, 150_000, 1000);
      const healedMs = Date.now() - killedAt;
      // The dead agent cannot take its entry back: the operator marks it once the node controller says the node
      // is not Ready (node-monitor-grace-period after the kubelet's last heartbeat), so a router following
      // status.loadBalancers[] stops sending there (src/operator/liveness.ts).
      const marked = await eventually(async () => {
        const entry = ((await plb.get()).status?.loadBalancers ?? []).find((e) => e.node === victim);
        expect(entry).toMatchObject({ ready: false, reason: 'NodeNotReady' });
        return entry!;
      }, NODE_MONITOR_GRACE_MS + 120_000, 1000);
      const markedMs = Date.now() - killedAt;
      const survivors = ((await plb.get()).status?.loadBalancers ?? []).filter((e) => e.node !== victim);
      console.log(`bgp: every request answered again ${healedMs} ms after the node died (${JSON.stringify(healed)}); ` +
        `its entry ready:false ${marked.reason} ${markedMs} ms after (node-monitor-grace-period ${NODE_MONITOR_GRACE_MS} ms): ` +
        `${JSON.stringify(marked.message)}; the other entries ${JSON.stringify(survivors.map((e) => ({ node: e.node, ready: e.ready })))}`);
      expect(survivors.filter((e) => e.ready)).toHaveLength(1);
    });
  });
}
