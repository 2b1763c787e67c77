// Addresses as numbers: a VIPPool's entries (CIDRs and first-last ranges) become inclusive [first, last] ranges
// of bigints, so overlap, counting and "next free" are arithmetic. Pure.
import { isIPv4, isIPv6 } from 'node:net';
import type { IpFamily } from '../../api/defaults.js';

export interface AddressRange {
  family: IpFamily;
  first: bigint;
  last: bigint;
  /** The entry as the admin wrote it, for messages. */
  source: string;
  /** A CIDR entry (its subnet-router anycast address is skipped for IPv6 shorter than /127). */
  cidrBits?: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 4, value };
  }
  // IPv4-mapped and zoned forms are not VIPs (the PLB CRD's isIP refuses zones, the pools' canonical rule the rest).
  if (!isIPv6(text) || text.includes('.') || text.includes('%')) return undefined;
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { family: 6, value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** The canonical text (IPv6 as RFC 5952: lower case, the longest run of zero groups compressed). */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** One pool entry, or a message saying what is wrong with it (the CRD's CEL rules catch most of it first). */
export function parseEntry(entry: string): AddressRange | { error: string } {
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const ip = parseIp(entry.slice(0, slash));
    const bits = Number(entry.slice(slash + 1));
    if (!ip || !/^\d{1,3}$/.test(entry.slice(slash + 1)) || bits > BITS[ip.family]) return { error: `${entry} is not a CIDR` };
    const host = BITS[ip.family] - bits;
    const mask = (1n << BigInt(host)) - 1n;
    if ((ip.value & mask) !== 0n) return { error: `${entry} has host bits set` };
    return { family: ip.family, first: ip.value, last: ip.value | mask, source: entry, cidrBits: bits };
  }
  const parts = entry.split('-');
  const a = parts.length === 2 ? parseIp(parts[0]!) : undefined;
  const b = parts.length === 2 ? parseIp(parts[1]!) : undefined;
  if (!a || !b) return { error: `${entry} is neither a CIDR nor a first-last range` };
  if (a.family !== b.family) return { error: `${entry} mixes IPv4 and IPv6` };
  if (a.value > b.value) return { error: `${entry}: the first address is above the last` };
  return { family: a.family, first: a.value, last: b.value, source: entry };
}

/**
 * Whether an address of a range can be handed out. IPv4 .0 and .255 are refused by the PLB CRD (network and
 * broadcast of the /24 most networks use); an IPv6 CIDR's all-zero address is its subnet-router anycast.
 */
export function usable(range: AddressRange, value: bigint): boolean {
  if (value < range.first || value > range.last) return false;
  if (range.family === 4) {
    const low = value & 0xffn;
    return low !== 0n && low !== 255n;
  }
  return !(range.cidrBits !== undefined && range.cidrBits < 127 && value === range.first);
}

/** How many x in [0, n] have x mod 256 equal to r (for counting .0 and .255 in an IPv4 range). */
const countResidue = (n: bigint, r: bigint): bigint => (n < r ? 0n : (n - r) / 256n + 1n);

/** Addresses of the range that can be handed out. */
export function usableCount(range: AddressRange): bigint {
  const size = range.last - range.first + 1n;
  if (range.family === 4) {
    const excluded = (r: bigint) => countResidue(range.last, r) - (range.first === 0n ? 0n : countResidue(range.first - 1n, r));
    return size - excluded(0n) - excluded(255n);
  }
  return range.cidrBits !== undefined && range.cidrBits < 127 ? size - 1n : size;
}

export const overlaps = (a: AddressRange, b: AddressRange): boolean =>
  a.family === b.family && a.first <= b.last && b.first <= a.last;

/** Whether text is one of the range's addresses (in any spelling). */
export function contains(range: AddressRange, ip: { family: IpFamily; value: bigint }): boolean {
  return ip.family === range.family && ip.value >= range.first && ip.value <= range.last;
}
