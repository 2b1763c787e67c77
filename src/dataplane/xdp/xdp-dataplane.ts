// The xdp data plane: loads the BPF object for the chosen hook (maps pinned, so state is shared with earlier
// runs), converges the maps to the desired state and keeps the program attached to the interface.
import { rm } from 'node:fs/promises';
import type {
  ApplyResult, XdpHook, DataPlane, DataPlaneObservation, DesiredState,
} from '../types.js';
import { ipFamily } from '../../api/defaults.js';
import { IPV6_NOT_ON_XDP } from '../ipv6.js';
import { loadAddon, bpfObjectPath, type BpfAddon, type LoadedObject } from './addon.js';
import { chooseAttach, stalledHookWarnings } from './attach-mode.js';
import { deviceFacts, enableForwarding, ensureBpffs } from './device.js';
import { BACKEND_ACTIVE } from './layout.js';
import { PinnedMaps, mapFdsOf } from './maps.js';
import { isEmptyPlan, planApply } from './plan.js';

export interface XdpDataPlaneOptions {
  /** bpffs directory for this load balancer's maps, e.g. /sys/fs/bpf/portable-lb/<namespace>-<name>. */
  pinDir: string;
  log?: (message: string) => void;
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

  constructor(private readonly options: XdpDataPlaneOptions) {
    this.addon = loadAddon();
  }

  async apply(desired: DesiredState): Promise<ApplyResult> {
    if (ipFamily(desired.vip) === 6) throw new Error(IPV6_NOT_ON_XDP);
    if (await ensureBpffs(this.options.pinDir)) {
      this.bpffsWarning = `no bpf filesystem was mounted above ${this.options.pinDir}; mounted a private one, so ` +
        'flows will not survive a restart of this container (mount the host /sys/fs/bpf into the pod)';
    }
    const device = await deviceFacts(desired.interface);
    const choice = chooseAttach(desired.attach, device);
    let changed = await enableForwarding(desired.interface);
    const maps = this.pinnedMaps();
    const plan = planApply(maps.readProgrammed(), desired);
    if (!isEmptyPlan(plan)) {
      maps.execute(plan);
      changed = true;
    }
    const attachWarnings: string[] = [];
    const attached = this.attach(desired.interface, choice.candidates, attachWarnings);
    changed = attached.changed || changed;
    this.warnings = [...choice.warnings, ...attachWarnings, ...(this.bpffsWarning ? [this.bpffsWarning] : [])];
    for (const w of this.warnings) this.log(`warning: ${w}`);
    return { changed, attach: attached.point, warnings: this.warnings };
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
    }));
    obs.backends = [...state.backends].map(([id, b]) => ({
      ip: b.ip, state: b.state === BACKEND_ACTIVE ? 'active' as const : 'draining' as const,
      ...this.maps!.backendStats(id),
    }));
    obs.global = { ...this.maps.globalStats() };
    obs.warnings.push(...stalledHookWarnings(this.attachment?.point ?? null, obs.interface, obs.services));
    return obs;
  }

  async close(options: { detach?: boolean; purge?: boolean } = {}): Promise<void> {
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

  private object(hook: Hook): LoadedObject {
    let obj = this.objects.get(hook);
    if (!obj) {
      obj = this.addon.openObject(bpfObjectPath(hook), this.options.pinDir);
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
