// The admin's CRDs against a real kube-apiserver: VIPPool and PortableLoadBalancerClass install, kubectl explains
// them, the API server rejects bad pools (CEL) with messages that say what to change, and defaults the rest.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { PortableLoadBalancerClassGVK as CLASS, VIPPoolGVK as POOL } from '../../src/api/generated.js';
import { apiStatus, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let objects: CustomObjectsApi;
let seq = 0;

beforeAll(async () => {
  cp = await startControlPlane();
  objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp.kubeConfig);
});
afterAll(async () => {
  await cp?.stop();
});

const createPool = (spec: unknown) =>
  objects.createClusterCustomObject({
    group: POOL.group, version: POOL.version, plural: POOL.plural,
    body: { apiVersion: POOL.apiVersion, kind: POOL.kind, metadata: { name: `pool-${++seq}` }, spec },
  }) as Promise<{ spec: unknown }>;
const createClass = (spec: unknown) =>
  objects.createClusterCustomObject({
    group: CLASS.group, version: CLASS.version, plural: CLASS.plural,
    body: { apiVersion: CLASS.apiVersion, kind: CLASS.kind, metadata: { name: `class-${++seq}` }, spec },
  }) as Promise<{ spec: unknown }>;
const rejection = (p: Promise<unknown>) =>
  p.then(
    (ok) => {
      throw new Error(`accepted: ${JSON.stringify(ok)}`);
    },
    (err: unknown) => apiStatus(err),
  );

const everyone = { namespaceSelector: {} };

describe('VIPPool', () => {
  test('kubectl explain describes it from the schema', async () => {
    const out = await eventually(async () => {
      const r = await cp.kubectl(['explain', 'vippool.spec']);
      expect(r.code).toBe(0);
      return r.stdout;
    });
    // kubectl wraps descriptions: compare them with the line breaks folded.
    const text = out.replace(/\s+/g, ' ');
    expect(out).toContain('KIND:       VIPPool');
    expect(out).toMatch(/addresses\s+<\[\]string> -required-/);
    expect(text).toContain('an inclusive first-last range of one family');
    expect(text).toContain('A literal list');
    expect(out).toMatch(/autoAssign\s+<boolean>/);
    expect(out).toMatch(/disabled\s+<boolean>/);
  });

  test('a pool of CIDRs and ranges of both families is accepted and defaulted', async () => {
    const created = await createPool({ addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20', '2001:db8::/120', '2001:db8:1::10-2001:db8:1::ff'], namespaces: ['shop'] });
    expect(created.spec).toEqual({
      addresses: ['192.0.2.0/24', '198.51.100.10-198.51.100.20', '2001:db8::/120', '2001:db8:1::10-2001:db8:1::ff'],
      namespaces: ['shop'], autoAssign: true, disabled: false,
    });
  });

  test.each<[string, unknown, string]>([
    ['no addresses', { namespaces: ['shop'] }, 'spec.addresses: Required value'],
    ['nobody allowed', { addresses: ['192.0.2.0/24'] }, 'a pool must say who may use it'],
    ['neither a CIDR nor a range', { addresses: ['192.0.2.7'], ...everyone }, 'each address must be a CIDR (192.0.2.0/24, 2001:db8::/120) or a first-last range'],
    ['host bits set', { addresses: ['192.0.2.5/24'], ...everyone }, 'a CIDR must have no host bits set'],
    ['IPv6 host bits set', { addresses: ['2001:db8::1/64'], ...everyone }, 'a CIDR must have no host bits set'],
    ['a multicast CIDR', { addresses: ['224.0.0.0/24'], ...everyone }, 'a CIDR must be of routable unicast addresses'],
    ['a range over two families', { addresses: ['192.0.2.1-2001:db8::1'], ...everyone }, 'both ends of a range must be of the same IP family'],
    ['a link-local range', { addresses: ['169.254.0.1-169.254.0.9'], ...everyone }, 'a range must be of routable unicast addresses'],
    ['a non-canonical range', { addresses: ['2001:DB8::1-2001:db8::9'], ...everyone }, 'the ends of a range must be written in canonical form'],
    ['a namespace that is not a name', { addresses: ['192.0.2.0/24'], namespaces: ['Shop'] }, 'spec.namespaces[0]: Invalid value'],
    ['one namespace twice', { addresses: ['192.0.2.0/24'], namespaces: ['shop', 'shop'] }, 'Duplicate value'],
  ])('is rejected with %s', async (_, spec, message) => {
    const status = await rejection(createPool(spec));
    expect(status.code).toBe(422);
    expect(status.message).toContain(message);
  });
});

describe('PortableLoadBalancerClass', () => {
  test('kubectl explain describes it from the schema', async () => {
    const out = await eventually(async () => {
      const r = await cp.kubectl(['explain', 'plbclass', '--recursive=false']);
      expect(r.code).toBe(0);
      return r.stdout;
    });
    expect(out).toContain('KIND:       PortableLoadBalancerClass');
    expect(out.replace(/\s+/g, ' ')).toContain('so that tenants never reach the LB pods');
    const spec = await cp.kubectl(['explain', 'plbclass.spec']);
    expect(spec.stdout).toMatch(/allowedTolerations\s+<\[\]Object>/);
    expect(spec.stdout).toMatch(/podNamespace\s+<string>/);
  });

  test('a class is accepted and defaulted', async () => {
    const created = await createClass({ podNamespace: 'portable-lb-system', allowedDataPlanes: ['xdp', 'nftables'], nodeSelector: { 'node-role/lb': '' } });
    expect(created.spec).toEqual({ podNamespace: 'portable-lb-system', allowedDataPlanes: ['xdp', 'nftables'], nodeSelector: { 'node-role/lb': '' }, podSysctls: false });
  });

  test.each<[string, unknown, string]>([
    ['an unknown data plane', { allowedDataPlanes: ['dpdk'] }, 'Unsupported value: "dpdk"'],
    ['no data plane at all', { allowedDataPlanes: [] }, 'spec.allowedDataPlanes: Invalid value'],
    ['a namespace that is not a name', { podNamespace: 'LB_Pods' }, 'spec.podNamespace: Invalid value'],
  ])('is rejected with %s', async (_, spec, message) => {
    const status = await rejection(createClass(spec));
    expect(status.code).toBe(422);
    expect(status.message).toContain(message);
  });
});
