// The restart grace (src/operator/liveness.ts, RESTART_GRACE_MS), against a real kube-apiserver +
// controller-manager: an LB pod whose agent container exits (its process SIGKILLed) and is restarted by the
// kubelet turns not Ready for a moment while its kernel state keeps forwarding. As in liveness-lift.test.ts the
// test binds the LB pod to a Node it made and writes the pod's status as a kubelet writes it (Ready=False with the
// container's lastState.terminated), and its agent reports once and never again, so only the operator moves the
// entry. On main the entry turned PodNotReady ~0.2 s after the kubelet's write, and on real nodes the nodes'
// speakers withdrew the VIP for the length of the restart (test/e2e/cases/bgp.ts).
// Heartbeats are judged against 120 s: the operator's requeue for the heartbeat deadline is pending all along,
// and the one for the grace's end, due earlier, must still happen (runtime/workqueue.ts addAfter).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import type { V1ContainerStatus } from '@kubernetes/client-node';
import type { Controller } from '../../src/operator/controller.js';
import { RESTART_GRACE_MS } from '../../src/operator/liveness.js';
import { eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { boundLbPod, type BoundLbPod } from './support/bound-lb-pod.js';
import { startTestController } from './support/controller.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let controller: Controller;
let lb: BoundLbPod;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whole seconds, as the kubelet's timestamps are written. */
const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
const entry = () => lb.entry();

/** The pod's status as the kubelet writes it; `exited`: the agent container's last exit (then restartCount 1). */
async function kubeletStatus(ready: boolean, exited?: Date): Promise<void> {
  const agent: V1ContainerStatus = {
    name: 'agent', image: 'portable-lb:test', imageID: 'sha256:0', ready, restartCount: exited ? 1 : 0,
    state: { running: { startedAt: exited ? new Date(exited.getTime() + 1000) : second(Date.now() - 60_000) } },
    ...(exited ? { lastState: { terminated: { exitCode: 137, reason: 'Error', startedAt: second(Date.now() - 60_000), finishedAt: exited } } } : {}),
  };
  const speaker: V1ContainerStatus = { name: 'speaker', image: 'portable-lb:test', imageID: 'sha256:0', ready: true, restartCount: 0, state: { running: { startedAt: second(Date.now() - 60_000) } } };
  await lb.podStatus({ conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: second(Date.now()) }], containerStatuses: [agent, speaker] });
}

/** Samples the entry every 100 ms until `until` (ms since the epoch): each reading's [when, ready, reason]. */
async function sample(until: number): Promise<[number, boolean | undefined, string | undefined][]> {
  const out: [number, boolean | undefined, string | undefined][] = [];
  while (Date.now() < until) {
    const e = await entry();
    out.push([Date.now(), e?.ready, e?.reason]);
    await sleep(100);
  }
  return out;
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  controller = await startTestController(cp.kubeConfig, { heartbeatExpiryMs: 120_000 });
  lb = await boundLbPod(cp, 'restart');
  await kubeletStatus(true);
}, 120_000);
afterAll(async () => {
  await controller?.stop();
  await lb?.stop().catch(() => undefined);
  await cp?.stop();
});

test('the agent container exits and is Ready again 4 s later: its entry stays ready throughout', async () => {
  const exited = second(Date.now() - 1000);
  await kubeletStatus(false, exited);
  const during = await sample(Date.now() + 4000);
  await kubeletStatus(true, exited);
  // Past the grace's end too: nothing is left to mark it.
  const after = await sample(exited.getTime() + RESTART_GRACE_MS + 2000);
  console.log(`restart: ${during.length} readings while restarting, ${after.length} after, not ready in ${[...during, ...after].filter((s) => s[1] !== true).length}`);
  expect([...during, ...after].filter((s) => s[1] !== true)).toEqual([]);
});

test('the agent container exits and the pod stays not Ready: ready through the grace, PodNotReady when it ends', async () => {
  const exited = second(Date.now() - 1000);
  await kubeletStatus(false, exited);
  const readings = await sample(exited.getTime() + RESTART_GRACE_MS + 3000);
  const firstMarked = readings.find((s) => s[1] === false);
  expect(firstMarked?.[2]).toBe('PodNotReady');
  const markedAfterExitMs = firstMarked![0] - exited.getTime();
  const lastReadyAfterExitMs = Math.max(...readings.filter((s) => s[1] === true).map((s) => s[0])) - exited.getTime();
  console.log(`restart: entry ready until ${lastReadyAfterExitMs} ms after the exit, PodNotReady ${markedAfterExitMs} ms after it (grace ${RESTART_GRACE_MS} ms)`);
  // Ready up to the grace's end (less one sample), marked within a second after it: the operator came back then.
  expect(lastReadyAfterExitMs).toBeGreaterThanOrEqual(RESTART_GRACE_MS - 500);
  expect(markedAfterExitMs).toBeGreaterThanOrEqual(RESTART_GRACE_MS);
  expect(markedAfterExitMs).toBeLessThan(RESTART_GRACE_MS + 1500);
  // Once marked, it stays so.
  expect(readings.filter((s) => s[0] > firstMarked![0]).every((s) => s[1] === false)).toBe(true);
  expect((await entry())?.message).toContain('exited at');
  // Ready again: the mark is lifted (liftedMark).
  await kubeletStatus(true, exited);
  await eventually(async () => expect((await entry())?.ready).toBe(true), 30_000, 100);
});
