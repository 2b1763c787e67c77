// Byte layouts of the BPF maps' keys and values, mirroring bpf/plb_structs.h and bpf/plb_consts.h.
// Multi-byte fields marked __be are network order; everything else is the host's (little-endian on x86/arm64).
import type { L4Protocol } from '../types.js';
import { ipv4Bytes, ipv4FromBytes } from '../ipv4.js';

export const RING_SIZE = 65537;
export const MAX_SERVICES = 64;
export const MAX_BACKENDS = 16384;

export const BACKEND_FREE = 0;
export const BACKEND_ACTIVE = 1;
export const BACKEND_DRAINING = 2;

export const MAP_NAMES = {
  services: 'plb_services',
  ring: 'plb_ring',
  backends: 'plb_backends',
  config: 'plb_config',
  flows: 'plb_flows',
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
}

// struct plb_service_key { __be32 vip; __be16 port; __u8 proto; __u8 pad; }
export const SERVICE_KEY_SIZE = 8;
export function encodeServiceKey(k: ServiceKey): Buffer {
  const b = Buffer.alloc(SERVICE_KEY_SIZE);
  ipv4Bytes(k.vip).copy(b, 0);
  b.writeUInt16BE(k.port, 4);
  b.writeUInt8(protocolNumber(k.protocol), 6);
  return b;
}
export function decodeServiceKey(b: Buffer): ServiceKey {
  return { vip: ipv4FromBytes(b, 0), port: b.readUInt16BE(4), protocol: protocolName(b.readUInt8(6)) };
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

// struct plb_backend { __be32 ip; __u32 state; }
export const BACKEND_VALUE_SIZE = 8;
export function encodeBackend(v: BackendValue): Buffer {
  const b = Buffer.alloc(BACKEND_VALUE_SIZE);
  if (v.state !== BACKEND_FREE) ipv4Bytes(v.ip).copy(b, 0);
  b.writeUInt32LE(v.state, 4);
  return b;
}
export function decodeBackend(b: Buffer, offset = 0): BackendValue {
  return { ip: ipv4FromBytes(b, offset), state: b.readUInt32LE(offset + 4) };
}

// struct plb_config { __be32 snat_ip; __u16 port_min; __u16 port_max; }
export const CONFIG_VALUE_SIZE = 8;
export function encodeConfig(v: ConfigValue): Buffer {
  const b = Buffer.alloc(CONFIG_VALUE_SIZE);
  ipv4Bytes(v.snatIp).copy(b, 0);
  b.writeUInt16LE(v.portMin, 4);
  b.writeUInt16LE(v.portMax, 6);
  return b;
}
export function decodeConfig(b: Buffer): ConfigValue {
  return { snatIp: ipv4FromBytes(b, 0), portMin: b.readUInt16LE(4), portMax: b.readUInt16LE(6) };
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
export const BACKEND_STATS_FIELDS = ['packets', 'bytes', 'replyPackets', 'replyBytes', 'newFlows'] as const;
export const GLOBAL_STATS_FIELDS = [
  'passed', 'fragments', 'noNeighbour', 'reverseRestored', 'ttlExpired', 'noConfig', 'icmpTranslated',
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
