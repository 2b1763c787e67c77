// Pool entries as numbers: parsing, canonical text, counting usable addresses.
import { describe, expect, it } from '@jest/globals';
import { formatIp, parseEntry, parseIp, usable, usableCount, type AddressRange } from '../../../../src/operator/allocator/addresses.js';
import { canonicalIpv6 } from '../../../../src/dataplane/ipv6.js';

const range = (entry: string) => parseEntry(entry) as AddressRange;

describe('addresses', () => {
  it.each([
    ['192.0.2.10', 4, 0xc000020an],
    ['0.0.0.1', 4, 1n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['::', 6, 0n],
    ['fd00:1:2:3:4:5:6:7', 6, 0xfd000001000200030004000500060007n],
  ])('parses %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
    expect(formatIp(family as 4 | 6, value)).toBe(canonicalIpv6OrSame(text));
  });

  it.each(['1.2.3', '256.1.1.1', '::ffff:1.2.3.4', 'fe80::1%eth0', 'x'])('refuses %s', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('formats IPv6 the RFC 5952 way (the same as the data planes and the CRD)', () => {
    for (const text of ['2001:db8:0:0:1:0:0:1', '2001:0:0:1:0:0:0:1', '1:0:1:0:1:0:1:0', '0:0:0:0:0:0:0:1', '2001:db8::']) {
      const ip = parseIp(text)!;
      expect(formatIp(6, ip.value)).toBe(canonicalIpv6(text));
    }
  });

  it.each<[string, string | { first: string; last: string }]>([
    ['192.0.2.0/24', { first: '192.0.2.0', last: '192.0.2.255' }],
    ['192.0.2.10-192.0.2.20', { first: '192.0.2.10', last: '192.0.2.20' }],
    ['2001:db8::/120', { first: '2001:db8::', last: '2001:db8::ff' }],
    ['192.0.2.5/24', '192.0.2.5/24 has host bits set'],
    ['192.0.2.20-192.0.2.10', '192.0.2.20-192.0.2.10: the first address is above the last'],
    ['192.0.2.1-2001:db8::1', '192.0.2.1-2001:db8::1 mixes IPv4 and IPv6'],
    ['192.0.2.0/33', '192.0.2.0/33 is not a CIDR'],
  ])('entry %s', (entry, expected) => {
    const r = parseEntry(entry);
    if (typeof expected === 'string') expect(r).toEqual({ error: expected });
    else {
      const ok = r as AddressRange;
      expect([formatIp(ok.family, ok.first), formatIp(ok.family, ok.last)]).toEqual([expected.first, expected.last]);
    }
  });

  it.each([
    ['192.0.2.0/24', 254n],
    ['192.0.2.0/31', 1n], // .0 refused, .1 usable
    ['192.0.2.254/31', 1n],
    ['10.0.0.0/16', 65536n - 2n * 256n],
    ['192.0.2.250-192.0.3.5', 10n], // .250..254 and .1..5
    ['0.0.0.0/0', 2n ** 32n - 2n * 2n ** 24n],
    ['2001:db8::/126', 3n],
    ['2001:db8::/127', 2n],
    ['2001:db8::-2001:db8::3', 4n],
  ])('%s has %s usable addresses, the same as counting them one by one where that is feasible', (entry, count) => {
    const r = range(entry);
    expect(usableCount(r)).toBe(count);
    if (r.last - r.first < 70_000n) {
      let n = 0n;
      for (let v = r.first; v <= r.last; v++) if (usable(r, v)) n++;
      expect(n).toBe(count);
    }
  });
});

function canonicalIpv6OrSame(text: string): string {
  return text.includes(':') ? canonicalIpv6(text) : text;
}
