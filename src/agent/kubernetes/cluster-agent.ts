// The agent inside an LB pod: watch its PLB and backend pods, build one DesiredState, apply it (at once, changes
// during a pass folded into one more: schedule.ts; plus a periodic repair pass), and report this pod's status.loadBalancers[] entry back. Kernel errors become the
// entry's reason and message (the operator turns them into conditions); they never end the process.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { PLB, agentFieldManager } from '../../api/constants.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import type { DataPlane } from '../../dataplane/types.js';
import type { LoadBalancerEntry } from '../../api/status.js';
import { apiClient } from '../../runtime/deadline.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, describeApiError } from '../../runtime/kube.js';
import type { Announcer } from '../bgp/announcer.js';
import type { AgentHealth } from '../metrics.js';
import { applyOverlayMtu } from '../overlay.js';
import { checkForwarding } from '../forwarding.js';
import { applySpreading } from '../spreading.js';
import { ipFamily } from '../../api/defaults.js';
import { clusterDesired, servedPlb, grantedVip } from './desired.js';
import { programmedVerdict, shouldWrite, statusEntry, type ReportInput } from './report.js';
import { onChange } from './schedule.js';
import { ClusterSource } from './source.js';

export interface ClusterAgentOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  plbName: string;
  pod: string;
  node: string;
  podIP: string;
  /** All of the pod's addresses (status.podIPs): a VIP is SNATed to the pod address of its own family. */
  podIPs?: readonly string[];
  /** The device VIP traffic arrives on, e.g. eth0. */
  interface: string;
  dataPlane: DataPlane;
  cpuCount: number;
  /** The BGP side (peers, announce decision, BIRD); absent in tests of the data-plane path alone. */
  announcer?: Announcer;
  log: (message: string) => void;
  repairMs?: number;
  /** Why the kernel does not forward the VIP's traffic, or undefined (forwarding.ts); injected by tests. */
  checkForwarding?: (plane: DataPlane['name'], vip: string) => Promise<string | undefined>;
}

/** An error a data plane throws when the node, not the user, must change something. */
interface ReasonedError extends Error {
  reason?: string;
}

export class ClusterAgent {
  readonly health: AgentHealth = { ready: false, applies: 0, applyErrors: 0 };
  lastError: string | null = null;
  /** The pod is shutting down: /readyz fails whatever the kernel holds. */
  draining = false;
  /** Set once the pod is being deleted: the entry is withdrawn and must not be written again. */
  #withdrawn = false;
  #source: ClusterSource | undefined;
  #written: LoadBalancerEntry | undefined;
  #spreadingKey: string | undefined;
  #spreadingNotes: string[] = [];
  /** Why the spec's cpuSpreading is not applied on this node (advisory: a Degraded reason, programming goes on). */
  #spreadingIgnored: string | undefined;
  #repair: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  #pending = false;
  #lastReport: ReportInput | undefined;
  /** A repair pass is due or running: its report is written even when unchanged (report.ts, shouldWrite). */
  #repairDue = false;
  /** When the sync in progress started (health checks judge a stall from it). */
  #syncStarted: number | undefined;
  #status: CustomObjectsApi | undefined;
  /** When the kernel last changed (the lab reports the latency from a backend change to here). */
  lastProgrammedMs = 0;
  /**
   * The newest generation whose spec.dataPlane is the one this pod runs. During a data-plane switch the old
   * pods keep serving but must not claim the new generation: the operator's rollout replaces them.
   */
  #matchedGeneration: number | undefined;
  /** That generation's spec: what this pod keeps serving while a switch to another data plane rolls out. */
  #matchedSpec: PortableLoadBalancer['spec'] | undefined;
  /**
   * Whether the kernel may hold a VIP: after a programming pass, and at start (a restarted container finds the
   * state of the previous one). Losing the VIP (a conflict, a release) then removes it from the kernel.
   */
  #kernelMayHoldVip = true;

  constructor(private readonly o: ClusterAgentOptions) {}

  syncRunningMs(): number {
    return this.#syncStarted === undefined ? 0 : Date.now() - this.#syncStarted;
  }

