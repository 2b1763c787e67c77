// The operator's own NodeNotReady / PodNotReady marks are lifted when the LB pod is Ready again, against a real
// kube-apiserver + controller-manager (src/operator/liveness.ts, liftedMark). As in liveness.test.ts the test
// binds the LB pod to a Node it made and writes the pod's status as a kubelet would; its agent reports once and
// then never again (heartbeats are judged against 120 s here), so an entry that turns ready again can only have
// been lifted by the operator: on main it stayed marked until the agent's next heartbeat (up to 30 s).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { Controller } from '../../src/operator/controller.js';
import type { LoadBalancerEntry } from '../../src/operator/status.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { startTestController } from './support/controller.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let controller: Controller;
let ns: string;
let core: CoreV1Api;
let node: string;
let pod: V1Pod;
let reportedAt: string;
const plbs = () => plbClient(cp.kubeConfig);
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

const entry = async (): Promise<LoadBalancerEntry | undefined> => (await plbs().get(ns, 'web')).status?.loadBalancers?.find((e) => e.pod === pod.metadata?.name);
const podReady = (status: 'True' | 'False') => core.patchNamespacedPodStatus({
  namespace: ns, name: pod.metadata!.name!,
  body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status, lastTransitionTime: new Date() }] } },
}, smp);
const nodeReady = (status: 'True' | 'Unknown') => {
  const now = new Date();
  return core.patchNodeStatus({ name: node, body: { status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', lastHeartbeatTime: now, lastTransitionTime: now }] } } }, smp);
};
/** Waits for the entry to read `ready` (and `reason`), and says how long that took. */
async function turns(ready: boolean, reason: string | undefined, since: number): Promise<{ e: LoadBalancerEntry; ms: number }> {
  const e = await eventually(async () => {
    const x = await entry();
    expect([x?.ready, x?.reason]).toEqual([ready, reason]);
    return x!;
  }, 30_000, 100);
  return { e, ms: Date.now() - since };
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  controller = await startTestController(cp.kubeConfig, { heartbeatExpiryMs: 120_000 });
  ns = await createTestNamespace(cp.kubeConfig, 'lift');
  node = `${ns}-n`;
  await core.createNode({ body: { metadata: { name: node } } });
  await nodeReady('True');
  await plbs().create(ns, 'web', { vip: '192.0.2.10', replicas: 1, ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  pod = await eventually(async () => {
    const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=web` })).items;
    expect(p).toHaveLength(1);
    return p[0]!;
  }, 60_000);
  const name = pod.metadata!.name!;
  await core.createNamespacedPodBinding({ namespace: ns, name, body: { metadata: { name }, target: { kind: 'Node', name: node } } });
  await podReady('True');
  reportedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await plbs().report(ns, 'web', { pod: name, node, podIP: '10.244.0.5', vip: '192.0.2.10', attach: 'tc', programmedGeneration: 1, backends: 1, ready: true, lastUpdateTime: reportedAt });
  await turns(true, undefined, Date.now());
  // Ready=False must come more than REPORT_MARGIN_MS (2 s, second precision) after the report to overrule it.
  await new Promise((r) => setTimeout(r, 3500));
});
afterAll(async () => {
  await controller?.stop();
  await core?.deleteNode({ name: node }).catch(() => undefined);
  await cp?.stop();
});

test('PodNotReady while the pod is not Ready; ready again once it is, with no new report from the agent', async () => {
  let t = Date.now();
  await podReady('False');
  const marked = await turns(false, 'PodNotReady', t);
  t = Date.now();
  await podReady('True');
  const lifted = await turns(true, undefined, t);
  console.log(`lift: PodNotReady ${marked.ms} ms after Ready=False; ready again ${lifted.ms} ms after Ready=True`);
  // The agent's report, untouched: the operator lifted its own mark, nobody re-reported.
  expect(lifted.e).toMatchObject({ lastUpdateTime: reportedAt, programmedGeneration: 1, backends: 1, podIP: '10.244.0.5' });
  expect(lifted.e.message).toBeUndefined();
});

test('NodeNotReady while the node is not Ready (the pod turned not Ready with it); ready again when both are back', async () => {
  let t = Date.now();
  await nodeReady('Unknown');
  await podReady('False');
  const marked = await turns(false, 'NodeNotReady', t);
  // The node back first, the pod not yet: the mark stays (the pod's Ready=False is all the operator knows).
  await nodeReady('True');
  await new Promise((r) => setTimeout(r, 1500));
  expect((await entry())?.ready).toBe(false);
  t = Date.now();
  await podReady('True');
  const lifted = await turns(true, undefined, t);
  console.log(`lift: NodeNotReady ${marked.ms} ms after the node's status write; ready again ${lifted.ms} ms after the pod's Ready=True`);
  expect(lifted.e.lastUpdateTime).toBe(reportedAt);
});
