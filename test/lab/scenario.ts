// What the lab shows and, with --check, proves: Ready with the right generation and the router's route for the
// VIP, balanced traffic, the data plane following backend scaling (latency measured), a live data-plane switch
// and an LB pod deleted under load (the router follows BGP alone: lossless), the BGP failure table
// (bgp-steps.ts), rounds of SIGKILLs of the operator, the API server and an agent under load (chaos-steps.ts),
// and clean deletion.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { AGENT_HEALTH_PORT, LABEL_PLB } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import { eventually } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { bgpSteps } from './bgp-steps.js';
import { chaosSteps } from './chaos-steps.js';
import { serviceSteps } from './service-steps.js';
import { overlaySteps } from './overlay-steps.js';
import { NAMESPACE, VIP } from './objects.js';
import { balanced, loadDetail, podStaleResets, printTally, survived, traffic, underLoad, waitReady, type Lab, type Step } from './under-load.js';

export type { Lab } from './under-load.js';

async function printRoute(lab: Lab): Promise<void> {
  const { stdout } = await import('node:child_process').then(({ execFileSync }) => ({
    stdout: execFileSync('ip', ['-n', lab.net.router, 'route', 'show', VIP], { encoding: 'utf8' }),
  }));
  process.stdout.write(`\n$ ip -n ${lab.net.router} route show ${VIP}    # the router's route, installed by FRR from BGP\n${stdout}`);
}

export async function showState(lab: Lab, requests: number): Promise<boolean> {
  lab.say('waiting for Ready=True and the router\'s route (the agents program their kernels, announce the VIP over BGP and report back)');
  const plb = await waitReady(
    lab,
    (p) =>
      findCondition(p.status?.conditions, 'DataPlaneProgrammed')?.reason === 'AllReplicasProgrammed' &&
      findCondition(p.status?.conditions, 'Announced')?.reason === 'AllReplicasAnnounced' &&
      p.status?.backends?.ready === 3 &&
      (p.status?.loadBalancers ?? []).every((e) => e.backends === 3),
  );
  lab.say(`Ready at generation ${plb.metadata?.generation}; LB pods ${(plb.status?.loadBalancers ?? []).map((e) => `${e.pod} ${e.podIP} on ${e.node} ${e.attach}`).join(', ')}`);
  await printRoute(lab);
  const t = await traffic(lab, requests);
  printTally(lab, t);
  const out = await lab.cp.kubectl(['get', 'plb', '-n', NAMESPACE, '-o', 'wide']);
  process.stdout.write(`\n$ kubectl get plb -n ${NAMESPACE} -o wide\n${out.stdout}\n`);
  for (const c of plb.status?.conditions ?? []) {
    process.stdout.write(`  ${c.type.padEnd(20)} ${c.status.padEnd(6)} ${c.reason.padEnd(24)} ${c.message}\n`);
  }
  for (const e of plb.status?.loadBalancers ?? []) {
    for (const s of e.sessions ?? []) {
      process.stdout.write(`  session ${e.pod} -> ${s.peer} ${s.peerAddress}: ${s.state}, BFD ${s.bfdState ?? '-'}, ${s.announced ? 'announced' : 'not announced'}\n`);
    }
  }
  return balanced(t, 3, lab.say);
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

/**
 * The xdp -> nftables switch under a steady load (maxSurge 1, maxUnavailable 0: an old LB pod serves until a new
 * one is ready and announces, then withdraws and drains).
 */
async function switchUnderLoad(lab: Lab, step: Step): Promise<boolean> {
  const name = 'switched dataPlane xdp -> nftables under a steady load; traffic continues';
  const u = await underLoad(lab, 'during the switch', async () => {
    await plbClient(lab.cp.kubeConfig).patchSpec(NAMESPACE, 'web', { dataPlane: 'nftables' });
    return waitReady(lab, (x) => (x.status?.loadBalancers ?? []).length === 2 && (x.status?.loadBalancers ?? []).every((e) => e.attach === 'nftables'), 180_000);
  });
  if (u.error || !u.result) return step(name, false, u.error);
  const t = await traffic(lab, 1500);
  printTally(lab, t);
  return step(name, survived(u) && balanced(t, 2, lab.say), { generation: u.result.metadata?.generation, ...loadDetail(u) });
}

/**
 * One LB pod deleted under a steady load (a scale-down, an eviction): it withdraws the VIP over BGP at once and
 * forwards for drainSeconds while the router removes it; the Deployment's replacement joins when it announces.
 * Withdrawn before it stops forwarding: 0 failed connects, 0 lost SYNs.
 */
async function deleteUnderLoad(lab: Lab, step: Step): Promise<boolean> {
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const plbs = plbClient(lab.cp.kubeConfig);
  const before = await plbs.get(NAMESPACE, 'web');
  const victim = (before.status?.loadBalancers ?? [])[0]?.pod ?? '';
  const victimIp = (before.status?.loadBalancers ?? [])[0]?.podIP ?? '';
  const drain = before.spec.drainSeconds;
  const name = `deleted LB pod ${victim} under a steady load (drainSeconds ${drain}): withdrawn before it stops forwarding`;
  let readyz = '';
  let deletedAt = 0;
  let goneAt = 0;
  // The victim's own resets for flows it holds no state for, read shortly before its drain ends (it is gone when
  // the load stops): a draining LB pod must not reset anything; the survivors' are in the load's line.
  const victimResetsBefore = await podStaleResets(lab, victim);
  let victimResets: Promise<number | undefined> = Promise.resolve(undefined);
  const u = await underLoad(lab, 'during the LB pod deletion', async () => {
    deletedAt = Date.now();
    victimResets = new Promise((r) => setTimeout(r, Math.max(0, (drain ?? 0) * 1000 - 700)))
      .then(() => podStaleResets(lab, victim))
      .then((n) => (n === undefined || victimResetsBefore === undefined ? undefined : n - victimResetsBefore));
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: victim });
    // The readiness probe's view while it still forwards.
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
    goneAt = Date.now();
    await waitReady(lab, (x) => (x.status?.loadBalancers ?? []).filter((e) => e.ready && e.pod !== victim).length === 2, 120_000);
  });
  if (u.error) return step(name, false, u.error);
  const withdrawn = u.nextHopChanges.find((c) => c.at >= deletedAt && !c.hops.includes(victimIp));
  const agentLog = join(lab.logDir, `${NAMESPACE}_${victim}.log`);
  const drained = existsSync(agentLog) ? (readFileSync(agentLog, 'utf8').match(/drain ended after [\d.]+ s/)?.[0] ?? 'no drain logged') : 'no log';
  const withdrawnMs = withdrawn ? withdrawn.at - deletedAt : undefined;
  const victimStaleResets = await victimResets;
  lab.say(`${victim}: withdrawn at the router ${withdrawnMs ?? '?'} ms after the delete; ${drained}; pod gone ${((goneAt - deletedAt) / 1000).toFixed(1)} s after it; ` +
    `its own RSTs for flows without state while it drained: ${victimStaleResets ?? 'not read'}`);
  const t = await traffic(lab, 1500);
  printTally(lab, t);
  const lossless = u.during.slowConnectTimesMs.length === 0;
  const notReady = !drain || readyz === '503 not ready: draining';
  // Withdrawn before it stopped forwarding: the route left the router before the pod (and its netns) went.
  const beforeStop = withdrawn !== undefined && withdrawn.at < goneAt;
  return step(name, survived(u) && lossless && notReady && beforeStop && balanced(t, 2, lab.say), { withdrawnMs, drained, readyz, victimStaleResets, ...loadDetail(u) });
}

