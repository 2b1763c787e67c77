// Pure diff: what is programmed in the maps vs. what is desired -> the writes that converge them, in an order
// that never lets a packet see a ring pointing at a backend that is not active yet (or any more).
import type { DesiredState } from '../types.js';
import { buildMaglevTable } from '../maglev.js';
import { flowTimeoutsOf } from './flow-gc.js';
import {
  BACKEND_ACTIVE, BACKEND_DRAINING, MAX_BACKENDS, MAX_SERVICES, NO_MAC,
  type BackendValue, type ConfigValue, type ServiceKey, type ServiceValue,
} from './layout.js';

/** SNAT ports: these, less the LB pod's own ip_local_port_range (snatPorts). */
export const SNAT_PORT_MIN = 1024;
export const SNAT_PORT_MAX = 65535;

export interface PortRange { min: number; max: number }

/**
 * The SNAT part of plb_config: [SNAT_PORT_MIN, SNAT_PORT_MAX] with the pod's own ephemeral range (`own`, from
 * net.ipv4.ip_local_port_range) cut out. A NAT port the pod's own sockets could also pick would make a reply to
 * the agent's API connection look like a backend's reply (and the BPF program drops those whose flow is gone).
 */
export function snatPorts(own: PortRange | null): Pick<ConfigValue, 'portMin' | 'portMax' | 'skipMin' | 'skipMax'> {
  const lo = own ? Math.max(own.min, SNAT_PORT_MIN) : 0;
  const hi = own ? Math.min(own.max, SNAT_PORT_MAX) : -1;
  if (lo > hi) return { portMin: SNAT_PORT_MIN, portMax: SNAT_PORT_MAX, skipMin: 0, skipMax: 0 };
  // A skipped part at either end just moves that end (the BPF side then has no hole to step over).
  if (lo === SNAT_PORT_MIN) return { portMin: hi + 1, portMax: SNAT_PORT_MAX, skipMin: 0, skipMax: 0 };
  if (hi === SNAT_PORT_MAX) return { portMin: SNAT_PORT_MIN, portMax: lo - 1, skipMin: 0, skipMax: 0 };
  return { portMin: SNAT_PORT_MIN, portMax: SNAT_PORT_MAX, skipMin: lo, skipMax: hi };
}

/** How many SNAT ports a config has: flows per (backend, target port) at most. */
export function snatPortCount(c: Pick<ConfigValue, 'portMin' | 'portMax' | 'skipMin' | 'skipMax'>): number {
  const all = Math.max(0, c.portMax - c.portMin + 1);
  return c.skipMin !== 0 && c.skipMax >= c.skipMin ? all - (c.skipMax - c.skipMin + 1) : all;
}

export interface ProgrammedService {
  key: ServiceKey;
  value: ServiceValue;
  /** The live generation's ring. */
  ring: Uint32Array;
}

export interface ProgrammedState {
  config: ConfigValue | null;
  /** Non-free backend slots by id. */
  backends: Map<number, BackendValue>;
  services: ProgrammedService[];
}

export interface RingWrite {
  serviceId: number;
  gen: 0 | 1;
  table: Uint32Array;
}

export interface Plan {
  config: ConfigValue | null;
  /** Step 1: backends that become active (new ones, or draining ones that came back). */
  activate: Array<{ id: number; value: BackendValue }>;
  /** Ids whose counters must start at zero because the id now means something else. */
  resetServiceStats: number[];
  resetBackendStats: number[];
  /** Step 2: the standby half of each ring, then the service value that flips to it. */
  rings: RingWrite[];
  services: Array<{ key: ServiceKey; value: ServiceValue }>;
  /** Step 3: removed backends stop getting new flows; their established flows keep running. */
  drain: Array<{ id: number; value: BackendValue }>;
  /** Step 4. */
  deleteServices: ServiceKey[];
}

export function serviceKeyString(k: ServiceKey): string {
  return `${k.vip}:${k.port}/${k.protocol}`;
}

export function isEmptyPlan(p: Plan): boolean {
  return p.config === null && p.activate.length === 0 && p.rings.length === 0 && p.services.length === 0 &&
    p.drain.length === 0 && p.deleteServices.length === 0;
}

/** The service value's MSS clamp for a port: the desired clamp on TCP ports, 0 (none) elsewhere. */
export function mssClampFor(protocol: ServiceKey['protocol'], tcpMssClamp: number | undefined): number {
  if (protocol !== 'TCP' || tcpMssClamp === undefined) return 0;
  if (!Number.isInteger(tcpMssClamp) || tcpMssClamp < 1 || tcpMssClamp > 0xffff) {
    throw new Error(`tcpMssClamp must be an integer in 1..65535, got ${tcpMssClamp}`);
  }
  return tcpMssClamp;
}

