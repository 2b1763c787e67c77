// What the lab shows and, with --check, proves: Ready with the right generation, balanced traffic, the data
// plane following backend scaling (latency measured), a live data-plane switch and an LB pod deleted under load
// (both with the router following status only: the drain keeps them lossless), and clean deletion.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { AGENT_HEALTH_PORT, LABEL_PLB } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { eventually, repoRoot, type ControlPlane } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { NAMESPACE, VIP } from './objects.js';
import type { PodNetwork } from './pod-network.js';
import type { Router } from './router.js';
import { steadyLoad, type SteadyTally } from './steady-load.js';

const exec = promisify(execFile);

export interface Lab {
  cp: ControlPlane;
  net: PodNetwork;
  say: (m: string) => void;
  logDir: string;
  router: Router;
}

interface Tally {
  counts: Record<string, number>;
  failed: number;
}

async function waitReady(lab: Lab, what: (p: PortableLoadBalancer) => boolean, timeoutMs = 120_000): Promise<PortableLoadBalancer> {
  const plbs = plbClient(lab.cp.kubeConfig);
  return eventually(async () => {
    const p = await plbs.get(NAMESPACE, 'web');
    await lab.router.sync(p);
    const ready = findCondition(p.status?.conditions, 'Ready');
    if (ready?.status !== 'True' || ready.observedGeneration !== p.metadata?.generation || !what(p)) {
      throw new Error(`not there yet: Ready=${ready?.status} ${ready?.reason}: ${ready?.message}`);
    }
    return p;
  }, timeoutMs, 500);
}

async function traffic(lab: Lab, requests: number): Promise<Tally> {
  const load = join(repoRoot, 'test/dataplane/support/load.mjs');
  const { stdout } = await exec('ip', ['netns', 'exec', lab.net.client, process.execPath, load, 'http', `http://${VIP}/`, String(requests), '20', 'close']);
  return JSON.parse(stdout.trim().split('\n').pop()!) as Tally;
}

function printTally(lab: Lab, t: Tally): void {
  const total = Object.values(t.counts).reduce((a, b) => a + b, 0);
  lab.say(`traffic: ${total} responses, ${t.failed} failed`);
  for (const [pod, n] of Object.entries(t.counts).sort()) {
    process.stdout.write(`  ${pod.padEnd(24)} ${String(n).padStart(6)}  ${((100 * n) / total).toFixed(1)}%\n`);
  }
}

/** Every backend within ±15 % of an even share, nothing failed. */
function balanced(t: Tally, backends: number): boolean {
  const total = Object.values(t.counts).reduce((a, b) => a + b, 0);
  const share = total / backends;
  return t.failed === 0 && Object.keys(t.counts).length === backends && Object.values(t.counts).every((n) => Math.abs(n - share) <= 0.15 * share);
}

export async function showState(lab: Lab, requests: number): Promise<boolean> {
  lab.say('waiting for Ready=True (the agents program their kernels and report back)');
  const plb = await waitReady(
    lab,
    (p) =>
      findCondition(p.status?.conditions, 'DataPlaneProgrammed')?.reason === 'AllReplicasProgrammed' &&
      p.status?.backends?.ready === 3 &&
      (p.status?.loadBalancers ?? []).every((e) => e.backends === 3),
  );
  lab.say(`Ready at generation ${plb.metadata?.generation}; LB pods ${(plb.status?.loadBalancers ?? []).map((e) => `${e.pod} ${e.podIP} ${e.attach}`).join(', ')}`);
  const t = await traffic(lab, requests);
  printTally(lab, t);
  const out = await lab.cp.kubectl(['get', 'plb', '-n', NAMESPACE, '-o', 'wide']);
  process.stdout.write(`\n$ kubectl get plb -n ${NAMESPACE} -o wide\n${out.stdout}\n`);
  for (const c of plb.status?.conditions ?? []) {
    process.stdout.write(`  ${c.type.padEnd(20)} ${c.status.padEnd(6)} ${c.reason.padEnd(24)} ${c.message}\n`);
  }
  return balanced(t, 3);
}

