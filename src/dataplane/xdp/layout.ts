// Byte layouts of the BPF maps' keys and values, mirroring bpf/plb_structs.h and bpf/plb_consts.h.
// Multi-byte fields marked __be are network order; everything else is the host's (little-endian on x86/arm64).
import type { L4Protocol } from '../types.js';
import { ipFamily } from '../../api/defaults.js';
import { ipv4Bytes, ipv4FromBytes } from '../ipv4.js';
import { ipv6Bytes, ipv6FromBytes } from '../ipv6.js';

/** An address family of the maps: IPv4 maps hold 4-byte addresses, their IPv6 twins 16 (struct plb_addr6). */
export type Family = 4 | 6;
const addrLen = (f: Family): number => (f === 4 ? 4 : 16);
const addrBytes = (ip: string, f: Family): Buffer => (f === 4 ? ipv4Bytes(ip) : ipv6Bytes(ip));
const addrFrom = (b: Buffer, offset: number, f: Family): string => (f === 4 ? ipv4FromBytes(b, offset) : ipv6FromBytes(b, offset));
/** The family of an address literal. */
export const familyOf = (ip: string): Family => ipFamily(ip);

export const RING_SIZE = 65537;
export const MAX_SERVICES = 64;
export const MAX_BACKENDS = 16384;
/** plb_flows' size compiled into the object (2 entries per flow); the loader sets the one from maxFlows. */
export const COMPILED_FLOW_ENTRIES = 262144;
/** How many free entries the kernel's common LRU hands a CPU at once (LOCAL_FREE_TARGET, kernel/bpf/bpf_lru_list.c). */
export const LRU_CPU_BATCH = 128;
/**
 * plb_flows' size for spec.xdp.maxFlows concurrent flows on a node with `possibleCpus` CPUs: a forward and a
 * reverse entry each, rounded up to the LRU's batch, and one batch more per CPU. Why: the LRU evicts as soon as its
 * shared free list cannot fill a CPU's batch, and the entries another CPU took and has not used yet are not free
 * to this one. A table of exactly 2 x maxFlows lost flows before it was full (144 of 6000 entries at maxFlows
 * 3000, filled from two CPUs); a long-lived idle connection is the first to go. 128 entries per CPU is ~12 KiB.
 */
export const flowTableEntries = (maxFlows: number, possibleCpus: number): number =>
  Math.ceil((2 * maxFlows) / LRU_CPU_BATCH) * LRU_CPU_BATCH + possibleCpus * LRU_CPU_BATCH;
/**
 * The flows the table of the family the VIP is not in holds: an LB pod serves one VIP, so that table holds only
 * the flows of a VIP that changed family, until the agent restarts and sizes the tables anew (~0.2-0.3 MiB).
 */
export const IDLE_FAMILY_FLOWS = 1024;

/** struct plb_flow.state */
export const FLOW_SYN = 1;
export const FLOW_ESTABLISHED = 2;
export const FLOW_CLOSING = 3;
export const DIR_FORWARD = 1;
export const DIR_REVERSE = 2;

export const BACKEND_FREE = 0;
export const BACKEND_ACTIVE = 1;
export const BACKEND_DRAINING = 2;

export const MAP_NAMES = {
  services: 'plb_services',
  ring: 'plb_ring',
  backends: 'plb_backends',
  config: 'plb_config',
  flows: 'plb_flows',
  services6: 'plb_services6',
  backends6: 'plb_backends6',
  flows6: 'plb_flows6',
  serviceStats: 'plb_svc_stats',
  backendStats: 'plb_be_stats',
  globalStats: 'plb_glb_stats',
} as const;

const PROTO_NUMBER: Record<L4Protocol, number> = { TCP: 6, UDP: 17 };

export function protocolNumber(p: L4Protocol): number {
  return PROTO_NUMBER[p];
}

export function protocolName(n: number): L4Protocol {
  if (n === 6) return 'TCP';
  if (n === 17) return 'UDP';
  throw new Error(`unknown IP protocol ${n} in a service key`);
}

export interface ServiceKey {
  vip: string;
  port: number;
  protocol: L4Protocol;
}

export interface ServiceValue {
  id: number;
  ringGen: 0 | 1;
  targetPort: number;
  /** Largest MSS a translated TCP SYN or SYN-ACK may announce; 0 leaves the option alone. */
  mssClamp: number;
}

export interface BackendValue {
  ip: string;
  state: number;
}

