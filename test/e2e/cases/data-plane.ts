// The cases every data plane must pass on a real cluster, from a client outside the nodes through the upstream
// router: Ready with LB pods spread over nodes, balanced traffic, backends scaling both ways, an LB pod deleted
// and an agent crashing under load, optionally a switch to another data plane under load, and a deletion that
// leaves nothing behind on the nodes or in the network.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { DataPlaneName as DataPlane } from '../../../src/dataplane/types.js';
import { DATA_PLANE_CAPABILITIES } from '../../../src/operator/class/security.js';
import { SPEAKER_CAPABILITIES } from '../../../src/operator/desired.js';
import { capabilityNames, statusField } from '../../support/capabilities.js';
import { eventually, kubectl } from '../kube.js';
import { keepAlive, requests, steadyLoad, type SteadyTally } from '../load.js';
import { PlbUnderTest } from '../plb.js';
import type { Provider } from '../provider.js';
import { RouteFollower } from '../router.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WORKERS = 4;

/**
 * What a steady load may lose while LB pods change: no connection may fail to connect (some LB pod always
 * serves new connections: no blackhole), and only connections in flight at a change of the routers' next hops
 * may break. Each such change moves flows to another LB pod (hash-threshold ECMP), and with full NAT that pod
 * has no state for them: at most one broken connection per worker per change.
 */
function expectWhole(what: string, tally: SteadyTally, router: RouteFollower, startedAt: number): void {
  const changes = router.changes.filter((c) => c.at >= startedAt).map((c) => ({
    atMs: c.at - startedAt, upstream: c.routes.upstream, nodes: c.routes.nodes,
  }));
  console.log(`${what}: ${JSON.stringify({ ...tally, counts: Object.values(tally.counts) })}\n  route changes: ${JSON.stringify(changes)}`);
  expect(tally.failed.connect).toBe(0);
  expect(tally.failed.inFlight).toBeLessThanOrEqual(WORKERS * changes.length);
  expect(tally.total).toBeGreaterThan(100);
}

