import { describe, expect, test } from '@jest/globals';
import { canonicalIpv6, ipv6Bytes, ipv6FromBytes, isGlobalUnicastIpv6, isIpv6 } from '../../../src/dataplane/ipv6.js';

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

describe('ipv6Bytes / ipv6FromBytes', () => {
  test.each([
    ['2001:db8:200::10', '20010db8020000000000000000000010'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['fd00::', 'fd000000000000000000000000000000'],
    ['2001:DB8:0:0:1::1', '20010db8000000000001000000000001'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ])('%s <-> %s', (text, hex) => {
    expect(ipv6Bytes(text).toString('hex')).toBe(hex);
    expect(ipv6FromBytes(Buffer.from(hex, 'hex'))).toBe(canonicalIpv6(text));
  });

  test('reads at an offset and refuses what is not IPv6', () => {
    expect(ipv6FromBytes(Buffer.concat([Buffer.alloc(3), ipv6Bytes('2001:db8::5')]), 3)).toBe('2001:db8::5');
    expect(() => ipv6Bytes('10.0.0.1')).toThrow(/not an IPv6 address/);
  });
});
