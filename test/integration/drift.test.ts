// Drift in the children's owned fields, against a real kube-apiserver + controller-manager, made with kubectl as a
// user would: scale, set image, an added volume, an edited Role rule. Each is reverted (added fields removed),
// and afterwards a steady PLB still costs no write, with every kind of child and the controller-manager's own
// bookkeeping in place.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { AppsV1Api, RbacAuthorizationV1Api, type V1Deployment } from '@kubernetes/client-node';
import type { Controller } from '../../src/operator/controller.js';
import { createLogger } from '../../src/runtime/log.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { startTestController } from './support/controller.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let controller: Controller;
let ns: string;
let apps: AppsV1Api;
let rbac: RbacAuthorizationV1Api;
const repairs: string[] = [];

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const log = createLogger('info', {}, (line) => {
    if (line.includes('drift repaired')) repairs.push(line);
  });
  controller = await startTestController(cp.kubeConfig, { log });
  ns = await createTestNamespace(cp.kubeConfig, 'drift');
  await plbClient(cp.kubeConfig).create(ns, 'web', { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  await eventually(async () => expect((await deployment()).status?.replicas).toBe(2), 60_000);
  await settled();
});
afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const deployment = (): Promise<V1Deployment> => apps.readNamespacedDeployment({ namespace: ns, name: 'web-lb' });
async function kubectl(...args: string[]): Promise<void> {
  const r = await cp.kubectl(['-n', ns, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
}
/** The operator has nothing left to do (events of its own writes included). */
async function settled(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  await controller.whenIdle();
}
async function reverted<T>(what: string, change: () => Promise<void>, check: () => Promise<T>): Promise<number> {
  const before = controller.writes;
  const started = Date.now();
  await change();
  await eventually(check, 30_000, 100);
  const ms = Date.now() - started;
  await settled();
  console.log(`drift: ${what} reverted ${ms} ms after the change, with ${controller.writes - before} write(s)`);
  return controller.writes - before;
}

test('kubectl scale of the LB Deployment is reverted', async () => {
  await reverted('kubectl scale --replicas=5', () => kubectl('scale', 'deployment/web-lb', '--replicas=5'), async () => {
    const d = await deployment();
    expect(d.spec?.replicas).toBe(2);
    expect(d.metadata?.managedFields?.filter((f) => f.subresource === 'scale').flatMap((f) => Object.keys(f.fieldsV1 ?? {}))).toEqual([]);
  });
});

test('an edited image is reverted', async () => {
  await reverted('kubectl set image', () => kubectl('set', 'image', 'deployment/web-lb', 'agent=evil:1'), async () => {
    expect((await deployment()).spec?.template.spec?.containers[0]?.image).toBe('portable-lb:test');
  });
});

test('an extra volume (and its mount) another manager added is removed', async () => {
  const patch = JSON.stringify([
    { op: 'add', path: '/spec/template/spec/volumes/-', value: { name: 'extra', hostPath: { path: '/etc' } } },
    { op: 'add', path: '/spec/template/spec/containers/0/volumeMounts/-', value: { name: 'extra', mountPath: '/host-etc' } },
  ]);
  await reverted('an added hostPath volume', () => kubectl('patch', 'deployment/web-lb', '--type=json', `-p=${patch}`), async () => {
    const spec = (await deployment()).spec?.template.spec;
    expect(spec?.volumes?.map((v) => v.name)).not.toContain('extra');
    expect(spec?.containers[0]?.volumeMounts?.map((m) => m.name)).not.toContain('extra');
  });
});

test('an edited Role is reverted', async () => {
  const rules = (await rbac.readNamespacedRole({ namespace: ns, name: 'web-lb' })).rules;
  const patch = JSON.stringify([{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] } }]);
  await reverted('a Role rule granting secrets', () => kubectl('patch', 'role/web-lb', '--type=json', `-p=${patch}`), async () => {
    expect((await rbac.readNamespacedRole({ namespace: ns, name: 'web-lb' })).rules).toEqual(rules);
  });
});

test('after all that, a steady PLB still costs no write, and each repair was logged', async () => {
  await settled();
  const before = controller.writes;
  controller.enqueue(`${ns}/web`);
  await settled();
  expect(controller.writes - before).toBe(0);
  expect(repairs.length).toBeGreaterThanOrEqual(4);
});
