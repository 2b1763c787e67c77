import { describe, expect, test } from '@jest/globals';
import { ipv4Bytes, ipv4FromBytes, isIpv4 } from '../../../src/dataplane/ipv4.js';

describe('ipv4', () => {
  test.each([
    ['192.0.2.10', true], ['0.0.0.0', true], ['255.255.255.255', true],
    ['256.0.0.1', false], ['1.2.3', false], ['01.2.3.4', false], ['1.2.3.4/32', false], ['::1', false], ['', false],
  ])('isIpv4(%j) is %s', (text, ok) => {
    expect(isIpv4(text)).toBe(ok);
  });

  test('wire bytes are in network order and round-trip', () => {
    expect(ipv4Bytes('10.1.2.3').toString('hex')).toBe('0a010203');
    expect(ipv4FromBytes(Buffer.from('c000020a', 'hex'))).toBe('192.0.2.10');
  });

  test('refuses what is not an address', () => {
    expect(() => ipv4Bytes('10.1.2')).toThrow(/not an IPv4 address: 10\.1\.2/);
  });
});
