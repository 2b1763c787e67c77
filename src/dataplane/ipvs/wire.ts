// The IPVS generic-netlink family on the wire: attribute encoders for services and destinations, decoders for
// dump replies. Pure (Buffers in and out), so every message is a golden byte test.
//
// Derivation, from the kernel's uapi header include/uapi/linux/ip_vs.h (and net/netfilter/ipvs/ip_vs_ctl.c for
// what each command requires):
// - family name "IPVS", version IPVS_GENL_VERSION = 1; commands are `enum { IPVS_CMD_UNSPEC = 0, ... }` below.
// - a message carries top-level IPVS_CMD_ATTR_SERVICE (1) and/or IPVS_CMD_ATTR_DEST (2), each a nested list.
// - an attribute is `struct nlattr { __u16 nla_len; __u16 nla_type; }` (host order, little endian on x86)
//   followed by the payload, padded to 4 bytes (NLA_ALIGNTO); nla_len counts header + payload, not padding.
// - addresses are `union nf_inet_addr` (16 bytes: an IPv6 address, or an IPv4 one in the first 4, rest zero),
//   of the family in IPVS_SVC_ATTR_AF (AF_INET 2, AF_INET6 10) and, for a destination, IPVS_DEST_ATTR_ADDR_FAMILY,
//   ports are __be16 (network order), weights/thresholds/forwarding method are host-order __u32,
//   IPVS_SVC_ATTR_FLAGS is `struct ip_vs_flags { __u32 flags; __u32 mask; }`, IPVS_SVC_ATTR_NETMASK a __be32:
//   for IPv4 a netmask (ff ff ff ff), for IPv6 a prefix length 1..128 that ip_vs_ctl.c reads as the raw host-order
//   u32 (`(__force __u32) u->netmask`; ipvsadm's libipvs puts 128 with NLA_PUT_U32) - 80 00 00 00 here.
// - NEW_SERVICE needs SCHED_NAME, FLAGS, TIMEOUT and NETMASK besides the key (ip_vs_genl_parse_service with
//   full_entry); NEW_DEST/SET_DEST need FWD_METHOD, WEIGHT, U_THRESH and L_THRESH besides ADDR and PORT.
// - SET_CONFIG / GET_CONFIG carry top-level host-order __u32 IPVS_CMD_ATTR_TIMEOUT_TCP (4), _TCP_FIN (5) and
//   _UDP (6), in seconds; ip_vs_genl_set_config starts from the current values and changes those present, and
//   they belong to the network namespace (ip_vs_set_timeout writes its netns_ipvs's timeout tables): the LB pod's alone.
// - the kernel marks nested attributes it sends with NLA_F_NESTED (0x8000); we send without it, as ipvsadm's
//   libipvs and moby/ipvs do (the kernel parses IPVS attributes with nla_parse_nested_deprecated).
import { ipFamily, type IpFamily } from '../../api/defaults.js';
import { ipv4Bytes, ipv4FromBytes } from '../ipv4.js';
import { ipv6Bytes, ipv6FromBytes } from '../ipv6.js';
import type { L4Protocol } from '../types.js';

export const IPVS_FAMILY = 'IPVS';
export const IPVS_VERSION = 1;

export const Cmd = {
  NEW_SERVICE: 1, SET_SERVICE: 2, DEL_SERVICE: 3, GET_SERVICE: 4,
  NEW_DEST: 5, SET_DEST: 6, DEL_DEST: 7, GET_DEST: 8,
  SET_CONFIG: 12, GET_CONFIG: 13,
} as const;