export interface ConfigValue {
  snatIp: string;
  portMin: number;
  portMax: number;
  /** Ports inside [portMin, portMax] that are not SNAT ports (the LB pod's own ip_local_port_range); 0 0: none. */
  skipMin: number;
  skipMax: number;
  /** A closing flow may give its SNAT tuple to a new one only while idle for less than this (s); 0: never. */
  takeoverBefore: number;
  /** The VIP: what reaches it and no service takes is dropped. */
  vip: string;
  /** The interface's MAC (aa:bb:cc:dd:ee:ff): the XDP build leaves frames to other MACs alone; all zero: no check. */
  mac: string;
}

// struct plb_service_key { __be32 vip; __be16 port; __u8 proto; __u8 pad; }; plb_service_key6: a 16-byte vip.
export const SERVICE_KEY_SIZE = 8;
export const serviceKeySize = (f: Family): number => addrLen(f) + 4;
/** The key in the map of its VIP's family (plb_services or plb_services6). */
export function encodeServiceKey(k: ServiceKey): Buffer {
  const f = familyOf(k.vip);
  const a = addrLen(f);
  const b = Buffer.alloc(serviceKeySize(f));
  addrBytes(k.vip, f).copy(b, 0);
  b.writeUInt16BE(k.port, a);
  b.writeUInt8(protocolNumber(k.protocol), a + 2);
  return b;
}
export function decodeServiceKey(b: Buffer, f: Family = 4): ServiceKey {
  const a = addrLen(f);
  return { vip: addrFrom(b, 0, f), port: b.readUInt16BE(a), protocol: protocolName(b.readUInt8(a + 2)) };
}

// struct plb_service { __u16 id; __u8 ring_gen; __u8 pad; __be16 target_port; __u16 mss_clamp; }
// mss_clamp took the place of padding: the size stays 8, so libbpf still adopts maps pinned by older agents
// (a changed value size would make it refuse them), and their zero there reads as "no clamp".
export const SERVICE_VALUE_SIZE = 8;
export function encodeServiceValue(v: ServiceValue): Buffer {
  const b = Buffer.alloc(SERVICE_VALUE_SIZE);
  b.writeUInt16LE(v.id, 0);
  b.writeUInt8(v.ringGen, 2);
  b.writeUInt16BE(v.targetPort, 4);
  b.writeUInt16LE(v.mssClamp, 6);
  return b;
}
export function decodeServiceValue(b: Buffer): ServiceValue {
  return {
    id: b.readUInt16LE(0), ringGen: (b.readUInt8(2) & 1) as 0 | 1, targetPort: b.readUInt16BE(4),
    mssClamp: b.readUInt16LE(6),
  };
}

// struct plb_backend { __be32 ip; __u32 state; }; plb_backend6: a 16-byte ip. One id space for both maps.
export const BACKEND_VALUE_SIZE = 8;
export const backendValueSize = (f: Family): number => addrLen(f) + 4;
/** The value for the map of `f` (default: the ip's family; a free slot has no ip). */
export function encodeBackend(v: BackendValue, f: Family = v.state === BACKEND_FREE ? 4 : familyOf(v.ip)): Buffer {
  const b = Buffer.alloc(backendValueSize(f));
  if (v.state !== BACKEND_FREE) addrBytes(v.ip, f).copy(b, 0);
  b.writeUInt32LE(v.state, addrLen(f));
  return b;
}
export function decodeBackend(b: Buffer, offset = 0, f: Family = 4): BackendValue {
  return { ip: addrFrom(b, offset, f), state: b.readUInt32LE(offset + addrLen(f)) };
}

