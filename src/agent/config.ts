// A PortableLoadBalancer file -> a validated, defaulted spec -> DesiredState. Pure.
// In a cluster the API server applies the CRD's defaults and CEL rules; the standalone agent has no API server,
// so this module applies the same defaults and the rules that matter for static backends, naming the field.
import { loadAll as parseYamlDocs } from 'js-yaml';
import type { PeerConfig } from '../api/bgp-peer.js';
import { DEFAULT_DRAIN_SECONDS, OVERLAY_MODES, OVERLAY_MTU_RANGE, defaultScheduler, ipFamily, tcpMssClamp, type IpFamily } from '../api/defaults.js';
import { standalonePeers } from './bgp/standalone-peers.js';
import type { PortableLoadBalancerSpec } from '../api/generated.js';
import type { AttachRequest, DataPlaneName, DesiredPort, DesiredState, FlowSettings, L4Protocol, Scheduler } from '../dataplane/types.js';
import { isIpv4 } from '../dataplane/ipv4.js';
import { canonicalIpv6, isGlobalUnicastIpv6, isIpv6 } from '../dataplane/ipv6.js';

export interface ConfigIssue {
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly source: string, readonly issues: ConfigIssue[]) {
    super(`${source}: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** The part of a spec the data plane needs, with every default filled in. */
export interface StandaloneSpec {
  /** metadata.name, or "default": names the pin directory, so it must be a DNS label. */
  name: string;
  vip: string;
  ports: DesiredPort[];
  backends: Array<{ ip: string; weight: number }>;
  attach: AttachRequest;
  dataPlane: DataPlaneName;
  scheduler: Scheduler;
  /** spec.overlay as given (absent: leave MTU and MSS alone); sets the MSS clamp of the data plane. */
  overlay?: StandaloneOverlay;
  /** How long SIGTERM keeps forwarding after withdrawing the VIP from the peers. */
  drainSeconds: number;
  /** spec.xdp.maxFlows and spec.xdp.flowTimeouts, as given (the data plane has the defaults). */
  flows?: FlowSettings;
  /** The file's BGPPeer documents: the routers this agent announces the VIP to (next hop: its own address). */
  peers: PeerConfig[];
}

type OverlayMode = NonNullable<NonNullable<PortableLoadBalancerSpec['overlay']>['mode']>;
export interface StandaloneOverlay {
  mode: OverlayMode;
  mtu?: number;
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ATTACH: readonly AttachRequest[] = ['auto', 'tc', 'native', 'generic'];
// The CRD's CEL rules and defaults, repeated: the standalone agent has no API server to apply them.
const SCHEDULERS: Record<DataPlaneName, readonly Scheduler[]> = {
  xdp: ['maglev'], nftables: ['roundRobin', 'sourceHash'], ipvs: ['maglev', 'roundRobin', 'sourceHash', 'leastConnection'],
};
const schedulerRule = (d: DataPlaneName): string =>
  d === 'xdp' ? 'dataPlane xdp supports scheduler maglev only' : `dataPlane ${d} supports scheduler ${SCHEDULERS[d].join(', ')}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

function vipIssue(vip: string): string | null {
  if (isIpv6(vip)) {
    if (!isGlobalUnicastIpv6(vip)) return 'must be a routable unicast address (not ::, loopback, link-local or multicast)';
    if (canonicalIpv6(vip) !== vip) return `must be written in canonical form: ${canonicalIpv6(vip)}`;
    return null;
  }
  if (!isIpv4(vip)) return `"${vip}" is not an IPv4 or IPv6 address literal (e.g. 192.0.2.10 or 2001:db8::10, no prefix length)`;
  const [a] = vip.split('.').map(Number);
  if (a === 0 || a === 127 || (a !== undefined && a >= 224)) return 'must be a routable unicast address (not 0.x, loopback, multicast or reserved)';
  if (vip.endsWith('.0') || vip.endsWith('.255')) return 'must not end in .0 or .255';
  return null;
}

function validatePorts(raw: unknown, issues: ConfigIssue[]): DesiredPort[] {
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > 32) {
    issues.push({ field: 'spec.ports', message: 'must list 1 to 32 ports' });
    return [];
  }
  const ports: DesiredPort[] = [];
  raw.forEach((p: unknown, i) => {
    const f = `spec.ports[${i}]`;
    if (!isObject(p)) return issues.push({ field: f, message: 'must be an object with port, targetPort, protocol' });
    if (!isPort(p['port'])) return issues.push({ field: `${f}.port`, message: 'must be an integer from 1 to 65535' });
    const protocol = (p['protocol'] ?? 'TCP') as L4Protocol;
    if (protocol !== 'TCP' && protocol !== 'UDP') issues.push({ field: `${f}.protocol`, message: 'must be TCP or UDP' });
    const target = p['targetPort'] ?? p['port'];
    if (typeof target === 'string') {
      issues.push({ field: `${f}.targetPort`, message: 'static backends need a numeric targetPort: there is no pod to look a port name up in' });
    } else if (!isPort(target)) {
      issues.push({ field: `${f}.targetPort`, message: 'must be an integer from 1 to 65535' });
    }
    const name = p['name'];
    if (name !== undefined && (typeof name !== 'string' || !PORT_NAME.test(name) || name.length > 15)) {
      issues.push({ field: `${f}.name`, message: 'must be lower-case letters, digits and "-", at most 15 characters' });
    }
    ports.push({ port: p['port'], targetPort: target as number, protocol, ...(typeof name === 'string' ? { name } : {}) });
  });
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${p.port}/${p.protocol}`;
    if (seen.has(k)) issues.push({ field: `spec.ports[${i}]`, message: `duplicate (port, protocol) ${k}` });
    seen.add(k);
  });
  if (ports.length > 1) {
    ports.forEach((p, i) => { if (!p.name) issues.push({ field: `spec.ports[${i}].name`, message: 'every port needs a name when more than one port is listed' }); });
    const names = ports.map((p) => p.name).filter((n) => n !== undefined);
    if (new Set(names).size !== names.length) issues.push({ field: 'spec.ports', message: 'port names must be unique' });
  }
  return ports;
}

function validateBackends(raw: unknown, family: IpFamily, issues: ConfigIssue[]): StandaloneSpec['backends'] {
  if (!isObject(raw)) {
    issues.push({ field: 'spec.backends', message: 'is required, with addresses: [{ip, weight}]' });
    return [];
  }
  if (raw['selector'] !== undefined) {
    issues.push({ field: 'spec.backends.selector', message: 'needs a cluster; the standalone agent needs spec.backends.addresses' });
    return [];
  }
  const list = raw['addresses'];
  if (!Array.isArray(list) || list.length < 1 || list.length > 256) {
    issues.push({ field: 'spec.backends.addresses', message: 'must list 1 to 256 backends' });
    return [];
  }
  const out: StandaloneSpec['backends'] = [];
  const seen = new Set<string>();
  list.forEach((a: unknown, i) => {
    const f = `spec.backends.addresses[${i}]`;
    if (!isObject(a) || typeof a['ip'] !== 'string') return issues.push({ field: `${f}.ip`, message: 'is required' });
    const ip = a['ip'];
    if (family === 4 && !isIpv4(ip)) return issues.push({ field: `${f}.ip`, message: `"${ip}" is not an IPv4 address (the VIP is IPv4)` });
    if (family === 6 && !isIpv6(ip)) return issues.push({ field: `${f}.ip`, message: `"${ip}" is not an IPv6 address (the VIP is IPv6)` });
    if (seen.has(ip)) return issues.push({ field: `${f}.ip`, message: `${ip} is listed twice` });
    seen.add(ip);
    const weight = a['weight'] ?? 1;
    if (!Number.isInteger(weight) || (weight as number) < 1 || (weight as number) > 100) {
      return issues.push({ field: `${f}.weight`, message: 'must be an integer from 1 to 100' });
    }
    out.push({ ip, weight: weight as number });
  });
  return out;
}

function validateOverlay(raw: unknown, issues: ConfigIssue[]): StandaloneOverlay | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    issues.push({ field: 'spec.overlay', message: 'must be an object with mode and optionally mtu' });
    return undefined;
  }
  const mode = (raw['mode'] ?? 'none') as OverlayMode;
  if (!OVERLAY_MODES.includes(mode)) issues.push({ field: 'spec.overlay.mode', message: `must be one of ${OVERLAY_MODES.join(', ')}` });
  const mtu = raw['mtu'];
  const { min, max } = OVERLAY_MTU_RANGE;
  if (mtu !== undefined && (!Number.isInteger(mtu) || (mtu as number) < min || (mtu as number) > max)) {
    issues.push({ field: 'spec.overlay.mtu', message: `must be an integer from ${min} to ${max}` });
  }
  return { mode, ...(mtu !== undefined ? { mtu: mtu as number } : {}) };
}

/** Validates and defaults the spec of a parsed PortableLoadBalancer document. */
export function standaloneSpec(doc: unknown, source = 'plb.yaml'): StandaloneSpec {
  const issues: ConfigIssue[] = [];
  if (!isObject(doc)) throw new ConfigError(source, [{ field: '(document)', message: 'must be a PortableLoadBalancer object' }]);
  if (doc['apiVersion'] !== 'portablelb.io/v1alpha1') issues.push({ field: 'apiVersion', message: 'must be portablelb.io/v1alpha1' });
  if (doc['kind'] !== 'PortableLoadBalancer') issues.push({ field: 'kind', message: 'must be PortableLoadBalancer' });
  const meta = doc['metadata'];
  const name = isObject(meta) && meta['name'] !== undefined ? meta['name'] : 'default';
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,45}[a-z0-9])?$/.test(name)) {
    issues.push({ field: 'metadata.name', message: 'must be a lower-case DNS label of at most 47 characters' });
  }
  const spec = doc['spec'];
  if (!isObject(spec)) throw new ConfigError(source, [...issues, { field: 'spec', message: 'is required' }]);
  const s = spec as Partial<PortableLoadBalancerSpec> & Record<string, unknown>;
  const dataPlane = (s.dataPlane ?? 'xdp') as DataPlaneName;
  let vip = '';
  if (typeof s.vip !== 'string') issues.push({ field: 'spec.vip', message: 'is required (an IPv4 or IPv6 address)' });
  else {
    const problem = vipIssue(s.vip);
    if (problem) issues.push({ field: 'spec.vip', message: problem });
    vip = s.vip;
  }
  const ports = validatePorts(s.ports, issues);
  const backends = validateBackends(s.backends, ipFamily(vip), issues);
  const knownPlane = Object.hasOwn(SCHEDULERS, dataPlane);
  if (!knownPlane) issues.push({ field: 'spec.dataPlane', message: 'must be one of xdp, ipvs, nftables' });
  const scheduler = (s.scheduler ?? defaultScheduler(dataPlane)) as Scheduler;
  if (knownPlane && !SCHEDULERS[dataPlane].includes(scheduler)) issues.push({ field: 'spec.scheduler', message: schedulerRule(dataPlane) });
  const attach = (isObject(s.xdp) ? s.xdp['attach'] : undefined) ?? 'auto';
  if (!ATTACH.includes(attach as AttachRequest)) issues.push({ field: 'spec.xdp.attach', message: 'must be one of auto, tc, native, generic' });
  const overlay = validateOverlay(s.overlay, issues);
  const flows = validateFlows(isObject(s.xdp) ? s.xdp : {}, issues);
  const drain = s.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
  if (!Number.isInteger(drain) || drain < 0 || drain > 300) issues.push({ field: 'spec.drainSeconds', message: 'must be an integer from 0 to 300' });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return {
    name: name as string, vip, ports, backends, attach: attach as AttachRequest, dataPlane, scheduler,
    ...(overlay ? { overlay } : {}), drainSeconds: drain, peers: [], ...(flows ? { flows } : {}),
  };
}

// The CRD's bounds for spec.xdp.maxFlows and spec.xdp.flowTimeouts.
const FLOW_LIMITS: Record<keyof FlowSettings, [number, number]> = {
  maxFlows: [1024, 16_777_216], tcpEstablishedSeconds: [10, 604_800], tcpSynSeconds: [5, 3600],
  tcpClosingSeconds: [1, 3600], udpSeconds: [1, 86_400],
};

function validateFlows(xdp: Record<string, unknown>, issues: ConfigIssue[]): FlowSettings | undefined {
  const out: FlowSettings = {};
  const check = (field: keyof FlowSettings, value: unknown, path: string) => {
    if (value === undefined) return;
    const [lo, hi] = FLOW_LIMITS[field];
    if (!Number.isInteger(value) || (value as number) < lo || (value as number) > hi) {
      issues.push({ field: path, message: `must be an integer from ${lo} to ${hi}` });
    } else {
      out[field] = value as number;
    }
  };
  check('maxFlows', xdp['maxFlows'], 'spec.xdp.maxFlows');
  const timeouts = xdp['flowTimeouts'];
  if (timeouts !== undefined && !isObject(timeouts)) issues.push({ field: 'spec.xdp.flowTimeouts', message: 'must be a mapping' });
  if (isObject(timeouts)) {
    for (const f of ['tcpEstablishedSeconds', 'tcpSynSeconds', 'tcpClosingSeconds', 'udpSeconds'] as const) {
      check(f, timeouts[f], `spec.xdp.flowTimeouts.${f}`);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * One PortableLoadBalancer, and any number of BGPPeer documents (multi-document YAML): the routers the agent
 * announces the VIP to.
 */
export function parseStandaloneFile(text: string, source: string): StandaloneSpec {
  let docs: unknown[];
  try {
    docs = parseYamlDocs(text).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new ConfigError(source, [{ field: '(yaml)', message: (err as Error).message.split('\n')[0] ?? 'invalid YAML' }]);
  }
  const kind = (d: unknown) => (typeof d === 'object' && d !== null ? (d as { kind?: unknown }).kind : undefined);
  const plbs = docs.filter((d) => kind(d) !== 'BGPPeer');
  if (plbs.length !== 1) {
    throw new ConfigError(source, [{ field: '(document)', message: `want exactly one PortableLoadBalancer (and any BGPPeers), found ${plbs.length} other document(s)` }]);
  }
  const { peers, issues } = standalonePeers(docs);
  let spec: StandaloneSpec;
  try {
    spec = standaloneSpec(plbs[0], source);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(source, [...err.issues, ...issues]);
    throw err;
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return { ...spec, peers };
}

/** Where the agent runs adds what the spec cannot know: the device and the LB's own address. */
export function desiredState(spec: StandaloneSpec, env: { interface: string; snatIp: string }): DesiredState {
  const mss = tcpMssClamp(spec.overlay, ipFamily(spec.vip));
  return {
    vip: spec.vip, ports: spec.ports, backends: spec.backends, scheduler: spec.scheduler, attach: spec.attach,
    interface: env.interface, snatIp: env.snatIp, ...(mss !== undefined ? { tcpMssClamp: mss } : {}),
    ...(spec.flows ? { flows: spec.flows } : {}), drainSeconds: spec.drainSeconds,
  };
}