export function dataPlaneCases(provider: Provider, plane: DataPlane, vip: string, switchTo?: DataPlane): void {
  describe(`a PortableLoadBalancer with dataPlane ${plane} (${provider.name})`, () => {
    const plb = new PlbUnderTest(provider.image, vip, plane);
    const router = new RouteFollower(provider, plb.namespace, 'web', vip);
    // Every LB pod this PLB ever had (pins live under portable-lb/<pod namespace>/<pod>/ on its node's bpffs).
    const seen = new Set<string>();
    const lbPods = async () => {
      const pods = await plb.lbPods();
      for (const p of pods) seen.add(`/portable-lb/${p.metadata!.namespace}/${p.metadata!.name}/`);
      return pods;
    };
    const pinsOfThisPlb = async () => {
      await lbPods();
      const pins = (await Promise.all(Object.keys(await provider.nodeIps()).map((n) => provider.pins(n)))).flat();
      return pins.filter((p) => [...seen].some((dir) => p.includes(dir)));
    };

    beforeAll(async () => {
      await plb.createNamespace();
      await plb.backends(3);
    });
    afterAll(async () => {
      await router.stop();
      await provider.cleanup(vip);
      await plb.deleteNamespace();
    });

    test('becomes Ready with an LB pod per replica on different nodes', async () => {
      await plb.apply(plane, 2);
      const ready = await plb.waitReady(2);
      expect(ready.status?.backends).toMatchObject({ ready: 3, total: 3 });
      // Preferred anti-affinity spreads two replicas over two nodes.
      expect(new Set(ready.status!.loadBalancers!.map((e) => e.node)).size).toBe(2);
      // xdp pins its maps on the node's bpffs (so an agent restart keeps flows): one directory per LB pod.
      if (plane === 'xdp') {
        const pods = (await lbPods()).map((p) => p.metadata!.name!);
        const pinned = await pinsOfThisPlb();
        for (const pod of pods) expect(pinned.some((p) => p.includes(`/${pod}/`))).toBe(true);
      }
    });

    test('its containers hold exactly their capabilities, unprivileged, under seccomp, on a read-only root', async () => {
      // What the kernel gave the containers' first processes on the node, read from inside (the traffic cases
      // around this one show the data plane works with exactly that).
      const want: Record<string, string[]> = { agent: [...DATA_PLANE_CAPABILITIES[plane]].sort(), speaker: [...SPEAKER_CAPABILITIES].sort() };
      const seen: Record<string, unknown> = {};
      for (const pod of await lbPods()) {
        for (const c of pod.spec!.containers) {
          expect(c.securityContext?.privileged).not.toBe(true);
          const inside = (cmd: string[]) => kubectl(['-n', pod.metadata!.namespace!, 'exec', pod.metadata!.name!, '-c', c.name, '--', ...cmd]);
          const status = await inside(['cat', '/proc/1/status']);
          const root = (await inside(['cat', '/proc/1/mounts'])).split('\n').find((l) => l.split(' ')[1] === '/');
          const got = {
            bounding: capabilityNames(statusField(status, 'CapBnd')!),
            effective: capabilityNames(statusField(status, 'CapEff')!),
            noNewPrivs: statusField(status, 'NoNewPrivs'),
            seccomp: statusField(status, 'Seccomp'),
            rootOptions: root?.split(' ')[3]?.split(',')[0],
          };
          seen[`${pod.metadata!.name}/${c.name}`] = got;
          // Seccomp 2: a filter (RuntimeDefault); NoNewPrivs 1: allowPrivilegeEscalation false.
          expect(got).toEqual({ bounding: want[c.name], effective: want[c.name], noNewPrivs: '1', seccomp: '2', rootOptions: 'ro' });
        }
      }
      console.log(`${plane}: LB pod containers: ${JSON.stringify(seen)}`);
    });

    test('balances a client outside the nodes over every backend', async () => {
      await router.sync();
      const tally = await requests(provider, plb.url, 300);
      console.log(`${plane}: 300 requests through ${router.routes.upstream.join(', ')}: ${JSON.stringify(tally)}`);
      expect(tally.errors).toBe(0);
      const counts = Object.values(tally.counts);
      expect(counts).toHaveLength(3);
      // Even for roundRobin, within a generous band for maglev's hashing of 300 connections.
      for (const c of counts) expect(c).toBeGreaterThan(300 / 3 / 2);
    });

    test('follows the backends when they scale to five and back to two', async () => {
      for (const n of [5, 2]) {
        await kubectl(['-n', plb.namespace, 'scale', 'deployment/web', `--replicas=${n}`]);
        await kubectl(['-n', plb.namespace, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
        await eventually(async () => expect((await plb.get()).status?.backends).toMatchObject({ ready: n, total: n }), 120_000);
        await eventually(async () => {
          const tally = await requests(provider, plb.url, 40 * n);
          expect(tally.errors).toBe(0);
          expect(Object.keys(tally.counts)).toHaveLength(n);
        }, 60_000);
      }
    });

    test('an agent crash (SIGKILL) and restart keeps an established connection', async () => {
      const pods = await lbPods();
      const connection = await keepAlive(provider, plb.url, 100);
      await sleep(2000);
      for (const pod of pods) {
        const id = pod.status!.containerStatuses!.find((c) => c.name === 'agent')!.containerID!.replace(/^\w+:\/\//, '');
        await provider.killContainer(pod.spec!.nodeName!, id);
      }
      await eventually(async () => {
        const now = await lbPods();
        for (const p of now) expect(p.status?.containerStatuses?.[0]?.restartCount ?? 0).toBeGreaterThanOrEqual(1);
        await plb.expectReady(2);
      }, 120_000, 1000);
      await sleep(2000);
      const tally = await connection.stop();
      console.log(`${plane}: keep-alive connection across both agents' restart: ${JSON.stringify(tally)}`);
      expect(tally.errors).toEqual([]);
      expect(tally.connections).toBe(1);
      expect(tally.ok).toBeGreaterThan(20);
    });

    /** `action` under a steady load with the router following the list; the load stops whatever happens. */
    const underLoad = async (what: string, action: () => Promise<string>) => {
      router.follow(1000);
      const load = await steadyLoad(provider, plb.url, WORKERS, 20);
      const startedAt = Date.now();
      let failure: unknown;
      let detail = '';
      try {
        await sleep(2000);
        detail = await action();
        await sleep(2000);
      } catch (err) {
        failure = err;
      }
      const tally = await load.stop();
      if (failure) throw failure;
      expectWhole(`${plane}: ${what} ${detail}`, tally, router, startedAt);
    };

    test('keeps a steady load whole while an LB pod is deleted (it drains while the router withdraws it)', async () => {
      await underLoad('LB pod deleted under load:', async () => {
        const [victim] = await lbPods();
        await kubectl(['-n', victim!.metadata!.namespace!, 'delete', 'pod', victim!.metadata!.name!, '--wait=false']);
        await eventually(async () => {
          expect((await lbPods()).map((p) => p.metadata!.name)).not.toContain(victim!.metadata!.name);
          await plb.expectReady(2);
        }, 180_000, 1000);
        return victim!.metadata!.name!;
      });
    });

    if (switchTo) {
      test(`switches to dataPlane ${switchTo} under a steady load`, async () => {
        await underLoad(`switched to ${switchTo} under load`, async () => {
          await kubectl(['-n', plb.namespace, 'patch', 'plb', 'web', '--type=merge', '-p', JSON.stringify({ spec: { dataPlane: switchTo } })]);
          await plb.waitReady(2, 300_000, (p) => expect(p.status?.loadBalancers?.length).toBe(2));
          await eventually(async () => expect((await lbPods()).length).toBe(2), 180_000);
          return '';
        });
        // The old pods detached and removed what they pinned when they went.
        if (plane === 'xdp') await eventually(async () => expect(await pinsOfThisPlb()).toEqual([]), 60_000);
        if (switchTo === 'xdp') expect(await pinsOfThisPlb()).not.toEqual([]);
      });
    }

    test('deleting the PLB leaves no LB pods, no pinned maps and no routes', async () => {
      await router.stop();
      await kubectl(['-n', plb.namespace, 'delete', 'plb', 'web', '--wait=true', '--timeout=120s']);
      await eventually(async () => {
        expect(await lbPods()).toEqual([]);
        const deployments = await kubectl(['get', 'deployments', '-A', '-l', `portablelb.io/name=web`, '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.labels.portablelb\\.io/namespace}{"\\n"}{end}']);
        expect(deployments.split('\n').filter((d) => d.startsWith(`${plb.namespace}/`) || d.endsWith(`/${plb.namespace}`))).toEqual([]);
      }, 120_000);
      expect(await pinsOfThisPlb()).toEqual([]);
      // The router follows the (now absent) status one last time: every route of the VIP goes.
      await router.sync();
      expect(await provider.vipHops('upstream', vip)).toEqual([]);
      for (const node of Object.keys(await provider.nodeIps())) expect(await provider.vipHops({ node }, vip)).toEqual([]);
      expect(await requests(provider, plb.url, 5, 1000)).toEqual({ counts: {}, errors: 5 });
    });
  });
}