export async function runScenario(lab: Lab): Promise<boolean> {
  const results: Record<string, unknown> = {};
  const step: Step = (name, ok, detail) => {
    results[name] = { ok, ...(detail !== undefined ? { detail } : {}) };
    lab.say(`${ok ? 'PASS' : 'FAIL'} ${name}${detail !== undefined ? `: ${JSON.stringify(detail)}` : ''}`);
    return ok;
  };
  let ok = step('ready, announced and balanced over 3 backends', await showState(lab, 3000));
  ok = (await bgpSteps.readiness(lab, step)) && ok;

  for (const replicas of [5, 2]) {
    const ms = await scaleAndMeasure(lab, replicas);
    const t = await traffic(lab, 1500);
    printTally(lab, t);
    ok = step(`scaled backends to ${replicas}: programmed ${ms} ms after the pods' readiness changed`, balanced(t, replicas, lab.say), { latencyMs: ms }) && ok;
  }

  ok = (await overlaySteps.overlay(lab, step)) && ok;
  ok = (await serviceSteps.serviceLoadBalancer(lab, step)) && ok;
  ok = (await serviceSteps.vipConflict(lab, step)) && ok;

  ok = (await bgpSteps.agentRestart(lab, step)) && ok;
  ok = (await bgpSteps.sigkill(lab, step)) && ok;
  ok = (await bgpSteps.nodeLinkCut(lab, step)) && ok;
  ok = (await bgpSteps.rehash(lab, step)) && ok;
  ok = (await chaosSteps.chaos(lab, step)) && ok;
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
    const route = lab.router.hops;
    ok = step('deleted the PLB: LB pods, their kernel state and the route are gone', leftover.length === 0 && route.length === 0, { leftoverPins: leftover, route }) && ok;
  } catch (error) {
    ok = step('deleted the PLB: LB pods, their kernel state and the route are gone', false, (error as Error).message) && ok;
  }
  process.stdout.write(`${JSON.stringify({ lab: ok ? 'passed' : 'failed', results })}\n`);
  return ok;
}
