// Golden bytes for every IPVS message we send, written out by hand from include/uapi/linux/ip_vs.h:
// struct nlattr = { __u16 nla_len (header + payload, unpadded); __u16 nla_type } in host order (little endian),
// payload padded to 4 bytes; addresses are union nf_inet_addr (16 bytes), ports __be16, weights and thresholds
// host-order __u32, flags struct ip_vs_flags { __u32 flags; __u32 mask; }, netmask __be32.
import { describe, expect, test } from '@jest/globals';
import {
  attr, decodeDest, decodeService, decodeTimeouts, encodeDest, encodeService, encodeServiceKey, encodeTimeouts, parseAttrs,
} from '../../../../src/dataplane/ipvs/wire.js';

const hex = (...parts: string[]) => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');
const ZERO12 = '000000000000000000000000';

// IPVS_SVC_ATTR_* of TCP 10.240.200.10:80
const SVC_KEY = [
  '0600 0100 0200 0000', // AF (1) = AF_INET 2, u16 + 2 bytes padding
  '0600 0200 0600 0000', // PROTOCOL (2) = IPPROTO_TCP 6
  `1400 0300 0af0c80a ${ZERO12}`, // ADDR (3): 20 = 4 + sizeof(union nf_inet_addr)
  '0600 0400 0050 0000', // PORT (4) = 80 in network order
];

describe('encoders (golden bytes from the uapi layout)', () => {
  test('an attribute is length (unpadded), type, payload padded to 4', () => {
    expect(attr(6, Buffer.from('mh\0'))).toEqual(hex('0700 0600 6d6800 00'));
  });

  test('service key: IPVS_CMD_ATTR_SERVICE (1) nesting AF, PROTOCOL, ADDR, PORT (48 bytes)', () => {
    expect(encodeServiceKey({ protocol: 'TCP', vip: '10.240.200.10', port: 80 })).toEqual(hex('3000 0100', ...SVC_KEY));
  });

  test('NEW_SERVICE mh with the port flag: + SCHED_NAME, FLAGS {flags, mask}, TIMEOUT 0, NETMASK /32 (84 bytes)', () => {
    expect(encodeService({ protocol: 'TCP', vip: '10.240.200.10', port: 80, scheduler: 'mh', flags: 0x10 })).toEqual(hex(
      '5400 0100', ...SVC_KEY,
      '0700 0600 6d6800 00', // SCHED_NAME (6) "mh\0"
      '0c00 0700 10000000 ffffffff', // FLAGS (7): IP_VS_SVC_F_SCHED2 (mh-port), mask all
      '0800 0800 00000000', // TIMEOUT (8): no persistence
      '0800 0900 ffffffff', // NETMASK (9)
    ));
  });

  test('UDP service key carries IPPROTO_UDP 17 and the port in network order', () => {
    const b = encodeServiceKey({ protocol: 'UDP', vip: '10.240.200.10', port: 53 });
    expect(b.subarray(12, 20)).toEqual(hex('0600 0200 1100 0000'));
    expect(b.subarray(40, 48)).toEqual(hex('0600 0400 0035 0000'));
  });

  test('NEW_DEST/SET_DEST: IPVS_CMD_ATTR_DEST (2) with ADDR, PORT, FWD_METHOD masq, WEIGHT, thresholds, ADDR_FAMILY', () => {
    expect(encodeDest({ ip: '10.240.1.1', port: 8080, weight: 2 })).toEqual(hex(
      '4800 0200',
      `1400 0100 0af00101 ${ZERO12}`, // ADDR (1)
      '0600 0200 1f90 0000', // PORT (2) 8080 = 0x1f90
      '0800 0300 00000000', // FWD_METHOD (3) IP_VS_CONN_F_MASQ 0
      '0800 0400 02000000', // WEIGHT (4) 2
      '0800 0500 00000000', // U_THRESH (5)
      '0800 0600 00000000', // L_THRESH (6)
      '0600 0b00 0200 0000', // ADDR_FAMILY (11) AF_INET
    ));
  });

  test('DEL_DEST: the destination key only', () => {
    expect(encodeDest({ ip: '10.240.1.1', port: 8080, weight: 0 }, false)).toEqual(hex(
      '2800 0200', `1400 0100 0af00101 ${ZERO12}`, '0600 0200 1f90 0000', '0600 0b00 0200 0000',
    ));
  });

  // IPv6 (AF_INET6 = 10): the whole union nf_inet_addr is the address; the netmask is a prefix length.
  const SVC6_KEY = [
    '0600 0100 0a00 0000', // AF (1) = AF_INET6 10
    '0600 0200 0600 0000', // PROTOCOL (2) = IPPROTO_TCP 6
    '1400 0300 20010db8 02000000 00000000 00000010', // ADDR (3): 2001:db8:200::10, 16 bytes
    '0600 0400 0050 0000', // PORT (4) = 80
  ];

  test('IPv6 service key: AF_INET6 and the 16-byte address', () => {
    expect(encodeServiceKey({ protocol: 'TCP', vip: '2001:db8:200::10', port: 80 })).toEqual(hex('3000 0100', ...SVC6_KEY));
  });

  test('IPv6 NEW_SERVICE: NETMASK is the prefix length 128 as a host-order u32 (ipvsadm: NLA_PUT_U32 128)', () => {
    expect(encodeService({ protocol: 'TCP', vip: '2001:db8:200::10', port: 80, scheduler: 'mh', flags: 0x18 })).toEqual(hex(
      '5400 0100', ...SVC6_KEY,
      '0700 0600 6d6800 00', '0c00 0700 18000000 ffffffff', '0800 0800 00000000',
      '0800 0900 80000000', // NETMASK (9) = 128
    ));
  });

  test('IPv6 NEW_DEST / DEL_DEST: the 16-byte address and ADDR_FAMILY AF_INET6', () => {
    expect(encodeDest({ ip: '2001:db8:1::1', port: 8080, weight: 1 })).toEqual(hex(
      '4800 0200',
      '1400 0100 20010db8 00010000 00000000 00000001', // ADDR (1): 2001:db8:1::1
      '0600 0200 1f90 0000', '0800 0300 00000000', '0800 0400 01000000', '0800 0500 00000000', '0800 0600 00000000',
      '0600 0b00 0a00 0000', // ADDR_FAMILY (11) AF_INET6
    ));
    expect(encodeDest({ ip: '2001:db8:1::1', port: 8080, weight: 0 }, false)).toEqual(hex(
      '2800 0200', '1400 0100 20010db8 00010000 00000000 00000001', '0600 0200 1f90 0000', '0600 0b00 0a00 0000',
    ));
  });
});

