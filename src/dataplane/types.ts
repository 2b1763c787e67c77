// The contract between whoever decides what to balance (the standalone agent's file, later the Kubernetes
// source) and the data planes that program a kernel. Data planes see only DesiredState values.

export type L4Protocol = 'TCP' | 'UDP';
export type DataPlaneName = 'xdp' | 'ipvs' | 'nftables';
/** What the user asked for; `auto` = TC on veth, native XDP on devices whose driver supports it. */
export type AttachRequest = 'auto' | 'tc' | 'native' | 'generic';
/** Where the xdp data plane's program runs. */
export type XdpHook = 'tc' | 'native' | 'generic';
/** Where a data plane runs: the xdp plane's hooks, or netfilter for the nftables and ipvs planes. */
export type AttachPoint = XdpHook | 'netfilter';

export interface DesiredPort {
  name?: string;
  port: number;
  targetPort: number;
  protocol: L4Protocol;
}

export interface DesiredBackend {
  ip: string;
  /** Relative share of new connections, 1..100. */
  weight: number;
}

/** How a backend is chosen for a new connection (the CRD's spec.scheduler, defaulted per data plane). */
export type Scheduler = 'maglev' | 'roundRobin' | 'sourceHash' | 'leastConnection';

export interface DesiredState {
  vip: string;
  ports: DesiredPort[];
  backends: DesiredBackend[];
  scheduler: Scheduler;
  attach: AttachRequest;
  /** The device traffic for the VIP arrives on (a pod's eth0). */
  interface: string;
  /** Source address for the backend side of each flow: the LB's own routable address (the pod IP). */
  snatIp: string;
  /**
   * Largest TCP MSS a SYN or SYN-ACK through the LB may announce (the overlay MTU minus the IP and TCP headers:
   * 40 bytes for an IPv4 VIP, 60 for IPv6); undefined: leave MSS options alone. Larger values are lowered, smaller ones kept.
   */
  tcpMssClamp?: number;
  /** The xdp data plane's flow table: size and idle timeouts (spec.xdp); undefined: the defaults. */
  flows?: FlowSettings;
  /**
   * spec.drainSeconds: how long established flows to a removed backend keep running before the data plane drops
   * them (xdp); undefined: the API's default (10 s).
   */
  drainSeconds?: number;
}

export interface FlowSettings {
  /** Concurrent flows the table holds (two entries each); takes effect when the agent loads its maps. */
  maxFlows?: number;
  tcpEstablishedSeconds?: number;
  tcpSynSeconds?: number;
  tcpClosingSeconds?: number;
  udpSeconds?: number;
}

export interface BackendObservation {
  ip: string;
  state: 'active' | 'draining';
  packets: number;
  bytes: number;
  replyPackets: number;
  replyBytes: number;
  newFlows: number;
  /** xdp: new flows to this backend dropped because no SNAT port towards it was free. */
  snatExhausted?: number;
}

export interface ServiceObservation {
  vip: string;
  port: number;
  protocol: L4Protocol;
  targetPort: number;
  packets: number;
  bytes: number;
  replyPackets: number;
  replyBytes: number;
  newFlows: number;
  noBackend: number;
  snatExhausted: number;
  fibFailures: number;
  /** xdp: open TCP flows (not closing) as the last flow garbage-collection pass counted them. */
  openFlows?: number;
}

export interface DataPlaneObservation {
  dataPlane: DataPlaneName;
  /** null while nothing is attached. */
  attach: AttachPoint | null;
  interface: string | null;
  /** Things a user should know and can act on (e.g. "native XDP on a veth needs the host-side peer to ..."). */
  warnings: string[];
  services: ServiceObservation[];
  backends: BackendObservation[];
  /** Data-plane wide counters, by name (e.g. passed, fragments, noNeighbour). */
  global: Record<string, number>;
  /** xdp: the flow table as its last garbage-collection pass saw it. */
  flows?: FlowTableObservation;
}

export interface FlowTableObservation {
  /** Entries in use (two per flow) and the table's size in entries. */
  entries: number;
  capacity: number;
  /** The table's kernel memory (memlock of the map), bytes. */
  memoryBytes: number;
  /** Entries removed by expiry since the agent started, and the last pass's duration. */
  expiredTotal: number;
  lastGcSeconds: number;
}

export interface ApplyResult {
  /** Whether anything in the kernel changed: a second apply of the same state returns false. */
  changed: boolean;
  attach: AttachPoint;
  warnings: string[];
}

export interface DataPlane {
  readonly name: DataPlaneName;
  /** Converge the kernel to `desired`: diff against what is programmed, change only that. Idempotent. */
  apply(desired: DesiredState): Promise<ApplyResult>;
  observe(): Promise<DataPlaneObservation>;
  /**
   * Release this process's handles. With `detach: false` (the default) programs and pinned maps stay in the
   * kernel so traffic keeps flowing and a restarted agent adopts them; `detach: true` removes the program from
   * the device (the maps stay pinned until `purge`).
   */
  close(options?: { detach?: boolean; purge?: boolean }): Promise<void>;
}
