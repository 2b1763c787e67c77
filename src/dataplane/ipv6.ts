// IPv6 literals: recognising them and writing them the one way nft, the kernel and the CRD's ip.isCanonical
// print them (RFC 5952: lower case, no leading zeros, the longest run of zero groups compressed).
import { isIPv6 } from 'node:net';

/** The CRD's CEL message, repeated where an IPv6 VIP reaches an IPv4-only plane (an object admitted before the rule). */
export const IPV6_NEEDS_NFTABLES =
  'an IPv6 vip needs dataPlane nftables: the xdp and ipvs data planes balance IPv4 only in this release';

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
