// Dead LB pods leave the ready set, against a real kube-apiserver + controller-manager. There is no kubelet or
// scheduler here: the test binds the LB pods to two Nodes it made, writes their status as a kubelet would, and
// heartbeats their status.loadBalancers[] entries as their agents would (every second; the operator under test
// judges heartbeats against 4 s instead of 90 s). Then, as on a real cluster:
//   - a node turns Ready=Unknown (what the node controller writes when the kubelet stops) and its agent stops:
//     its pod's entry turns ready false (NodeNotReady) at the operator's next pass; the other one stays;
//   - an agent stops heartbeating on a Ready node: HeartbeatExpired once the heartbeat is older than the expiry;
//   - a pod the kubelet evicted (phase Failed): its entry is dropped.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { findCondition } from '../../src/api/conditions.js';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { Controller } from '../../src/operator/controller.js';
import type { LoadBalancerEntry } from '../../src/api/status.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { startTestController } from './support/controller.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(180_000);

const EXPIRY_MS = 4000;
let cp: ControlPlane;
let controller: Controller;
let ns: string;
let core: CoreV1Api;
let nodes: [string, string];
let pods: V1Pod[];
const beating = new Set<string>();
let heart: NodeJS.Timeout | undefined;
const plbs = () => plbClient(cp.kubeConfig);
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

async function nodeReady(name: string, status: 'True' | 'Unknown'): Promise<void> {
  const now = new Date();
  const reason = status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown';
  await core.patchNodeStatus({ name, body: { status: { conditions: [{ type: 'Ready', status, reason, lastHeartbeatTime: now, lastTransitionTime: now }] } } }, smp);
}
const entries = async (): Promise<LoadBalancerEntry[]> => (await plbs().get(ns, 'web')).status?.loadBalancers ?? [];
const entryOf = async (pod: V1Pod) => (await entries()).find((e) => e.pod === pod.metadata?.name);

/** What each agent does: its entry, programmed and ready, with a fresh lastUpdateTime. */
async function beat(): Promise<void> {
  for (const [i, p] of pods.entries()) {
    const name = p.metadata!.name!;
    if (!beating.has(name)) continue;
    await plbs().report(ns, 'web', { pod: name, node: nodes[i]!, podIP: `10.244.${i}.5`, vip: '192.0.2.10', attach: 'tc', programmedGeneration: 1, backends: 1, ready: true, lastUpdateTime: stamp() }).catch(() => undefined);
  }
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  controller = await startTestController(cp.kubeConfig, { heartbeatExpiryMs: EXPIRY_MS });
  ns = await createTestNamespace(cp.kubeConfig, 'liveness');
  nodes = [`${ns}-a`, `${ns}-b`];
  for (const n of nodes) {
    await core.createNode({ body: { metadata: { name: n, labels: { 'kubernetes.io/hostname': n } } } });
    await nodeReady(n, 'True');
  }
  await plbs().create(ns, 'web', { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  pods = await eventually(async () => {
    const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=web` })).items;
    expect(p).toHaveLength(2);
    return p.sort((x, y) => x.metadata!.name!.localeCompare(y.metadata!.name!));
  }, 60_000);
  // As the scheduler and the kubelet would: bound, Running, Ready.
  for (const [i, p] of pods.entries()) {
    const name = p.metadata!.name!;
    await core.createNamespacedPodBinding({ namespace: ns, name, body: { metadata: { name }, target: { kind: 'Node', name: nodes[i]! } } });
    await core.patchNamespacedPodStatus({ namespace: ns, name, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date() }] } } }, smp);
    beating.add(name);
  }
  heart = setInterval(() => void beat(), 1000);
  await beat();
  await eventually(async () => {
    const p = await plbs().get(ns, 'web');
    expect(findCondition(p.status?.conditions, 'DataPlaneProgrammed')?.reason).toBe('AllReplicasProgrammed');
  }, 30_000);
});
afterAll(async () => {
  clearInterval(heart);
  await controller?.stop();
  for (const n of nodes ?? []) await core?.deleteNode({ name: n }).catch(() => undefined);
  await cp?.stop();
});

test('a node turns NotReady and its agent stops: its LB pod leaves the ready set, the other stays', async () => {
  const [a, b] = pods as [V1Pod, V1Pod];
  beating.delete(b.metadata!.name!);
  const started = Date.now();
  await nodeReady(nodes[1], 'Unknown');
  const e = await eventually(async () => {
    const x = await entryOf(b);
    expect(x?.ready).toBe(false);
    return x!;
  }, 30_000, 100);
  const ms = Date.now() - started;
  console.log(`liveness: entry of the pod on the NotReady node ready=false ${ms} ms after the node's status write: ${e.reason}: ${e.message}`);
  expect(e.reason).toBe('NodeNotReady');
  expect(e.message).toContain(`node ${nodes[1]} is not Ready (Unknown, NodeStatusUnknown since`);
  expect(e).toMatchObject({ node: nodes[1], podIP: '10.244.1.5' });
  // Well within one heartbeat expiry: the node's own word is enough.
  expect(ms).toBeLessThan(EXPIRY_MS);
  expect((await entryOf(a))?.ready).toBe(true);
  const dp = findCondition((await plbs().get(ns, 'web')).status?.conditions, 'DataPlaneProgrammed');
  expect([dp?.reason, dp?.message]).toEqual(['SomeReplicasProgrammed', '1 of 2 LB pod(s) hold generation 1']);
});

test('an agent stops heartbeating on a Ready node: HeartbeatExpired once its report is older than the expiry', async () => {
  const a = pods[0]!;
  beating.delete(a.metadata!.name!);
  const last = Date.parse((await entryOf(a))!.lastUpdateTime!);
  const e = await eventually(async () => {
    const x = await entryOf(a);
    expect(x?.ready).toBe(false);
    return x!;
  }, 30_000, 100);
  const after = Date.now() - last;
  console.log(`liveness: entry with a stale heartbeat ready=false ${after} ms after its last report (expiry ${EXPIRY_MS} ms): ${e.message}`);
  expect(e.reason).toBe('HeartbeatExpired');
  expect(after).toBeGreaterThan(EXPIRY_MS);
  const ready = findCondition((await plbs().get(ns, 'web')).status?.conditions, 'Ready');
  expect([ready?.status, ready?.reason]).toEqual(['False', 'HeartbeatExpired']);
  // The agent reports again: it is believed again.
  beating.add(a.metadata!.name!);
  await eventually(async () => expect((await entryOf(a))?.ready).toBe(true), 30_000, 100);
});

test('an evicted LB pod (phase Failed): its entry is dropped', async () => {
  const a = pods[0]!;
  beating.delete(a.metadata!.name!);
  await core.patchNamespacedPodStatus({ namespace: ns, name: a.metadata!.name!, body: { status: { phase: 'Failed', reason: 'Evicted' } } }, smp);
  await eventually(async () => expect((await entries()).map((e) => e.pod)).not.toContain(a.metadata!.name), 30_000, 100);
});
