// Service type LoadBalancer against a real kube-apiserver (dual-stack Service ranges) and kube-controller-manager:
// a Service of class portablelb.io/plb gets an owned PLB per family and status.loadBalancer.ingress from a pool
// with ipMode Proxy; a pending one says why; deletion frees the address and removes the finalizer; a restart
// moves nothing; Services of another class are never touched.
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { CoreV1Api, type V1Service, type V1ServiceSpec } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { Controller } from '../../src/operator/controller.js';
import { ServiceController } from '../../src/operator/service/controller.js';
import { createLogger } from '../../src/runtime/log.js';
import { isNotFound } from '../../src/runtime/kube.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { plbClient } from './support/plb-api.js';
import { tenancyClient } from './support/tenancy-api.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let core: CoreV1Api;
let plbs: ReturnType<typeof plbClient>;
let admin: ReturnType<typeof tenancyClient>;
let running: { plb: Controller; svc: ServiceController } | undefined;
const cleanup: (() => Promise<unknown>)[] = [];
let subnet = 100;

async function startOperator(): Promise<void> {
  const log = createLogger(process.env['LOG_LEVEL'] ?? 'warn');
  const svc = new ServiceController({ kubeConfig: cp.kubeConfig, log, classless: false });
  const plb = new Controller({
    kubeConfig: cp.kubeConfig,
    log,
    settings: { agentImage: 'portable-lb:test', imagePullPolicy: 'Never', agentLogLevel: 'info' },
    onLeadership: (leading) => svc.setLeading(leading),
  });
  svc.start();
  plb.start();
  running = { plb, svc };
  await eventually(async () => expect(plb.ready && svc.ready).toBe(true));
}
async function stopOperator(): Promise<void> {
  await running?.plb.stop();
  await running?.svc.stop();
  running = undefined;
}

beforeAll(async () => {
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  core = cp.kubeConfig.makeApiClient(CoreV1Api);
  plbs = plbClient(cp.kubeConfig);
  admin = tenancyClient(cp.kubeConfig);
  await startOperator();
});
afterAll(async () => {
  await stopOperator();
  await cp?.stop();
});
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function pool(namespaces: string[], addresses: (base: string) => string[]): Promise<{ name: string; base: string }> {
  const n = ++subnet;
  const name = `svc-pool-${n}`;
  const base = `10.61.${n}`;
  await admin.createPool(name, { addresses: addresses(base), namespaces });
  cleanup.push(() => admin.deletePool(name));
  return { name, base };
}

const createService = (ns: string, name: string, spec: Partial<V1ServiceSpec> = {}, annotations: Record<string, string> = {}) =>
  core.createNamespacedService({
    namespace: ns,
    body: {
      metadata: { name, annotations },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: 'portablelb.io/plb',
        selector: { app: name },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        ...spec,
      },
    },
  });
const getService = (ns: string, name: string) => core.readNamespacedService({ namespace: ns, name });
const serviceCondition = (s: V1Service, type: string) => s.status?.conditions?.find((c) => c.type === type);
const settledService = (ns: string, name: string, check: (s: V1Service) => void) =>
  eventually(async () => {
    const s = await getService(ns, name);
    check(s);
    return s;
  });

