// Reading and writing the pinned maps through the addon: adopting what is programmed, executing a Plan,
// reading counters. Layout knowledge stays in layout.ts, decisions in plan.ts.
import { readFileSync } from 'node:fs';
import type { BpfAddon } from './addon.js';
import {
  BACKEND_FREE, BACKEND_STATS_FIELDS, BACKEND_VALUE_SIZE, CONFIG_VALUE_SIZE, GLOBAL_STATS_FIELDS, MAP_NAMES,
  MAX_BACKENDS, RING_SIZE, SERVICE_KEY_SIZE, SERVICE_STATS_FIELDS, SERVICE_VALUE_SIZE,
  decodeBackend, decodeConfig, decodeRing, decodeServiceKey, decodeServiceValue, encodeBackend, encodeConfig,
  encodeRing, encodeServiceKey, encodeServiceValue, ringOffset, sumPerCpu, u32Key,
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
    const config = configBuf && configBuf.readUInt32BE(0) !== 0 ? decodeConfig(configBuf) : null;
    const backends = this.readBackends();
    const services = addon.mapKeys(fds.services, SERVICE_KEY_SIZE).flatMap((k) => {
      const v = addon.mapLookup(fds.services, k, SERVICE_VALUE_SIZE);
      if (!v) return [];
      const value = decodeServiceValue(v);
      const ring = decodeRing(addon.arrayRead(fds.ring, ringOffset(value.id, value.ringGen), RING_SIZE, 4));
      return [{ key: decodeServiceKey(k), value, ring }];
    });
    return { config, backends, services };
  }

  /** The backend slots in use, by id (one array read; the GC pass asks for these alone, not the rings). */
  readBackends(): Map<number, ReturnType<typeof decodeBackend>> {
    const backends = new Map<number, ReturnType<typeof decodeBackend>>();
    const all = this.addon.arrayRead(this.fds.backends, 0, MAX_BACKENDS, BACKEND_VALUE_SIZE);
    for (let id = 1; id < MAX_BACKENDS; id++) {
      const b = decodeBackend(all, id * BACKEND_VALUE_SIZE);
      if (b.state !== BACKEND_FREE) backends.set(id, b);
    }
    return backends;
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
    for (const { id, value } of plan.activate) addon.mapUpdate(fds.backends, u32Key(id), encodeBackend(value), BPF_ANY);
    for (const r of plan.rings) addon.arrayWrite(fds.ring, ringOffset(r.serviceId, r.gen), encodeRing(r.table), 4);
    // Replacing the service value is the atomic flip to the ring generation written just above.
    for (const s of plan.services) {
      addon.mapUpdate(fds.services, encodeServiceKey(s.key), encodeServiceValue(s.value), BPF_ANY);
    }
    for (const { id, value } of plan.drain) addon.mapUpdate(fds.backends, u32Key(id), encodeBackend(value), BPF_ANY);
    for (const k of plan.deleteServices) addon.mapDelete(fds.services, encodeServiceKey(k));
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

  /** The fd of the flow table, for the garbage collector (flow-gc.ts). */
  get flowsFd(): number {
    return this.fds.flows;
  }

  /** Kernel memory of the flow table: the map's memlock as the kernel accounts it (fdinfo). */
  flowMemoryBytes(): number {
    const m = /^memlock:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${this.fds.flows}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }

  /** The flow table's size in entries. */
  flowCapacity(): number {
    const m = /^max_entries:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${this.fds.flows}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  }

  private perCpuSize(fields: number): number {
    return fields * 8 * this.cpus;
  }

  private zeros(fields: number): Buffer {
    return Buffer.alloc(this.perCpuSize(fields));
  }
}
