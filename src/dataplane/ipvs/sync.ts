// DesiredState + a dump of what IPVS holds -> the commands that converge it (kube-proxy's IPVS proxier, reduced
// to one VIP). Pure. Never a flush: whatever a previous agent programmed is adopted and diffed, which is what
// keeps connections alive across agent restarts. A backend that is no longer desired first gets weight 0 (no new
// connections; IPVS keeps forwarding its established ones) and is deleted once IPVS counts no connections
// to it; UDP destinations are deleted at once (with net.ipv4.vs.expire_nodest_conn=1 their entries expire).
import type { DesiredState, L4Protocol } from '../types.js';
import { SVC_F_SCHED_FALLBACK, SVC_F_SCHED_PORT, type DestDump, type DestSpec, type ServiceDump, type ServiceKey, type ServiceSpec } from './wire.js';

export interface ServiceState extends ServiceDump {
  dests: DestDump[];
}

export type Op =
  | { op: 'newService' | 'setService'; service: ServiceSpec }
  | { op: 'delService'; service: ServiceKey }
  | { op: 'newDest' | 'setDest' | 'delDest'; service: ServiceKey; dest: DestSpec };

/** IP_VS_SVC_F_HASHED: set by the kernel on every service it holds, never by us. */
const SVC_F_HASHED = 0x0002;

/**
 * The CRD's scheduler -> an IPVS scheduler module. maglev is mh with the source port hashed too (as the xdp plane
 * hashes the 5-tuple), sourceHash is sh on the address only (client affinity), both with fallback past
 * draining destinations; rr/lc become their weighted variants when weights differ.
 */
export function ipvsScheduler(scheduler: string, weights: number[]): { name: string; flags: number } {
  const weighted = new Set(weights).size > 1;
  switch (scheduler) {
    case 'maglev': return { name: 'mh', flags: SVC_F_SCHED_PORT | SVC_F_SCHED_FALLBACK };
    case 'roundRobin': return { name: weighted ? 'wrr' : 'rr', flags: 0 };
    case 'sourceHash': return { name: 'sh', flags: SVC_F_SCHED_FALLBACK };
    case 'leastConnection': return { name: weighted ? 'wlc' : 'lc', flags: 0 };
    default: throw new Error(`dataPlane ipvs supports scheduler maglev, roundRobin, sourceHash or leastConnection, not ${scheduler}`);
  }
}

/** `TCP/10.0.0.1:80`, `TCP/[2001:db8::1]:80`. */
const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
export const serviceId = (k: ServiceKey): string => `${k.protocol}/${hostPort(k.vip, k.port)}`;
const destId = (d: { ip: string; port: number }): string => hostPort(d.ip, d.port);

export interface DesiredService extends ServiceSpec {
  dests: DestSpec[];
}

export function desiredServices(desired: DesiredState): DesiredService[] {
  const sched = ipvsScheduler(desired.scheduler as string, desired.backends.map((b) => b.weight));
  return desired.ports.map((p) => ({
    protocol: p.protocol, vip: desired.vip, port: p.port, scheduler: sched.name, flags: sched.flags,
    dests: desired.backends.map((b) => ({ ip: b.ip, port: p.targetPort, weight: b.weight })),
  }));
}

const keyOf = (s: ServiceKey): ServiceKey => ({ protocol: s.protocol, vip: s.vip, port: s.port });
const specOf = (s: ServiceSpec): ServiceSpec => ({ ...keyOf(s), scheduler: s.scheduler, flags: s.flags });

/** Weight 0 first; deletion once IPVS counts no connection (UDP: at once). */
function retire(service: ServiceKey, protocol: L4Protocol, d: DestDump, ops: Op[]): boolean {
  const dest = { ip: d.ip, port: d.port, weight: 0 };
  if (protocol === 'UDP' || d.activeConns + d.inactiveConns === 0) {
    ops.push({ op: 'delDest', service, dest });
    return true;
  }
  if (d.weight !== 0) ops.push({ op: 'setDest', service, dest });
  return false;
}

export function planSync(desired: DesiredService[], current: ServiceState[]): Op[] {
  const ops: Op[] = [];
  const currentById = new Map(current.map((s) => [serviceId(s), s]));
  for (const want of desired) {
    const have = currentById.get(serviceId(want));
    const service = keyOf(want);
    if (!have) {
      ops.push({ op: 'newService', service: specOf(want) });
      for (const dest of want.dests) ops.push({ op: 'newDest', service, dest });
      continue;
    }
    if (have.scheduler !== want.scheduler || (have.flags & ~SVC_F_HASHED) !== want.flags) ops.push({ op: 'setService', service: specOf(want) });
    const haveDests = new Map(have.dests.map((d) => [destId(d), d]));
    for (const dest of want.dests) {
      const d = haveDests.get(destId(dest));
      if (!d) ops.push({ op: 'newDest', service, dest });
      else if (d.weight !== dest.weight || d.fwdMethod !== 0) ops.push({ op: 'setDest', service, dest });
    }
    const wanted = new Set(want.dests.map(destId));
    for (const d of have.dests) if (!wanted.has(destId(d))) retire(service, want.protocol, d, ops);
  }
  const wantedServices = new Set(desired.map(serviceId));
  for (const have of current) {
    if (wantedServices.has(serviceId(have))) continue;
    const service = keyOf(have);
    const gone = have.dests.map((d) => retire(service, have.protocol, d, ops));
    // A service goes only when nothing drains through it any more.
    if (gone.every(Boolean)) ops.push({ op: 'delService', service });
  }
  return ops;
}
