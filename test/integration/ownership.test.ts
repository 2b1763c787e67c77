// Who may use which VIP, against a real kube-apiserver and kube-controller-manager: the two-tenant collision of
// issue #16, requests outside what a pool allows, allocation and pool status, restarts that must not move an
// address, and LB pods placed by a PortableLoadBalancerClass in the admin's namespace (cleaned up by finalizer).
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { PortableLoadBalancer, PortableLoadBalancerSpec } from '../../src/api/generated.js';
import { Controller } from '../../src/operator/controller.js';
import { createLogger } from '../../src/runtime/log.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { condition, plbClient } from './support/plb-api.js';
import { tenancyClient } from './support/tenancy-api.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let plbs: ReturnType<typeof plbClient>;
let admin: ReturnType<typeof tenancyClient>;
const controllers: Controller[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
let subnet = 0;

const startController = async (): Promise<Controller> => {
  const c = new Controller({
    kubeConfig: cp.kubeConfig,
    log: createLogger(process.env['LOG_LEVEL'] ?? 'warn'),
    settings: { agentImage: 'portable-lb:test', imagePullPolicy: 'Never', agentLogLevel: 'info' },
  });
  controllers.push(c);
  c.start();
  await eventually(async () => expect(c.ready).toBe(true));
  return c;
};

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  plbs = plbClient(cp.kubeConfig);
  admin = tenancyClient(cp.kubeConfig);
  await startController();
});
afterAll(async () => {
  for (const c of controllers) await c.stop();
  await cp?.stop();
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

/** A pool of its own per test (pools left from another test would overlap it). */
async function pool(namespaces: string[], more: { size?: number; autoAssign?: boolean } = {}): Promise<{ name: string; base: string }> {
  const n = ++subnet;
  const name = `pool-${n}`;
  const base = `10.60.${n}`;
  await admin.createPool(name, { addresses: [`${base}.1-${base}.${more.size ?? 20}`], namespaces, ...(more.autoAssign === false ? { autoAssign: false } : {}) });
  cleanup.push(() => admin.deletePool(name));
  return { name, base };
}

const web = (more: Partial<PortableLoadBalancerSpec> = {}): PortableLoadBalancerSpec => ({
  ports: [{ port: 80 }],
  backends: { addresses: [{ ip: '10.0.5.7' }] },
  replicas: 1,
  ...more,
});

const settled = (ns: string, name: string, check: (p: PortableLoadBalancer) => void) =>
  eventually(async () => {
    const p = await plbs.get(ns, name);
    check(p);
    return p;
  });
const message = (p: PortableLoadBalancer, type: string) => p.status?.conditions?.find((c) => c.type === type)?.message ?? '';

describe('VIP ownership', () => {
  test('two tenants, one VIP: the first holder keeps it, the second is VIPConflict and told nothing about the first', async () => {
    const shop = await createTestNamespace(cp.kubeConfig, 'shop');
    const blog = await createTestNamespace(cp.kubeConfig, 'blog');
    const { base } = await pool([shop, blog]);
    const vip = `${base}.10`;
    await plbs.create(shop, 'web', web({ vip }));
    await settled(shop, 'web', (p) => expect(p.status?.vip).toBe(vip));
    // The second tenant: the same VIP, and a template that asks for the node-critical priority.
    await plbs.create(blog, 'web', web({ vip, template: { priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] } }));
    const second = await settled(blog, 'web', (p) => expect(condition(p, 'Ready')).toEqual(['False', 'VIPConflict']));
    expect(second.status?.vip).toBeUndefined();
    expect(condition(second, 'VIPAssigned')).toEqual(['False', 'VIPConflict']);
    expect(message(second, 'VIPAssigned')).toBe(`${vip} is already held by another load balancer; choose another address or leave spec.vip empty to be given one`);
    expect(JSON.stringify(second.status)).not.toContain(shop);
    // No class exists and the operator is multi-tenant: the node-critical priority and the catch-all toleration
    // are refused too (said in Accepted and in Ready's message), and no LB pod gets them.
    expect(condition(second, 'Accepted')).toEqual(['False', 'TemplateNotAllowed']);
    expect(message(second, 'Ready')).toContain('priorityClassName system-node-critical');
    const deployments = (await cp.kubeConfig.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: blog })).items;
    expect(deployments).toEqual([]);
    // The first is unaffected, also after the second one's passes.
    await controllers[0]!.whenIdle();
    const first = await plbs.get(shop, 'web');
    expect(first.status?.vip).toBe(vip);
    expect(condition(first, 'VIPAssigned')).toEqual(['True', 'Requested']);
    // Events tell the story on the second one.
    const events = (await cp.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: blog })).items;
    expect(events.map((e) => [e.type, e.reason])).toContainEqual(['Warning', 'VIPConflict']);
    // The first one goes: the second one gets the address.
    await plbs.delete(shop, 'web');
    await settled(blog, 'web', (p) => expect(p.status?.vip).toBe(vip));
  });

  test('a tenant asking for an address of a pool that does not allow its namespace is refused (VIPNotAllowed)', async () => {
    const bank = await createTestNamespace(cp.kubeConfig, 'bank');
    const shop = await createTestNamespace(cp.kubeConfig, 'shop');
    const { name, base } = await pool([bank]);
    await plbs.create(shop, 'by-vip', web({ vip: `${base}.5` }));
    await plbs.create(shop, 'by-pool', web({ pool: name }));
    await plbs.create(shop, 'outside', web({ vip: '198.51.100.5' }));
    for (const plb of ['by-vip', 'by-pool', 'outside']) {
      const p = await settled(shop, plb, (q) => expect(condition(q, 'Ready')).toEqual(['False', 'VIPNotAllowed']));
      expect(p.status?.vip).toBeUndefined();
    }
    expect(message(await plbs.get(shop, 'by-pool'), 'VIPAssigned')).toBe(`no VIPPool named ${name} allows namespace ${shop}`);
    expect(message(await plbs.get(shop, 'outside'), 'VIPAssigned')).toMatch(/^198\.51\.100\.5 is in no VIPPool that allows namespace/);
  });

  test('an empty spec.vip is allocated from an allowing pool; the pool counts it; exhaustion is said; a freed address goes to the waiting PLB', async () => {
    const shop = await createTestNamespace(cp.kubeConfig, 'shop');
    const { name, base } = await pool([shop], { size: 2 });
    await plbs.create(shop, 'a', web());
    await settled(shop, 'a', (p) => expect(p.status).toMatchObject({ vip: `${base}.1`, pool: name }));
    await plbs.create(shop, 'b', web());
    await settled(shop, 'b', (p) => expect(p.status?.vip).toBe(`${base}.2`));
    await plbs.create(shop, 'c', web());
    const c = await settled(shop, 'c', (p) => expect(condition(p, 'Ready')).toEqual(['False', 'PoolExhausted']));
    expect(message(c, 'VIPAssigned')).toBe(`every IPv4 address of pool(s) ${name} is in use; waiting for one to be released`);
    await eventually(async () => expect((await admin.getPool(name)).status?.ipv4).toEqual({ total: '2', used: 2, free: '0' }));
    await plbs.delete(shop, 'a');
    await settled(shop, 'c', (p) => expect(p.status?.vip).toBe(`${base}.1`));
    const status = (await admin.getPool(name)).status;
    expect(status?.conditions?.map((x) => [x.type, x.status, x.reason])).toEqual([['Ready', 'True', 'Allocating'], ['Conflict', 'False', 'NoOverlap']]);
  });

  test('a pool that overlaps an older one is flagged Conflict and allocates nothing; the older one goes on', async () => {
    const shop = await createTestNamespace(cp.kubeConfig, 'shop');
    const { name: older, base } = await pool([shop]);
    const younger = `pool-${++subnet}-overlap`;
    await admin.createPool(younger, { addresses: [`${base}.15-${base}.30`], namespaces: [shop] });
    cleanup.push(() => admin.deletePool(younger));
    const flagged = await eventually(async () => {
      const p = await admin.getPool(younger);
      expect(p.status?.conditions?.find((x) => x.type === 'Conflict')?.status).toBe('True');
      return p;
    });
    expect(flagged.status?.conditions?.find((x) => x.type === 'Conflict')?.message).toContain(`overlaps older pool(s): ${older} (${base}.15-${base}.30 overlaps ${base}.1-${base}.20 (${base}.15-${base}.20))`);
    expect(flagged.status?.ipv4?.free).toBe('0');
    await plbs.create(shop, 'from-young', web({ pool: younger }));
    await settled(shop, 'from-young', (p) => expect(condition(p, 'VIPAssigned')).toEqual(['False', 'NoPool']));
    await plbs.create(shop, 'from-old', web({ pool: older }));
    await settled(shop, 'from-old', (p) => expect(p.status?.vip).toBe(`${base}.1`));
  });

  test('an operator restart with assigned and pending PLBs moves no address, and serves the waiting oldest first', async () => {
    const shop = await createTestNamespace(cp.kubeConfig, 'shop');
    const { base } = await pool([shop], { size: 3 });
    for (const name of ['a', 'b', 'c']) {
      await plbs.create(shop, name, web());
      await settled(shop, name, (p) => expect(p.status?.vip).toBeDefined());
    }
    const before = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (n) => [n, (await plbs.get(shop, n)).status?.vip])));
    await controllers.shift()!.stop();
    // While no operator runs: b goes (its address is free now), two more arrive.
    await plbs.delete(shop, 'b');
    await plbs.create(shop, 'd', web());
    await new Promise((r) => setTimeout(r, 1100)); // a later creationTimestamp (one-second resolution)
    await plbs.create(shop, 'e', web());
    await startController();
    await settled(shop, 'd', (p) => expect(p.status?.vip).toBe(before['b']));
    const e = await settled(shop, 'e', (p) => expect(condition(p, 'VIPAssigned')).toEqual(['False', 'PoolExhausted']));
    expect(e.status?.vip).toBeUndefined();
    await controllers[0]!.whenIdle();
    for (const n of ['a', 'c']) expect((await plbs.get(shop, n)).status?.vip).toBe(before[n]);
    expect(new Set(Object.values(before))).toEqual(new Set([`${base}.1`, `${base}.2`, `${base}.3`]));
  });
});