// Dump replies as the kernel builds them: nests flagged NLA_F_NESTED (0x8000), 64-bit stats in *_STATS64 (12).
const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const nested = (type: number, parts: Buffer[]) => attr(type | 0x8000, Buffer.concat(parts));
const stats64 = (conns: number, inp: number, outp: number, inb: number, outb: number) =>
  nested(12, [attr(1, u64(conns)), attr(2, u64(inp)), attr(3, u64(outp)), attr(4, u64(inb)), attr(5, u64(outb))]);

describe('timeouts (SET_CONFIG / GET_CONFIG)', () => {
  test('SET_CONFIG carries only the timeouts given, each a top-level host-order u32 IPVS_CMD_ATTR_TIMEOUT_* (4, 5, 6)', () => {
    expect(encodeTimeouts({ tcp: 21_600 })).toEqual(hex('0800 0400 60540000'));
    expect(encodeTimeouts({ tcp: 900, tcpFin: 120, udp: 300 })).toEqual(hex('0800 0400 84030000', '0800 0500 78000000', '0800 0600 2c010000'));
    expect(encodeTimeouts({})).toEqual(Buffer.alloc(0));
  });

  test('a GET_CONFIG reply: the three timeouts in seconds; a reply without one is an error', () => {
    expect(decodeTimeouts(hex('0800 0400 84030000', '0800 0500 78000000', '0800 0600 2c010000'))).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(() => decodeTimeouts(hex('0800 0400 84030000'))).toThrow('IPVS reply without TIMEOUT_TCP_FIN');
  });
});

