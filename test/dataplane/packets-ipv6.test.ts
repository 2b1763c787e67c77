// Golden IPv6 packets through both builds of the BPF program (issue 18: IPv6 on the xdp data plane): frames in,
// verdict and frame out, run by the kernel with BPF_PROG_TEST_RUN in a dual-stack namespace with the LB pod's
// routes. The L4 and ICMPv6 checksums of every output are verified independently over the IPv6 pseudo-header
// (packets6.ts), not by the kernel.
import { describe, expect, jest, test } from '@jest/globals';
import type { DesiredState } from '../../src/dataplane/types.js';
import { GoldenFrames, TC_ACT, XDP_ACT, type FrameStep } from './support/golden-frames.js';
import { ARTIFACTS } from './support/lab.js';
import { frame } from './support/packets.js';
import {
  echo6, frame6, ip6Packet, neighbourSolicitation, packetTooBig, parse6, unreachable6, type Segment6,
} from './support/packets6.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(120_000);

const { OK: TC_ACT_OK, SHOT: TC_ACT_SHOT, REDIRECT: TC_ACT_REDIRECT } = TC_ACT;
const { DROP: XDP_DROP, REDIRECT: XDP_REDIRECT } = XDP_ACT;
const POD4 = '10.240.0.3';
const VIP = '2001:db8:200::10';
const POD = '2001:db8:0:1::3';
const CLIENT = '2001:db8:0:1::2';
const B1 = '2001:db8:1::1';
const ROUTER = '2001:db8:ff::1';
// The overlay MTU 1280 less the IPv6 and TCP headers (60): what the agent computes for an IPv6 VIP.
const MSS = 1220;

const desired: DesiredState = {
  vip: VIP,
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: [{ ip: B1, weight: 1 }],
  scheduler: 'maglev', attach: 'tc', interface: 'eth0', snatIp: POD, tcpMssClamp: MSS,
};

const syn = (sport: number, extra: Partial<Segment6> = {}): Segment6 => ({ src: CLIENT, dst: VIP, proto: 'TCP', sport, dport: 80, flags: 0x02, mss: 1440, ...extra });
const backendLeg = (sport: number): Segment6 => ({ src: POD, dst: B1, proto: 'TCP', sport, dport: 8080 });
const clientLeg = (dport: number): Segment6 => ({ src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport });

const steps: FrameStep[] = [
  { name: 'program b1', apply: desired },
  { name: 'syn', packet: frame6(syn(20000)) },
  { name: 'syn-ack', packet: frame6({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20000, flags: 0x12, mss: 1440 }) },
  { name: 'ack', packet: frame6(syn(20000, { flags: 0x10, mss: undefined, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n') })) },
  { name: 'the backend\'s reply', packet: frame6({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20000, flags: 0x18, payload: Buffer.from('hello') }) },
  { name: 'udp', packet: frame6({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5001, dport: 53, payload: Buffer.from('hello') }) },
  { name: 'udp reply', packet: frame6({ src: B1, dst: POD, proto: 'UDP', sport: 5353, dport: 5001, payload: Buffer.from('olleh') }) },
  // ICMPv6 errors about the flow, translated for its other end (PMTUD needs packet too big on both legs).
  { name: 'packet too big on the backend leg', packet: packetTooBig(ROUTER, POD, backendLeg(20000), 1300) },
  { name: 'packet too big on the client leg', packet: packetTooBig(ROUTER, VIP, clientLeg(20000), 1300) },
  { name: 'packet too big of 1279 on the client leg', packet: packetTooBig(CLIENT, VIP, clientLeg(20000), 1279) },
  { name: 'unreachable on the backend leg', packet: unreachable6(ROUTER, POD, backendLeg(20000)) },
  { name: 'packet too big about no flow, to the vip', packet: packetTooBig(ROUTER, VIP, clientLeg(29999), 1300) },
  // ICMPv6 for the pod itself reaches its kernel; to the VIP what no flow takes is dropped.
  { name: 'neighbour solicitation for the pod', packet: neighbourSolicitation(CLIENT, POD) },
  { name: 'echo to the pod', packet: echo6(CLIENT, POD) },
  { name: 'echo to the vip', packet: echo6(CLIENT, VIP) },
  { name: 'unserved udp port', packet: frame6({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5002, dport: 9999, payload: Buffer.from('x') }) },
  { name: 'a fragment to the vip', packet: ip6Packet(CLIENT, VIP, 44, Buffer.from('1100000112345678', 'hex')) },
  { name: 'a fragment to the pod', packet: ip6Packet(CLIENT, POD, 44, Buffer.from('1100000112345678', 'hex')) },
  { name: 'a backend\'s reply to a SNAT port without a flow', packet: frame6({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20999, flags: 0x10 }) },
  { name: 'hop limit 1', packet: frame6(syn(20003, { ttl: 1 })) },
  { name: 'not for the vip', packet: frame6({ src: CLIENT, dst: POD, proto: 'TCP', sport: 20000, dport: 22, flags: 0x02 }) },
  // The XDP build: its own checksum arithmetic (RFC 1624) for the same translations.
  { name: 'syn (xdp)', packet: frame6(syn(20100)), hook: 'xdp' },
  { name: 'syn-ack (xdp)', packet: frame6({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20100, flags: 0x12, mss: 1440 }), hook: 'xdp' },
  { name: 'udp (xdp)', packet: frame6({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5101, dport: 53, payload: Buffer.from('hello') }), hook: 'xdp' },
  { name: 'packet too big on the backend leg (xdp)', packet: packetTooBig(ROUTER, POD, backendLeg(20100), 1300), hook: 'xdp' },
  { name: 'packet too big on the client leg (xdp)', packet: packetTooBig(ROUTER, VIP, clientLeg(20100), 1300), hook: 'xdp' },
  { name: 'echo to the vip (xdp)', packet: echo6(CLIENT, VIP), hook: 'xdp' },
  // The IPv4 pipeline of the same program still runs beside it (same maps, the VIP is IPv6 now).
  { name: 'an IPv4 syn to the pod', packet: frame({ src: '10.240.0.2', dst: POD4, proto: 'TCP', sport: 20000, dport: 22, flags: 0x02 }) },
  { name: 'stats', stats: true },
  // The GC pass reads the IPv6 flow table too: UDP flows (2) expire after 30 s, TCP SYN-only ones after 60 s.
  { name: 'gc now', gc: 0 },
  { name: 'gc after 31 s', gc: 31 },
];

suiteIf(missingPrerequisites(ARTIFACTS), 'golden packet')('TC and XDP programs, golden IPv6 packets', () => {
  const frames = new GoldenFrames('pkt6', POD4, steps, [], POD);

  const redirected = (name: string, retval: number = TC_ACT_REDIRECT) => {
    const r = frames.result(name);
    expect(r.retval).toBe(retval);
    const f = parse6(r.output);
    expect({ dstMac: f.dstMac, srcMac: f.srcMac, l4: f.l4ChecksumOk }).toEqual({ dstMac: frames.gatewayMac, srcMac: frames.podMac, l4: true });
    return f;
  };
  const untouched = (name: string, retval: number) => {
    const r = frames.result(name);
    expect(r.retval).toBe(retval);
    expect(r.output.toString('hex')).toBe(r.input.toString('hex'));
  };

  test('the independent checksum check rejects a corrupted frame (so the checks below can fail)', () => {
    const bad = frame6(syn(20000));
    bad[bad.length - 1]! ^= 0x01;
    expect(parse6(frame6(syn(20000))).l4ChecksumOk).toBe(true);
    expect(parse6(bad).l4ChecksumOk).toBe(false);
  });

  test('a SYN to the IPv6 VIP goes to the backend from the pod\'s IPv6 address, keeping the client port, hop limit - 1, MSS clamped', () => {
    expect(redirected('syn')).toMatchObject({ src: POD, sport: 20000, dst: B1, dport: 8080, hopLimit: 63, nexthdr: 6, mss: MSS });
  });

  test('the SYN-ACK goes back to the client from the VIP, its MSS clamped too', () => {
    expect(redirected('syn-ack')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 20000, hopLimit: 63, mss: MSS });
  });

  test('data both ways on the flow, checksums right with a payload', () => {
    expect(redirected('ack')).toMatchObject({ src: POD, sport: 20000, dst: B1, dport: 8080 });
    expect(redirected('the backend\'s reply')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 20000 });
  });

  test('UDP both ways', () => {
    expect(redirected('udp')).toMatchObject({ src: POD, sport: 5001, dst: B1, dport: 5353, nexthdr: 17 });
    expect(redirected('udp reply')).toMatchObject({ src: VIP, sport: 53, dst: CLIENT, dport: 5001 });
  });

  test('packet too big about the backend leg reaches the client, quoting what the client sent', () => {
    const f = redirected('packet too big on the backend leg');
    expect(f).toMatchObject({ src: VIP, dst: CLIENT, nexthdr: 58, mtu: 1300 });
    expect(f.quoted).toEqual({ src: CLIENT, dst: VIP, sport: 20000, dport: 80 });
  });

  test('packet too big about the client leg reaches the backend, quoting what the backend sent', () => {
    const f = redirected('packet too big on the client leg');
    expect(f).toMatchObject({ src: POD, dst: B1, nexthdr: 58, mtu: 1300 });
    expect(f.quoted).toEqual({ src: B1, dst: POD, sport: 8080, dport: 20000 });
  });

  test('destination unreachable carrying the embedded packet is translated the same way', () => {
    const f = redirected('unreachable on the backend leg');
    expect(f).toMatchObject({ src: VIP, dst: CLIENT, nexthdr: 58 });
    expect(f.quoted).toEqual({ src: CLIENT, dst: VIP, sport: 20000, dport: 80 });
  });

  test('a packet too big below IPv6\'s minimum MTU is refused; one about no flow, to the VIP, dropped', () => {
    untouched('packet too big of 1279 on the client leg', TC_ACT_SHOT);
    untouched('packet too big about no flow, to the vip', TC_ACT_SHOT);
  });

  test('neighbour discovery and echo for the pod reach its kernel untouched; echo to the VIP is dropped', () => {
    untouched('neighbour solicitation for the pod', TC_ACT_OK);
    untouched('echo to the pod', TC_ACT_OK);
    untouched('echo to the vip', TC_ACT_SHOT);
  });

  test('what no service takes at the VIP is dropped (a port, a fragment); fragments to the pod are its own', () => {
    untouched('unserved udp port', TC_ACT_SHOT);
    untouched('a fragment to the vip', TC_ACT_SHOT);
    untouched('a fragment to the pod', TC_ACT_OK);
  });

  test('a backend\'s reply to a SNAT port without a flow is dropped (no socket of the pod takes it)', () => {
    untouched('a backend\'s reply to a SNAT port without a flow', TC_ACT_SHOT);
  });

  test('hop limit 1 is left to the kernel (it sends time exceeded); traffic to the pod itself too', () => {
    untouched('hop limit 1', TC_ACT_OK);
    untouched('not for the vip', TC_ACT_OK);
  });

  test('the XDP build translates the same (its own checksum arithmetic)', () => {
    expect(redirected('syn (xdp)', XDP_REDIRECT)).toMatchObject({ src: POD, sport: 20100, dst: B1, dport: 8080, hopLimit: 63, mss: MSS });
    expect(redirected('syn-ack (xdp)', XDP_REDIRECT)).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 20100, mss: MSS });
    expect(redirected('udp (xdp)', XDP_REDIRECT)).toMatchObject({ src: POD, sport: 5101, dst: B1, dport: 5353 });
    const toClient = redirected('packet too big on the backend leg (xdp)', XDP_REDIRECT);
    expect(toClient.quoted).toEqual({ src: CLIENT, dst: VIP, sport: 20100, dport: 80 });
    const toBackend = redirected('packet too big on the client leg (xdp)', XDP_REDIRECT);
    expect(toBackend).toMatchObject({ src: POD, dst: B1, mtu: 1300 });
    expect(toBackend.quoted).toEqual({ src: B1, dst: POD, sport: 8080, dport: 20100 });
    expect(frames.result('echo to the vip (xdp)').retval).toBe(XDP_DROP);
  });

  test('the IPv4 pipeline still leaves the pod\'s own traffic to the kernel', () => {
    untouched('an IPv4 syn to the pod', TC_ACT_OK);
  });

  test('counters: ICMPv6 errors translated and refused, unserved drops, the fragments seen, the reverse miss', () => {
    expect(frames.stats('stats')).toMatchObject({
      icmpTranslated: 5, icmpRefused: 1, unservedDropped: 5, fragments: 2, reverseMissDropped: 1,
    });
  });

  test('the flow GC reads and expires the IPv6 flow table', () => {
    // flows: TCP 20000, 20003 (hop limit 1: created, then left to the kernel) and 20100, UDP 5001 and 5101
    expect(frames.gcResult('gc now')).toEqual({ entries: 10, deleted: 0 });
    expect(frames.gcResult('gc after 31 s')).toEqual({ entries: 6, deleted: 4 });
  });
});