// struct plb_config { __be32 snat_ip; __u16 port_min, port_max, skip_min, skip_max, takeover_before, pad;
//                     __be32 vip; __u8 mac[6]; __u16 pad2; struct plb_addr6 snat_ip6, vip6; }
// The VIP's family decides which pair holds the addresses; the other pair is zero.
export const CONFIG_VALUE_SIZE = 60;
export const NO_MAC = '00:00:00:00:00:00';
export function encodeConfig(v: ConfigValue): Buffer {
  const b = Buffer.alloc(CONFIG_VALUE_SIZE);
  const six = familyOf(v.vip) === 6;
  if (six) {
    ipv6Bytes(v.snatIp).copy(b, 28);
    ipv6Bytes(v.vip).copy(b, 44);
  } else {
    ipv4Bytes(v.snatIp).copy(b, 0);
    ipv4Bytes(v.vip).copy(b, 16);
  }
  b.writeUInt16LE(v.portMin, 4);
  b.writeUInt16LE(v.portMax, 6);
  b.writeUInt16LE(v.skipMin, 8);
  b.writeUInt16LE(v.skipMax, 10);
  b.writeUInt16LE(v.takeoverBefore, 12);
  Buffer.from(v.mac.replace(/:/g, ''), 'hex').copy(b, 20, 0, 6);
  return b;
}
/** Whether a config value has a SNAT address programmed (of either family). */
export const configProgrammed = (b: Buffer): boolean => b.readUInt32BE(0) !== 0 || !b.subarray(28, 44).equals(Buffer.alloc(16));
export function decodeConfig(b: Buffer): ConfigValue {
  const six = b.readUInt32BE(0) === 0 && configProgrammed(b);
  return {
    snatIp: six ? ipv6FromBytes(b, 28) : ipv4FromBytes(b, 0), portMin: b.readUInt16LE(4), portMax: b.readUInt16LE(6),
    skipMin: b.readUInt16LE(8), skipMax: b.readUInt16LE(10), takeoverBefore: b.readUInt16LE(12),
    vip: six ? ipv6FromBytes(b, 44) : ipv4FromBytes(b, 16), mac: [...b.subarray(20, 26)].map((x) => x.toString(16).padStart(2, '0')).join(':'),
  };
}

// struct plb_flow_key { __be32 saddr, daddr; __be16 sport, dport; __u8 proto; __u8 pad[3]; }
export const FLOW_KEY_SIZE = 16;
// struct plb_flow { __be32 saddr, daddr; __be16 sport, dport; __u16 service_id, backend_id; __u8 dir, state,
//                   close, pad; __u32 last_seen; }
export const FLOW_VALUE_SIZE = 24;
/** The fields of a flow entry the GC decides on, read straight from the batch buffers (no objects per entry). */
export const FLOW_VALUE = { serviceId: 12, backendId: 14, dir: 16, state: 17, close: 18, lastSeen: 20 } as const;

/**
 * Where the fields of plb_flows' (IPv4) or plb_flows6' (IPv6: struct plb_flow_key6 / plb_flow6, 16-byte addresses)
 * keys and values are: the same fields in the same order after the two addresses.
 */
export interface FlowLayout {
  family: Family;
  keySize: number;
  valueSize: number;
  /** key: sport at ports, dport at ports + 2, proto at ports + 4 */
  ports: number;
  value: { readonly serviceId: number; readonly backendId: number; readonly dir: number; readonly state: number; readonly close: number; readonly lastSeen: number };
}
function flowLayoutOf(f: Family): FlowLayout {
  const a = 2 * addrLen(f);
  return {
    family: f, keySize: a + 8, valueSize: a + 16, ports: a,
    value: { serviceId: a + 4, backendId: a + 6, dir: a + 8, state: a + 9, close: a + 10, lastSeen: a + 12 },
  };
}
export const FLOW_LAYOUTS: Record<Family, FlowLayout> = { 4: flowLayoutOf(4), 6: flowLayoutOf(6) };

/** The key of the other entry of a flow: the tuple this entry's value translates to, reversed (plb_partner_key). */
export function partnerKey(key: Buffer, keyOffset: number, value: Buffer, valueOffset: number, out: Buffer, outOffset: number, l: FlowLayout = FLOW_LAYOUTS[4]): void {
  const a = addrLen(l.family);
  value.copy(out, outOffset, valueOffset + a, valueOffset + 2 * a); // saddr <- value.daddr
  value.copy(out, outOffset + a, valueOffset, valueOffset + a); // daddr <- value.saddr
  value.copy(out, outOffset + l.ports, valueOffset + l.ports + 2, valueOffset + l.ports + 4); // sport <- value.dport
  value.copy(out, outOffset + l.ports + 2, valueOffset + l.ports, valueOffset + l.ports + 2); // dport <- value.sport
  out.writeUInt8(key.readUInt8(keyOffset + l.ports + 4), outOffset + l.ports + 4);
  out.fill(0, outOffset + l.ports + 5, outOffset + l.keySize);
}