describe('decoders', () => {
  test('a GET_SERVICE dump message', () => {
    const msg = nested(1, [
      ...SVC_KEY.map((h) => hex(h)),
      attr(6, Buffer.from('wrr\0')), attr(7, hex('12000000 ffffffff')), attr(8, u32(0)), attr(9, hex('ffffffff')),
      stats64(3000, 19000, 17000, 1243000, 4880000),
    ]);
    expect(decodeService(msg)).toEqual({
      protocol: 'TCP', vip: '10.240.200.10', port: 80, scheduler: 'wrr', flags: 0x12,
      stats: { conns: 3000, inPackets: 19000, outPackets: 17000, inBytes: 1243000, outBytes: 4880000 },
    });
  });

  test('services we cannot own decode to null: a fwmark service (no ADDR), another family (AF_PACKET 17)', () => {
    expect(decodeService(nested(1, [attr(1, hex('0a00')), attr(2, hex('0600')), attr(5, u32(7))]))).toBeNull();
    expect(decodeService(nested(1, [attr(1, hex('1100')), attr(2, hex('0600')), attr(3, Buffer.alloc(16))]))).toBeNull();
  });

  test('an IPv6 GET_SERVICE and GET_DEST dump: addresses in RFC 5952 form', () => {
    const svc = nested(1, [
      attr(1, hex('0a00')), attr(2, hex('1100')), attr(3, hex('20010db8 02000000 00000000 00000010')), attr(4, hex('0035')),
      attr(6, Buffer.from('mh\0')), attr(7, hex('1a000000 ffffffff')), attr(8, u32(0)), attr(9, hex('80000000')),
      stats64(1, 2, 3, 4, 5),
    ]);
    expect(decodeService(svc)).toEqual({
      protocol: 'UDP', vip: '2001:db8:200::10', port: 53, scheduler: 'mh', flags: 0x1a,
      stats: { conns: 1, inPackets: 2, outPackets: 3, inBytes: 4, outBytes: 5 },
    });
    const dest = nested(2, [
      attr(1, hex('20010db8 00010000 00000000 00000001')), attr(2, hex('14e9')), attr(3, u32(0)), attr(4, u32(2)),
      attr(5, u32(0)), attr(6, u32(0)), attr(7, u32(0)), attr(8, u32(0)), attr(9, u32(0)), attr(11, hex('0a00')),
      stats64(0, 0, 0, 0, 0),
    ]);
    expect(decodeDest(dest, 6)).toMatchObject({ ip: '2001:db8:1::1', port: 5353, weight: 2 });
    // a kernel before 3.18 sends no ADDR_FAMILY: the destination is of its service's family
    const old = nested(2, [attr(1, hex('20010db8 00010000 00000000 00000002')), attr(2, hex('14e9')),
      ...[3, 4, 5, 6, 7, 8].map((t) => attr(t, u32(0)))]);
    expect(decodeDest(old, 6).ip).toBe('2001:db8:1::2');
  });

  test('a GET_DEST dump message with connection counts', () => {
    const msg = nested(2, [
      attr(1, hex(`0af00102 ${ZERO12}`)), attr(2, hex('1f90')), attr(3, u32(0)), attr(4, u32(0)),
      attr(5, u32(0)), attr(6, u32(0)), attr(7, u32(16)), attr(8, u32(3)), attr(9, u32(0)), attr(11, hex('0200')),
      stats64(2000, 13000, 11000, 846000, 3236000),
    ]);
    expect(decodeDest(msg, 4)).toEqual({
      ip: '10.240.1.2', port: 8080, weight: 0, fwdMethod: 0, activeConns: 16, inactiveConns: 3,
      stats: { conns: 2000, inPackets: 13000, outPackets: 11000, inBytes: 846000, outBytes: 3236000 },
    });
  });

  test('parseAttrs masks the NLA_F_NESTED bit and skips padding', () => {
    expect([...parseAttrs(Buffer.concat([attr(0x8001, hex('aa')), attr(2, hex('bbcc'))])).keys()]).toEqual([1, 2]);
  });
});
