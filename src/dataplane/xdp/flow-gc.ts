// Flow expiry for the xdp data plane. The BPF program stamps both entries of a flow with the second it last saw
// a packet of it and its TCP state (bpf/plb_nat.h: plb_touch); this module decides which flows are over and
// removes them, both entries together, in a pass over the table in batches (netfilter's conntrack and Cilium's CT
// map work the same way: timestamps in the data path, expiry by a sweeper). Without it entries only left when the
// LRU was full, and the SNAT tuples of closed flows were never free again (issue 13).
import type { FlowSettings } from '../types.js';
import type { BpfAddon } from './addon.js';
import {
  DIR_FORWARD, DIR_REVERSE, FLOW_CLOSING, FLOW_LAYOUTS, FLOW_SYN, partnerKey, type FlowLayout,
} from './layout.js';

/** Idle time after which a flow is forgotten, by protocol and state (seconds). */
export interface FlowTimeouts {
  /** TCP after the handshake. */
  tcpEstablishedSeconds: number;
  /** TCP with only a SYN (and SYN-ACK) seen: half-open connections, SYN floods. */
  tcpSynSeconds: number;
  /** TCP after a FIN or RST in either direction. */
  tcpClosingSeconds: number;
  /** UDP, each (client address, port) pair. */
  udpSeconds: number;
}

/**
 * The defaults. Established TCP: Cilium's 6 h (netfilter keeps 5 days, which holds state for clients that
 * vanished without a FIN long after any application would have given up). SYN: 60 s, both. Closing: 60 s, the
 * length of the backend's TIME_WAIT: a SNAT tuple is not handed to another client while the backend may still
 * answer its last connection's SYN with a stale ACK (dataplane-findings §5.3); when SNAT ports run short the BPF
 * program takes over a tuple closed for at least 10 s (PLB_CLOSING_REUSE_SECONDS) instead of dropping the SYN.
 * UDP: 30 s, netfilter's timeout for UDP flows and far above any request/response exchange.
 */
export const DEFAULT_FLOW_TIMEOUTS: FlowTimeouts = {
  tcpEstablishedSeconds: 21_600, tcpSynSeconds: 60, tcpClosingSeconds: 60, udpSeconds: 30,
};

/** The timeouts of spec.xdp.flowTimeouts, each defaulted. */
export function flowTimeoutsOf(f: FlowSettings | undefined): FlowTimeouts {
  return {
    tcpEstablishedSeconds: f?.tcpEstablishedSeconds ?? DEFAULT_FLOW_TIMEOUTS.tcpEstablishedSeconds,
    tcpSynSeconds: f?.tcpSynSeconds ?? DEFAULT_FLOW_TIMEOUTS.tcpSynSeconds,
    tcpClosingSeconds: f?.tcpClosingSeconds ?? DEFAULT_FLOW_TIMEOUTS.tcpClosingSeconds,
    udpSeconds: f?.udpSeconds ?? DEFAULT_FLOW_TIMEOUTS.udpSeconds,
  };
}

const TCP = 6;

export function timeoutOf(proto: number, state: number, t: FlowTimeouts): number {
  if (proto !== TCP) return t.udpSeconds;
  if (state === FLOW_CLOSING) return t.tcpClosingSeconds;
  if (state === FLOW_SYN) return t.tcpSynSeconds;
  return t.tcpEstablishedSeconds;
}

/** `now` and `lastSeen` in seconds of CLOCK_MONOTONIC. A stamp from the future (clock read races) is not expired. */
export function isExpired(proto: number, state: number, lastSeen: number, now: number, t: FlowTimeouts): boolean {
  return now - lastSeen >= timeoutOf(proto, state, t);
}

/** Seconds of CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns (libuv's hrtime reads the same clock on Linux). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1_000_000_000n);
}

export interface GcResult {
  /** Entries left after the pass (two per flow): those seen and not expired. */
  entries: number;
  /** Entries that had expired (or belonged to a drained backend); each took its flow's other entry with it. */
  expired: number;
  /** Entries deleted: the expired ones and their partners. */
  deleted: number;
  /** Wall time of the pass, and the CPU time (user + system) the process used meanwhile: on a busy machine the
   * wall time mostly measures waiting for a CPU. */
  seconds: number;
  cpuSeconds: number;
  /** Live reverse entries by backend id and target port (snatKey): the SNAT tuples in use towards each. */
  snatInUse: Map<number, number>;
  /** Open TCP flows (SYN or ESTABLISHED, not closing) by service id: what is still connected. */
  openTcp: Map<number, number>;
}

/** A (backend id, target port) pair as one number. */
export const snatKey = (backendId: number, port: number): number => backendId * 65536 + port;

/**
 * Backends removed longer ago than `drainSeconds` (by id, from when the agent first saw them draining): their
 * flows are dropped. Pure.
 */
export function drainedBackends(drainingSince: Map<number, number>, now: number, drainSeconds: number): Set<number> {
  return new Set([...drainingSince].filter(([, since]) => now - since >= drainSeconds).map(([id]) => id));
}

/**
 * One pass over the flow map `fd` (plb_flows, or plb_flows6 with `layout` FLOW_LAYOUTS[6]): expired flows are
 * deleted (both entries), and so are the flows of backends in `drained` (removed, and their drainSeconds over);
 * the rest is counted.
 */
