// A drain cannot take every LB pod of a PLB at once, against a real kube-apiserver + controller-manager (its
// disruption controller computes the budget; the API server's eviction subresource enforces it): a PLB with 2
// replicas gets an owned PodDisruptionBudget (maxUnavailable 1), its LB pods a strict spread over nodes that
// the API server keeps as written; of two Ready LB pods one may be evicted, the other is refused (429) while
// the first is not replaced; an edited budget is reverted; replicas 1 removes it.
// No scheduler or kubelet here: the test marks the LB pods Running and Ready itself, as a kubelet would.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api, PatchStrategy, PolicyV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { Controller } from '../../src/operator/controller.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { startTestController } from './support/controller.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let controller: Controller;
let ns: string;
let core: CoreV1Api;
let apps: AppsV1Api;
let policy: PolicyV1Api;
const plbs = () => plbClient(cp.kubeConfig);

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  policy = cp.kubeConfig.makeApiClient(PolicyV1Api);
  controller = await startTestController(cp.kubeConfig);
  ns = await createTestNamespace(cp.kubeConfig, 'disruption');
  await plbs().create(ns, 'web', { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
});
afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const lbPods = async (): Promise<V1Pod[]> =>
  (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=web` })).items.filter((p) => !p.metadata?.deletionTimestamp);
const readyNow = (p: V1Pod) =>
  core.patchNamespacedPodStatus(
    { namespace: ns, name: p.metadata!.name!, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
  );
const evict = (p: V1Pod) =>
  core.createNamespacedPodEviction({ namespace: ns, name: p.metadata!.name!, body: { metadata: { name: p.metadata!.name!, namespace: ns } } });

test('2 replicas: an owned budget of maxUnavailable 1, and a strict spread over nodes as written', async () => {
  const pdb = await eventually(() => policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web-lb' }), 60_000);
  expect(pdb.spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  expect(pdb.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'PortableLoadBalancer', name: 'web', controller: true });
  const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' });
  expect(pdb.spec?.selector?.matchLabels).toEqual(d.spec?.selector.matchLabels);
  expect(d.spec?.template.spec?.topologySpreadConstraints).toEqual([
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: d.spec?.selector.matchLabels },
      matchLabelKeys: ['pod-template-hash'],
      nodeTaintsPolicy: 'Honor',
    },
  ]);
});

test('of two Ready LB pods one may be evicted; the other is refused while the first is not replaced', async () => {
  const pods = await eventually(async () => {
    const p = await lbPods();
    expect(p).toHaveLength(2);
    return p;
  }, 60_000);
  for (const p of pods) await readyNow(p);
  await eventually(async () => {
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web-lb' })).status).toMatchObject({ currentHealthy: 2, disruptionsAllowed: 1 });
  }, 60_000);
  await evict(pods[0]!);
  // The ReplicaSet's replacement is Pending (nobody schedules it here): the remaining Ready pod is the last one.
  await eventually(async () => {
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web-lb' })).status).toMatchObject({ disruptionsAllowed: 0 });
  }, 60_000);
  const refused = await evict(pods[1]!).then(() => undefined, (e: { code?: number; body?: string }) => e);
  expect(refused?.code).toBe(429);
  expect(String(refused?.body)).toContain('Cannot evict pod as it would violate the pod\'s disruption budget');
  console.log(`disruption: second eviction refused: ${JSON.parse(String(refused?.body)).message}`);
});

test('an edited budget is reverted', async () => {
  const r = await cp.kubectl(['-n', ns, 'patch', 'pdb/web-lb', '--type=merge', '-p={"spec":{"maxUnavailable":2}}']);
  expect(r.code).toBe(0);
  await eventually(async () => {
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web-lb' })).spec?.maxUnavailable).toBe(1);
  }, 30_000, 100);
});

test('replicas 1: the budget goes', async () => {
  await plbs().patchSpec(ns, 'web', { replicas: 1 });
  await eventually(async () => {
    const gone = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'web-lb' }).then(() => false, (e: { code?: number }) => e.code === 404);
    expect(gone).toBe(true);
  }, 30_000);
  expect((await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' })).spec?.replicas).toBe(1);
});