describe('PortableLoadBalancerClass', () => {
  test('the hostile template of issue #16 is refused; an allowed one runs LB pods in the admin\'s namespace, removed with the PLB', async () => {
    const lbSystem = await createTestNamespace(cp.kubeConfig, 'lb-system');
    const tenant = await createTestNamespace(cp.kubeConfig, 'tenant');
    const { base } = await pool([tenant]);
    const className = `locked-${subnet}`;
    await admin.createClass(className, {
      podNamespace: lbSystem,
      nodeSelector: { 'node-role.kubernetes.io/lb': '' },
      allowedTolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
      priorityClassName: 'system-cluster-critical',
    });
    cleanup.push(() => admin.deleteClass(className));
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);

    await plbs.create(tenant, 'hostile', web({ className, vip: `${base}.3`, template: { priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] } }));
    const hostile = await settled(tenant, 'hostile', (p) => expect(condition(p, 'Ready')).toEqual(['False', 'TemplateNotAllowed']));
    expect(message(hostile, 'Accepted')).toContain('toleration "* Exists *"');
    expect(message(hostile, 'Accepted')).toContain('priorityClassName system-node-critical');
    expect((await apps.listNamespacedDeployment({ namespace: tenant })).items).toEqual([]);
    expect((await apps.listNamespacedDeployment({ namespace: lbSystem })).items).toEqual([]);

    await plbs.create(tenant, 'web', web({ className, vip: `${base}.4`, template: { tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }] } }));
    const placed = await eventually(async () => {
      const list = (await apps.listNamespacedDeployment({ namespace: lbSystem })).items;
      expect(list).toHaveLength(1);
      return list[0]!;
    });
    const pod = placed.spec!.template.spec!;
    expect(pod.priorityClassName).toBe('system-cluster-critical');
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/lb': '' });
    expect(pod.tolerations).toEqual([{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.containers[0]!.securityContext).toMatchObject({ capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'BPF', 'PERFMON'] }, readOnlyRootFilesystem: true });
    expect(pod.containers[0]!.securityContext?.privileged).toBeUndefined();
    expect(placed.metadata?.ownerReferences).toBeUndefined();
    expect((await apps.listNamespacedDeployment({ namespace: tenant })).items).toEqual([]);
    const plb = await settled(tenant, 'web', (p) => expect(p.status?.podNamespace).toBe(lbSystem));
    expect(plb.metadata?.finalizers).toEqual(['portablelb.io/cleanup']);
    expect(plb.status?.className).toBe(className);

    await plbs.delete(tenant, 'web');
    await eventually(async () => {
      expect((await apps.listNamespacedDeployment({ namespace: lbSystem })).items).toEqual([]);
      await expect(plbs.get(tenant, 'web')).rejects.toMatchObject({ code: 404 });
    }, 60_000);
    const sas = (await cp.kubeConfig.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace: lbSystem })).items;
    expect(sas.map((s) => s.metadata?.name)).toEqual(['default']);
  });
});
