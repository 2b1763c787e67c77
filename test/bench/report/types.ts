// The shapes of docs/benchmarks/results.json and of what the measuring scripts hand over to the report.

/** One measurement pair from test/bench/dataplane/run.sh: baseline and configuration in one fresh topology. */
export interface Sample {
  config: string;
  test: string;
  rep: number;
  baseline: number;
  value: number;
  unit: string;
  errors: number;
  connectionsPerSecond?: number;
  seconds?: number;
  /** What side a (the denominator) was, in words; run.sh's default is the routed baseline. */
  against?: string;
  /** Empty for the data-plane comparison; `overlay` or `cpu-spreading` for the study's two axes. */
  axis?: string;
  overlay?: string;
  /** Segments per side (alternated in random order per round), their order, whether wrk/nginx were pinned, load average at start and end. */
  rounds?: number;
  order?: string;
  pinned?: boolean;
  load?: number[];
}

/** A pair that should have produced a number and did not. */
export interface Failure {
  config: string;
  test: string;
  rep: number;
  error: string;
}

/** A configuration (or test) this machine cannot run, with the reason. */
export interface Skip {
  config?: string;
  test?: string;
  reason: string;
}

export interface Result {
  test: string;
  config: string;
  /** Median over the pairs of value / baseline (each pair shares one topology and one moment of machine load). */
  median_ratio_to_baseline: number;
  min: number;
  max: number;
  runs: number;
  /** Median of the baselines' absolute rate, in `unit`. */
  baseline_abs: number;
  /** Median of the configuration's absolute rate, in `unit`. */
  value_abs: number;
  unit: string;
  /** Socket errors and non-2xx responses over all runs of the configuration. */
  errors: number;
  /** The denominator when it is not the routed baseline (the axes: RPS off, the host-gw overlay, ...). */
  against?: string;
  /** `overlay` or `cpu-spreading` for the study's axes; absent for the data-plane comparison. */
  axis?: string;
}

export interface Timing {
  /** Problem size: number of backends. */
  backends: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
}

export interface OperatorNumbers {
  plbs: number;
  /** Pods no PLB selects, in the cluster before the operator starts (absent in files written before it was measured). */
  unrelated_pods?: number;
  /** From the operator's start until every PLB had status.observedGeneration == its generation. */
  seconds: number;
  reconciles_per_second: number;
  rss_mib: number;
  peak_rss_mib: number;
  /** The operator's CPU time (user + system) over those seconds (absent in files written before it was measured). */
  cpu_seconds?: number;
  /** The NODE_OPTIONS it ran with, the chart's (absent in files written before the chart set any). */
  node_options?: string;
}

/** kube-controller-manager's Deployment controller working a backlog of Deployments (peer.ts). */
export interface PeerNumbers {
  deployments: number;
  /** From its start until every Deployment had status.observedGeneration == its generation and a ReplicaSet. */
  seconds: number;
  per_second: number;
  /** Its client's rate limit (kube-controller-manager --kube-api-qps / --kube-api-burst). */
  kube_api_qps: number;
  kube_api_burst: number;
  /** kube-controller-manager's RSS after convergence and its peak (VmHWM); absent in files written before they were measured. */
  rss_mib?: number;
  peak_rss_mib?: number;
  /** Its CPU time (user + system) over those seconds. */
  cpu_seconds?: number;
}

/** One PLB selecting `pods` ready pods, served by the cluster agent with one data plane (scale.ts). */
export interface ScaleNumbers {
  data_plane: string;
  /** What the agent watches for backends: `pods` (a label-selected pod watch) or `endpointslices`. */
  source: 'pods' | 'endpointslices';
  pods: number;
  /** Agent start to the first program of every backend (list + program from nothing). */
  resync_ms: number;
  /** One pod's status written (readiness flipped) to the agent's apply returning with the new backend set. */
  readiness_ms: { p50: number; p99: number; max: number; median: number; runs: number };
  /** The agent's RSS after the readiness flips, and its peak (VmHWM). */
  rss_mib: number;
  peak_rss_mib: number;
}

/** GC passes over one table state, repeated on a fresh fill each run: wall and CPU time (user + system) per pass. */
export interface FlowGcPass {
  /** Entries the pass deleted (the expired ones and their partners) and left, first run. */
  deleted: number;
  left: number;
  wall_s: number[];
  cpu_s: number[];
}

/** The xdp agent's flow garbage collection on the real flow map (flow-gc.ts, test/bench/control-plane/flow-gc.ts). */
export interface FlowGcNumbers {
  /** spec.xdp.maxFlows the table was sized with (plb_flows max_entries = 2 x maxFlows). */
  max_flows: number;
  capacity_entries: number;
  /** Flows written, a forward and a reverse entry each (the bench fills max_flows in both modes). */
  flows: number;
  /** Entries in the table after the fill: below 2 x flows when the LRU evicted some on the way. */
  entries_after_fill: number;
  fill_s: number[];
  /** The kernel's memory for the map, bytes, and where it was read. */
  memory_bytes: number;
  memory_source: string;
  /** Every flow last seen at L; a pass at L + 50 s (nothing expired) and at L + 100 s (the closed half expired). */
  none_expired: FlowGcPass;
  half_expired: FlowGcPass;
  /** The date of this measurement, when results.json was rebuilt around it from an earlier run's samples. */
  measured?: string;
}

export interface ControlPlaneResults {
  /** M, the Maglev table size the build times were taken with. */
  maglev_ring_size?: number;
  maglev_build: Timing[];
  /** Desired-state change -> programmed, xdp data plane (DataPlane.apply with N backends). */
  xdp_apply: Timing[];
  operator: OperatorNumbers | null;
  /** Backends at scale, per data plane (absent in files written before it was measured). */
  scale?: ScaleNumbers[];
  /** The operator's peer on the same API server in the same run: kube-controller-manager's Deployment controller. */
  peer?: PeerNumbers[];
  /** Flow GC pass time and flow table memory (absent in files written before it was measured). */
  flow_gc?: FlowGcNumbers;
  skipped: Skip[];
}

export interface ResultsFile {
  machine: string;
  date: string;
  /** How the data-plane numbers were taken (reps, seconds per run, mode). */
  method: {
    mode: 'full' | 'quick'; reps: number; seconds: number;
    /** Seconds per alternated segment, whether a discarded warm-up ran, whether wrk/nginx were pinned. */
    segment_seconds?: number; warmup?: boolean; pinned?: boolean;
  };
  results: Result[];
  skipped: Skip[];
  failures: Failure[];
  control_plane: ControlPlaneResults;
}
