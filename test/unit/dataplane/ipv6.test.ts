import { describe, expect, test } from '@jest/globals';
import { IpvsDataPlane } from '../../../src/dataplane/ipvs/ipvs-dataplane.js';
import { IPV6_NEEDS_NFTABLES, canonicalIpv6, isGlobalUnicastIpv6, isIpv6 } from '../../../src/dataplane/ipv6.js';

describe('ipv6', () => {
  test.each([
    ['2001:db8::10', true], ['::', true], ['fd00:1::1', true], ['2001:DB8::1', true],
    ['10.0.0.1', false], ['::ffff:10.0.0.1', false], ['fe80::1%eth0', false], ['2001:db8::/64', false], ['2001:db8:::1', false], ['', false],
  ])('isIpv6(%j) is %s', (text, ok) => {
    expect(isIpv6(text)).toBe(ok);
  });

  test.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['2001:db8::1', '2001:db8::1'],
  ])('canonicalIpv6(%j) is %j', (text, canonical) => {
    expect(canonicalIpv6(text)).toBe(canonical);
  });

  test.each([
    ['2001:db8::10', true], ['fd00::5', true], ['::', false], ['::1', false], ['fe80::1', false], ['febf::1', false],
    ['ff02::1', false],
  ])('isGlobalUnicastIpv6(%j) is %s', (text, ok) => {
    expect(isGlobalUnicastIpv6(text)).toBe(ok);
  });

  test('refuses what is not an IPv6 address', () => {
    expect(() => canonicalIpv6('10.0.0.1')).toThrow(/not an IPv6 address: 10\.0\.0\.1/);
  });
});

describe('an IPv6 VIP on an IPv4-only data plane (an object admitted before the CRD said so)', () => {
  test('the ipvs plane refuses it with the CRD\'s message before touching the kernel', async () => {
    const touched: string[] = [];
    const dp = new IpvsDataPlane({
      log: () => undefined,
      openTransport: async () => { touched.push('ipvs'); throw new Error('unexpected'); },
    });
    await expect(dp.apply({
      vip: '2001:db8::10', ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }], backends: [{ ip: '2001:db8:1::1', weight: 1 }],
      scheduler: 'maglev', attach: 'auto', interface: 'eth0', snatIp: '2001:db8::3',
    })).rejects.toThrow(IPV6_NEEDS_NFTABLES);
    expect(touched).toEqual([]);
  });
});
