// The BGP failure table of issue #15, each under a steady load of short connections, the router (FRR) following
// BGP and BFD alone; every time is the kernel's own timestamp of the router's route change (ip monitor):
//   readiness      one next hop per ready LB pod, within 2 s of the pod's readiness
//   agentRestart   the agent's container restarted: session back, route kept or back within 2 s, 0 failed connects
//   sigkill        every process of an LB pod SIGKILLed: withdrawn in < 1 s; failed connects counted
//   nodeLinkCut    a node's link cut (silent death): BFD withdraws in about 1 s (300 ms x 3), measured
//   rehash         LB pods 2 -> 3: share of long-lived connections broken by the ECMP rehash (reported)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { LoadBalancerEntry } from '../../src/api/status.js';
import { eventually, repoRoot } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { NAMESPACE, VIP } from './objects.js';
import { loadDetail, underLoad, waitReady, type Lab, type Step } from './under-load.js';

const entries = async (lab: Lab): Promise<LoadBalancerEntry[]> =>
  (await plbClient(lab.cp.kubeConfig).get(NAMESPACE, 'web')).status?.loadBalancers ?? [];

/**
 * Waits until the PLB is Ready again with `n` announcing LB pods, every session's BFD Up (a session whose BFD is
 * still coming up falls back to the hold timer), and the router agreeing.
 */
export const settle = (lab: Lab, n: number) =>
  waitReady(lab, (p) => {
    const lb = (p.status?.loadBalancers ?? []).filter((e) => e.ready && (e.sessions ?? []).some((s) => s.announced));
    return lb.length === n && lb.every((e) => (e.sessions ?? []).every((s) => s.bfdState === undefined || s.bfdState === 'Up'));
  }, 120_000);