function sameTable(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function lowestFree(used: Set<number>, limit: number): number | undefined {
  for (let id = 1; id < limit; id++) if (!used.has(id)) return id;
  return undefined;
}

function planBackends(current: Map<number, BackendValue>, desired: DesiredState) {
  const idByIp = new Map<string, number>();
  for (const [id, b] of current) idByIp.set(b.ip, id);
  const wanted = new Set(desired.backends.map((b) => b.ip));
  const activate: Plan['activate'] = [];
  const resetBackendStats: number[] = [];
  const used = new Set(current.keys());
  // Draining backends nobody wants any more are the reclaimable ones, oldest id first.
  const reclaimable = [...current].filter(([, b]) => b.state === BACKEND_DRAINING && !wanted.has(b.ip))
    .map(([id]) => id).sort((a, b) => a - b);
  for (const b of desired.backends) {
    const existing = idByIp.get(b.ip);
    if (existing !== undefined) {
      if (current.get(existing)?.state !== BACKEND_ACTIVE) {
        activate.push({ id: existing, value: { ip: b.ip, state: BACKEND_ACTIVE } });
      }
      continue;
    }
    const id = lowestFree(used, MAX_BACKENDS) ?? reclaimable.shift();
    if (id === undefined) throw new Error(`more than ${MAX_BACKENDS - 1} backends (active + draining)`);
    used.add(id);
    idByIp.set(b.ip, id);
    activate.push({ id, value: { ip: b.ip, state: BACKEND_ACTIVE } });
    resetBackendStats.push(id);
  }
  const drain = [...current]
    .filter(([, b]) => b.state === BACKEND_ACTIVE && !wanted.has(b.ip))
    .map(([id, b]) => ({ id, value: { ip: b.ip, state: BACKEND_DRAINING } }));
  return { idByIp, activate, drain, resetBackendStats };
}

/** Seconds between the BPF program's last chance to take a closing flow's SNAT tuple over and its expiry. */
export const TAKEOVER_MARGIN_SECONDS = 5;

/** plb_config.takeover_before for a closing timeout: 0 (never) when the margin leaves nothing. */
export function takeoverBefore(tcpClosingSeconds: number): number {
  const t = tcpClosingSeconds - TAKEOVER_MARGIN_SECONDS;
  return t > 10 ? Math.min(t, 0xffff) : 0;
}

/**
 * `ownPorts`: the LB pod's net.ipv4.ip_local_port_range, kept out of the SNAT ports. `mac`: the interface's MAC
 * (aa:bb:..), which frames the XDP build translates must be addressed to; null: no check.
 */
export function planApply(current: ProgrammedState, desired: DesiredState, ownPorts: PortRange | null = null, mac: string | null = null): Plan {
  const wantConfig: ConfigValue = {
    snatIp: desired.snatIp, ...snatPorts(ownPorts), takeoverBefore: takeoverBefore(flowTimeoutsOf(desired.flows).tcpClosingSeconds),
    vip: desired.vip, mac: mac?.toLowerCase() ?? NO_MAC,
  };
  const c = current.config;
  const config = c && c.snatIp === wantConfig.snatIp && c.portMin === wantConfig.portMin &&
      c.portMax === wantConfig.portMax && c.skipMin === wantConfig.skipMin && c.skipMax === wantConfig.skipMax &&
      c.takeoverBefore === wantConfig.takeoverBefore && c.vip === wantConfig.vip && c.mac === wantConfig.mac
    ? null : wantConfig;

  const backends = planBackends(current.backends, desired);
  const table = buildMaglevTable(desired.backends.map((b) => ({
    key: b.ip, id: backends.idByIp.get(b.ip)!, weight: b.weight,
  })));

  const existing = new Map(current.services.map((s) => [serviceKeyString(s.key), s]));
  const usedServiceIds = new Set(current.services.map((s) => s.value.id));
  const wantedKeys = new Set<string>();
  const rings: RingWrite[] = [];
  const services: Plan['services'] = [];
  const resetServiceStats: number[] = [];
  for (const p of desired.ports) {
    const key: ServiceKey = { vip: desired.vip, port: p.port, protocol: p.protocol };
    const ks = serviceKeyString(key);
    wantedKeys.add(ks);
    const mssClamp = mssClampFor(p.protocol, desired.tcpMssClamp);
    const have = existing.get(ks);
    if (have) {
      const ringSame = sameTable(have.ring, table);
      if (ringSame && have.value.targetPort === p.targetPort && have.value.mssClamp === mssClamp) continue;
      const gen: 0 | 1 = ringSame ? have.value.ringGen : have.value.ringGen === 0 ? 1 : 0;
      if (!ringSame) rings.push({ serviceId: have.value.id, gen, table });
      services.push({ key, value: { id: have.value.id, ringGen: gen, targetPort: p.targetPort, mssClamp } });
      continue;
    }
    const id = lowestFree(usedServiceIds, MAX_SERVICES);
    if (id === undefined) throw new Error(`more than ${MAX_SERVICES - 1} (vip, port, protocol) services`);
    usedServiceIds.add(id);
    resetServiceStats.push(id);
    rings.push({ serviceId: id, gen: 0, table });
    services.push({ key, value: { id, ringGen: 0, targetPort: p.targetPort, mssClamp } });
  }
  const deleteServices = current.services.filter((s) => !wantedKeys.has(serviceKeyString(s.key))).map((s) => s.key);
  return {
    config, activate: backends.activate, resetServiceStats, resetBackendStats: backends.resetBackendStats,
    rings, services, drain: backends.drain, deleteServices,
  };
}