export interface FlowEntry {
  key: { saddr: string; daddr: string; sport: number; dport: number; proto: number };
  value: { saddr: string; daddr: string; sport: number; dport: number; serviceId: number; backendId: number; dir: number; state: number; close: number; lastSeen: number };
}
type Tuple = { saddr: string; daddr: string; sport: number; dport: number };
/** The addresses and ports that start both a flow key and a flow value (struct plb_flow_key / plb_flow). */
function writeTuple(b: Buffer, l: FlowLayout, t: Tuple): void {
  addrBytes(t.saddr, l.family).copy(b, 0);
  addrBytes(t.daddr, l.family).copy(b, addrLen(l.family));
  b.writeUInt16BE(t.sport, l.ports);
  b.writeUInt16BE(t.dport, l.ports + 2);
}
function readTuple(b: Buffer, o: number, l: FlowLayout): Tuple {
  return {
    saddr: addrFrom(b, o, l.family), daddr: addrFrom(b, o + addrLen(l.family), l.family),
    sport: b.readUInt16BE(o + l.ports), dport: b.readUInt16BE(o + l.ports + 2),
  };
}
/** A flow key in the table of its addresses' family. */
export function encodeFlowKey(k: FlowEntry['key']): Buffer {
  const l = FLOW_LAYOUTS[familyOf(k.saddr)];
  const key = Buffer.alloc(l.keySize);
  writeTuple(key, l, k);
  key.writeUInt8(k.proto, l.ports + 4);
  return key;
}
export function decodeFlowKey(key: Buffer, ko = 0, l: FlowLayout = FLOW_LAYOUTS[4]): FlowEntry['key'] {
  return { ...readTuple(key, ko, l), proto: key.readUInt8(ko + l.ports + 4) };
}
export function encodeFlow(e: FlowEntry): { key: Buffer; value: Buffer } {
  const key = encodeFlowKey(e.key);
  const v = e.value;
  const l = FLOW_LAYOUTS[familyOf(v.saddr)];
  const value = Buffer.alloc(l.valueSize);
  writeTuple(value, l, v);
  value.writeUInt16LE(v.serviceId, l.value.serviceId);
  value.writeUInt16LE(v.backendId, l.value.backendId);
  value.writeUInt8(v.dir, l.value.dir);
  value.writeUInt8(v.state, l.value.state);
  value.writeUInt8(v.close, l.value.close);
  value.writeUInt32LE(v.lastSeen, l.value.lastSeen);
  return { key, value };
}
export function decodeFlow(key: Buffer, value: Buffer, ko = 0, vo = 0, l: FlowLayout = FLOW_LAYOUTS[4]): FlowEntry {
  return {
    key: decodeFlowKey(key, ko, l),
    value: {
      ...readTuple(value, vo, l), serviceId: value.readUInt16LE(vo + l.value.serviceId),
      backendId: value.readUInt16LE(vo + l.value.backendId), dir: value.readUInt8(vo + l.value.dir),
      state: value.readUInt8(vo + l.value.state), close: value.readUInt8(vo + l.value.close), lastSeen: value.readUInt32LE(vo + l.value.lastSeen),
    },
  };
}

export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n, 0);
  return b;
}

/** First array index of a service's ring generation in the flattened plb_ring map. */
export function ringOffset(serviceId: number, gen: 0 | 1): number {
  return (serviceId * 2 + gen) * RING_SIZE;
}

export function encodeRing(table: Uint32Array): Buffer {
  const b = Buffer.alloc(table.length * 4);
  table.forEach((id, i) => b.writeUInt32LE(id, i * 4));
  return b;
}
export function decodeRing(b: Buffer): Uint32Array {
  const t = new Uint32Array(b.length / 4);
  for (let i = 0; i < t.length; i++) t[i] = b.readUInt32LE(i * 4);
  return t;
}

// Per-CPU values: the kernel returns one 8-byte-aligned copy per possible CPU; counters are summed.
export const SERVICE_STATS_FIELDS = [
  'packets', 'bytes', 'replyPackets', 'replyBytes', 'newFlows', 'noBackend', 'snatExhausted', 'fibFailures',
] as const;
export const BACKEND_STATS_FIELDS = ['packets', 'bytes', 'replyPackets', 'replyBytes', 'newFlows', 'snatExhausted'] as const;
export const GLOBAL_STATS_FIELDS = [
  'passed', 'fragments', 'noNeighbour', 'reverseRestored', 'ttlExpired', 'noConfig', 'icmpTranslated',
  'unservedDropped', 'icmpRefused', 'reverseMissDropped', 'otherHost', 'icmpRateLimited', 'fragmentUntrackedDropped',
] as const;

export function sumPerCpu<F extends string>(
  buf: Buffer,
  fields: readonly F[],
  cpus: number,
): Record<F, number> {
  const stride = fields.length * 8;
  const out = Object.fromEntries(fields.map((f) => [f, 0])) as Record<F, number>;
  for (let cpu = 0; cpu < cpus; cpu++) {
    fields.forEach((f, i) => {
      out[f] += Number(buf.readBigUInt64LE(cpu * stride + i * 8));
    });
  }
  return out;
}
