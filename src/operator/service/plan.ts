// A Service of type LoadBalancer -> the PortableLoadBalancers that serve it: one per IP family, owned by the
// Service. Pure. Every Service field a load balancer must honour is honoured or refused with a reason, never
// ignored (KEP-1959 conventions; notes/service-loadbalancer.md).
import { createHash } from 'node:crypto';
import type { V1Service } from '@kubernetes/client-node';
import type { PortableLoadBalancerSpec } from '../../api/generated.js';
import { parseIp, formatIp } from '../allocator/addresses.js';

/** The Service class this operator implements (prefixed: unprefixed class names are reserved for end users). */
export const SERVICE_LB_CLASS = 'portablelb.io/plb';
export const LB_CLEANUP_FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
export const ANNOTATION_IPS = 'portablelb.io/loadBalancerIPs';
export const ANNOTATION_POOL = 'portablelb.io/pool';
export const ANNOTATION_DATA_PLANE = 'portablelb.io/dataPlane';
export const ANNOTATION_CLASS = 'portablelb.io/className';
/** On each PLB made for a Service: the Service's name (the owner reference says the same, labels can be watched). */
export const LABEL_SERVICE = 'portablelb.io/service';

export type Family = 'IPv4' | 'IPv6';

export interface PlannedPlb {
  name: string;
  family: Family;
  spec: PortableLoadBalancerSpec;
}

export type ServicePlan =
  /** Not ours: another class, or no class while class-less Services are not enabled. Never touched. */
  | { kind: 'ignore' }
  /** Was ours (our finalizer is on it) but is being deleted or no longer a LoadBalancer: release everything. */
  | { kind: 'cleanup' }
  /** Ours, but a field cannot be honoured: no PLB, and the reason goes into the Service's conditions. */
  | { kind: 'refuse'; reason: string; message: string }
  | { kind: 'serve'; plbs: PlannedPlb[]; families: Family[]; requireAll: boolean; notes: string[] };

export interface PlanOptions {
  /** Also serve Services without spec.loadBalancerClass (chart value serviceController.classless). */
  classless: boolean;
}

const isOurs = (svc: V1Service, o: PlanOptions) =>
  svc.spec?.type === 'LoadBalancer' && (svc.spec.loadBalancerClass === SERVICE_LB_CLASS || (o.classless && !svc.spec.loadBalancerClass));