async function scaleBackends(lab: Lab, replicas: number): Promise<void> {
  await lab.cp.kubeConfig.makeApiClient(AppsV1Api).patchNamespacedDeployment(
    { namespace: NAMESPACE, name: 'web', body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await waitReady(lab, (p) => p.status?.backends?.ready === replicas && p.status?.backends?.total === replicas &&
    (p.status?.loadBalancers ?? []).every((e) => e.backends === replicas), 120_000);
}

async function readiness(lab: Lab, step: Step): Promise<boolean> {
  const lb = await entries(lab);
  const latencies = lb.map((e) => {
    const ready = lab.kubelet.readyAt.get(`${NAMESPACE}/${e.pod}`) ?? NaN;
    const hop = lab.router.changes.find((c) => c.hops.includes(e.podIP ?? ''));
    return { pod: e.pod, node: e.node, msAfterReadiness: hop ? hop.at - ready : NaN };
  });
  const hops = lab.router.hops;
  const one = hops.length === lb.length && lb.every((e) => hops.filter((h) => h === e.podIP).length === 1);
  // Negative: the route came before the kubelet's next readiness probe saw the pod ready (both follow the
  // agent's own "programmed"). The goal is 2 s (measured here 0.7-2.0 s: BIRD's first session takes ~1 s); judged
  // at 3 s so that a loaded 2-core CI machine does not fail it, and the measured times are reported.
  const goalMet = latencies.every((l) => l.msAfterReadiness <= 2_000);
  const ok = one && latencies.every((l) => Number.isFinite(l.msAfterReadiness) && l.msAfterReadiness <= 3_000);
  return step(`the router has one next hop per ready LB pod within 2 s of the pod's readiness (judged at 3 s)`, ok, { hops, latencies, goalMet });
}

async function agentRestart(lab: Lab, step: Step): Promise<boolean> {
  const victim = (await entries(lab))[0]!;
  const name = `agent of ${victim.pod} restarted (container restart): session back, route kept or back within 2 s, 0 failed connects`;
  let stoppedAt = 0;
  const u = await underLoad(lab, 'during the agent restart', async () => {
    stoppedAt = Date.now();
    await lab.kubelet.restartContainer(NAMESPACE, victim.pod);
    await settle(lab, 2);
  });
  if (u.error) return step(name, false, u.error);
  const gone = u.nextHopChanges.find((c) => c.at >= stoppedAt && !c.hops.includes(victim.podIP!));
  const back = gone && u.nextHopChanges.find((c) => c.at >= gone.at && c.hops.includes(victim.podIP!));
  const gapMs = gone ? (back ? back.at - gone.at : Infinity) : 0;
  const ok = u.during.failed.connect === 0 && gapMs <= 2_000;
  return step(name, ok, { routeKept: !gone, withdrawnForMs: gapMs, ...loadDetail(u) });
}

async function sigkill(lab: Lab, step: Step): Promise<boolean> {
  const victim = (await entries(lab))[1]!;
  const name = `every process of ${victim.pod} SIGKILLed: route withdrawn in < 1 s; failed connects counted`;
  let killedAt = 0;
  const u = await underLoad(lab, 'during the SIGKILL', async () => {
    killedAt = Date.now();
    await lab.kubelet.killProcesses(NAMESPACE, victim.pod);
    // The kubelet restarts the container (restartPolicy Always); its pinned state survived, so it re-announces.
    await settle(lab, 2);
  });
  if (u.error) return step(name, false, u.error);
  const gone = u.nextHopChanges.find((c) => c.at >= killedAt && !c.hops.includes(victim.podIP!));
  const withdrawnMs = gone ? gone.at - killedAt : undefined;
  const back = gone && u.nextHopChanges.find((c) => c.at >= gone.at && c.hops.includes(victim.podIP!));
  return step(name, withdrawnMs !== undefined && withdrawnMs < 1_000, {
    withdrawnMs, backAfterMs: back ? back.at - killedAt : undefined, failedConnectsCounted: u.during.failed.connect, ...loadDetail(u),
  });
}

async function nodeLinkCut(lab: Lab, step: Step): Promise<boolean> {
  const node = lab.net.nodes[1]!;
  const victim = (await entries(lab)).find((e) => e.node === node.name);
  const name = `${node.name}'s link cut (silent death): BFD withdraws its LB pod in about 1 s (300 ms x 3)`;
  if (!victim) return step(name, false, `no LB pod on ${node.name}`);
  // Backends on both nodes, so the surviving LB pod still has one when the cut node's go (it withdraws otherwise:
  // no ready backend), and BFD Up on every session.
  await scaleBackends(lab, 4);
  await settle(lab, 2);
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const backends = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' })).items.map((p) => p.spec?.nodeName);
  let cutAt = 0;
  let withdrawnMs: number | undefined;
  const u = await underLoad(lab, `during ${node.name}'s link cut`, async () => {
    cutAt = Date.now();
    await lab.net.setNodeLink(node, false);
    const gone = await lab.router.waitForHops((h) => !h.includes(victim.podIP!), 10_000, cutAt);
    withdrawnMs = gone.at - cutAt;
    // Down long enough for the agents to drop the dead node's backends, then back.
    await new Promise((r) => setTimeout(r, 3_000));
    await lab.net.setNodeLink(node, true);
    await settle(lab, 2);
  });
  await scaleBackends(lab, 2).catch(() => undefined);
  if (u.error) return step(name, false, u.error);
  const back = u.nextHopChanges.find((c) => c.at > cutAt + (withdrawnMs ?? 0) && c.hops.includes(victim.podIP!));
  // BFD declares the session down detectMultiplier x interval after the last packet it got: up to 900 ms, plus
  // FRR's route removal; 1.5 s leaves room for a loaded 2-core machine. Connects to the dead node's backends fail
  // until the agents drop them: counted, not a BGP failure.
  return step(name, withdrawnMs !== undefined && withdrawnMs <= 1_500, {
    withdrawnMs, backendNodes: backends, backAfterRestoreMs: back ? back.at - (cutAt + 3_000 + (withdrawnMs ?? 0)) : undefined, ...loadDetail(u),
  });
}

/** Long-lived keep-alive connections through the VIP; each `round()` makes one request on every one. */
async function holdConnections(lab: Lab, n: number) {
  const child = spawn('ip', ['netns', 'exec', lab.net.client, process.execPath, join(repoRoot, 'test/dataplane/support/hold.mjs'), `http://${VIP}/`, String(n)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await eventually(async () => { if (!out.includes('holding')) throw new Error('not holding yet'); }, 10_000, 50);
  const round = async (): Promise<Array<{ ok: boolean; localPort: number | null }>> => {
    const before = out.length;
    child.stdin.write('go\n');
    return eventually(async () => {
      const line = out.slice(before).split('\n').find((l) => l.startsWith('['));
      if (!line) throw new Error('no answer yet');
      return JSON.parse(line) as Array<{ ok: boolean; localPort: number | null }>;
    }, 30_000, 50);
  };
  return { round, stop: () => child.kill('SIGTERM') };
}

async function rehash(lab: Lab, step: Step): Promise<boolean> {
  const name = 'LB pods 2 -> 3: share of long-lived connections broken by the ECMP rehash (router default hashing)';
  const held = await holdConnections(lab, 64);
  try {
    const first = await held.round();
    if (!first.every((r) => r.ok)) return step(name, false, `${first.filter((r) => !r.ok).length} of 64 failed before the scale-up`);
    // A request on every connection each 500 ms, so none idles into the backend's keep-alive timeout (5 s): a
    // connection is broken when a request on it fails or it had to be reopened (another local port).
    const broke = new Set<number>();
    let rounds = 0;
    let scaling = true;
    const rounding = (async () => {
      while (scaling) {
        const r = await held.round();
        rounds++;
        r.forEach((c, i) => { if (!c.ok || c.localPort !== first[i]!.localPort) broke.add(i); });
        await new Promise((res) => setTimeout(res, 500));
      }
    })();
    await plbClient(lab.cp.kubeConfig).patchSpec(NAMESPACE, 'web', { replicas: 3 });
    await settle(lab, 3);
    await new Promise((res) => setTimeout(res, 1_500));
    scaling = false;
    await rounding;
    const broken = broke.size;
    const groups = await import('node:child_process').then(({ execFileSync }) => execFileSync('ip', ['-n', lab.net.router, 'nexthop', 'show'], { encoding: 'utf8' }));
    const resilient = /type resilient/.test(groups);
    lab.say(`rehash 2 -> 3: ${broken} of 64 long-lived connections broken (${((100 * broken) / 64).toFixed(0)} %); ` +
      `FRR installed ${resilient ? 'a resilient' : 'a hash-threshold (non-resilient)'} next-hop group`);
    // Back to 2 for the steps that follow; the third pod drains.
    await plbClient(lab.cp.kubeConfig).patchSpec(NAMESPACE, 'web', { replicas: 2 });
    await eventually(async () => {
      const pods = (await lab.cp.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=web` })).items;
      if (pods.length !== 2) throw new Error(`${pods.length} LB pods`);
    }, 60_000, 200);
    await settle(lab, 2);
    // Reported, not judged: the share is what the router's hashing gives (about 1/3 in theory for 2 -> 3).
    return step(name, rounds > 2, { broken, of: 64, sharePercent: Math.round((100 * broken) / 64), rounds, resilientGroup: resilient });
  } finally {
    held.stop();
  }
}

export const bgpSteps = { readiness, agentRestart, sigkill, nodeLinkCut, rehash };
