// What the status says when things go wrong, against a real kube-apiserver + controller-manager: an apply the
// API server refuses, a pre-existing object named like a child (left alone: ChildConflict), LB pods refused by
// Pod Security admission (FailedCreate as the ReplicaSet says it), and 20 LB pods reporting long errors at once.
import { afterAll, afterEach, beforeAll, beforeEach, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findCondition } from '../../src/api/conditions.js';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import type { Controller } from '../../src/operator/controller.js';
import { createTestNamespace, deleteTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { startTestController } from './support/controller.js';
import { PLB, condition, plbClient } from './support/plb-api.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let controller: Controller;
let ns: string;
let plbs: ReturnType<typeof plbClient>;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  plbs = plbClient(cp.kubeConfig);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  controller = await startTestController(cp.kubeConfig);
});
afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});
beforeEach(async () => {
  ns = await createTestNamespace(cp.kubeConfig, 'faults');
});
afterEach(async () => {
  await deleteTestNamespace(cp.kubeConfig, ns);
});

const spec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } };
const ready = async (name = 'web') => findCondition((await plbs.get(ns, name)).status?.conditions, 'Ready');

test('an apply the API server refuses: Ready=False ApplyFailed with its message; fixed spec, fixed status', async () => {
  await plbs.create(ns, 'web', { ...spec, template: { resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } } });
  const c = await eventually(async () => {
    const r = await ready();
    expect([r?.status, r?.reason]).toEqual(['False', 'ApplyFailed']);
    return r!;
  });
  expect(c.message).toMatch(/^applying Deployment .*\/web-lb failed: 422: Deployment.apps "web-lb" is invalid: .*must be less than or equal to memory limit/);
  await plbs.patchSpec(ns, 'web', { template: { resources: { requests: { memory: '256Mi' }, limits: { memory: '512Mi' } } } });
  await eventually(async () => expect((await ready())?.reason).toBe('WaitingForReplicas'));
  await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' });
});

test('a pre-existing ServiceAccount and Deployment named web-lb are left alone: ChildConflict names them, nothing is adopted', async () => {
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'web-lb', labels: { team: 'theirs' } } } });
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'web-lb' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'theirs' } },
        template: { metadata: { labels: { app: 'theirs' } }, spec: { containers: [{ name: 'c', image: 'theirs:1' }] } },
      },
    },
  });
  await plbs.create(ns, 'web', spec);
  const c = await eventually(async () => {
    const r = await ready();
    expect([r?.status, r?.reason]).toEqual(['False', 'ChildConflict']);
    return r!;
  });
  expect(c.message).toContain(`ServiceAccount ${ns}/web-lb already exists and has no controller`);
  expect(c.message).toContain(`Deployment ${ns}/web-lb already exists and has no controller`);
  // Give a wrong operator every chance to write, then check nothing was touched.
  await new Promise((r) => setTimeout(r, 2000));
  await controller.whenIdle();
  const sa = await core.readNamespacedServiceAccount({ namespace: ns, name: 'web-lb' });
  const dep = await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' });
  for (const o of [sa, dep]) {
    expect(o.metadata?.ownerReferences).toBeUndefined();
    expect(o.metadata?.managedFields?.map((f) => f.manager)).not.toContain('portable-lb-operator');
  }
  expect(dep.spec?.template.spec?.containers[0]?.image).toBe('theirs:1');
  // Deleting the PLB must not take their objects with it.
  await plbs.delete(ns, 'web');
  await new Promise((r) => setTimeout(r, 2000));
  await core.readNamespacedServiceAccount({ namespace: ns, name: 'web-lb' });
});

test('LB pods refused by Pod Security admission: Ready=False FailedCreate with the admission message', async () => {
  await core.patchNamespace(
    { name: ns, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await plbs.create(ns, 'web', spec);
  const c = await eventually(async () => {
    const r = await ready();
    expect([r?.status, r?.reason]).toEqual(['False', 'FailedCreate']);
    return r!;
  }, 60_000);
  expect(c.message).toMatch(/^the Deployment cannot create LB pods: pods "web-lb-[a-z0-9-]+" is forbidden: violates PodSecurity "baseline:latest"/);
  expect(findCondition((await plbs.get(ns, 'web')).status?.conditions, 'DataPlaneProgrammed')?.reason).toBe('FailedCreate');
});

test('20 LB pods reporting 4 KiB errors each: the status patch still succeeds, saying how many were left out', async () => {
  await plbs.create(ns, 'web', { ...spec, replicas: 20 });
  const pods = await eventually(async () => {
    const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=web` })).items;
    expect(p).toHaveLength(20);
    return p;
  }, 60_000);
  const message = `BPF program plb_tc failed to load: ${'R2 invalid mem access scalar; '.repeat(150)}`.slice(0, 4096);
  for (const p of pods) await plbs.report(ns, 'web', { pod: p.metadata!.name!, node: 'n1', ready: false, reason: 'ProgrammingFailed', message });
  // Converged means the message accounts for all 20 pods: those named plus those counted as left out.
  const plb = await eventually(async () => {
    const p = await plbs.get(ns, 'web');
    expect(condition(p, 'DataPlaneProgrammed')).toEqual(['False', 'ProgrammingFailed']);
    const m = findCondition(p.status?.conditions, 'DataPlaneProgrammed')!.message;
    const named = m.split('; ').filter((part) => part.startsWith('pod web-lb-')).length;
    expect(named + Number(/… and (\d+) more LB pod\(s\)$/.exec(m)?.[1] ?? 0)).toBe(20);
    return p;
  }, 60_000);
  const dp = findCondition(plb.status?.conditions, 'DataPlaneProgrammed')!;
  expect(dp.message).toMatch(/… and \d+ more LB pod\(s\)$/);
  expect(dp.message.length).toBeLessThanOrEqual(2048);
  expect(plb.status?.loadBalancers).toHaveLength(20);
});

test('the API server honours the resourceVersion guard that keeps the operator from replacing a status it has not seen', async () => {
  const created = await plbs.create(ns, 'guarded', spec);
  await plbs.report(ns, 'guarded', { pod: 'agent-wrote-first', ready: true });
  const api = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const patch = (rv: string) =>
    api.patchNamespacedCustomObjectStatus(
      { ...PLB, namespace: ns, name: 'guarded', body: [{ op: 'test', path: '/metadata/resourceVersion', value: rv }, { op: 'add', path: '/status', value: {} }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  // A cache still holding the version from before the agent's write is refused...
  await expect(patch(created.metadata!.resourceVersion!)).rejects.toMatchObject({ code: 422 });
  // ...and the version the object has now is accepted (the guard is not simply always failing).
  const now = (await api.getNamespacedCustomObject({ ...PLB, namespace: ns, name: 'guarded' })) as PortableLoadBalancer;
  await patch(now.metadata!.resourceVersion!);
});
