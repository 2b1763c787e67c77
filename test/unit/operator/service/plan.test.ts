// A Service -> the PLBs that serve it, or the reason it cannot be served. Tables of Services.
import { describe, expect, it } from '@jest/globals';
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import { LB_CLEANUP_FINALIZER, planService, plbName, SERVICE_LB_CLASS, type ServicePlan } from '../../../../src/operator/service/plan.js';

const svc = (spec: Partial<V1ServiceSpec> = {}, meta: Partial<V1Service['metadata']> = {}): V1Service => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'svc-uid', ...meta },
  spec: {
    type: 'LoadBalancer',
    loadBalancerClass: SERVICE_LB_CLASS,
    selector: { app: 'web' },
    ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    ...spec,
  },
});
const plan = (s: V1Service, classless = false) => planService(s, { classless });
const served = (p: ServicePlan) => (p.kind === 'serve' ? p : undefined)!;

describe('planService', () => {
  it('one PLB per family, owned later by the Service: selector, ports and named targetPorts carried over', () => {
    const p = served(plan(svc({ ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }] })));
    expect(p.plbs).toEqual([{
      name: 'web-ipv4',
      family: 'IPv4',
      spec: {
        ipFamily: 'IPv4',
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' }],
        backends: { selector: { matchLabels: { app: 'web' } } },
        dataPlane: 'xdp',
      },
    }]);
  });

  it.each<[string, V1Service, boolean, ServicePlan['kind']]>([
    ['another class: untouched', svc({ loadBalancerClass: 'example.com/other' }), false, 'ignore'],
    ['no class: untouched by default', svc({ loadBalancerClass: undefined }), false, 'ignore'],
    ['no class: served when class-less Services are enabled', svc({ loadBalancerClass: undefined }), true, 'serve'],
    ['another class is untouched even when class-less Services are enabled', svc({ loadBalancerClass: 'example.com/other' }), true, 'ignore'],
    ['not a LoadBalancer: untouched', svc({ type: 'ClusterIP', loadBalancerClass: undefined }), true, 'ignore'],
    ['no longer a LoadBalancer but our finalizer is on it: cleaned up', svc({ type: 'ClusterIP', loadBalancerClass: undefined }, { finalizers: [LB_CLEANUP_FINALIZER] }), false, 'cleanup'],
    ['being deleted with our finalizer: cleaned up', svc({}, { finalizers: [LB_CLEANUP_FINALIZER], deletionTimestamp: new Date() }), false, 'cleanup'],
    ['allocateLoadBalancerNodePorts false: served (the LB pods go to pod IPs, never node ports)', svc({ allocateLoadBalancerNodePorts: false }), false, 'serve'],
  ])('%s', (_, s, classless, kind) => {
    expect(plan(s, classless).kind).toBe(kind);
  });

  it.each<[string, Partial<V1ServiceSpec>, Record<string, string>, string, RegExp]>([
    ['externalTrafficPolicy Local', { externalTrafficPolicy: 'Local' }, {}, 'ExternalTrafficPolicyLocal', /client source addresses are not kept/],
    ['sessionAffinity ClientIP', { sessionAffinity: 'ClientIP' }, {}, 'SessionAffinityUnsupported', /set it to None/],
    ['loadBalancerSourceRanges', { loadBalancerSourceRanges: ['10.0.0.0/8'] }, {}, 'SourceRangesUnsupported', /would be ignored/],
    ['no selector', { selector: undefined }, {}, 'NoSelector', /no pods to balance to/],
    ['an SCTP port', { ports: [{ port: 80, protocol: 'SCTP' }] }, {}, 'UnsupportedProtocol', /port 80\/SCTP/],
    ['RequireDualStack on a single family', { ipFamilyPolicy: 'RequireDualStack' }, {}, 'DualStackUnsatisfiable', /only IPv4/],
    ['the annotation and spec.loadBalancerIP both', { loadBalancerIP: '192.0.2.5' }, { 'portablelb.io/loadBalancerIPs': '192.0.2.5' }, 'InvalidRequest', /not both/],
    ['a requested address that is not one', {}, { 'portablelb.io/loadBalancerIPs': '192.0.2.300' }, 'InvalidRequest', /is not an IP address/],
    ['two addresses of one family', {}, { 'portablelb.io/loadBalancerIPs': '192.0.2.5,192.0.2.6' }, 'InvalidRequest', /one per family/],
    ['an IPv6 address for an IPv4-only Service', {}, { 'portablelb.io/loadBalancerIPs': '2001:db8::5' }, 'InvalidRequest', /served as IPv4/],
    ['an unknown data plane', {}, { 'portablelb.io/dataPlane': 'dpdk' }, 'InvalidRequest', /not xdp, ipvs or nftables/],
  ])('refuses %s, saying why', (_, spec, annotations, reason, message) => {
    const p = plan(svc(spec, { annotations }));
    expect(p).toMatchObject({ kind: 'refuse', reason });
    expect((p as { message: string }).message).toMatch(message);
  });

  it('requested addresses by annotation, one per family, and the pool', () => {
    const p = served(plan(svc({ ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }, {
      annotations: { 'portablelb.io/loadBalancerIPs': '192.0.2.5, 2001:DB8::5', 'portablelb.io/pool': 'public' },
    })));
    expect(p.families).toEqual(['IPv6', 'IPv4']);
    expect(p.plbs.map((x) => [x.name, x.spec.vip, x.spec.pool, x.spec.dataPlane])).toEqual([
      ['web-ipv6', '2001:db8::5', 'public', 'nftables'],
      ['web-ipv4', '192.0.2.5', 'public', 'xdp'],
    ]);
    expect(p.requireAll).toBe(false);
  });

  it('honours the deprecated spec.loadBalancerIP, and says it is deprecated', () => {
    const p = served(plan(svc({ loadBalancerIP: '192.0.2.7' })));
    expect(p.plbs[0]!.spec.vip).toBe('192.0.2.7');
    expect(p.notes).toEqual(['spec.loadBalancerIP is deprecated: use the annotation portablelb.io/loadBalancerIPs']);
  });

  it.each([
    ['SingleStack serves the primary family only', 'SingleStack', ['IPv4', 'IPv6'], ['IPv4'], false],
    ['PreferDualStack serves both', 'PreferDualStack', ['IPv4', 'IPv6'], ['IPv4', 'IPv6'], false],
    ['RequireDualStack needs both', 'RequireDualStack', ['IPv6', 'IPv4'], ['IPv6', 'IPv4'], true],
  ] as const)('%s', (_, policy, families, want, requireAll) => {
    const p = served(plan(svc({ ipFamilyPolicy: policy, ipFamilies: [...families] })));
    expect(p.plbs.map((x) => x.family)).toEqual(want);
    expect(p.requireAll).toBe(requireAll);
  });

  it('an IPv6 family on xdp is served by an xdp PLB (the default for IPv6 stays nftables)', () => {
    const p = served(plan(svc({ ipFamilies: ['IPv6'] }, { annotations: { 'portablelb.io/dataPlane': 'xdp' } })));
    expect(p.plbs.map((x) => [x.family, x.spec.dataPlane])).toEqual([['IPv6', 'xdp']]);
    expect(served(plan(svc({ ipFamilies: ['IPv6'] }))).plbs.map((x) => x.spec.dataPlane)).toEqual(['nftables']);
  });

  it('an IPv6 family on ipvs is served by an ipvs PLB', () => {
    const p = served(plan(svc({ ipFamilies: ['IPv6'] }, { annotations: { 'portablelb.io/dataPlane': 'ipvs' } })));
    expect(p.plbs.map((x) => [x.family, x.spec.dataPlane])).toEqual([['IPv6', 'ipvs']]);
  });

  it('port names longer than a PLB allows become p<index>; a default targetPort is the port', () => {
    const p = served(plan(svc({ ports: [{ name: 'a-very-long-port-name', port: 80 }, { name: 'ok', port: 81 }] })));
    expect(p.plbs[0]!.spec.ports).toEqual([{ name: 'p0', port: 80, targetPort: 80, protocol: 'TCP' }, { name: 'ok', port: 81, targetPort: 81, protocol: 'TCP' }]);
  });

  it('PLB names fit 47 characters and stay distinct', () => {
    const long = 'x'.repeat(63);
    expect(plbName(long, 'IPv4')).toHaveLength(47);
    expect(plbName(long, 'IPv4')).not.toBe(plbName(`${'x'.repeat(62)}y`, 'IPv4'));
    expect(plbName('web', 'IPv6')).toBe('web-ipv6');
  });
});
