// Reading and writing the pinned maps through the addon: adopting what is programmed, executing a Plan,
// reading counters. Layout knowledge stays in layout.ts, decisions in plan.ts.
import { readFileSync } from 'node:fs';
import type { BpfAddon } from './addon.js';
import {
  BACKEND_FREE, BACKEND_STATS_FIELDS, CONFIG_VALUE_SIZE, FLOW_LAYOUTS, GLOBAL_STATS_FIELDS, MAP_NAMES,
  MAX_BACKENDS, RING_SIZE, SERVICE_STATS_FIELDS, SERVICE_VALUE_SIZE, backendValueSize, configProgrammed,
  decodeBackend, decodeConfig, decodeRing, decodeServiceKey, decodeServiceValue, encodeBackend, encodeConfig,
  encodeRing, encodeServiceKey, encodeServiceValue, familyOf, ringOffset, serviceKeySize, sumPerCpu, u32Key,
  type BackendValue, type Family, type FlowLayout,
} from './layout.js';
import type { Plan, ProgrammedState } from './plan.js';

const BPF_ANY = 0;

export type MapFds = Record<keyof typeof MAP_NAMES, number>;

export function mapFdsOf(maps: Record<string, number>): MapFds {
  const out = {} as MapFds;
  for (const [field, name] of Object.entries(MAP_NAMES) as Array<[keyof typeof MAP_NAMES, string]>) {
    const fd = maps[name];
    if (fd === undefined) throw new Error(`BPF object has no map ${name}`);
    out[field] = fd;
  }
  return out;
}

export class PinnedMaps {
  private readonly cpus: number;

  constructor(private readonly addon: BpfAddon, private readonly fds: MapFds) {
    this.cpus = addon.possibleCpus();
  }

  readProgrammed(): ProgrammedState {
    const { addon, fds } = this;
    const configBuf = addon.mapLookup(fds.config, u32Key(0), CONFIG_VALUE_SIZE);
    const config = configBuf && configProgrammed(configBuf) ? decodeConfig(configBuf) : null;
    const backends = this.readBackends();
    // Both families' services: service ids are one space (the ring and the counters are shared).
    const services = ([4, 6] as const).flatMap((f) => {
      const fd = this.servicesFd(f);
      return addon.mapKeys(fd, serviceKeySize(f)).flatMap((k) => {
        const v = addon.mapLookup(fd, k, SERVICE_VALUE_SIZE);
        if (!v) return [];
        const value = decodeServiceValue(v);
        const ring = decodeRing(addon.arrayRead(fds.ring, ringOffset(value.id, value.ringGen), RING_SIZE, 4));
        return [{ key: decodeServiceKey(k, f), value, ring }];
      });
    });
    return { config, backends, services };
  }

  /**
   * The backend slots in use, by id, of both families (one array read each; the GC pass asks for these alone,
   * not the rings). An id is in use in one of plb_backends and plb_backends6 at most (execute frees the other).
   */
  readBackends(): Map<number, BackendValue> {
    const backends = new Map<number, BackendValue>();
    for (const f of [4, 6] as const) {
      const size = backendValueSize(f);
      const all = this.addon.arrayRead(this.backendsFd(f), 0, MAX_BACKENDS, size);
      for (let id = 1; id < MAX_BACKENDS; id++) {
        const b = decodeBackend(all, id * size, f);
        if (b.state !== BACKEND_FREE) backends.set(id, b);
      }
    }
    return backends;
  }

  private servicesFd(f: Family): number {
    return f === 4 ? this.fds.services : this.fds.services6;
  }

  private backendsFd(f: Family): number {
    return f === 4 ? this.fds.backends : this.fds.backends6;
  }

