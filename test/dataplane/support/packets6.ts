// Building and reading Ethernet/IPv6/TCP|UDP|ICMPv6 frames for the golden packet tests, with the checksum
// arithmetic done independently of the BPF program (RFC 1071 over the IPv6 pseudo-header and the whole segment;
// ICMPv6's checksum covers a pseudo-header too, unlike ICMP's).
import { ipv6Bytes, ipv6FromBytes } from '../../../src/dataplane/ipv6.js';
import { internetChecksum, segment, type Segment } from './packets.js';

const MAC_A = Buffer.from('02aaaaaaaaaa', 'hex');
const MAC_B = Buffer.from('02bbbbbbbbbb', 'hex');
const ETH_IPV6 = Buffer.from([0x86, 0xdd]);
export const ICMPV6 = 58;

export interface Segment6 extends Segment {
  /** TCP: an MSS option (kind 2) with this value. */
  mss?: number;
}

function pseudoHeader(src: string, dst: string, proto: number, length: number): Buffer {
  const p = Buffer.alloc(40);
  ipv6Bytes(src).copy(p, 0);
  ipv6Bytes(dst).copy(p, 16);
  p.writeUInt32BE(length, 32);
  p.writeUInt8(proto, 39);
  return p;
}

function ipHeader(src: string, dst: string, nexthdr: number, payloadLength: number, hopLimit: number): Buffer {
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(payloadLength, 4);
  ip.writeUInt8(nexthdr, 6);
  ip.writeUInt8(hopLimit, 7);
  ipv6Bytes(src).copy(ip, 8);
  ipv6Bytes(dst).copy(ip, 24);
  return ip;
}

const l4 = (s: Segment6): Buffer => segment(s, (proto, length) => pseudoHeader(s.src, s.dst, proto, length),
  s.mss === undefined ? Buffer.alloc(0) : Buffer.from([2, 4, s.mss >> 8, s.mss & 0xff]));

export function frame6(s: Segment6): Buffer {
  const seg = l4(s);
  return Buffer.concat([MAC_A, MAC_B, ETH_IPV6, ipHeader(s.src, s.dst, s.proto === 'TCP' ? 6 : 17, seg.length, s.ttl ?? 64), seg]);
}

/** An IPv6 packet with next header `nexthdr` carrying `payload` as is (no checksum filled in). */
export function ip6Packet(src: string, dst: string, nexthdr: number, payload: Buffer, hopLimit = 64): Buffer {
  return Buffer.concat([MAC_A, MAC_B, ETH_IPV6, ipHeader(src, dst, nexthdr, payload.length, hopLimit), payload]);
}

/** An ICMPv6 message (type, code, the 4 bytes after the checksum, body) with its checksum over the pseudo-header. */
export function icmp6(src: string, dst: string, type: number, code: number, rest: Buffer, body: Buffer, hopLimit = 64): Buffer {
  const msg = Buffer.concat([Buffer.from([type, code, 0, 0]), rest, body]);
  msg.writeUInt16BE(internetChecksum(pseudoHeader(src, dst, ICMPV6, msg.length), msg), 2);
  return ip6Packet(src, dst, ICMPV6, msg, hopLimit);
}

/** ICMPv6 packet too big (type 2) from `from` to `to` quoting `quoted`'s IPv6 header and its first 8 L4 bytes. */
export function packetTooBig(from: string, to: string, quoted: Segment6, mtu: number): Buffer {
  const rest = Buffer.alloc(4);
  rest.writeUInt32BE(mtu, 0);
  return icmp6(from, to, 2, 0, rest, frame6(quoted).subarray(14, 14 + 40 + 8));
}

/** ICMPv6 destination unreachable (type 1, code 4: port unreachable) quoting `quoted` the same way. */
export function unreachable6(from: string, to: string, quoted: Segment6): Buffer {
  return icmp6(from, to, 1, 4, Buffer.alloc(4), frame6(quoted).subarray(14, 14 + 40 + 8));
}

/** An echo request (type 128). */
export function echo6(src: string, dst: string): Buffer {
  return icmp6(src, dst, 128, 0, Buffer.from([0x12, 0x34, 0, 1]), Buffer.from('plb!'));
}

/** A neighbour solicitation (type 135) for `target`, to its solicited-node multicast address, hop limit 255. */
export function neighbourSolicitation(src: string, target: string): Buffer {
  const t = ipv6Bytes(target);
  const dst = `ff02::1:ff${t.subarray(13, 14).toString('hex')}:${t.subarray(14, 16).toString('hex')}`;
  return icmp6(src, dst, 135, 0, Buffer.alloc(4), Buffer.concat([t, Buffer.from([1, 1, 0x02, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa])]), 255);
}

export interface Parsed6 {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  hopLimit: number;
  nexthdr: number;
  sport: number;
  dport: number;
  /** TCP/UDP/ICMPv6 checksum verifies over the pseudo-header. */
  l4ChecksumOk: boolean;
  /** TCP: the MSS option's value, if any. */
  mss?: number;
  /** ICMPv6 errors: the quoted packet's addresses and ports, and the MTU field. */
  quoted?: { src: string; dst: string; sport: number; dport: number };
  mtu?: number;
}

export function parse6(buf: Buffer): Parsed6 {
  if (buf.readUInt16BE(12) !== 0x86dd) throw new Error(`not an IPv6 frame: ${buf.toString('hex')}`);
  const ip = buf.subarray(14, 54);
  const nexthdr = ip.readUInt8(6);
  const src = ipv6FromBytes(ip, 8);
  const dst = ipv6FromBytes(ip, 24);
  const seg = buf.subarray(54, 54 + ip.readUInt16BE(4));
  const out: Parsed6 = {
    dstMac: buf.subarray(0, 6).toString('hex'), srcMac: buf.subarray(6, 12).toString('hex'),
    src, dst, hopLimit: ip.readUInt8(7), nexthdr,
    sport: nexthdr === ICMPV6 ? 0 : seg.readUInt16BE(0), dport: nexthdr === ICMPV6 ? 0 : seg.readUInt16BE(2),
    l4ChecksumOk: internetChecksum(pseudoHeader(src, dst, nexthdr, seg.length), seg) === 0,
  };
  if (nexthdr === 6 && (seg.readUInt8(12) >> 4) > 5 && seg.readUInt8(20) === 2) out.mss = seg.readUInt16BE(22);
  if (nexthdr === ICMPV6 && seg.readUInt8(0) < 128) {
    const inner = seg.subarray(8, 48);
    out.quoted = { src: ipv6FromBytes(inner, 8), dst: ipv6FromBytes(inner, 24), sport: seg.readUInt16BE(48), dport: seg.readUInt16BE(50) };
    out.mtu = seg.readUInt32BE(4);
  }
  return out;
}
