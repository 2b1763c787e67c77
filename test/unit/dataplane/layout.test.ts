import { describe, expect, test } from '@jest/globals';
import {
  BACKEND_ACTIVE, BACKEND_DRAINING, FLOW_LAYOUTS, decodeBackend, decodeConfig, decodeFlow, decodeRing, decodeServiceKey,
  decodeServiceValue, encodeBackend, encodeConfig, encodeFlow, encodeRing, encodeServiceKey, encodeServiceValue,
  flowTableEntries, partnerKey, ringOffset, sumPerCpu, RING_SIZE,
} from '../../../src/dataplane/xdp/layout.js';
import { MAGLEV_RING_SIZE } from '../../../src/dataplane/maglev.js';

// Golden bytes: the C structs in src/dataplane/xdp/bpf/plb_structs.h read exactly these.
describe('map layouts', () => {
  test('service key: vip and port in network order, protocol number, padding', () => {
    const b = encodeServiceKey({ vip: '192.0.2.10', port: 80, protocol: 'TCP' });
    expect(b.toString('hex')).toBe('c000020a' + '0050' + '06' + '00');
    expect(decodeServiceKey(b)).toEqual({ vip: '192.0.2.10', port: 80, protocol: 'TCP' });
  });

  test('service value: host-order id, ring generation, network-order target port, host-order MSS clamp', () => {
    const b = encodeServiceValue({ id: 3, ringGen: 1, targetPort: 8080, mssClamp: 1410 });
    expect(b.toString('hex')).toBe('0300' + '01' + '00' + '1f90' + '8205');
    expect(decodeServiceValue(b)).toEqual({ id: 3, ringGen: 1, targetPort: 8080, mssClamp: 1410 });
  });

  test('a service value written before the MSS clamp existed (zero padding) reads as "no clamp"', () => {
    const old = Buffer.from('0300' + '01' + '00' + '1f90' + '0000', 'hex');
    expect(decodeServiceValue(old)).toEqual({ id: 3, ringGen: 1, targetPort: 8080, mssClamp: 0 });
  });

  test('backend, config and ring round-trip', () => {
    const backend = { ip: '10.1.2.3', state: BACKEND_ACTIVE };
    expect(encodeBackend(backend).toString('hex')).toBe('0a010203' + '01000000');
    expect(decodeBackend(encodeBackend(backend))).toEqual(backend);
    const config = { snatIp: '10.0.0.3', portMin: 1024, portMax: 65535, skipMin: 32768, skipMax: 60999, takeoverBefore: 55, vip: '192.0.2.10', mac: '02:0a:f0:00:03:ff' };
    expect(encodeConfig(config).toString('hex')).toBe('0a000003' + '0004' + 'ffff' + '0080' + '47ee' + '3700' + '0000' + 'c000020a' + '020af00003ff' + '0000' + '00'.repeat(32));
    expect(decodeConfig(encodeConfig(config))).toEqual(config);
    const ring = Uint32Array.from([1, 2, 1000]);
    expect(decodeRing(encodeRing(ring))).toEqual(ring);
  });

  test('IPv6: service key, backend, config (snat_ip6 and vip6 after the IPv4 fields, those zero) and flows (struct plb_flow_key6 / plb_flow6)', () => {
    const key = encodeServiceKey({ vip: '2001:db8:200::10', port: 80, protocol: 'UDP' });
    expect(key.toString('hex')).toBe('20010db8020000000000000000000010' + '0050' + '11' + '00');
    expect(decodeServiceKey(key, 6)).toEqual({ vip: '2001:db8:200::10', port: 80, protocol: 'UDP' });
    const backend = { ip: '2001:db8:1::2', state: BACKEND_DRAINING };
    expect(encodeBackend(backend).toString('hex')).toBe('20010db8000100000000000000000002' + '02000000');
    expect(decodeBackend(encodeBackend(backend), 0, 6)).toEqual(backend);
    const config = { snatIp: '2001:db8::3', portMin: 1024, portMax: 65535, skipMin: 0, skipMax: 0, takeoverBefore: 55, vip: '2001:db8:200::10', mac: '02:0a:f0:00:03:ff' };
    expect(encodeConfig(config).toString('hex')).toBe('00000000' + '0004' + 'ffff' + '0000' + '0000' + '3700' + '0000' + '00000000' + '020af00003ff' + '0000' +
      '20010db8000000000000000000000003' + '20010db8020000000000000000000010');
    expect(decodeConfig(encodeConfig(config))).toEqual(config);
    const e = {
      key: { saddr: '2001:db8::2', daddr: '2001:db8:200::10', sport: 20000, dport: 80, proto: 6 },
      value: { saddr: '2001:db8::3', daddr: '2001:db8:1::1', sport: 20000, dport: 8080, serviceId: 1, backendId: 2, dir: 1, state: 2, close: 0, lastSeen: 77 },
    };
    const { key: k, value: v } = encodeFlow(e);
    expect([k.length, v.length]).toEqual([40, 48]);
    expect(v.subarray(32).toString('hex')).toBe('4e20' + '1f90' + '0100' + '0200' + '01' + '02' + '00' + '00' + '4d000000');
    expect(decodeFlow(k, v, 0, 0, FLOW_LAYOUTS[6])).toEqual(e);
    const partner = Buffer.alloc(40);
    partnerKey(k, 0, v, 0, partner, 0, FLOW_LAYOUTS[6]);
    expect(partner.toString('hex')).toBe(encodeFlow({ key: { saddr: '2001:db8:1::1', daddr: '2001:db8::3', sport: 8080, dport: 20000, proto: 6 }, value: e.value }).key.toString('hex'));
  });

  test('rings are double-buffered per service in one flat array', () => {
    expect(RING_SIZE).toBe(MAGLEV_RING_SIZE);
    expect(ringOffset(0, 0)).toBe(0);
    expect(ringOffset(0, 1)).toBe(RING_SIZE);
    expect(ringOffset(2, 1)).toBe(5 * RING_SIZE);
  });

  test('per-CPU counters are summed over CPUs', () => {
    const b = Buffer.alloc(2 * 2 * 8);
    b.writeBigUInt64LE(5n, 0); b.writeBigUInt64LE(7n, 8);
    b.writeBigUInt64LE(1n, 16); b.writeBigUInt64LE(2n, 24);
    expect(sumPerCpu(b, ['a', 'b'] as const, 2)).toEqual({ a: 6, b: 9 });
  });

  // Two entries per flow, rounded up to the LRU's per-CPU batch of 128, and one batch per CPU (layout.ts says why).
  test.each([
    [1024, 1, 2048 + 128],
    [1000, 2, 2048 + 256],
    [131_072, 2, 262_144 + 256],
    [1_000_000, 64, 2_000_000 + 8192],
  ])('flow table entries for maxFlows %i on %i CPUs: %i', (maxFlows, cpus, entries) => {
    expect(flowTableEntries(maxFlows, cpus)).toBe(entries);
  });
});
