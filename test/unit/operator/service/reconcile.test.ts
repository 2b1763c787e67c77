// reconcileService against a recording fake: finalizer first, owned PLBs, ingress with ipMode Proxy, conditions
// and Events that say why a Service is pending, cleanup before the finalizer goes, and other classes untouched.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject, V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../../../src/api/generated.js';
import type { JsonPatchOp } from '../../../../src/runtime/json-patch.js';
import { LB_CLEANUP_FINALIZER, SERVICE_LB_CLASS } from '../../../../src/operator/service/plan.js';
import { reconcileService, type ServiceEvent, type ServicePorts } from '../../../../src/operator/service/reconcile.js';
import type { ServiceLbStatus } from '../../../../src/operator/service/status.js';

const now = new Date('2026-12-02T12:00:00Z');

class Fake implements ServicePorts {
  plbs = new Map<string, PortableLoadBalancer>();
  foreign = new Map<string, PortableLoadBalancer>();
  log: string[] = [];
  events: ServiceEvent[] = [];
  constructor(public svc: V1Service | undefined) {}
  getService = () => this.svc;
  ownedPlbs = () => [...this.plbs.values()];
  readPlb = async (_ns: string, name: string) => this.plbs.get(name) ?? this.foreign.get(name);
  applyPlb = async (o: KubernetesObject) => {
    this.log.push(`apply ${o.metadata?.name}`);
    const prev = this.plbs.get(o.metadata!.name!);
    this.plbs.set(o.metadata!.name!, { ...(o as PortableLoadBalancer), ...(prev?.status ? { status: prev.status } : {}) });
  };
  deletePlb = async (_ns: string, name: string) => {
    this.log.push(`delete ${name}`);
    const p = this.plbs.get(name)!;
    this.plbs.set(name, { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date() } });
  };
  patchService = async (_ns: string, _name: string, ops: JsonPatchOp[]) => {
    const f = ops.find((o) => o.op !== 'test') as { value: string[] };
    this.log.push(`finalizers ${JSON.stringify(f.value)}`);
    this.svc = { ...this.svc!, metadata: { ...this.svc!.metadata, finalizers: f.value } };
  };
  applyStatus = async (_ns: string, _name: string, s: ServiceLbStatus | null) => {
    this.log.push(s ? `status ${s.ingress.map((i) => `${i.ip}/${i.ipMode}`).join(',') || '-'}` : 'status cleared');
    this.svc = { ...this.svc!, status: s ? { loadBalancer: { ingress: s.ingress }, conditions: s.conditions as never } : {} };
  };
  recordEvent = async (_s: V1Service, e: ServiceEvent) => void this.events.push(e);
  now = () => now;
  /** The PLB controller's side: the allocator's answer in a PLB's status. */
  grant(name: string, vip?: string, refusal?: { reason: string; message: string }, ready = false) {
    const p = this.plbs.get(name)!;
    const assigned = vip
      ? { type: 'VIPAssigned', status: 'True', reason: 'Allocated', message: `allocated ${vip}`, lastTransitionTime: '' }
      : { type: 'VIPAssigned', status: 'False', ...refusal!, lastTransitionTime: '' };
    const r = { type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'AllReplicasProgrammed' : 'WaitingForReplicas', message: ready ? '2 of 2 LB pod(s) hold generation 1' : 'waiting', lastTransitionTime: '' };
    this.plbs.set(name, { ...p, status: { ...(vip ? { vip, pool: 'main' } : {}), conditions: [r, assigned] as never } });
  }
}

const service = (spec: Partial<V1ServiceSpec> = {}, annotations: Record<string, string> = {}): V1Service => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', generation: 1, annotations },
  spec: { type: 'LoadBalancer', loadBalancerClass: SERVICE_LB_CLASS, selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }], ipFamilies: ['IPv4'], ...spec },
});
const run = (f: Fake) => reconcileService('shop', 'web', f, { classless: false });
const cond = (f: Fake, type: string) => (f.svc!.status?.conditions ?? []).find((c) => c.type === type);