const CmdAttr = { SERVICE: 1, DEST: 2, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const;
const Svc = { AF: 1, PROTOCOL: 2, ADDR: 3, PORT: 4, SCHED_NAME: 6, FLAGS: 7, TIMEOUT: 8, NETMASK: 9, STATS: 10, STATS64: 12 } as const;
const Dest = {
  ADDR: 1, PORT: 2, FWD_METHOD: 3, WEIGHT: 4, U_THRESH: 5, L_THRESH: 6,
  ACTIVE_CONNS: 7, INACT_CONNS: 8, PERSIST_CONNS: 9, STATS: 10, ADDR_FAMILY: 11, STATS64: 12,
} as const;
const Stats = { CONNS: 1, INPKTS: 2, OUTPKTS: 3, INBYTES: 4, OUTBYTES: 5 } as const;

const AF = { 4: 2, 6: 10 } as const satisfies Record<IpFamily, number>;
const familyOfAf = (af: number): IpFamily | null => (af === AF[4] ? 4 : af === AF[6] ? 6 : null);
const IPPROTO = { TCP: 6, UDP: 17 } as const;
/** IP_VS_CONN_F_MASQ: NAT, the only method that works when backends route replies elsewhere (via the LB's SNAT). */
export const FWD_MASQ = 0;
/** IP_VS_SVC_F_SCHED2: for sh and mh, hash the source port too (one client's connections spread). */
export const SVC_F_SCHED_PORT = 0x0010;
/**
 * IP_VS_SVC_F_SCHED1: for sh and mh, skip to the next destination when the hashed one has weight 0. Without it
 * a draining (weight 0) destination keeps its slots (the kernel builds the table from the last non-zero
 * weight, to keep it stable) and new connections hashed there are refused.
 */
export const SVC_F_SCHED_FALLBACK = 0x0008;
const NLA_TYPE_MASK = 0x3fff;

export interface ServiceKey {
  protocol: L4Protocol;
  vip: string;
  port: number;
}

export interface ServiceSpec extends ServiceKey {
  scheduler: string;
  flags: number;
}

export interface DestSpec {
  ip: string;
  port: number;
  weight: number;
}

/** IPVS's connection timeouts (`ipvsadm --set tcp tcpfin udp`), seconds. */
export interface Timeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

export interface DestStats {
  conns: number;
  inPackets: number;
  outPackets: number;
  inBytes: number;
  outBytes: number;
}

export interface ServiceDump extends ServiceSpec {
  stats: DestStats;
}

export interface DestDump extends DestSpec {
  fwdMethod: number;
  activeConns: number;
  inactiveConns: number;
  stats: DestStats;
}

// ---- encoding -------------------------------------------------------------------------------------------

export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const be16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
function inetAddr(ip: string): Buffer {
  if (ipFamily(ip) === 6) return ipv6Bytes(ip);
  const b = Buffer.alloc(16);
  ipv4Bytes(ip).copy(b);
  return b;
}
const addrOf = (b: Buffer, family: IpFamily): string => (family === 6 ? ipv6FromBytes(b) : ipv4FromBytes(b));
/** An IPv4 service is one address (netmask /32), an IPv6 one a /128 prefix length (see the header). */
const netmask = (family: IpFamily): Buffer => (family === 6 ? u32(128) : Buffer.from([0xff, 0xff, 0xff, 0xff]));
const cString = (s: string) => Buffer.concat([Buffer.from(s, 'ascii'), Buffer.alloc(1)]);
const nest = (type: number, children: Buffer[]) => attr(type, Buffer.concat(children));

function serviceKeyAttrs(k: ServiceKey): Buffer[] {
  return [
    attr(Svc.AF, u16(AF[ipFamily(k.vip)])),
    attr(Svc.PROTOCOL, u16(IPPROTO[k.protocol])),
    attr(Svc.ADDR, inetAddr(k.vip)),
    attr(Svc.PORT, be16(k.port)),
  ];
}

/** The service alone (GET_DEST dumps, DEL_SERVICE, and the service part of destination commands). */
export const encodeServiceKey = (k: ServiceKey): Buffer => nest(CmdAttr.SERVICE, serviceKeyAttrs(k));

/** NEW_SERVICE / SET_SERVICE: the key plus scheduler, flags (mask = all bits we own), no persistence. */
export function encodeService(s: ServiceSpec): Buffer {
  const flags = Buffer.concat([u32(s.flags), u32(0xffffffff)]);
  return nest(CmdAttr.SERVICE, [
    ...serviceKeyAttrs(s),
    attr(Svc.SCHED_NAME, cString(s.scheduler)),
    attr(Svc.FLAGS, flags),
    attr(Svc.TIMEOUT, u32(0)),
    attr(Svc.NETMASK, netmask(ipFamily(s.vip))),
  ]);
}

/** NEW_DEST / SET_DEST (full) or DEL_DEST (key only), always together with encodeServiceKey. */
export function encodeDest(d: DestSpec, full = true): Buffer {
  const key = [attr(Dest.ADDR, inetAddr(d.ip)), attr(Dest.PORT, be16(d.port))];
  const af = attr(Dest.ADDR_FAMILY, u16(AF[ipFamily(d.ip)]));
  if (!full) return nest(CmdAttr.DEST, [...key, af]);
  return nest(CmdAttr.DEST, [
    ...key,
    attr(Dest.FWD_METHOD, u32(FWD_MASQ)),
    attr(Dest.WEIGHT, u32(d.weight)),
    attr(Dest.U_THRESH, u32(0)),
    attr(Dest.L_THRESH, u32(0)),
    af,
  ]);
}

/** SET_CONFIG: the timeouts given; the others stay as they are. */
export function encodeTimeouts(t: Partial<Timeouts>): Buffer {
  return Buffer.concat([
    ...(t.tcp !== undefined ? [attr(CmdAttr.TIMEOUT_TCP, u32(t.tcp))] : []),
    ...(t.tcpFin !== undefined ? [attr(CmdAttr.TIMEOUT_TCP_FIN, u32(t.tcpFin))] : []),
    ...(t.udp !== undefined ? [attr(CmdAttr.TIMEOUT_UDP, u32(t.udp))] : []),
  ]);
}

// ---- decoding -------------------------------------------------------------------------------------------

/** Attributes of one level by type (the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits masked off). */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

const need = (m: Map<number, Buffer>, type: number, what: string): Buffer => {
  const b = m.get(type);
  if (!b) throw new Error(`IPVS reply without ${what}`);
  return b;
};
const protocolOf = (n: number): L4Protocol | null => (n === IPPROTO.TCP ? 'TCP' : n === IPPROTO.UDP ? 'UDP' : null);

function decodeStats(m: Map<number, Buffer>, stats64: number, stats32: number): DestStats {
  const s64 = m.get(stats64);
  if (s64) {
    const a = parseAttrs(s64);
    const n = (t: number) => Number(a.get(t)?.readBigUInt64LE(0) ?? 0n);
    return { conns: n(Stats.CONNS), inPackets: n(Stats.INPKTS), outPackets: n(Stats.OUTPKTS), inBytes: n(Stats.INBYTES), outBytes: n(Stats.OUTBYTES) };
  }
  // Kernels before 4.1 send only the 32-bit counters (bytes are 64-bit there too).
  const a = parseAttrs(m.get(stats32) ?? Buffer.alloc(0));
  const n32 = (t: number) => a.get(t)?.readUInt32LE(0) ?? 0;
  const n64 = (t: number) => Number(a.get(t)?.readBigUInt64LE(0) ?? 0n);
  return { conns: n32(Stats.CONNS), inPackets: n32(Stats.INPKTS), outPackets: n32(Stats.OUTPKTS), inBytes: n64(Stats.INBYTES), outBytes: n64(Stats.OUTBYTES) };
}

/** One GET_SERVICE dump message; null for services we cannot own (fwmark, SCTP, other families). */
export function decodeService(message: Buffer): ServiceDump | null {
  const s = parseAttrs(need(parseAttrs(message), CmdAttr.SERVICE, 'a service'));
  const family = familyOfAf(need(s, Svc.AF, 'AF').readUInt16LE(0));
  if (family === null || !s.has(Svc.ADDR)) return null;
  const protocol = protocolOf(need(s, Svc.PROTOCOL, 'PROTOCOL').readUInt16LE(0));
  if (!protocol) return null;
  const sched = need(s, Svc.SCHED_NAME, 'SCHED_NAME');
  return {
    protocol,
    vip: addrOf(need(s, Svc.ADDR, 'ADDR'), family),
    port: need(s, Svc.PORT, 'PORT').readUInt16BE(0),
    scheduler: sched.subarray(0, sched.indexOf(0) >= 0 ? sched.indexOf(0) : sched.length).toString('ascii'),
    flags: need(s, Svc.FLAGS, 'FLAGS').readUInt32LE(0),
    stats: decodeStats(s, Svc.STATS64, Svc.STATS),
  };
}

/**
 * One GET_DEST dump message of a service of `serviceFamily`: a destination's own family is in ADDR_FAMILY
 * (kernels before 3.18 send none: then it is the service's).
 */
export function decodeDest(message: Buffer, serviceFamily: IpFamily): DestDump {
  const d = parseAttrs(need(parseAttrs(message), CmdAttr.DEST, 'a destination'));
  const u = (t: number, what: string) => need(d, t, what).readUInt32LE(0);
  const af = d.get(Dest.ADDR_FAMILY);
  const family = af ? familyOfAf(af.readUInt16LE(0)) : serviceFamily;
  if (family === null) throw new Error(`IPVS destination of unknown address family ${af!.readUInt16LE(0)}`);
  return {
    ip: addrOf(need(d, Dest.ADDR, 'ADDR'), family),
    port: need(d, Dest.PORT, 'PORT').readUInt16BE(0),
    weight: u(Dest.WEIGHT, 'WEIGHT'),
    fwdMethod: u(Dest.FWD_METHOD, 'FWD_METHOD') & 0x7,
    activeConns: u(Dest.ACTIVE_CONNS, 'ACTIVE_CONNS'),
    inactiveConns: u(Dest.INACT_CONNS, 'INACT_CONNS'),
    stats: decodeStats(d, Dest.STATS64, Dest.STATS),
  };
}

/** The GET_CONFIG reply. */
export function decodeTimeouts(message: Buffer): Timeouts {
  const m = parseAttrs(message);
  const u = (t: number, what: string) => need(m, t, what).readUInt32LE(0);
  return { tcp: u(CmdAttr.TIMEOUT_TCP, 'TIMEOUT_TCP'), tcpFin: u(CmdAttr.TIMEOUT_TCP_FIN, 'TIMEOUT_TCP_FIN'), udp: u(CmdAttr.TIMEOUT_UDP, 'TIMEOUT_UDP') };
}
