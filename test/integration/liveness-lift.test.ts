// The operator's own NodeNotReady / PodNotReady marks are lifted when the LB pod is Ready again, against a real
// kube-apiserver + controller-manager (src/operator/liveness.ts, liftedMark). As in liveness.test.ts the test
// binds the LB pod to a Node it made and writes the pod's status as a kubelet would; its agent reports once and
// then never again (heartbeats are judged against 120 s here), so an entry that turns ready again can only have
// been lifted by the operator: on main it stayed marked until the agent's next heartbeat (up to 30 s).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import type { Controller } from '../../src/operator/controller.js';
import type { LoadBalancerEntry } from '../../src/api/status.js';
import { eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { boundLbPod, type BoundLbPod } from './support/bound-lb-pod.js';
import { startTestController } from './support/controller.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let controller: Controller;
let lb: BoundLbPod;

const podReady = (status: 'True' | 'False') => lb.podStatus({ conditions: [{ type: 'Ready', status, lastTransitionTime: new Date() }] });
const nodeReady = (status: 'True' | 'Unknown') => lb.nodeReady(status);
/** Waits for the entry to read `ready` (and `reason`), and says how long that took. */
async function turns(ready: boolean, reason: string | undefined, since: number): Promise<{ e: LoadBalancerEntry; ms: number }> {
  const e = await eventually(async () => {
    const x = await lb.entry();
    expect([x?.ready, x?.reason]).toEqual([ready, reason]);
    return x!;
  }, 30_000, 100);
  return { e, ms: Date.now() - since };
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  controller = await startTestController(cp.kubeConfig, { heartbeatExpiryMs: 120_000 });
  lb = await boundLbPod(cp, 'lift');
});
afterAll(async () => {
  await controller?.stop();
  await lb?.stop().catch(() => undefined);
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
  expect(lifted.e).toMatchObject({ lastUpdateTime: lb.reportedAt, programmedGeneration: 1, backends: 1, podIP: '10.244.0.5' });
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
  expect((await lb.entry())?.ready).toBe(false);
  t = Date.now();
  await podReady('True');
  const lifted = await turns(true, undefined, t);
  console.log(`lift: NodeNotReady ${marked.ms} ms after the node's status write; ready again ${lifted.ms} ms after the pod's Ready=True`);
  expect(lifted.e.lastUpdateTime).toBe(lb.reportedAt);
});