describe('Service type LoadBalancer', () => {
  test('a Service of the class: an owned PLB, the finalizer, ingress from the pool with ipMode Proxy; deletion frees the address and removes the finalizer', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'svc');
    const { name: poolName, base } = await pool([ns], (b) => [`${b}.1-${b}.1`]);
    await createService(ns, 'web', { ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] });
    const svc = await settledService(ns, 'web', (s) => expect(s.status?.loadBalancer?.ingress).toEqual([{ ip: `${base}.1`, ipMode: 'Proxy' }]));
    expect(svc.metadata?.finalizers).toContain('service.kubernetes.io/load-balancer-cleanup');
    expect(serviceCondition(svc, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'True', reason: 'Allocated', message: `IPv4 ${base}.1 (pool ${poolName})` });
    const plb = await plbs.get(ns, 'web-ipv4');
    expect(plb.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Service', name: 'web', uid: svc.metadata?.uid, controller: true })]);
    expect(plb.spec).toMatchObject({
      ipFamily: 'IPv4',
      backends: { selector: { matchLabels: { app: 'web' } } },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }],
    });
    const shown = await cp.kubectl(['get', 'svc', '-n', ns, 'web', '-o', 'wide']);
    expect(shown.stdout).toContain(`${base}.1`);

    // A second Service waits for the pool's only address, and says so.
    await createService(ns, 'next');
    const next = await settledService(ns, 'next', (s) => expect(serviceCondition(s, 'portablelb.io/IPAllocated')?.reason).toBe('PoolExhausted'));
    expect(next.status?.loadBalancer?.ingress ?? []).toEqual([]);
    // The controller writes the condition first and the Event after it (service/reconcile.ts): wait for the Event.
    await eventually(async () => {
      const events = (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'next');
      expect(events.map((e) => [e.type, e.reason])).toContainEqual(['Warning', 'PoolExhausted']);
    });

    await core.deleteNamespacedService({ namespace: ns, name: 'web' });
    await eventually(async () => {
      await expect(getService(ns, 'web')).rejects.toMatchObject({ code: 404 });
      await expect(plbs.get(ns, 'web-ipv4')).rejects.toMatchObject({ code: 404 });
    }, 60_000);
    await settledService(ns, 'next', (s) => expect(s.status?.loadBalancer?.ingress).toEqual([{ ip: `${base}.1`, ipMode: 'Proxy' }]));
  });

  test('a Service of another class is left untouched', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'svc');
    await pool([ns], (b) => [`${b}.0/28`]);
    await createService(ns, 'theirs', { loadBalancerClass: 'example.com/other' });
    await createService(ns, 'classless', { loadBalancerClass: undefined });
    await createService(ns, 'ours');
    await settledService(ns, 'ours', (s) => expect(s.status?.loadBalancer?.ingress).toHaveLength(1));
    await running!.svc.whenIdle();
    for (const name of ['theirs', 'classless']) {
      const s = await getService(ns, name);
      expect(s.metadata?.finalizers ?? []).toEqual([]);
      expect(s.status?.loadBalancer ?? {}).toEqual({});
      expect(s.status?.conditions ?? []).toEqual([]);
      await expect(plbs.get(ns, `${name}-ipv4`)).rejects.toMatchObject({ code: 404 });
    }
  });

  test('pending Services say why: no pool, requested IP taken or not allowed; externalTrafficPolicy Local is refused', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'svc');
    const other = await createTestNamespace(cp.kubeConfig, 'other');
    const { base } = await pool([ns], (b) => [`${b}.0/28`]);
    const { base: foreign } = await pool([other], (b) => [`${b}.0/28`]);
    await createService(ns, 'first', {}, { 'portablelb.io/loadBalancerIPs': `${base}.5` });
    await settledService(ns, 'first', (s) => expect(s.status?.loadBalancer?.ingress).toEqual([{ ip: `${base}.5`, ipMode: 'Proxy' }]));
    await createService(ns, 'taken', {}, { 'portablelb.io/loadBalancerIPs': `${base}.5` });
    await createService(ns, 'foreign', { loadBalancerIP: `${foreign}.3` });
    await createService(ns, 'local', { externalTrafficPolicy: 'Local' });
    const cases: [string, string, RegExp][] = [
      ['taken', 'VIPConflict', new RegExp(`^IPv4: ${base.replaceAll('.', '\\.')}\\.5 is already held by PortableLoadBalancer first-ipv4 in this namespace`)],
      ['foreign', 'VIPNotAllowed', /is in no VIPPool that allows namespace/],
      ['local', 'ExternalTrafficPolicyLocal', /externalTrafficPolicy Local cannot be honoured/],
    ];
    for (const [name, reason, message] of cases) {
      const s = await settledService(ns, name, (x) => expect(serviceCondition(x, 'portablelb.io/IPAllocated')?.reason).toBe(reason));
      expect(serviceCondition(s, 'portablelb.io/IPAllocated')?.message).toMatch(message);
      expect(s.status?.loadBalancer?.ingress ?? []).toEqual([]);
    }
    // The deprecated field is honoured, and the message says it is deprecated.
    expect(serviceCondition(await getService(ns, 'foreign'), 'portablelb.io/IPAllocated')?.message).toContain('spec.loadBalancerIP is deprecated');
    const none = await createTestNamespace(cp.kubeConfig, 'nopool');
    await createService(none, 'lonely');
    const lonely = await settledService(none, 'lonely', (x) => expect(serviceCondition(x, 'portablelb.io/IPAllocated')?.reason).toBe('NoPool'));
    expect(serviceCondition(lonely, 'portablelb.io/Ready')?.status).toBe('False');
  });

  test('PreferDualStack on a dual-stack pool: one PLB per family, two ingress addresses in the Service\'s family order', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'svc');
    const n = ++subnet;
    await admin.createPool(`dual-${n}`, { addresses: [`10.61.${n}.0/30`, `fd00:61:${n}::/126`], namespaces: [ns] });
    cleanup.push(() => admin.deletePool(`dual-${n}`));
    await createService(ns, 'dual', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] });
    const s = await settledService(ns, 'dual', (x) => expect(x.status?.loadBalancer?.ingress).toHaveLength(2));
    expect(s.spec?.ipFamilies).toEqual(['IPv6', 'IPv4']);
    expect(s.status?.loadBalancer?.ingress).toEqual([{ ip: `fd00:61:${n}::1`, ipMode: 'Proxy' }, { ip: `10.61.${n}.1`, ipMode: 'Proxy' }]);
    expect((await plbs.get(ns, 'dual-ipv6')).spec).toMatchObject({ ipFamily: 'IPv6', dataPlane: 'nftables' });
  });

  test('an operator restart with assigned and pending Services moves no address', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'svc');
    const { base } = await pool([ns], (b) => [`${b}.1-${b}.2`]);
    for (const name of ['a', 'b']) {
      await createService(ns, name);
      await settledService(ns, name, (s) => expect(s.status?.loadBalancer?.ingress).toHaveLength(1));
    }
    const before = Object.fromEntries(await Promise.all(['a', 'b'].map(async (n) => [n, (await getService(ns, n)).status?.loadBalancer?.ingress?.[0]?.ip])));
    await stopOperator();
    await createService(ns, 'c');
    await startOperator();
    await settledService(ns, 'c', (s) => expect(serviceCondition(s, 'portablelb.io/IPAllocated')?.reason).toBe('PoolExhausted'));
    await running!.svc.whenIdle();
    await running!.plb.whenIdle();
    for (const n of ['a', 'b']) expect((await getService(ns, n)).status?.loadBalancer?.ingress?.[0]?.ip).toBe(before[n]);
    expect(new Set(Object.values(before))).toEqual(new Set([`${base}.1`, `${base}.2`]));
    const plbList = await Promise.all(['a', 'b', 'c'].map((n) => plbs.get(ns, `${n}-ipv4`).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)))));
    expect(plbList.map((p: PortableLoadBalancer | undefined) => p?.status?.vip)).toEqual([before['a'], before['b'], undefined]);
  });
});