  /** Writes a backend slot into its family's map, and frees the slot in the other one (an id changing family). */
  private writeBackend(id: number, value: BackendValue): void {
    const f = familyOf(value.ip);
    const other: Family = f === 4 ? 6 : 4;
    this.addon.mapUpdate(this.backendsFd(f), u32Key(id), encodeBackend(value), BPF_ANY);
    this.addon.mapUpdate(this.backendsFd(other), u32Key(id), encodeBackend({ ip: '', state: BACKEND_FREE }, other), BPF_ANY);
  }

  execute(plan: Plan): void {
    const { addon, fds } = this;
    if (plan.config) addon.mapUpdate(fds.config, u32Key(0), encodeConfig(plan.config), BPF_ANY);
    for (const id of plan.resetBackendStats) {
      addon.mapUpdate(fds.backendStats, u32Key(id), this.zeros(BACKEND_STATS_FIELDS.length), BPF_ANY);
    }
    for (const id of plan.resetServiceStats) {
      addon.mapUpdate(fds.serviceStats, u32Key(id), this.zeros(SERVICE_STATS_FIELDS.length), BPF_ANY);
    }
    for (const { id, value } of plan.activate) this.writeBackend(id, value);
    for (const r of plan.rings) addon.arrayWrite(fds.ring, ringOffset(r.serviceId, r.gen), encodeRing(r.table), 4);
    // Replacing the service value is the atomic flip to the ring generation written just above.
    for (const s of plan.services) {
      addon.mapUpdate(this.servicesFd(familyOf(s.key.vip)), encodeServiceKey(s.key), encodeServiceValue(s.value), BPF_ANY);
    }
    for (const { id, value } of plan.drain) this.writeBackend(id, value);
    for (const k of plan.deleteServices) addon.mapDelete(this.servicesFd(familyOf(k.vip)), encodeServiceKey(k));
  }

  serviceStats(id: number) {
    const buf = this.addon.mapLookup(this.fds.serviceStats, u32Key(id), this.perCpuSize(SERVICE_STATS_FIELDS.length));
    return sumPerCpu(buf ?? this.zeros(SERVICE_STATS_FIELDS.length), SERVICE_STATS_FIELDS, this.cpus);
  }

  backendStats(id: number) {
    const buf = this.addon.mapLookup(this.fds.backendStats, u32Key(id), this.perCpuSize(BACKEND_STATS_FIELDS.length));
    return sumPerCpu(buf ?? this.zeros(BACKEND_STATS_FIELDS.length), BACKEND_STATS_FIELDS, this.cpus);
  }

  globalStats() {
    const buf = this.addon.mapLookup(this.fds.globalStats, u32Key(0), this.perCpuSize(GLOBAL_STATS_FIELDS.length));
    return sumPerCpu(buf ?? this.zeros(GLOBAL_STATS_FIELDS.length), GLOBAL_STATS_FIELDS, this.cpus);
  }

  /** The fd of the IPv4 flow table, for the garbage collector (flow-gc.ts). */
  get flowsFd(): number {
    return this.fds.flows;
  }

  /** Both flow tables with their layouts, for the garbage collector. */
  flowTables(): Array<{ fd: number; layout: FlowLayout }> {
    return [{ fd: this.fds.flows, layout: FLOW_LAYOUTS[4] }, { fd: this.fds.flows6, layout: FLOW_LAYOUTS[6] }];
  }

  /** Kernel memory of a family's flow table: the map's memlock as the kernel accounts it (fdinfo). */
  flowMemoryBytes(f: Family = 4): number {
    return this.fdinfo('memlock', f === 4 ? this.fds.flows : this.fds.flows6);
  }

  /** A family's flow table's size in entries. */
  flowCapacity(f: Family = 4): number {
    return this.fdinfo('max_entries', f === 4 ? this.fds.flows : this.fds.flows6);
  }

  private fdinfo(field: string, fd: number): number {
    const m = new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }

  private perCpuSize(fields: number): number {
    return fields * 8 * this.cpus;
  }

  private zeros(fields: number): Buffer {
    return Buffer.alloc(this.perCpuSize(fields));
  }
}
