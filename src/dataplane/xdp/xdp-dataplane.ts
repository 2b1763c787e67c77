// The xdp data plane: loads the BPF object for the chosen hook (maps pinned, so state is shared with earlier
// runs), converges the maps to the desired state and keeps the program attached to the interface.
import { rm } from 'node:fs/promises';
import type {
  ApplyResult, XdpHook, DataPlane, DataPlaneObservation, DesiredState, FlowSettings,
} from '../types.js';
import { ipFamily } from '../../api/defaults.js';
import { canonicalAddresses } from '../ipv6.js';
import { loadAddon, bpfObjectPath, type BpfAddon, type LoadedObject } from './addon.js';
import { chooseAttach, stalledHookWarnings } from './attach-mode.js';
import { deviceFacts, enableForwarding, ensureBpffs, interfaceMac, localPortRange } from './device.js';
import {
  DEFAULT_FLOW_TIMEOUTS, collectFlows, drainedBackends, flowTimeoutsOf, mergeGc, monotonicSeconds, snatWarnings, type FlowTimeouts, type GcResult,
} from './flow-gc.js';
import {
  BACKEND_ACTIVE, BACKEND_DRAINING, COMPILED_FLOW_ENTRIES, IDLE_FAMILY_FLOWS, MAP_NAMES, flowTableEntries, type Family,
} from './layout.js';
import { DEFAULT_DRAIN_SECONDS } from '../../api/defaults.js';
import { PinnedMaps, mapFdsOf } from './maps.js';
import { isEmptyPlan, planApply, snatPortCount, snatPorts } from './plan.js';

/** Concurrent flows by default: the table size compiled into the object (two entries per flow). */
export const DEFAULT_MAX_FLOWS = COMPILED_FLOW_ENTRIES / 2;
/** How often expired flows are removed: a flow lives at most its timeout plus this. */
export const FLOW_GC_INTERVAL_MS = 10_000;


export interface XdpDataPlaneOptions {
  /** bpffs directory for this load balancer's maps, e.g. /sys/fs/bpf/portable-lb/<namespace>-<name>. */
  pinDir: string;
  log?: (message: string) => void;
  /** Period of the flow garbage collection; 0 turns the timer off (gc() can still be called). */
  gcIntervalMs?: number;
}

interface Attachment {
  point: XdpHook;
  interface: string;
  ifindex: number;
}

type Hook = 'tc' | 'xdp';
const hookOf = (p: XdpHook): Hook => (p === 'tc' ? 'tc' : 'xdp');

export class XdpDataPlane implements DataPlane {
  readonly name = 'xdp' as const;
  private readonly addon: BpfAddon;
  private readonly objects = new Map<Hook, LoadedObject>();
  private maps: PinnedMaps | null = null;
  private attachment: Attachment | null = null;
  private warnings: string[] = [];
  private bpffsWarning: string | null = null;
  /** Flow table size the maps were loaded with, and what the last apply asked for. */
  private loadedMaxFlows: number | null = null;
  private desiredMaxFlows = DEFAULT_MAX_FLOWS;
  /** The VIP's family when the maps were loaded (its flow table gets maxFlows, the other one a small size), and now. */
  private loadedFamily: Family | null = null;
  private desiredFamily: Family = 4;
  private timeouts: FlowTimeouts = DEFAULT_FLOW_TIMEOUTS;
  private snatPortTotal = 0;
  private gcTimer: NodeJS.Timeout | null = null;
  private gcRunning: Promise<GcResult> | null = null;
  private lastGc: GcResult | null = null;
  private expiredTotal = 0;
  private gcWarnings: string[] = [];
  private exhaustedSeen = new Map<number, number>();
  /** Since when (monotonic seconds) each draining backend id has been seen draining by this agent. */
  private drainingSince = new Map<number, number>();
  private drainSeconds = DEFAULT_DRAIN_SECONDS;

  constructor(private readonly options: XdpDataPlaneOptions) {
    this.addon = loadAddon();
  }