  start(): void {
    this.#source = new ClusterSource(
      this.o.kubeConfig,
      this.o.namespace,
      this.o.plbName,
      () => this.#schedule(),
      (what, event, error) => {
        if (event === 'error') this.o.log(`watch of ${what} failed, restarting: ${describeApiError(error)}`);
      },
    );
    // Every repair pass also re-asserts the status entry (report.ts, shouldWrite): the operator's heartbeat.
    this.#repair = setInterval(() => {
      this.#repairDue = true;
      void this.sync();
    }, this.o.repairMs ?? 30_000);
  }

  #schedule(): void {
    const action = onChange({ synced: this.#source?.synced ?? false, running: this.#running !== null });
    if (action === 'wait-for-sync') return;
    // fold-into-next: sync() marks the running pass to be followed by one more
    void this.sync();
  }

  /** One sync at a time; calls during a sync fold into one follow-up. */
  sync(): Promise<void> {
    if (this.#running) {
      this.#pending = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#pending = false;
        this.#syncStarted = Date.now();
        await this.#syncOnce();
      } while (this.#pending);
    })().finally(() => {
      this.#syncStarted = undefined;
      this.#running = null;
    });
    return this.#running;
  }

  async #syncOnce(): Promise<void> {
    const plb = this.#source?.plb();
    if (!plb || !this.#source?.synced) return;
    const repair = this.#repairDue;
    this.#repairDue = false;
    this.health.applies++;
    if ((plb.spec.dataPlane ?? 'xdp') === this.o.dataPlane.name) {
      this.#matchedGeneration = plb.metadata?.generation;
      this.#matchedSpec = plb.spec;
    }
    const served = servedPlb(plb, this.o.dataPlane.name, this.#matchedSpec);
    const generation = this.#matchedGeneration;
    const report: ReportInput = { pod: this.o.pod, node: this.o.node, podIP: this.o.podIP, attach: undefined, generation, backends: 0, ready: false };
    const vip = grantedVip(plb);
    if (!vip) {
      await this.#standDown(report, repair);
      return;
    }
    try {
      const snatIp = [this.o.podIP, ...(this.o.podIPs ?? [])].find((ip) => ip && ipFamily(ip) === ipFamily(vip));
      if (!snatIp) throw Object.assign(new Error(`this pod has no IPv${ipFamily(vip)} address for the VIP ${vip} (pod IPs: ${[this.o.podIP, ...(this.o.podIPs ?? [])].join(', ')})`), { reason: 'NoPodAddress' });
      const notes: string[] = [];
      const mtu = await applyOverlayMtu(plb.spec.overlay, this.o.interface);
      if (mtu.problem) notes.push(mtu.problem);
      // Spreading is written when its spec changes, not on every repair pass.
      const key = JSON.stringify(plb.spec.cpuSpreading ?? null);
      if (key !== this.#spreadingKey) {
        const s = await applySpreading(plb.spec.cpuSpreading, this.o.interface, this.o.cpuCount);
        this.#spreadingNotes = [...s.failed.map((f) => `CPU spreading: ${f}`), ...s.notes];
        this.#spreadingIgnored = s.ignored;
        this.#spreadingKey = key;
        if (s.ignored) this.o.log(`warning: ${s.ignored}`);
        if (s.applied > 0) this.o.log(`CPU spreading: ${s.applied} sysfs value(s) set and read back`);
      }
      const desired = clusterDesired({ plb: served, vip, pods: this.#source.pods(), interface: this.o.interface, snatIp });
      const result = await this.o.dataPlane.apply(desired.state);
      this.#kernelMayHoldVip = true;
      report.vip = vip;
      if (result.changed) {
        this.lastProgrammedMs = Date.now();
        this.o.log(`programmed generation ${generation}: ${desired.state.backends.length} backend(s) via ${result.attach}`);
      }
      // Read back after the apply wrote it: the data planes only warn about a sysctl they could not set.
      const forwarding = await (this.o.checkForwarding ?? checkForwarding)(this.o.dataPlane.name, vip);
      const verdict = programmedVerdict({
        warnings: result.warnings, backendProblems: desired.problems, notes, forwarding,
        spreadingIgnored: this.#spreadingIgnored, spreadingNotes: this.#spreadingNotes,
      });
      // status.loadBalancers[].attach: the hook for xdp, the data plane's name for the netfilter-based ones.
      const attach = this.o.dataPlane.name === 'xdp' ? result.attach : this.o.dataPlane.name;
      Object.assign(report, { attach, backends: desired.state.backends.length, ...verdict });
      this.health.ready = verdict.ready;
      this.lastError = verdict.ready ? null : verdict.message ?? null;
      if (!verdict.ready) {
        this.health.applyErrors++;
        this.o.log(`not ready: ${verdict.message}`);
      }
    } catch (error) {
      const e = error as ReasonedError;
      this.health.applyErrors++;
      this.health.ready = false;
      this.lastError = e.message;
      Object.assign(report, { ready: false, reason: e.reason ?? 'ProgrammingFailed', message: e.message });
      this.o.log(`apply failed: ${e.message}`);
    }
    await this.#announce(vip, report, generation);
    await this.#report(report, repair);
  }

  /**
   * No VIP is held (another load balancer holds the requested one, it is outside every pool, or none is free):
   * program nothing, and take away what an earlier grant programmed, so two load balancers never serve one VIP.
   */
  async #standDown(report: ReportInput, repair: boolean): Promise<void> {
    this.health.ready = false;
    if (this.#kernelMayHoldVip) {
      try {
        await this.o.dataPlane.close({ detach: true, purge: true });
        this.o.log('no VIP held: removed what the data plane had programmed');
        this.#kernelMayHoldVip = false;
      } catch (error) {
        this.o.log(`removing the programmed state failed (retried on the next pass): ${(error as Error).message}`);
      }
    }
    this.lastError = 'no VIP held';
    Object.assign(report, {
      ready: false,
      reason: 'VIPNotAssigned',
      message: 'this load balancer holds no VIP (status.vip is empty; its VIPAssigned condition says why): programming nothing',
    });
    // Nothing to announce either: the VIP goes from every router (announce.ts: programming failed).
    await this.o.announcer?.standDown().catch((error: Error) => this.o.log(`bgp: ${error.message}`));
    if (this.o.announcer) report.sessions = this.o.announcer.sessions;
    await this.#report(report, repair);
  }


  /** Announce only what is true: asked after every apply (announce.ts); the sessions go into the entry. */
  async #announce(vip: string, report: ReportInput, generation: number | undefined): Promise<void> {
    const a = this.o.announcer;
    if (!a) return;
    try {
      await a.decide({
        vip, draining: this.draining || this.#withdrawn, programmed: report.ready,
        heldGeneration: report.ready ? generation : undefined, wantedGeneration: generation, backends: report.backends,
      });
    } catch (error) {
      this.o.log(`bgp: ${(error as Error).message}`);
    }
    report.sessions = a.sessions;
  }

  /** A BGP session changed between syncs: report it with the last input. */
  reportSessions(): void {
    const last = this.#lastReport;
    if (!last || !this.o.announcer) return;
    void this.#report({ ...last, sessions: this.o.announcer.sessions });
  }

  async #report(input: ReportInput, repair = false): Promise<void> {
    this.#lastReport = input;
    const entry = statusEntry(input, new Date());
    if (!shouldWrite({ written: this.#written, next: entry, repair, withdrawn: this.#withdrawn })) return;
    try {
      await this.#applyEntries([entry]);
      this.#written = entry;
    } catch (error) {
      // Reported again on the next sync or repair pass (nothing is known written: the next one writes).
      this.#written = undefined;
      this.o.log(`status report failed: ${describeApiError(error)}`);
    }
  }

  /**
   * The pod is being deleted: stop reporting and remove this pod's entry (applying none under its own field
   * manager removes the one it owned), so routers withdraw the pod while it still forwards. The data plane keeps
   * following backend changes until stop(). The operator drops the entry of a deleted pod as well.
   */
  async withdraw(): Promise<void> {
    this.#withdrawn = true;
    // BGP first: the route goes in ~100 ms, while the status entry takes a round trip through the API server.
    const bgp = this.o.announcer?.withdraw().catch((error: Error) => this.o.log(`bgp: withdrawing failed: ${error.message}`));
    await this.#running;
    await bgp;
    try {
      await this.#applyEntries([]);
      this.o.log('withdrew this pod from status.loadBalancers');
    } catch (error) {
      this.o.log(`withdrawing the status entry failed (the operator removes it): ${describeApiError(error)}`);
    }
  }

  async #applyEntries(entries: LoadBalancerEntry[]): Promise<void> {
    this.#status ??= apiClient(this.o.kubeConfig, CustomObjectsApi, { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
    await this.#status.patchNamespacedCustomObjectStatus(
      {
        group: PLB.group,
        version: PLB.version,
        plural: PLB.plural,
        namespace: this.o.namespace,
        name: this.o.plbName,
        fieldManager: agentFieldManager(this.o.pod),
        force: true,
        body: {
          apiVersion: PLB.apiVersion,
          kind: PLB.kind,
          metadata: { name: this.o.plbName, namespace: this.o.namespace },
          status: { loadBalancers: entries },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.#repair);
    await this.#running;
    await this.#source?.stop();
    // BIRD's Cease withdraws the VIP from every router; the kernel keeps forwarding until close().
    await this.o.announcer?.stop();
  }
}
