// IPv6 literals: recognising them and writing them the one way nft, the kernel and the CRD's ip.isCanonical
// print them (RFC 5952: lower case, no leading zeros, the longest run of zero groups compressed).
import { isIPv6 } from 'node:net';
import { ipFamily } from '../api/defaults.js';
import type { DesiredState } from './types.js';

/**
 * An IPv6 address literal without zone or prefix length; IPv4-mapped forms (`::ffff:1.2.3.4`) excluded, as by the CRD.
 * Validation only: the family of an admitted VIP is src/api's ipFamily.
 */
export function isIpv6(text: string): boolean {
  return isIPv6(text) && !text.includes('.') && !text.includes('%');
}

/** The RFC 5952 form (the WHATWG URL serializer implements it). */
export function canonicalIpv6(text: string): string {
  if (!isIpv6(text)) throw new Error(`not an IPv6 address: ${text}`);
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** Not unspecified (::), loopback (::1), link-local (fe80::/10) or multicast (ff00::/8): the CRD's isGlobalUnicast. */
export function isGlobalUnicastIpv6(text: string): boolean {
  const canonical = canonicalIpv6(text);
  if (canonical === '::' || canonical === '::1') return false;
  const first = canonical.startsWith('::') ? 0 : parseInt(canonical.split(':')[0]!, 16);
  return (first & 0xff00) !== 0xff00 && (first & 0xffc0) !== 0xfe80;
}

/** The 16 bytes in wire order, as they sit in a packet, a netlink attribute or a BPF map key. */
export function ipv6Bytes(text: string): Buffer {
  const canonical = canonicalIpv6(text);
  const [head = '', tail] = canonical.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The RFC 5952 text of 16 bytes in wire order. */
export function ipv6FromBytes(buf: Buffer, offset = 0): string {
  const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(offset + i * 2).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/**
 * An IPv6 desired state with its addresses in RFC 5952 form: the kernel prints them back that way (nft listings,
 * IPVS dumps), and backends are keyed by their text, so `2001:DB8::1` in a spec and `2001:db8::1` in the kernel
 * must be one backend.
 */
export function canonicalAddresses(desired: DesiredState): DesiredState {
  if (ipFamily(desired.vip) === 4) return desired;
  return { ...desired, vip: canonicalIpv6(desired.vip), backends: desired.backends.map((b) => ({ ...b, ip: canonicalIpv6(b.ip) })) };
}