  async apply(wanted: DesiredState): Promise<ApplyResult> {
    // Backends are keyed by their text, and IPv6 addresses come back from the maps in RFC 5952 form.
    const desired = canonicalAddresses(wanted);
    this.desiredFamily = ipFamily(desired.vip);
    if (await ensureBpffs(this.options.pinDir)) {
      this.bpffsWarning = `no bpf filesystem was mounted above ${this.options.pinDir}; mounted a private one, so ` +
        'flows will not survive a restart of this container (mount the host /sys/fs/bpf into the pod)';
    }
    const device = await deviceFacts(desired.interface);
    const choice = chooseAttach(desired.attach, device);
    let changed = await enableForwarding(desired.interface, this.desiredFamily);
    this.desiredMaxFlows = desired.flows?.maxFlows ?? DEFAULT_MAX_FLOWS;
    this.timeouts = flowTimeoutsOf(desired.flows);
    this.drainSeconds = desired.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
    const maps = this.pinnedMaps();
    const ownPorts = await localPortRange();
    const plan = planApply(maps.readProgrammed(), desired, ownPorts, await interfaceMac(desired.interface));
    this.snatPortTotal = snatPortCount(snatPorts(ownPorts));
    if (!isEmptyPlan(plan)) {
      maps.execute(plan);
      changed = true;
    }
    this.noteDraining(maps.readBackends());
    const attachWarnings: string[] = [];
    const attached = this.attach(desired.interface, choice.candidates, attachWarnings);
    changed = attached.changed || changed;
    const resize = this.loadedMaxFlows !== this.desiredMaxFlows
      ? [`maxFlows ${this.desiredMaxFlows} takes effect when the agent restarts (the flow table holds ${this.loadedMaxFlows})`] : [];
    if (this.loadedFamily !== this.desiredFamily) {
      resize.push(`the IPv${this.desiredFamily} flow table holds ${IDLE_FAMILY_FLOWS} flows until the agent restarts ` +
        `(it was sized for an IPv${this.loadedFamily} VIP)`);
    }
    this.warnings = [...choice.warnings, ...attachWarnings, ...(this.bpffsWarning ? [this.bpffsWarning] : []), ...resize];
    for (const w of this.warnings) this.log(`warning: ${w}`);
    this.startGc();
    return { changed, attach: attached.point, warnings: [...this.warnings, ...this.gcWarnings] };
  }

  /**
   * One garbage-collection pass over the flow table: expired flows go (both entries), SNAT pressure becomes a
   * warning. Runs on a timer after the first apply; never two at once.
   */
  async gc(now?: number): Promise<GcResult | null> {
    if (!this.maps) return null;
    if (this.gcRunning) return this.gcRunning;
    const maps = this.maps;
    const at = now ?? monotonicSeconds();
    const backends = maps.readBackends();
    this.noteDraining(backends, at);
    const drained = drainedBackends(this.drainingSince, at, this.drainSeconds);
    this.gcRunning = (async () => {
      const [v4, v6] = maps.flowTables();
      const a = await collectFlows(this.addon, v4!.fd, this.timeouts, { now: at, drained, layout: v4!.layout });
      return mergeGc(a, await collectFlows(this.addon, v6!.fd, this.timeouts, { now: at, drained, layout: v6!.layout }));
    })();
    try {
      const r = await this.gcRunning;
      this.lastGc = r;
      this.expiredTotal += r.deleted;
      const exhaustedSince = new Map<number, number>();
      for (const id of backends.keys()) {
        const total = maps.backendStats(id).snatExhausted;
        exhaustedSince.set(id, total - (this.exhaustedSeen.get(id) ?? total));
        this.exhaustedSeen.set(id, total);
      }
      const ipOf = (id: number) => backends.get(id)?.ip;
      const before = this.gcWarnings.join('\n');
      this.gcWarnings = snatWarnings(r.snatInUse, this.snatPortTotal, ipOf, exhaustedSince);
      if (this.gcWarnings.join('\n') !== before) for (const w of this.gcWarnings) this.log(`warning: ${w}`);
      return r;
    } finally {
      this.gcRunning = null;
    }
  }

  /**
   * Starts the drainSeconds clock of backends that became draining (the clock starts when this agent first sees
   * them: after a restart, again). A backend that is active again, or whose id is free or reused, leaves it.
   */
  private noteDraining(backends: ReadonlyMap<number, { state: number }>, now = monotonicSeconds()): void {
    const draining = new Set([...backends].filter(([, b]) => b.state === BACKEND_DRAINING).map(([id]) => id));
    for (const id of this.drainingSince.keys()) if (!draining.has(id)) this.drainingSince.delete(id);
    for (const id of draining) if (!this.drainingSince.has(id)) this.drainingSince.set(id, now);
  }

  private startGc(): void {
    const every = this.options.gcIntervalMs ?? FLOW_GC_INTERVAL_MS;
    if (this.gcTimer || every <= 0) return;
    this.gcTimer = setInterval(() => {
      this.gc().catch((err: Error) => this.log(`flow garbage collection failed: ${err.message}`));
    }, every);
    this.gcTimer.unref();
  }

  async observe(): Promise<DataPlaneObservation> {
    const obs: DataPlaneObservation = {
      dataPlane: 'xdp', attach: this.attachment?.point ?? null, interface: this.attachment?.interface ?? null,
      warnings: [...this.warnings], services: [], backends: [], global: {},
    };
    if (!this.maps) return obs;
    const state = this.maps.readProgrammed();
    obs.services = state.services.map((s) => ({
      vip: s.key.vip, port: s.key.port, protocol: s.key.protocol, targetPort: s.value.targetPort,
      ...this.maps!.serviceStats(s.value.id),
      ...(s.key.protocol === 'TCP' ? { openFlows: this.lastGc?.openTcp.get(s.value.id) ?? 0 } : {}),
    }));
    obs.backends = [...state.backends].map(([id, b]) => ({
      ip: b.ip, state: b.state === BACKEND_ACTIVE ? 'active' as const : 'draining' as const,
      ...this.maps!.backendStats(id),
    }));
    obs.global = { ...this.maps.globalStats() };
    obs.warnings.push(...this.gcWarnings);
    obs.flows = {
      entries: this.lastGc?.entries ?? 0, capacity: this.maps.flowCapacity(this.desiredFamily),
      memoryBytes: this.maps.flowMemoryBytes(this.desiredFamily),
      expiredTotal: this.expiredTotal, lastGcSeconds: this.lastGc?.seconds ?? 0,
    };
    obs.warnings.push(...stalledHookWarnings(this.attachment?.point ?? null, obs.interface, obs.services));
    return obs;
  }

