// The lab's fault step (issue #14): rounds of three SIGKILLs, each under a steady load of short connections
// through the router, each judged by chaos-verdict.ts:
//   operator   the operator SIGKILLed (it gives up no Lease), the LB pods' Role `web-lb` edited while none runs
//              (a rule dropped), a new operator started: it takes the Lease and repairs the Role (drift repair)
//   apiServer  kube-apiserver SIGKILLed and restarted (etcd keeps the data): everything converges again
//   agent      one LB pod's agent container SIGKILLed; the stand-in kubelet restarts it (restartPolicy Always) in
//              the same pod: a new PID adopts the pinned maps (per pod UID), /readyz 200 again, still announced;
//              the pod's Ready went False (the kubelet reports the exit in containerStatuses) and True again, and
//              the PLB's entry for the pod stayed ready throughout (the operator's restart grace, liveness.ts),
//              sampled every 200 ms from the SIGKILL until the round has converged
// Then: the PLB converged, and no pin directory of a gone pod left on the lab's bpffs.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { AGENT_HEALTH_PORT } from '../../src/api/constants.js';
import { findCondition } from '../../src/api/conditions.js';
import { childName } from '../../src/operator/naming.js';
import { eventually } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { settle } from './bgp-steps.js';
import { judgeRound, leakedPins, repairsLogged, type Fault, type PinDir, type RoundNumbers } from './chaos-verdict.js';
import { NAMESPACE } from './objects.js';
import { loadDetail, underLoad, type Lab, type Step, type UnderLoad } from './under-load.js';

const ROUNDS = 2;
/** The operator's Lease (src/operator/main.ts: --leader-election-id in --leader-election-namespace). */
const LEASE = { namespace: 'default', name: 'portable-lb-operator' };

/** The load's numbers of a round, and whether its action (which ends by waiting for convergence) finished. */
const loadNumbers = (u: UnderLoad<unknown>): RoundNumbers => ({
  attempts: u.during.total, failedConnects: u.during.failed.connect, brokenInFlight: u.during.failed.inFlight,
  inFlightAllowed: u.inFlightAllowed, nextHopChanges: u.nextHopChanges.length, converged: u.error === undefined,
});

function judged(step: Step, name: string, fault: Fault, u: UnderLoad<unknown>, n: RoundNumbers, extra: Record<string, unknown>): boolean {
  const v = judgeRound(fault, n);
  return step(name, v.ok, { ...extra, ...loadDetail(u), ...(u.error ? { error: u.error } : {}), ...(v.ok ? {} : { problems: v.problems }) });
}

