// The operator's reconcile loop against a real kube-apiserver, etcd and kube-controller-manager: children with
// owner references, honest conditions while no node runs pods, agent reports folded into Ready/Degraded,
// spec changes, garbage collection, and no writes for a steady object.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../src/api/constants.js';
import type { Controller } from '../../src/operator/controller.js';
import { createLogger } from '../../src/runtime/log.js';
import {
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from './harness/index.js';
import { startTestController } from './support/controller.js';
import { condition, plbClient } from './support/plb-api.js';

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
  controller = await startTestController(cp.kubeConfig, { log: createLogger(process.env['LOG_LEVEL'] ?? 'warn') });
});
afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});
beforeEach(async () => {
  ns = await createTestNamespace(cp.kubeConfig, 'operator');
  // A VIP of its own per test: the previous test's namespace may still be going, and its PLB still holds its VIP.
  spec.vip = `192.0.2.${++vipSeq}`;
});
afterEach(async () => {
  await deleteTestNamespace(cp.kubeConfig, ns);
});

let vipSeq = 10;
const spec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { selector: { matchLabels: { app: 'web' } } } };
const lbPods = async (name: string) =>
  (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_PLB}=${name}` })).items;
/** Waits until the Deployment's ReplicaSet made `n` LB pods, and returns them. */
const lbPodsCreated = (name: string, n: number) =>
  eventually(async () => {
    const p = await lbPods(name);
    expect(p).toHaveLength(n);
    return p;
  });
const backendPod = (name: string): V1Pod => ({
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'nginx:test' }] },
});

describe('a new PortableLoadBalancer', () => {
  test('gets its Deployment, ServiceAccount, Role and RoleBinding, owned by it; the Deployment gets Pods', async () => {
    const plb = await plbs.create(ns, 'web', spec);
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const children = await eventually(async () => [
      await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' }),
      await core.readNamespacedServiceAccount({ namespace: ns, name: 'web-lb' }),
      await rbac.readNamespacedRole({ namespace: ns, name: 'web-lb' }),
      await rbac.readNamespacedRoleBinding({ namespace: ns, name: 'web-lb' }),
    ]);
    for (const child of children) {
      expect(child.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'PortableLoadBalancer', name: 'web', uid: plb.metadata?.uid, controller: true }),
      ]);
    }
    await eventually(async () => expect(await lbPods('web')).toHaveLength(2));
  });

  test('says honestly why it is not Ready: LB pods are not scheduled, and no backend pod matches', async () => {
    await plbs.create(ns, 'web', spec);
    const plb = await eventually(async () => {
      const p = await plbs.get(ns, 'web');
      expect(condition(p, 'DataPlaneProgrammed')).toEqual(['False', 'WaitingForReplicas']);
      expect(p.status?.conditions?.find((c) => c.type === 'DataPlaneProgrammed')?.message).toMatch(/not scheduled to any node/);
      return p;
    });
    expect(condition(plb, 'Ready')).toEqual(['False', 'NoMatchingPods']);
    expect(condition(plb, 'BackendsResolved')).toEqual(['False', 'NoMatchingPods']);
    expect(plb.status?.observedGeneration).toBe(1);
    for (const c of plb.status?.conditions ?? []) expect(c.observedGeneration).toBe(1);
  });

  test('counts backend pods as they appear and become ready', async () => {
    await plbs.create(ns, 'web', spec);
    await core.createNamespacedPod({ namespace: ns, body: backendPod('b1') });
    await core.createNamespacedPod({ namespace: ns, body: backendPod('b2') });
    await eventually(async () => expect((await plbs.get(ns, 'web')).status?.backends).toEqual({ ready: 0, total: 2 }));
    await core.patchNamespacedPodStatus(
      { namespace: ns, name: 'b1', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const p = await eventually(async () => {
      const p = await plbs.get(ns, 'web');
      expect(p.status?.backends).toEqual({ ready: 1, total: 2 });
      return p;
    });
    expect(condition(p, 'BackendsResolved')).toEqual(['True', 'BackendsReady']);
  });
});

describe('agent reports', () => {
  const addresses = () => ({ ...spec, backends: { addresses: [{ ip: '10.0.5.7' }, { ip: '10.0.5.8' }] } });

  test('all LB pods programmed: DataPlaneProgrammed and Ready become True at the current generation', async () => {
    await plbs.create(ns, 'web', addresses());
    const pods = await lbPodsCreated('web', 2);
    for (const p of pods) {
      await plbs.report(ns, 'web', { pod: p.metadata!.name!, node: 'n1', podIP: '10.244.1.5', attach: 'tc', programmedGeneration: 1, backends: 2, ready: true });
    }
    const plb = await eventually(async () => {
      const p = await plbs.get(ns, 'web');
      expect(condition(p, 'Ready')).toEqual(['True', 'AllReplicasProgrammed']);
      return p;
    });
    expect(condition(plb, 'DataPlaneProgrammed')).toEqual(['True', 'AllReplicasProgrammed']);
    expect(condition(plb, 'Degraded')).toEqual(['False', 'AsExpected']);
    expect(plb.status?.conditions?.find((c) => c.type === 'Ready')?.observedGeneration).toBe(1);
    expect(plb.status?.loadBalancers?.map((e) => e.pod).sort()).toEqual(pods.map((p) => p.metadata!.name!).sort());
    // The transition is told as an Event, as `kubectl describe plb` shows it.
    await eventually(async () => {
      const events = (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'web');
      expect(events.map((e) => [e.type, e.reason])).toContainEqual(['Normal', 'AllReplicasProgrammed']);
    });
  });

  test('a missing kernel feature turns into Degraded with the agent’s message', async () => {
    await plbs.create(ns, 'web', { ...addresses(), dataPlane: 'ipvs' });
    const [pod] = await eventually(async () => {
      const p = await lbPods('web');
      expect(p.length).toBeGreaterThan(0);
      return p;
    });
    const message = 'IPVS is not available in this kernel: load ip_vs and ip_vs_mh on the node, or use dataPlane nftables';
    await plbs.report(ns, 'web', { pod: pod!.metadata!.name!, ready: false, reason: 'KernelFeatureMissing', message, programmedGeneration: 0 });
    const plb = await eventually(async () => {
      const p = await plbs.get(ns, 'web');
      expect(condition(p, 'Degraded')).toEqual(['True', 'KernelFeatureMissing']);
      return p;
    });
    expect(plb.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toContain(message);
    expect(condition(plb, 'Ready')).toEqual(['False', 'KernelFeatureMissing']);
  });

  test('the entry of an LB pod that is gone is pruned; the others stay as their agents wrote them', async () => {
    await plbs.create(ns, 'web', addresses());
    const pods = await lbPodsCreated('web', 2);
    for (const p of pods) await plbs.report(ns, 'web', { pod: p.metadata!.name!, ready: true, programmedGeneration: 1 });
    const gone = pods[0]!.metadata!.name!;
    await core.deleteNamespacedPod({ namespace: ns, name: gone, gracePeriodSeconds: 0 });
    const plb = await eventually(async () => {
      const p = await plbs.get(ns, 'web');
      expect(p.status?.loadBalancers?.map((e) => e.pod)).toEqual([pods[1]!.metadata!.name!]);
      return p;
    });
    expect(plb.status?.loadBalancers?.[0]).toEqual({ pod: pods[1]!.metadata!.name!, ready: true, programmedGeneration: 1 });
  });
});

describe('changes', () => {
  test('a spec change updates the Deployment and advances observedGeneration', async () => {
    await plbs.create(ns, 'web', spec);
    await eventually(async () => expect((await plbs.get(ns, 'web')).status?.observedGeneration).toBe(1));
    await plbs.patchSpec(ns, 'web', { replicas: 3 });
    await eventually(async () => {
      expect((await apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' })).spec?.replicas).toBe(3);
      const p = await plbs.get(ns, 'web');
      expect(p.status?.observedGeneration).toBe(2);
      expect(p.status?.conditions?.every((c) => c.observedGeneration === 2)).toBe(true);
    });
  });

  test('a steady object costs no write on a second reconcile', async () => {
    await plbs.create(ns, 'web', spec);
    await eventually(async () => expect((await plbs.get(ns, 'web')).status?.observedGeneration).toBe(1));
    await eventually(async () => expect(await lbPods('web')).toHaveLength(2));
    // Let every event of the first pass settle, then force a pass and count.
    await new Promise((r) => setTimeout(r, 1500));
    await controller.whenIdle();
    const before = controller.writes;
    controller.enqueue(`${ns}/web`);
    await controller.whenIdle();
    expect(controller.writes - before).toBe(0);
  });

  test('deleting it garbage-collects the children', async () => {
    await plbs.create(ns, 'web', spec);
    await eventually(async () => expect(await lbPods('web')).toHaveLength(2));
    await plbs.delete(ns, 'web');
    await eventually(async () => {
      expect((await apps.listNamespacedDeployment({ namespace: ns })).items).toHaveLength(0);
      expect((await core.listNamespacedServiceAccount({ namespace: ns })).items.map((s) => s.metadata?.name)).not.toContain('web-lb');
      expect(await lbPods('web')).toHaveLength(0);
    }, 60_000);
  });
});

describe('a restarted operator', () => {
  test('reconciles PLBs past the first page of its first list (CustomObjectsApi\'s raw metadata.continue)', async () => {
    await controller.stop();
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const [i, name] of names.entries()) await plbs.create(ns, name, { ...spec, vip: `192.0.2.${200 + i}` });
    // Pages of 2: main's list ended after the first page, and the three PLBs past it were never reconciled.
    controller = await startTestController(cp.kubeConfig, { log: createLogger(process.env['LOG_LEVEL'] ?? 'warn'), listPageSize: 2 });
    await eventually(async () => {
      const observed = await Promise.all(names.map(async (name) => {
        const p = await plbs.get(ns, name);
        return p.status?.observedGeneration === p.metadata?.generation && Boolean(p.status?.vip);
      }));
      expect(observed).toEqual(names.map(() => true));
    });
  });
});