  async close(options: { detach?: boolean; purge?: boolean } = {}): Promise<void> {
    if (this.gcTimer) clearInterval(this.gcTimer);
    this.gcTimer = null;
    await this.gcRunning?.catch(() => undefined);
    if ((options.detach || options.purge) && this.attachment) this.detach(this.attachment);
    for (const obj of this.objects.values()) this.addon.closeObject(obj.handle);
    this.objects.clear();
    this.maps = null;
    if (options.purge) await rm(this.options.pinDir, { recursive: true, force: true });
  }

  private pinnedMaps(): PinnedMaps {
    if (!this.maps) this.maps = new PinnedMaps(this.addon, mapFdsOf(this.object('tc').maps));
    return this.maps;
  }

  /**
   * The map sizes this data plane's objects are opened with (the flow tables'): whatever else opens an object on
   * the same pin directory (another hook's build, a test's program) must ask for the same, or libbpf's pinned-map
   * check fails and the maps are replaced under the running program.
   */
  mapSizes(): Record<string, number> {
    const maxFlows = this.loadedMaxFlows ?? this.desiredMaxFlows;
    const family = this.loadedFamily ?? this.desiredFamily;
    const cpus = this.addon.possibleCpus();
    return {
      [MAP_NAMES.flows]: flowTableEntries(family === 4 ? maxFlows : IDLE_FAMILY_FLOWS, cpus),
      [MAP_NAMES.flows6]: flowTableEntries(family === 6 ? maxFlows : IDLE_FAMILY_FLOWS, cpus),
    };
  }

  private object(hook: Hook): LoadedObject {
    let obj = this.objects.get(hook);
    if (!obj) {
      // Both hooks' objects share the pinned maps, so they must ask for the same size: the one loaded first.
      obj = this.addon.openObject(bpfObjectPath(hook), this.options.pinDir, this.mapSizes());
      this.loadedMaxFlows = this.loadedMaxFlows ?? this.desiredMaxFlows;
      this.loadedFamily = this.loadedFamily ?? this.desiredFamily;
      if (obj.replacedPins.length > 0) {
        this.log(`warning: pinned maps ${obj.replacedPins.join(', ')} had another size or layout (maxFlows changed, or ` +
          'an upgrade): created anew, their flows and counters are gone');
      }
      this.objects.set(hook, obj);
    }
    return obj;
  }

  /** Attaches (or atomically replaces) our program; moves it when the hook or interface changed. */
  private attach(iface: string, candidates: XdpHook[], warnings: string[]): { point: XdpHook; changed: boolean } {
    const ifindex = this.addon.ifIndex(iface);
    const errors: string[] = [];
    for (const point of candidates) {
      const prog = this.object(hookOf(point));
      const progId = this.addon.programId(prog.programFd);
      const same = this.attachment?.point === point && this.attachment.ifindex === ifindex;
      if (same && this.attachedProgramId(point, ifindex) === progId) return { point, changed: false };
      try {
        if (point === 'tc') this.addon.tcAttach(ifindex, prog.programFd);
        else this.addon.xdpAttach(ifindex, prog.programFd, point);
      } catch (err) {
        errors.push(`${point}: ${(err as Error).message}`);
        continue;
      }
      const previous = this.attachment;
      this.attachment = { point, interface: iface, ifindex };
      if (previous && (previous.point !== point || previous.ifindex !== ifindex)) this.detach(previous);
      if (errors.length > 0) warnings.push(`fell back to ${point} on ${iface} (${errors.join('; ')})`);
      this.log(`program ${prog.programName} (id ${progId}) attached to ${iface} at ${point}`);
      return { point, changed: true };
    }
    throw new Error(`cannot attach to ${iface}: ${errors.join('; ')}`);
  }

  private attachedProgramId(point: XdpHook, ifindex: number): number {
    if (point === 'tc') return this.addon.tcQuery(ifindex);
    const q = this.addon.xdpQuery(ifindex);
    return point === 'native' ? q.nativeProgramId : q.genericProgramId;
  }

  private detach(a: Attachment): void {
    if (a.point === 'tc') this.addon.tcDetach(a.ifindex);
    else this.addon.xdpDetach(a.ifindex, a.point);
    this.log(`program detached from ${a.interface} (${a.point})`);
    if (this.attachment === a) this.attachment = null;
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}