async function scaleAndMeasure(lab: Lab, replicas: number): Promise<number> {
  const apps = lab.cp.kubeConfig.makeApiClient(AppsV1Api);
  await apps.patchNamespacedDeployment(
    { namespace: NAMESPACE, name: 'web', body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  // The backend set has changed once the pods' readiness changed: measure from there to "programmed".
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  await eventually(async () => {
    const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' })).items;
    const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (ready.length !== replicas) throw new Error(`${ready.length} ready backends`);
  }, 60_000, 50);
  const changed = Date.now();
  await eventually(async () => {
    const p = await plbClient(lab.cp.kubeConfig).get(NAMESPACE, 'web');
    const entries = (p.status?.loadBalancers ?? []).filter((e) => e.ready);
    if (entries.length === 0 || !entries.every((e) => e.backends === replicas)) throw new Error('not programmed yet');
  }, 60_000, 50);
  return Date.now() - changed;
}

/** Workers of the steady load; each has at most one connection in flight. */
const LOAD_WORKERS = 4;

/**
 * Under load the router reads status.loadBalancers every 100 ms and acts on it 1 s later. Real routers take
 * seconds to follow (a controller's resync, a BGP update); a lab router faster than the kubelet tears a pod down
 * would hide a missing drain. The lab's drainSeconds (5) covers the lag.
 */
const ROUTER = { pollMs: 100, lagMs: 1000 };

interface UnderLoad<T> {
  result: T | undefined;
  error: string | undefined;
  during: SteadyTally;
  nextHopChanges: number;
  /** Failures a next-hop change may cause: the connections in flight whose hash moves, one per worker. */
  inFlightAllowed: number;
}

/**
 * Runs `action` under a steady load of short connections while the router follows status.loadBalancers every
 * 100 ms, 1 s late (ROUTER), and nothing else: no hook withdraws a terminating LB pod. What a next-hop change can still break:
 * connections in flight whose ECMP hash moves to another LB pod, which has no state for them (xdp flow table or
 * conntrack): at most one per worker per change. A failed connect means an LB pod was a next hop while it did
 * not forward: what the drain is there to prevent.
 */
async function underLoad<T>(lab: Lab, what: string, action: () => Promise<T>): Promise<UnderLoad<T>> {
  const loadStarted = Date.now();
  const load = await steadyLoad(lab.net.client, `http://${VIP}/`, LOAD_WORKERS, 5);
  const from = lab.router.changes.length;
  lab.router.follow(ROUTER.pollMs, ROUTER.lagMs);
  let result: T | undefined;
  let error: string | undefined;
  try {
    result = await action();
    // Until the router has caught up with the status that ended the action (the old LB pods stop meanwhile).
    await delay(ROUTER.lagMs + 3 * ROUTER.pollMs);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    lab.router.stop();
  }
  const during: SteadyTally = await load.stop();
  const changes = lab.router.changes.slice(from);
  const inFlightAllowed = LOAD_WORKERS * changes.length;
  lab.say(`${what}: ${during.total} connection attempts in ${(during.durationMs / 1000).toFixed(1)} s, ` +
    `${during.failed.connect} failed to connect, ${during.failed.inFlight} broke in flight ${JSON.stringify(during.errors)}; ` +
    `${changes.length} next-hop changes (${changes.map((c) => `${((c.at - loadStarted) / 1000).toFixed(1)}s: ${c.hops.join(' ') || 'none'}`).join('; ')}); ` +
    `failures at ${during.failureTimesMs.map((ms) => (ms / 1000).toFixed(1)).join(', ') || '-'} s (times since the load started); ` +
    `${during.slowConnectTimesMs.length} connects needed a SYN retransmission (at ${during.slowConnectTimesMs.map((ms) => (ms / 1000).toFixed(1)).join(', ') || '-'} s); ` +
    `allowed: 0 failed connects, ${inFlightAllowed} in flight`);
  return { result, error, during, nextHopChanges: changes.length, inFlightAllowed };
}

const survived = (u: UnderLoad<unknown>) => u.during.total > 0 && u.during.failed.connect === 0 && u.during.failed.inFlight <= u.inFlightAllowed;
const loadDetail = (u: UnderLoad<unknown>) => ({
  attempts: u.during.total, ...u.during.failed, slowConnects: u.during.slowConnectTimesMs.length,
  nextHopChanges: u.nextHopChanges, inFlightAllowed: u.inFlightAllowed,
});

/**
 * The xdp -> nftables switch under a steady load (maxSurge 1, maxUnavailable 0: an old LB pod serves until a new
 * one is ready, then drains). Measured here with the router 1 s late: with drainSeconds 0, 6 of 1043 attempts
 * failed to connect (EHOSTUNREACH: next hop already gone) and 4 lost a SYN; with drainSeconds 5, 0 of 2212 failed
 * to connect, 1 broke in flight (a moved hash), none lost a SYN.
 */
async function switchUnderLoad(lab: Lab, step: (name: string, ok: boolean, detail?: unknown) => boolean): Promise<boolean> {
  const name = 'switched dataPlane xdp -> nftables under a steady load; traffic continues';
  const u = await underLoad(lab, 'during the switch', async () => {
    await plbClient(lab.cp.kubeConfig).patchSpec(NAMESPACE, 'web', { dataPlane: 'nftables' });
    return waitReady(lab, (x) => (x.status?.loadBalancers ?? []).length > 0 && (x.status?.loadBalancers ?? []).every((e) => e.attach === 'nftables'), 180_000);
  });
  if (u.error || !u.result) return step(name, false, u.error);
  const t = await traffic(lab, 1500);
  printTally(lab, t);
  return step(name, survived(u) && balanced(t, 2), { generation: u.result.metadata?.generation, ...loadDetail(u) });
}

/**
 * One LB pod deleted under a steady load (a scale-down, an eviction): it leaves status.loadBalancers at once and
 * forwards for drainSeconds while the router withdraws it; the Deployment's replacement joins when it reports.
 * Measured here: with drainSeconds 0, 2 of 192 attempts failed to connect and 4 lost a SYN (the load stalled:
 * 192 attempts in 2.1 s); with drainSeconds 5, 3026 attempts in 6.5 s, none failed or lost a SYN.
 */
async function deleteUnderLoad(lab: Lab, step: (name: string, ok: boolean, detail?: unknown) => boolean): Promise<boolean> {
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const plbs = plbClient(lab.cp.kubeConfig);
  const before = await plbs.get(NAMESPACE, 'web');
  const victim = (before.status?.loadBalancers ?? [])[0]?.pod ?? '';
  const victimIp = (before.status?.loadBalancers ?? [])[0]?.podIP ?? '';
  const drain = before.spec.drainSeconds;
  const name = `deleted LB pod ${victim} under a steady load (drainSeconds ${drain}); traffic continues`;
  const started = Date.now();
  let readyz = '';
  const u = await underLoad(lab, 'during the LB pod deletion', async () => {
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: victim });
    // The readiness probe's view while it still forwards (what a router following readiness would see).
    readyz = await eventually(async () => {
      const res = await fetch(`http://${victimIp}:${AGENT_HEALTH_PORT}/readyz`, { signal: AbortSignal.timeout(1000) });
      const answer = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) throw new Error(answer);
      return answer;
    }, 5_000, 50).catch((e: Error) => `no 503 while draining: ${e.message}`);
    await eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=web` })).items;
      if (pods.some((p) => p.metadata?.name === victim)) throw new Error(`${victim} still there`);
    }, 60_000, 200);
    const gone = Date.now() - started;
    await waitReady(lab, (x) => (x.status?.loadBalancers ?? []).filter((e) => e.ready && e.pod !== victim).length === 2, 120_000);
    return gone;
  });
  if (u.error || u.result === undefined) return step(name, false, u.error);
  const agentLog = join(lab.logDir, `${NAMESPACE}_${victim}.log`);
  const drained = existsSync(agentLog) ? (readFileSync(agentLog, 'utf8').match(/drain ended after [\d.]+ s/)?.[0] ?? 'no drain logged') : 'no log';
  lab.say(`${victim}: ${drained}; pod gone ${(u.result / 1000).toFixed(1)} s after the delete`);
  const t = await traffic(lab, 1500);
  printTally(lab, t);
  // Here the lab's node drops a dead next hop by itself once the pod's veth is gone, so what a missing drain
  // costs shows as lost SYNs (connects retried after 1 s) more than as failed connects: neither may happen.
  const lossless = u.during.slowConnectTimesMs.length === 0;
  const notReady = !drain || readyz === '503 not ready: draining';
  return step(name, survived(u) && lossless && notReady && balanced(t, 2), { podGoneMs: u.result, drained, readyz, ...loadDetail(u) });
}

export async function runScenario(lab: Lab): Promise<boolean> {
  const results: Record<string, unknown> = {};
  const step = (name: string, ok: boolean, detail?: unknown) => {
    results[name] = { ok, ...(detail !== undefined ? { detail } : {}) };
    lab.say(`${ok ? 'PASS' : 'FAIL'} ${name}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ''}`);
    return ok;
  };
  let ok = step('ready and balanced over 3 backends', await showState(lab, 3000));

  for (const replicas of [5, 2]) {
    const ms = await scaleAndMeasure(lab, replicas);
    const t = await traffic(lab, 1500);
    printTally(lab, t);
    ok = step(`scaled backends to ${replicas}: programmed ${ms} ms after the pods' readiness changed`, balanced(t, replicas), { latencyMs: ms }) && ok;
  }

  ok = (await switchUnderLoad(lab, step)) && ok;
  ok = (await deleteUnderLoad(lab, step)) && ok;

  await plbClient(lab.cp.kubeConfig).delete(NAMESPACE, 'web');
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  try {
    await eventually(async () => {
      const lbPods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_PLB}=web` })).items;
      if (lbPods.length > 0) throw new Error(`${lbPods.length} LB pods left`);
    }, 90_000, 500);
    const pins = join(process.env['PLB_LAB_BPFFS'] ?? '/sys/fs/bpf', 'portable-lb', NAMESPACE);
    const leftover = existsSync(pins) ? readdirSync(pins) : [];
    ok = step('deleted the PLB: LB pods and their kernel state are gone', leftover.length === 0, { leftoverPins: leftover }) && ok;
  } catch (error) {
    ok = step('deleted the PLB: LB pods and their kernel state are gone', false, (error as Error).message) && ok;
  }
  process.stdout.write(`${JSON.stringify({ lab: ok ? 'passed' : 'failed', results })}\n`);
  return ok;
}