/** A PLB name for the Service and family that fits the CRD's 47 characters and stays unique. */
export function plbName(service: string, family: Family): string {
  const suffix = family === 'IPv4' ? 'ipv4' : 'ipv6';
  const full = `${service}-${suffix}`;
  if (full.length <= 47) return full;
  const hash = createHash('sha256').update(service).digest('hex').slice(0, 8);
  return `${service.slice(0, 47 - suffix.length - 10).replace(/[-.]+$/, '')}-${hash}-${suffix}`;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const refuse = (reason: string, message: string): ServicePlan => ({ kind: 'refuse', reason, message });

export function planService(svc: V1Service, o: PlanOptions): ServicePlan {
  const hasFinalizer = svc.metadata?.finalizers?.includes(LB_CLEANUP_FINALIZER) ?? false;
  if (svc.metadata?.deletionTimestamp || !isOurs(svc, o)) return hasFinalizer ? { kind: 'cleanup' } : { kind: 'ignore' };
  const spec = svc.spec!;
  const annotations = svc.metadata?.annotations ?? {};

  if (spec.externalTrafficPolicy === 'Local') {
    return refuse('ExternalTrafficPolicyLocal', 'externalTrafficPolicy Local cannot be honoured: the LB pods proxy to the backend pods (full NAT), so client source addresses are not kept and no node-local delivery happens; set it to Cluster');
  }
  if (spec.sessionAffinity === 'ClientIP') {
    return refuse('SessionAffinityUnsupported', 'sessionAffinity ClientIP is not offered by this load balancer (its schedulers hash connections, not clients); set it to None');
  }
  if ((spec.loadBalancerSourceRanges ?? []).length > 0) {
    return refuse('SourceRangesUnsupported', 'loadBalancerSourceRanges would be ignored (the LB pods do not filter clients): remove it, or filter on your router');
  }
  if (!spec.selector || Object.keys(spec.selector).length === 0) {
    return refuse('NoSelector', 'a Service without a selector has no pods to balance to: give it a selector (manual Endpoints are not followed)');
  }
  const sctp = (spec.ports ?? []).find((p) => (p.protocol ?? 'TCP') !== 'TCP' && (p.protocol ?? 'TCP') !== 'UDP');
  if (sctp) return refuse('UnsupportedProtocol', `port ${sctp.port}/${sctp.protocol}: only TCP and UDP are balanced`);
  if ((spec.ports ?? []).length === 0) return refuse('NoPorts', 'the Service has no ports');
  if ((spec.ports ?? []).length > 32) return refuse('TooManyPorts', 'a PortableLoadBalancer serves at most 32 ports');

  const notes: string[] = [];
  // The families the cluster gave the Service (the primary first); SingleStack serves the primary only.
  const all = (spec.ipFamilies?.length ? spec.ipFamilies : ['IPv4']) as Family[];
  const policy = spec.ipFamilyPolicy ?? 'SingleStack';
  const families = policy === 'SingleStack' ? all.slice(0, 1) : all;
  if (policy === 'RequireDualStack' && families.length < 2) {
    return refuse('DualStackUnsatisfiable', `ipFamilyPolicy RequireDualStack, but the Service has only ${families.join(', ')}`);
  }

  // Requested addresses: the annotation (one per family), or the deprecated spec.loadBalancerIP.
  const listed = annotations[ANNOTATION_IPS];
  if (listed !== undefined && spec.loadBalancerIP) {
    return refuse('InvalidRequest', `set either the annotation ${ANNOTATION_IPS} or the deprecated spec.loadBalancerIP, not both`);
  }
  const wanted = (listed ?? spec.loadBalancerIP ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (spec.loadBalancerIP) notes.push(`spec.loadBalancerIP is deprecated: use the annotation ${ANNOTATION_IPS}`);
  const byFamily = new Map<Family, string>();
  for (const text of wanted) {
    const ip = parseIp(text);
    if (!ip) return refuse('InvalidRequest', `${text} in ${listed !== undefined ? ANNOTATION_IPS : 'spec.loadBalancerIP'} is not an IP address`);
    const family: Family = ip.family === 4 ? 'IPv4' : 'IPv6';
    if (byFamily.has(family)) return refuse('InvalidRequest', `two ${family} addresses requested (${byFamily.get(family)}, ${text}): one per family`);
    if (!families.includes(family)) {
      return refuse('InvalidRequest', `${text} is ${family}, but the Service is served as ${families.join(' and ')} (ipFamilies, ipFamilyPolicy)`);
    }
    byFamily.set(family, formatIp(ip.family, ip.value));
  }
  const dataPlane = annotations[ANNOTATION_DATA_PLANE];
  if (dataPlane !== undefined && !['xdp', 'ipvs', 'nftables'].includes(dataPlane)) {
    return refuse('InvalidRequest', `${ANNOTATION_DATA_PLANE}: ${dataPlane} is not xdp, ipvs or nftables`);
  }

  const ports = (spec.ports ?? []).map((p, i) => ({
    // PLB port names are at most 15 characters: a longer Service port name becomes p<index>.
    ...((spec.ports ?? []).length > 1 || p.name ? { name: p.name && p.name.length <= 15 && PORT_NAME.test(p.name) ? p.name : `p${i}` } : {}),
    port: p.port,
    targetPort: p.targetPort ?? p.port,
    protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP',
  }));
  const service = svc.metadata?.name ?? '';
  const plbs = families.map((family): PlannedPlb => {
    const vip = byFamily.get(family);
    const pool = annotations[ANNOTATION_POOL];
    const className = annotations[ANNOTATION_CLASS];
    return {
      name: plbName(service, family),
      family,
      spec: {
        ...(vip ? { vip } : {}),
        ipFamily: family,
        ...(pool ? { pool } : {}),
        ...(className ? { className } : {}),
        ports,
        backends: { selector: { matchLabels: { ...spec.selector } } },
        // An IPv6 family defaults to nftables, which runs on any kernel (and was the only plane for IPv6 before
        // xdp and ipvs balanced it); the annotation picks another.
        dataPlane: (dataPlane as PortableLoadBalancerSpec['dataPlane']) ?? (family === 'IPv6' ? 'nftables' : 'xdp'),
      },
    };
  });
  return { kind: 'serve', plbs, families, requireAll: policy === 'RequireDualStack', notes };
}