export async function collectFlows(
  addon: BpfAddon, fd: number, timeouts: FlowTimeouts,
  o: { now?: number; batch?: number; drained?: Set<number>; layout?: FlowLayout } = {},
): Promise<GcResult> {
  const l = o.layout ?? FLOW_LAYOUTS[4];
  const FLOW_KEY_SIZE = l.keySize;
  const FLOW_VALUE_SIZE = l.valueSize;
  const FLOW_VALUE = l.value;
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const now = o.now ?? monotonicSeconds();
  const batch = o.batch ?? 8192;
  const drained = o.drained ?? new Set<number>();
  const doomed = Buffer.alloc(batch * 2 * FLOW_KEY_SIZE);
  const snatInUse = new Map<number, number>();
  const openTcp = new Map<number, number>();
  let cursor: Buffer | null = null;
  let live = 0;
  let expired = 0;
  let deleted = 0;
  do {
    const b = addon.mapBatch(fd, FLOW_KEY_SIZE, FLOW_VALUE_SIZE, cursor, batch);
    let n = 0;
    // Both entries of a flow in one batch: the second is already among the doomed as the first one's partner.
    // (An entry whose partner came in an earlier batch was deleted with it and does not come at all.)
    const partnersInBatch = new Set<string>();
    for (let i = 0; i < b.count; i++) {
      const k = i * FLOW_KEY_SIZE;
      const v = i * FLOW_VALUE_SIZE;
      const proto = b.keys.readUInt8(k + l.ports + 4);
      if (isExpired(proto, b.values.readUInt8(v + FLOW_VALUE.state), b.values.readUInt32LE(v + FLOW_VALUE.lastSeen), now, timeouts) ||
          (drained.size > 0 && drained.has(b.values.readUInt16LE(v + FLOW_VALUE.backendId)))) {
        expired++;
        if (partnersInBatch.delete(b.keys.toString('latin1', k, k + FLOW_KEY_SIZE))) continue;
        b.keys.copy(doomed, n * FLOW_KEY_SIZE, k, k + FLOW_KEY_SIZE);
        partnerKey(b.keys, k, b.values, v, doomed, (n + 1) * FLOW_KEY_SIZE, l);
        partnersInBatch.add(doomed.toString('latin1', (n + 1) * FLOW_KEY_SIZE, (n + 2) * FLOW_KEY_SIZE));
        n += 2;
        continue;
      }
      live++;
      const dir = b.values.readUInt8(v + FLOW_VALUE.dir);
      if (dir === DIR_FORWARD && proto === TCP && b.values.readUInt8(v + FLOW_VALUE.state) !== FLOW_CLOSING) {
        const id = b.values.readUInt16LE(v + FLOW_VALUE.serviceId);
        openTcp.set(id, (openTcp.get(id) ?? 0) + 1);
      } else if (dir === DIR_REVERSE) {
        // A reverse key is the backend's reply tuple: its source port is the service's target port.
        const id = snatKey(b.values.readUInt16LE(v + FLOW_VALUE.backendId), b.keys.readUInt16BE(k + l.ports));
        snatInUse.set(id, (snatInUse.get(id) ?? 0) + 1);
      }
    }
    if (n > 0) deleted += addon.mapDeleteKeys(fd, doomed.subarray(0, n * FLOW_KEY_SIZE));
    cursor = b.cursor;
    // Let the agent answer probes and scrapes between batches: a pass over 1 M entries takes a while.
    await new Promise((resolve) => setImmediate(resolve));
  } while (cursor !== null);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { entries: live, expired, deleted, seconds, cpuSeconds: (used.user + used.system) / 1e6, snatInUse, openTcp };
}

/** Two passes' results as one (the IPv4 and the IPv6 flow table). */
export function mergeGc(a: GcResult, b: GcResult): GcResult {
  const add = (x: Map<number, number>, y: Map<number, number>) => {
    const out = new Map(x);
    for (const [k, n] of y) out.set(k, (out.get(k) ?? 0) + n);
    return out;
  };
  return {
    entries: a.entries + b.entries, expired: a.expired + b.expired, deleted: a.deleted + b.deleted,
    seconds: a.seconds + b.seconds, cpuSeconds: a.cpuSeconds + b.cpuSeconds,
    snatInUse: add(a.snatInUse, b.snatInUse), openTcp: add(a.openTcp, b.openTcp),
  };
}

/** Share of a backend port's SNAT tuples in use from which the data plane reports Degraded. */
export const SNAT_NEARLY_USED = 0.9;

/**
 * What a user should hear about SNAT pressure: per backend port, tuples in use near the number of SNAT ports, and
 * new flows dropped for want of one since the last pass (`exhaustedSince`, by backend id). Pure.
 */
export function snatWarnings(
  inUse: Map<number, number>, snatPorts: number, backendIp: (id: number) => string | undefined,
  exhaustedSince: Map<number, number>,
): string[] {
  const out: string[] = [];
  for (const [idPort, n] of [...inUse].sort((a, b) => a[0] - b[0])) {
    const id = Math.floor(idPort / 65536);
    const port = idPort % 65536;
    if (snatPorts > 0 && n / snatPorts >= SNAT_NEARLY_USED) {
      out.push(`SNAT ports towards backend ${backendIp(id) ?? `#${id}`}:${port} are ${Math.floor((100 * n) / snatPorts)} % used ` +
        `(${n} of ${snatPorts} flows): new flows to it will start failing; add backends or LB replicas`);
    }
  }
  for (const [id, n] of [...exhaustedSince].sort((a, b) => a[0] - b[0])) {
    if (n > 0) out.push(`${n} new flows to backend ${backendIp(id) ?? `#${id}`} were dropped: no free SNAT port towards it`);
  }
  return out;
}