async function operatorKill(lab: Lab, step: Step, round: number): Promise<boolean> {
  const name = `chaos ${round}: operator SIGKILLed, Role ${childName('web')} edited while none runs, a new one takes the Lease and repairs it; 0 failed connects, 0 next-hop changes`;
  const rbac = lab.cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const leases = lab.cp.kubeConfig.makeApiClient(CoordinationV1Api);
  const role = { namespace: NAMESPACE, name: childName('web') };
  const want = JSON.stringify((await rbac.readNamespacedRole(role)).rules);
  let leaseTakenMs: number | undefined;
  let repairedMs: number | undefined;
  let dropped = '';
  let killedAt = Infinity;
  const u = await underLoad(lab, `chaos ${round}: the operator SIGKILLed`, async () => {
    killedAt = Date.now();
    await lab.killOperator();
    let pid: number;
    try {
      // The agents' status rule: while it is missing their status writes are refused, their traffic is not touched.
      const rules = (await rbac.readNamespacedRole(role)).rules ?? [];
      dropped = JSON.stringify(rules[1]);
      await rbac.patchNamespacedRole(
        { ...role, body: [{ op: 'test', path: '/rules/1', value: rules[1] }, { op: 'remove', path: '/rules/1' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      );
    } finally {
      pid = await lab.startOperator();
    }
    await eventually(async () => {
      const holder = (await leases.readNamespacedLease(LEASE)).spec?.holderIdentity ?? '';
      if (!holder.endsWith(`_${pid}`)) throw new Error(`the Lease is held by ${holder}, not the new operator (PID ${pid})`);
    }, 60_000, 100);
    leaseTakenMs = Date.now() - killedAt;
    await eventually(async () => {
      const rules = JSON.stringify((await rbac.readNamespacedRole(role)).rules);
      if (rules !== want) throw new Error(`Role ${role.name} not repaired: ${rules}`);
    }, 30_000, 100);
    repairedMs = Date.now() - killedAt;
    await settle(lab, 2);
  });
  // The kill's time is the lab's clock, the log's the operator's: the same machine.
  const roleRepairs = repairsLogged(readFileSync(join(lab.logDir, 'operator.log'), 'utf8'), `Role ${role.namespace}/${role.name}`, killedAt);
  lab.say(`chaos ${round}: operator: dropped rule ${dropped}; the new operator held the Lease ${leaseTakenMs ?? '?'} ms after the SIGKILL, Role repaired at ${repairedMs ?? '?'} ms (${roleRepairs} repair(s) logged)`);
  return judged(step, name, 'operator', u, { ...loadNumbers(u), leaseTakenMs, roleRepaired: repairedMs !== undefined, roleRepairs }, { leaseTakenMs, repairedMs, roleRepairs });
}

async function apiServerKill(lab: Lab, step: Step, round: number): Promise<boolean> {
  const name = `chaos ${round}: kube-apiserver SIGKILLed and restarted: 0 failed connects, everything converges again`;
  let restartMs: number | undefined;
  let convergedMs: number | undefined;
  const u = await underLoad(lab, `chaos ${round}: kube-apiserver SIGKILLed`, async () => {
    const killedAt = Date.now();
    await lab.cp.restartApiServer('SIGKILL');
    restartMs = Date.now() - killedAt;
    await settle(lab, 2);
    convergedMs = Date.now() - killedAt;
  });
  lab.say(`chaos ${round}: kube-apiserver: serving again ${restartMs ?? '?'} ms after the SIGKILL, converged at ${convergedMs ?? '?'} ms`);
  return judged(step, name, 'apiServer', u, { ...loadNumbers(u), restartMs }, { restartMs, convergedMs });
}

/** How often the agent round reads the pod's Ready and the PLB's entry for it. */
const SAMPLE_MS = 200;

interface Sampled { samples: number; entryNotReady: number; podNotReady: number; firstEntryNotReady?: string }

/** Reads the pod's Ready condition and the PLB's entry for it every SAMPLE_MS until stop() (a missing entry is not ready). */
function sampleReadiness(lab: Lab, pod: string): { stop(): Promise<Sampled> } {
  const plbs = plbClient(lab.cp.kubeConfig);
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  const started = Date.now();
  const tally: Sampled = { samples: 0, entryNotReady: 0, podNotReady: 0 };
  let stopped = false;
  const loop = (async () => {
    for (let k = 0; !stopped; k++) {
      const [p, lb] = await Promise.all([
        core.readNamespacedPod({ namespace: NAMESPACE, name: pod }).catch(() => undefined),
        plbs.get(NAMESPACE, 'web').catch(() => undefined),
      ]);
      // A read that failed (the API server is up in this round, but a read can time out) is no sample.
      if (p && lb) {
        tally.samples++;
        if (p.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') tally.podNotReady++;
        const entry = (lb.status?.loadBalancers ?? []).find((e) => e.pod === pod);
        if (entry?.ready !== true) {
          tally.entryNotReady++;
          tally.firstEntryNotReady ??= `${Date.now() - started} ms: ${entry ? `${entry.reason}: ${entry.message}` : 'no entry'}`;
        }
      }
      await new Promise((r) => setTimeout(r, Math.max(0, started + (k + 1) * SAMPLE_MS - Date.now())));
    }
  })();
  return { stop: async () => { stopped = true; await loop; return tally; } };
}

async function agentKill(lab: Lab, step: Step, round: number): Promise<boolean> {
  const plbs = plbClient(lab.cp.kubeConfig);
  const core = lab.cp.kubeConfig.makeApiClient(CoreV1Api);
  // Alternate the LB pod between rounds.
  const entries = (await plbs.get(NAMESPACE, 'web')).status?.loadBalancers ?? [];
  const victim = entries[(round - 1) % entries.length];
  const name = `chaos ${round}: agent container of ${victim?.pod} SIGKILLed: restarted with a new PID, /readyz 200 again, still announcing, the pod's Ready False then True, its entry ready throughout; 0 failed connects, 0 next-hop changes`;
  if (!victim?.podIP) return step(name, false, 'no LB pod');
  const pidBefore = lab.kubelet.containerPid(NAMESPACE, victim.pod);
  let pidAfter: number | undefined;
  let readyAgainMs: number | undefined;
  let stillAnnouncing = false;
  let podReadyAgainMs: number | undefined;
  let sampled: Sampled | undefined;
  let agentStatus: unknown;
  const u = await underLoad(lab, `chaos ${round}: the agent of ${victim.pod} SIGKILLed`, async () => {
    const killedAt = Date.now();
    const sampler = sampleReadiness(lab, victim.pod);
    try {
      await lab.kubelet.killContainer(NAMESPACE, victim.pod);
      pidAfter = await eventually(async () => {
        const pid = lab.kubelet.containerPid(NAMESPACE, victim.pod);
        if (pid === undefined) throw new Error('the agent container is not running');
        return pid;
      }, 10_000, 20);
      await eventually(async () => {
        const res = await fetch(`http://${victim.podIP}:${AGENT_HEALTH_PORT}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status !== 200) throw new Error(`/readyz ${res.status}`);
      }, 30_000, 50);
      readyAgainMs = Date.now() - killedAt;
      const pod = await eventually(async () => {
        const p = await core.readNamespacedPod({ namespace: NAMESPACE, name: victim.pod });
        const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status !== 'True') throw new Error(`pod ${victim.pod} Ready ${ready?.status}`);
        return p;
      }, 30_000, 50);
      podReadyAgainMs = Date.now() - killedAt;
      const s = pod.status?.containerStatuses?.find((c) => c.name === 'agent');
      agentStatus = { restartCount: s?.restartCount, lastState: s?.lastState?.terminated, running: s?.state?.running };
      const p = await settle(lab, 2);
      const entry = (p.status?.loadBalancers ?? []).find((e) => e.pod === victim.pod);
      stillAnnouncing = lab.router.hops.includes(victim.podIP!) && (entry?.sessions ?? []).some((s) => s.announced);
    } finally {
      sampled = await sampler.stop();
    }
  });
  const newPid = pidBefore !== undefined && pidAfter !== undefined && pidAfter !== pidBefore;
  const readiness = {
    podReadyWentFalse: (sampled?.podNotReady ?? 0) > 0, entrySamples: sampled?.samples ?? 0, entryNotReadySamples: sampled?.entryNotReady ?? 0,
  };
  lab.say(`chaos ${round}: agent of ${victim.pod}: PID ${pidBefore} -> ${pidAfter}, /readyz 200 ${readyAgainMs ?? '?'} ms after the SIGKILL, ` +
    `pod Ready again at ${podReadyAgainMs ?? '?'} ms, ${stillAnnouncing ? 'still announcing' : 'NOT announcing'}; ` +
    `of ${readiness.entrySamples} samples every ${SAMPLE_MS} ms: pod not Ready in ${sampled?.podNotReady ?? 0}, entry not ready in ${readiness.entryNotReadySamples}` +
    `${sampled?.firstEntryNotReady ? ` (first at ${sampled.firstEntryNotReady})` : ''}; agent status ${JSON.stringify(agentStatus)}`);
  return judged(step, name, 'agent', u, { ...loadNumbers(u), newPid, readyAgainMs, stillAnnouncing, ...readiness }, {
    pidBefore, pidAfter, readyAgainMs, podReadyAgainMs, stillAnnouncing, podNotReadySamples: sampled?.podNotReady, ...readiness,
    ...(sampled?.firstEntryNotReady ? { firstEntryNotReady: sampled.firstEntryNotReady } : {}), agentStatus,
  });
}

/** The pod directories on the lab's bpffs (a real node's /sys/fs/bpf/portable-lb), each with what it holds. */
function pinDirs(root: string): PinDir[] {
  const dirs = (path: string) => (existsSync(path) ? readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : []);
  return dirs(root).flatMap((namespace) =>
    dirs(join(root, namespace)).map((pod) => ({ namespace, pod, children: readdirSync(join(root, namespace, pod)) })));
}

async function converged(lab: Lab, step: Step): Promise<boolean> {
  const name = `after ${ROUNDS} chaos rounds: the PLB converged (Ready True at its generation), no pinned maps of gone pods left`;
  try {
    const p = await settle(lab, 2);
    const ready = findCondition(p.status?.conditions, 'Ready');
    const pods = (await lab.cp.kubeConfig.makeApiClient(CoreV1Api).listPodForAllNamespaces()).items;
    const live = new Map(pods.map((x) => [`${x.metadata?.namespace}/${x.metadata?.name}`, x.metadata?.uid ?? ''] as const));
    const dirs = pinDirs(join(process.env['PLB_LAB_BPFFS'] ?? '/sys/fs/bpf', 'portable-lb'));
    const leaked = leakedPins(dirs, live);
    return step(name, leaked.length === 0, {
      ready: `${ready?.status} ${ready?.reason}`, generation: p.metadata?.generation, observedGeneration: ready?.observedGeneration,
      pinDirs: dirs.map((d) => `${d.namespace}/${d.pod}`), leakedPins: leaked,
    });
  } catch (error) {
    return step(name, false, (error as Error).message);
  }
}

async function chaos(lab: Lab, step: Step): Promise<boolean> {
  let ok = true;
  for (let round = 1; round <= ROUNDS; round++) {
    ok = (await operatorKill(lab, step, round)) && ok;
    ok = (await apiServerKill(lab, step, round)) && ok;
    ok = (await agentKill(lab, step, round)) && ok;
  }
  return (await converged(lab, step)) && ok;
}

export const chaosSteps = { chaos };