describe('reconcileService', () => {
  it('adds the finalizer first, then the PLB owned by the Service; ingress once the PLB holds an address', async () => {
    const f = new Fake(service());
    await run(f);
    expect(f.log).toEqual(['finalizers ["service.kubernetes.io/load-balancer-cleanup"]', 'apply web-ipv4', 'status -']);
    const plb = f.plbs.get('web-ipv4')!;
    expect(plb.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
    expect(plb.metadata?.labels).toMatchObject({ 'portablelb.io/service': 'web' });
    expect(cond(f, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'False', reason: 'Pending' });
    f.grant('web-ipv4', '192.0.2.1');
    f.log = [];
    await run(f);
    expect(f.log).toEqual(['status 192.0.2.1/Proxy']);
    expect(cond(f, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'True', reason: 'Allocated', message: 'IPv4 192.0.2.1 (pool main)' });
    expect(f.events.map((e) => [e.type, e.reason])).toContainEqual(['Normal', 'IPAllocated']);
    // Steady: nothing more to write.
    f.log = [];
    await run(f);
    expect(f.log).toEqual([]);
  });

  it.each([
    ['NoPool', 'no VIPPool with IPv4 addresses and autoAssign allows namespace shop: ask the cluster admin for one'],
    ['PoolExhausted', 'every IPv4 address of pool(s) main is in use; waiting for one to be released'],
    ['VIPConflict', '192.0.2.9 is already held by another load balancer; choose another address or leave spec.vip empty to be given one'],
    ['VIPNotAllowed', '192.0.2.9 is in no VIPPool that allows namespace shop'],
  ])('a pending Service says why (%s) in its condition and a Warning Event', async (reason, message) => {
    const f = new Fake(service());
    await run(f);
    f.grant('web-ipv4', undefined, { reason, message });
    await run(f);
    expect(cond(f, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'False', reason, message: `IPv4: ${message}` });
    expect(f.svc!.status?.loadBalancer?.ingress).toEqual([]);
    expect(f.events).toContainEqual({ type: 'Warning', reason, message: `IPv4: ${message}` });
  });

  it('dual-stack: PreferDualStack publishes the family it has and says what the other waits for; RequireDualStack publishes neither', async () => {
    const prefer = new Fake(service({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }));
    await run(prefer);
    prefer.grant('web-ipv4', '192.0.2.1');
    prefer.grant('web-ipv6', undefined, { reason: 'NoPool', message: 'no VIPPool with IPv6 addresses' });
    await run(prefer);
    expect(prefer.svc!.status?.loadBalancer?.ingress).toEqual([{ ip: '192.0.2.1', ipMode: 'Proxy' }]);
    expect(cond(prefer, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'True', reason: 'PartiallyAllocated', message: 'IPv4 192.0.2.1 (pool main); not IPv6: no VIPPool with IPv6 addresses' });

    const require = new Fake(service({ ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }));
    await run(require);
    require.grant('web-ipv4', '192.0.2.1');
    require.grant('web-ipv6', undefined, { reason: 'NoPool', message: 'no VIPPool with IPv6 addresses' });
    await run(require);
    expect(require.svc!.status?.loadBalancer?.ingress).toEqual([]);
    expect(cond(require, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'False', reason: 'DualStackUnsatisfiable' });
    require.grant('web-ipv6', '2001:db8::1', undefined, true);
    require.grant('web-ipv4', '192.0.2.1', undefined, true);
    await run(require);
    expect(require.svc!.status?.loadBalancer?.ingress).toEqual([{ ip: '192.0.2.1', ipMode: 'Proxy' }, { ip: '2001:db8::1', ipMode: 'Proxy' }]);
    expect(cond(require, 'portablelb.io/Ready')).toMatchObject({ status: 'True', reason: 'Serving' });
  });

  it('deleted: its PLBs go first; status and finalizer only once they are gone', async () => {
    const f = new Fake(service());
    await run(f);
    f.grant('web-ipv4', '192.0.2.1');
    await run(f);
    f.svc = { ...f.svc!, metadata: { ...f.svc!.metadata, deletionTimestamp: new Date() } };
    f.log = [];
    await run(f);
    expect(f.log).toEqual(['delete web-ipv4']);
    expect(f.svc!.metadata?.finalizers).toEqual([LB_CLEANUP_FINALIZER]);
    f.plbs.clear(); // the PLB controller released the address and the PLB is gone
    await run(f);
    expect(f.log).toEqual(['delete web-ipv4', 'finalizers []']);
  });

  it('changed to ClusterIP: PLBs deleted, our status cleared, finalizer removed', async () => {
    const f = new Fake(service());
    await run(f);
    f.grant('web-ipv4', '192.0.2.1');
    await run(f);
    f.svc = { ...f.svc!, spec: { ...f.svc!.spec, type: 'ClusterIP', loadBalancerClass: undefined } };
    await run(f);
    f.plbs.clear();
    f.log = [];
    await run(f);
    expect(f.log).toEqual(['status cleared', 'finalizers []']);
  });

  it('a refused Service (externalTrafficPolicy Local) serves nothing: no PLB, the reason in both conditions', async () => {
    const f = new Fake(service({ externalTrafficPolicy: 'Local' }));
    await run(f);
    expect(f.plbs.size).toBe(0);
    expect(cond(f, 'portablelb.io/IPAllocated')).toMatchObject({ status: 'False', reason: 'ExternalTrafficPolicyLocal' });
    expect(f.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ExternalTrafficPolicyLocal' })]);
  });

  it('never takes over a PLB of the same name that someone else made', async () => {
    const f = new Fake(service());
    f.foreign.set('web-ipv4', { apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', metadata: { name: 'web-ipv4', uid: 'user' }, spec: { ports: [{ port: 1 }], backends: { addresses: [{ ip: '10.0.0.1' }] } } });
    await run(f);
    expect(f.log.filter((l) => l.startsWith('apply'))).toEqual([]);
    expect(cond(f, 'portablelb.io/IPAllocated')).toMatchObject({ reason: 'NameConflict' });
  });

  it('a Service of another class is never touched: no finalizer, no PLB, no status', async () => {
    const f = new Fake(service({ loadBalancerClass: 'example.com/other' }));
    expect(await run(f)).toEqual({ writes: 0 });
    expect(f.log).toEqual([]);
  });
});
