// Building and reading Ethernet/IPv4/TCP|UDP|ICMP frames for the golden packet tests, with the checksum
// arithmetic done independently of the BPF program (RFC 1071 over the whole header/segment).
import { ipv4Bytes, ipv4FromBytes } from '../../../src/dataplane/ipv4.js';

export function internetChecksum(...parts: Buffer[]): number {
  const data = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) + (i + 1 < data.length ? data[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Segment {
  src: string;
  dst: string;
  proto: 'TCP' | 'UDP';
  sport: number;
  dport: number;
  ttl?: number;
  /** TCP flags byte (SYN 0x02, ACK 0x10). */
  flags?: number;
  payload?: Buffer;
  /** UDP: send checksum 0 ("none"). */
  noUdpChecksum?: boolean;
  /** IPv4 flags/fragment offset word. */
  fragment?: number;
}

const MAC_A = Buffer.from('02aaaaaaaaaa', 'hex');
const MAC_B = Buffer.from('02bbbbbbbbbb', 'hex');

function ipHeader(src: string, dst: string, proto: number, payloadLength: number, ttl: number, fragment = 0, id = 0x1234): Buffer {
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + payloadLength, 2);
  ip.writeUInt16BE(id, 4);
  ip.writeUInt16BE(fragment, 6);
  ip.writeUInt8(ttl, 8);
  ip.writeUInt8(proto, 9);
  ipv4Bytes(src).copy(ip, 12);
  ipv4Bytes(dst).copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return ip;
}

function pseudoHeader(src: string, dst: string, proto: number, length: number): Buffer {
  const p = Buffer.alloc(12);
  ipv4Bytes(src).copy(p, 0);
  ipv4Bytes(dst).copy(p, 4);
  p.writeUInt8(proto, 9);
  p.writeUInt16BE(length, 10);
  return p;
}

/**
 * The TCP or UDP segment of `s` (with TCP `options`), its checksum over `pseudo` (the family's pseudo-header for a
 * protocol and length) and the segment.
 */
export function segment(s: Segment, pseudo: (proto: number, length: number) => Buffer, options = Buffer.alloc(0)): Buffer {
  const payload = s.payload ?? Buffer.alloc(0);
  if (s.proto === 'TCP') {
    const tcp = Buffer.alloc(20 + options.length);
    tcp.writeUInt16BE(s.sport, 0);
    tcp.writeUInt16BE(s.dport, 2);
    tcp.writeUInt32BE(1000, 4);
    tcp.writeUInt8(((20 + options.length) / 4) << 4, 12);
    tcp.writeUInt8(s.flags ?? 0x10, 13);
    tcp.writeUInt16BE(65535, 14);
    options.copy(tcp, 20);
    const seg = Buffer.concat([tcp, payload]);
    seg.writeUInt16BE(internetChecksum(pseudo(6, seg.length), seg), 16);
    return seg;
  }
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(s.sport, 0);
  udp.writeUInt16BE(s.dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const seg = Buffer.concat([udp, payload]);
  if (!s.noUdpChecksum) seg.writeUInt16BE(internetChecksum(pseudo(17, seg.length), seg) || 0xffff, 6);
  return seg;
}

const l4 = (s: Segment): Buffer => segment(s, (proto, length) => pseudoHeader(s.src, s.dst, proto, length));

export function frame(s: Segment): Buffer {
  const seg = l4(s);
  const ip = ipHeader(s.src, s.dst, s.proto === 'TCP' ? 6 : 17, seg.length, s.ttl ?? 64, s.fragment);
  return Buffer.concat([MAC_A, MAC_B, Buffer.from([0x08, 0x00]), ip, seg]);
}

const IP_MF = 0x2000;

/**
 * The IPv4 fragments of datagram `s` with IP ID `id`, as a sender's IP layer cuts it: the L4 segment (header and
 * payload, its checksum over all of it) in pieces of `size` bytes (a multiple of 8), the first one with the header.
 */
export function fragments(s: Segment, size: number, id: number): Buffer[] {
  const seg = l4(s);
  const out: Buffer[] = [];
  for (let off = 0; off < seg.length; off += size) {
    const piece = seg.subarray(off, off + size);
    const more = off + size < seg.length ? IP_MF : 0;
    const ip = ipHeader(s.src, s.dst, s.proto === 'TCP' ? 6 : 17, piece.length, s.ttl ?? 64, more | (off / 8), id);
    out.push(Buffer.concat([MAC_A, MAC_B, Buffer.from([0x08, 0x00]), ip, piece]));
  }
  return out;
}

/** A fragment's IP ID and flags/offset word. */
export function fragmentOf(buf: Buffer): { id: number; word: number } {
  return { id: buf.readUInt16BE(18), word: buf.readUInt16BE(20) };
}

/**
 * The datagram that `frames` (IPv4 fragments, any order) reassemble to, as one unfragmented frame with the first
 * fragment's headers: parse() of it checks the L4 checksum over the whole datagram, as the receiver's does.
 */
export function reassemble(frames: Buffer[]): Buffer {
  const byOffset = [...frames].sort((a, b) => (a.readUInt16BE(20) & 0x1fff) - (b.readUInt16BE(20) & 0x1fff));
  const payload = Buffer.concat(byOffset.map((f) => f.subarray(34, 14 + f.readUInt16BE(16))));
  const head = Buffer.from(byOffset[0]!.subarray(0, 34));
  head.writeUInt16BE(20 + payload.length, 16);
  head.writeUInt16BE(0, 20);
  head.writeUInt16BE(0, 24);
  head.writeUInt16BE(internetChecksum(head.subarray(14, 34)), 24);
  return Buffer.concat([head, payload]);
}

/** An ICMP error (type 3 code 4: fragmentation needed) from `from` to `to` quoting `quoted`'s IP header + 8 bytes. */
export function fragNeeded(from: string, to: string, quoted: Segment, mtu: number): Buffer {
  const q = frame(quoted).subarray(14, 14 + 20 + 8);
  const icmp = Buffer.concat([Buffer.from([3, 4, 0, 0, 0, 0, mtu >> 8, mtu & 0xff]), q]);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  const ip = ipHeader(from, to, 1, icmp.length, 64);
  return Buffer.concat([MAC_A, MAC_B, Buffer.from([0x08, 0x00]), ip, icmp]);
}

/** An IPv4 packet of protocol `proto` (ICMP echo: 1 with `echoRequest()`, or any other) carrying `payload` as is. */
export function ipPacket(src: string, dst: string, proto: number, payload: Buffer): Buffer {
  return Buffer.concat([MAC_A, MAC_B, Buffer.from([0x08, 0x00]), ipHeader(src, dst, proto, payload.length, 64), payload]);
}

/** An ICMP echo request (type 8) with a correct checksum. */
export function echoRequest(): Buffer {
  const icmp = Buffer.from([8, 0, 0, 0, 0x12, 0x34, 0, 1, 0x70, 0x6c, 0x62, 0x21]);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  return icmp;
}

export interface Parsed {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  ttl: number;
  proto: number;
  sport: number;
  dport: number;
  ipChecksumOk: boolean;
  /** TCP/UDP/ICMP checksum verifies (UDP checksum 0 counts as "none", reported as null). */
  l4ChecksumOk: boolean | null;
  quoted?: { src: string; dst: string; sport: number; dport: number; ipChecksumOk: boolean };
}

export function parse(buf: Buffer): Parsed {
  const ip = buf.subarray(14, 34);
  const proto = ip.readUInt8(9);
  const src = ipv4FromBytes(ip, 12);
  const dst = ipv4FromBytes(ip, 16);
  const seg = buf.subarray(34, 14 + ip.readUInt16BE(2));
  let l4ChecksumOk: boolean | null;
  if (proto === 1) l4ChecksumOk = internetChecksum(seg) === 0;
  else if (proto === 17 && seg.readUInt16BE(6) === 0) l4ChecksumOk = null;
  else l4ChecksumOk = internetChecksum(pseudoHeader(src, dst, proto, seg.length), seg) === 0;
  const out: Parsed = {
    dstMac: buf.subarray(0, 6).toString('hex'), srcMac: buf.subarray(6, 12).toString('hex'),
    src, dst, ttl: ip.readUInt8(8), proto,
    sport: proto === 1 ? 0 : seg.readUInt16BE(0), dport: proto === 1 ? 0 : seg.readUInt16BE(2),
    ipChecksumOk: internetChecksum(ip) === 0, l4ChecksumOk,
  };
  if (proto === 1) {
    const inner = seg.subarray(8, 28);
    out.quoted = {
      src: ipv4FromBytes(inner, 12), dst: ipv4FromBytes(inner, 16),
      sport: seg.readUInt16BE(28), dport: seg.readUInt16BE(30), ipChecksumOk: internetChecksum(inner) === 0,
    };
  }
  return out;
}
