// Golden packets for the TC build of the BPF program: frames in, verdict and frame out, run by the kernel with
// BPF_PROG_TEST_RUN in a namespace that has the LB pod's routes (so bpf_fib_lookup answers as in a pod). The
// checksums of every output are verified independently (packets.ts), not by the kernel.
import { describe, expect, jest, test } from '@jest/globals';
import type { DesiredState } from '../../src/dataplane/types.js';
import { GoldenFrames, type FrameStep } from './support/golden-frames.js';
import { ARTIFACTS } from './support/lab.js';
import { echoRequest, fragNeeded, frame, ipPacket, parse, type Segment } from './support/packets.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(120_000);

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const XDP_PASS = 2;
const XDP_REDIRECT = 4;
const VIP = '10.240.200.10';
const POD = '10.240.0.3';
const CLIENT = '10.240.0.2';
const OTHER_CLIENT = '10.240.0.9';
const B1 = '10.240.1.1';
const B2 = '10.240.1.2';

const desired = (backends: string[]): DesiredState => ({
  vip: VIP,
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: backends.map((ip) => ({ ip, weight: 1 })),
  scheduler: 'maglev', attach: 'tc', interface: 'eth0', snatIp: POD,
});

const syn = (src: string, sport: number): Segment => ({ src, dst: VIP, proto: 'TCP', sport, dport: 80, flags: 0x02 });
const fromClient = (sport: number, flags: number): Segment => ({ src: CLIENT, dst: VIP, proto: 'TCP', sport, dport: 80, flags });
const fromBackend = (backend: string, dport: number, flags: number): Segment => ({ src: backend, dst: POD, proto: 'TCP', sport: 8080, dport, flags });
const FIN_ACK = 0x11;
const ACK = 0x10;
/** The LB namespace's net.ipv4.ip_local_port_range (the kernel's default): no SNAT port may fall in it. */
const OWN_PORTS = { min: 32768, max: 60999 };
const isSnatPort = (p: number) => p >= 1024 && p <= 65535 && !(p >= OWN_PORTS.min && p <= OWN_PORTS.max);
// Client ports below OWN_PORTS unless a step is about them: keep-port SNAT applies, so replies can be addressed
// in advance.

/** Client ports of the re-pick rule's SYNs (and + 100: fresh tuples after the ring changed). */
/** A unicast MAC that is not the LB pod's. */
const OTHER_MAC = '02aaaaaaaaaa';

const REPICK_PORTS = [23000, 23001, 23002, 23003, 23004, 23005, 23006, 23007];

// In order: later packets depend on the flows earlier ones created.
const steps: FrameStep[] = [
  { name: 'program b1', apply: desired([B1]) },
  { name: 'syn', packet: frame(syn(CLIENT, 20000)) },
  { name: 'syn-ack', packet: frame({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20000, flags: 0x12 }) },
  { name: 'same port, other client', packet: frame(syn(OTHER_CLIENT, 20000)) },
  // A client reopening its tuple while the ring is unchanged: the stored entries are kept as they are.
  { name: 'syn again, ring unchanged', packet: frame(syn(CLIENT, 20000)) },
  { name: 'syn-ack again', packet: frame({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 20000, flags: 0x12 }) },
  { name: 'udp without checksum', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5000, dport: 53, noUdpChecksum: true, payload: Buffer.from('hi') }) },
  { name: 'udp with checksum', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5001, dport: 53, payload: Buffer.from('hello') }) },
  { name: 'frag needed on the backend leg', packet: fragNeeded('10.240.255.1', POD, { src: POD, dst: B1, proto: 'TCP', sport: 20000, dport: 8080 }, 1200) },
  { name: 'frag needed on the client leg', packet: fragNeeded('10.240.255.1', VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 20000 }, 1200) },
  // A client forging a frag-needed about its own flow, announcing an MTU below Linux's floor: refused.
  { name: 'frag needed of 551 on the client leg', packet: fragNeeded(CLIENT, VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 20000 }, 551) },
  { name: 'frag needed of 552 on the client leg', packet: fragNeeded(CLIENT, VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 20000 }, 552) },
  { name: 'frag needed of 68 on the backend leg', packet: fragNeeded('10.240.255.1', POD, { src: POD, dst: B1, proto: 'TCP', sport: 20000, dport: 8080 }, 68) },
  { name: 'not for a VIP', packet: frame({ src: CLIENT, dst: POD, proto: 'TCP', sport: 20000, dport: 22, flags: 0x02 }) },
  // A bridge floods frames to every port while it has not learnt their destination (issue 13): to another
  // host's MAC, they are not this pod's to translate, whichever build runs.
  { name: 'a syn to the vip for another host\'s mac', packet: frame(syn(CLIENT, 20010)), toMac: OTHER_MAC },
  { name: 'a syn to the vip for another host\'s mac (xdp)', packet: frame(syn(CLIENT, 20011)), toMac: OTHER_MAC, hook: 'xdp' },
  // To the pod's address on a SNAT port with no flow: a backend's reply whose entries are gone (issue 13), unless
  // a socket of the pod's own takes it (its health server listens on a port in the SNAT range).
  { name: 'a backend\'s reply to a SNAT port without a flow', packet: frame(fromBackend(B1, 20999, ACK)) },
  { name: 'a backend\'s udp reply to a SNAT port without a flow', packet: frame({ src: B1, dst: POD, proto: 'UDP', sport: 5353, dport: 20999, payload: Buffer.from('x') }) },
  { name: 'to a port in the pod\'s own ephemeral range', packet: frame(fromBackend(B1, 45001, ACK)) },
  { name: 'the pod listens on 9095', listen: 9095 },
  { name: 'a probe\'s syn to the pod\'s own listener on a SNAT port', packet: frame({ src: '10.240.255.1', dst: POD, proto: 'TCP', sport: 40000, dport: 9095, flags: 0x02 }) },
  { name: 'a probe\'s ack to the pod\'s own listener on a SNAT port', packet: frame({ src: '10.240.255.1', dst: POD, proto: 'TCP', sport: 40000, dport: 9095, flags: ACK }) },
  { name: 'udp to the pod\'s own socket on a SNAT port', packet: frame({ src: '10.240.255.1', dst: POD, proto: 'UDP', sport: 40000, dport: 9095, payload: Buffer.from('x') }) },
  { name: 'ttl 1', packet: frame({ ...syn(CLIENT, 20003), ttl: 1 }) },
  // Addressed to the VIP, but no service takes it (issue 13): dropped, never left to the kernel (which would
  // forward it back to the node, which routes the VIP here again: a loop until the TTL runs out).
  { name: 'unserved udp port', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5002, dport: 9999, payload: Buffer.from('x') }) },
  { name: 'unserved tcp port', packet: frame({ ...syn(CLIENT, 20004), dport: 9999 }) },
  { name: 'udp to the tcp service\'s port', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5003, dport: 80, payload: Buffer.from('x') }) },
  { name: 'icmp echo to the vip', packet: ipPacket(CLIENT, VIP, 1, echoRequest()) },
  { name: 'protocol 253 to the vip', packet: ipPacket(CLIENT, VIP, 253, Buffer.from('plb!')) },
  { name: 'a later fragment to the vip', packet: frame({ ...syn(CLIENT, 20005), fragment: 0x0010 }) },
  { name: 'icmp echo to the pod', packet: ipPacket(CLIENT, POD, 1, echoRequest()) },
  { name: 'protocol 253 to the pod', packet: ipPacket(CLIENT, POD, 253, Buffer.from('plb!')) },
  { name: 'program b2 instead of b1', apply: desired([B2]) },
  { name: 'new syn on a known tuple', packet: frame(syn(CLIENT, 20000)) },
  { name: 'udp from a fixed port after its backend left', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5000, dport: 53, payload: Buffer.from('again') }) },
  { name: 'ack of a flow on the removed backend', packet: frame({ ...syn(OTHER_CLIENT, 20000), flags: 0x10 }) },
  // Flow lifecycle (issue 13). A client port inside the LB pod's own ephemeral range: SNAT moves it out.
  { name: 'syn from a port in the pod\'s own range', packet: frame(syn(CLIENT, 45000)) },
  { name: 'the same syn again', packet: frame(syn(CLIENT, 45000)) },
  { name: 'established: syn', packet: frame(fromClient(21000, 0x02)) },
  { name: 'established: ack', packet: frame(fromClient(21000, ACK)) },
  { name: 'closing: fin from the client', packet: frame(fromClient(20000, FIN_ACK)) },
  { name: 'gc now', gc: 0 },
  // UDP flows expire after 30 s, TCP SYN-only and closing ones after 60 s, established ones after 6 h.
  { name: 'gc after 31 s', gc: 31 },
  { name: 'gc after 61 s', gc: 61 },
  { name: 'closing: the backend\'s reply after expiry', packet: frame(fromBackend(B2, 20000, FIN_ACK)) },
  { name: 'established: the backend\'s reply after 61 s', packet: frame(fromBackend(B2, 21000, ACK)) },
  // B1 was removed at 'program b2 instead of b1': its drainSeconds (the default 10 s) are over at +61 s.
  { name: 'the removed backend\'s flow after its drain', packet: frame({ ...syn(OTHER_CLIENT, 20000), flags: ACK }) },
  // A SYN on a known tuple re-picks only when the flow is closing or its backend gone (Katran's rule).
  ...REPICK_PORTS.map((p) => ({ name: `syn ${p} before the ring grows`, packet: frame(syn(CLIENT, p)) })),
  { name: 'program b2 and b1', apply: desired([B2, B1]) },
  ...REPICK_PORTS.map((p) => ({ name: `syn ${p} retransmitted after the ring grew`, packet: frame(syn(CLIENT, p)) })),
  ...REPICK_PORTS.map((p) => ({ name: `syn ${p + 100} after the ring grew`, packet: frame(syn(CLIENT, p + 100)) })),
  { name: 'syn on the established flow after the ring grew', packet: frame(fromClient(21000, 0x02)) },
  { name: 'gc after the syn on the established flow', gc: 120 },
  // last: its flow would change the counts of the gc steps above
  { name: 'a syn to the vip (xdp)', packet: frame(syn(CLIENT, 20012)), hook: 'xdp' },
];

suiteIf(missingPrerequisites(ARTIFACTS), 'golden packet')('TC program, golden packets', () => {
  const frames = new GoldenFrames('pkt', POD, steps);

  const redirected = (name: string) => {
    const r = frames.result(name);
    const f = parse(r.output);
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    expect({ dstMac: f.dstMac, srcMac: f.srcMac }).toEqual({ dstMac: frames.gatewayMac, srcMac: frames.podMac });
    expect({ ip: f.ipChecksumOk, l4: f.l4ChecksumOk }).toEqual({ ip: true, l4: f.proto === 17 && f.l4ChecksumOk === null ? null : true });
    return f;
  };

  test('the independent checksum check rejects a corrupted frame (so the checks below can fail)', () => {
    const bad = frame(syn(CLIENT, 20000));
    bad[bad.length - 1]! ^= 0x01;
    expect(parse(frame(syn(CLIENT, 20000))).l4ChecksumOk).toBe(true);
    expect(parse(bad).l4ChecksumOk).toBe(false);
  });

  test('a SYN to the VIP goes to the backend from the pod address, keeping the client port, TTL - 1', () => {
    expect(redirected('syn')).toMatchObject({ src: POD, sport: 20000, dst: B1, dport: 8080, ttl: 63 });
  });

  test('the XDP build translates a SYN to the pod\'s MAC, and leaves one to another host\'s MAC to the kernel untouched', () => {
    const r = frames.result('a syn to the vip (xdp)');
    expect({ retval: r.retval, ...parse(r.output) }).toMatchObject({ retval: XDP_REDIRECT, src: POD, sport: 20012, dport: 8080 });
    expect([B1, B2]).toContain(parse(r.output).dst);
    const other = frames.result('a syn to the vip for another host\'s mac (xdp)');
    expect({ retval: other.retval, same: other.output.equals(other.input) }).toEqual({ retval: XDP_PASS, same: true });
  });

  test('the backend\'s SYN-ACK goes back to the client from the VIP', () => {
    expect(redirected('syn-ack')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 20000 });
  });

  test('another client with the same port gets another SNAT port, outside the pod\'s own range', () => {
    const f = redirected('same port, other client');
    expect(f).toMatchObject({ src: POD, dst: B1, dport: 8080 });
    expect({ other: f.sport !== 20000, snat: isSnatPort(f.sport) }).toEqual({ other: true, snat: true });
  });

  test('a SYN reopening a tuple while the ring is unchanged keeps backend and SNAT port, both ways', () => {
    expect(redirected('syn again, ring unchanged')).toMatchObject({ src: POD, sport: 20000, dst: B1, dport: 8080 });
    expect(redirected('syn-ack again')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 20000 });
  });

  test('UDP without a checksum keeps none; with one, it stays correct', () => {
    expect(redirected('udp without checksum')).toMatchObject({ src: POD, sport: 5000, dst: B1, dport: 5353, l4ChecksumOk: null });
    expect(redirected('udp with checksum')).toMatchObject({ src: POD, sport: 5001, dst: B1, dport: 5353, l4ChecksumOk: true });
  });

  test('frag-needed about the backend leg reaches the client, quoting what the client sent', () => {
    const f = redirected('frag needed on the backend leg');
    expect(f).toMatchObject({ src: VIP, dst: CLIENT, proto: 1 });
    expect(f.quoted).toEqual({ src: CLIENT, dst: VIP, sport: 20000, dport: 80, ipChecksumOk: true });
  });

  test('frag-needed about the client leg reaches the backend, quoting what the backend sent', () => {
    const f = redirected('frag needed on the client leg');
    expect(f).toMatchObject({ src: POD, dst: B1, proto: 1 });
    expect(f.quoted).toEqual({ src: B1, dst: POD, sport: 8080, dport: 20000, ipChecksumOk: true });
  });

  test.each(['unserved udp port', 'unserved tcp port', 'udp to the tcp service\'s port', 'icmp echo to the vip',
    'protocol 253 to the vip', 'a later fragment to the vip'])('to the VIP and not translated (%s: no service takes it, or a later fragment whose first was not seen): dropped', (name) => {
    expect(frames.result(name).retval).toBe(TC_ACT_SHOT);
  });

  test('frag-needed announcing less than 552 (Linux\'s min_pmtu) is dropped, either leg; 552 is translated', () => {
    expect(frames.result('frag needed of 551 on the client leg').retval).toBe(TC_ACT_SHOT);
    expect(frames.result('frag needed of 68 on the backend leg').retval).toBe(TC_ACT_SHOT);
    const f = redirected('frag needed of 552 on the client leg');
    expect(f).toMatchObject({ src: POD, dst: B1, proto: 1 });
    expect(f.quoted).toEqual({ src: B1, dst: POD, sport: 8080, dport: 20000, ipChecksumOk: true });
  });

  test.each(['not for a VIP', 'a syn to the vip for another host\'s mac', 'icmp echo to the pod', 'protocol 253 to the pod', 'ttl 1', 'to a port in the pod\'s own ephemeral range',
    'a probe\'s syn to the pod\'s own listener on a SNAT port', 'a probe\'s ack to the pod\'s own listener on a SNAT port',
    'udp to the pod\'s own socket on a SNAT port'])('%s: left to the kernel, untouched', (name) => {
    const r = frames.result(name);
    expect({ retval: r.retval, same: r.output.equals(r.input) }).toEqual({ retval: TC_ACT_OK, same: true });
  });

  test('after the ring changes, a new SYN on a known tuple follows the new ring', () => {
    expect(redirected('new syn on a known tuple')).toMatchObject({ dst: B2, dport: 8080 });
  });

  test('an established flow of the removed backend keeps its backend and SNAT port', () => {
    const before = redirected('same port, other client').sport;
    expect(redirected('ack of a flow on the removed backend')).toMatchObject({ src: POD, sport: before, dst: B1 });
  });

  test('a client port inside the pod\'s own ephemeral range is moved out of it, to the same port each time', () => {
    const f = redirected('syn from a port in the pod\'s own range');
    expect({ snat: isSnatPort(f.sport), dst: f.dst }).toEqual({ snat: true, dst: B2 });
    expect(redirected('the same syn again').sport).toBe(f.sport);
  });

  // The flows at 'gc now', two entries each. On B2: 20000 (re-picked by its SYN, then closing), udp 5000
  // (re-picked by its datagram), 45000 (SYN only), 21000 (established). On B1, removed at 'program b2 instead
  // of b1' (so draining since then): the other client's 20000 (established by its ACK), udp 5001, and 20003
  // (SYN only: the 'ttl 1' SYN created its flow before the TTL check handed the packet to the kernel).
  test('expiry and the drain cut: nothing at once; at +31 s both UDP flows and every flow of the drained backend; at +61 s SYN-only and closing TCP; established stays', () => {
    redirected('established: syn');
    redirected('established: ack');
    redirected('closing: fin from the client');
    const now = frames.gcResult('gc now');
    const at31 = frames.gcResult('gc after 31 s');
    const at61 = frames.gcResult('gc after 61 s');
    expect(now).toMatchObject({ entries: 7 * 2, deleted: 0 });
    // Expired: udp 5000 (B2) and udp 5001 (B1). Drained (B1's 10 s are over): the other client's established
    // 20000 and 20003.
    expect(at31).toMatchObject({ entries: 3 * 2, deleted: 4 * 2 });
    // Expired: 20000 (closing) and 45000 (SYN only). Left: 21000, established.
    expect(at61).toMatchObject({ entries: 1 * 2, deleted: 2 * 2 });
  });

  test('a UDP client on a fixed port whose backend left picks again (and its old reverse entry goes)', () => {
    expect(redirected('udp from a fixed port after its backend left')).toMatchObject({ src: POD, sport: 5000, dst: B2, dport: 5353 });
  });

  test('after its drainSeconds, a removed backend\'s established flow is gone: the next segment goes by the ring (whose backend resets it)', () => {
    expect(redirected('the removed backend\'s flow after its drain')).toMatchObject({ src: POD, dst: B2, dport: 8080 });
  });

  test('a SYN retransmitted across a ring change keeps its backend and SNAT port; fresh tuples follow the new ring', () => {
    const before = REPICK_PORTS.map((p) => redirected(`syn ${p} before the ring grows`)).map((f) => `${f.dst}:${f.sport}`);
    expect(before.every((b) => b.startsWith(`${B2}:`))).toBe(true);
    expect(REPICK_PORTS.map((p) => redirected(`syn ${p} retransmitted after the ring grew`)).map((f) => `${f.dst}:${f.sport}`)).toEqual(before);
    // the ring did change: some of the same client's fresh tuples go to the added backend
    expect(REPICK_PORTS.map((p) => redirected(`syn ${p + 100} after the ring grew`).dst)).toContain(B1);
  });

  test('a SYN on an established flow (spoofed, or a client that lost it) neither moves it nor makes it expire as half-open', () => {
    expect(redirected('syn on the established flow after the ring grew')).toMatchObject({ src: POD, sport: 21000, dst: B2, dport: 8080 });
    // +120 s: the 16 SYN-only flows above are gone (tcpSyn 60 s); the established ones stay (6 h): 21000 and
    // the other client's 20000 (re-created mid-stream after its drain)
    expect(frames.gcResult('gc after the syn on the established flow')).toMatchObject({ entries: 2 * 2, deleted: 16 * 2 });
  });

  // Left to the kernel, such a packet meets no socket there, and the kernel resets the backend's connection (or
  // answers port unreachable): a connection whose entries the LRU evicted died although its client still had it.
  test.each(['a backend\'s reply to a SNAT port without a flow', 'a backend\'s udp reply to a SNAT port without a flow'])('%s: dropped, never left to the kernel', (name) => {
    expect(frames.result(name).retval).toBe(TC_ACT_SHOT);
  });

  test('expiry: a reply on an expired flow finds no entry (dropped: no socket of the pod takes it); one on an established flow is still translated', () => {
    const r = frames.result('closing: the backend\'s reply after expiry');
    expect(r.retval).toBe(TC_ACT_SHOT);
    expect(redirected('established: the backend\'s reply after 61 s')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 21000 });
  });
});

// SNAT reuse of closed flows (issue 13). The LB pod's own range is 1025-65535, so there is one SNAT port, 1024:
// every client below gets it or nothing. Client ports are 40000 (not a SNAT port: SNAT probes, never keeps it).
const ONLY_SNAT_PORT = 1024;
const A = CLIENT;
const B = OTHER_CLIENT;
const C = '10.240.0.10';
const D = '10.240.0.11';
const E = '10.240.0.12';
const F = '10.240.0.13';
const RST = 0x04;
const RST_ACK = 0x14;
const SYN_ACK_FLAGS = 0x12;
const client = (src: string, flags: number) => frame({ ...syn(src, 40000), flags });
const backend = (flags: number) => frame(fromBackend(B1, ONLY_SNAT_PORT, flags));
const snatSteps: FrameStep[] = [
  { name: 'program b1', apply: desired([B1]) },
  { name: 'a: syn', packet: client(A, 0x02) },
  { name: 'b: syn while a is open', packet: client(B, 0x02) },
  { name: 'a: ack', packet: client(A, ACK) },
  // The client closes first: the client keeps the TIME_WAIT, the backend's socket is gone after the last ACK.
  { name: 'a: fin from the client', packet: client(A, FIN_ACK) },
  { name: 'a: the backend\'s fin', packet: backend(FIN_ACK) },
  { name: 'b: syn before a\'s last ack', packet: client(B, 0x02) },
  { name: 'a: the client\'s last ack', packet: client(A, ACK) },
  { name: 'b: syn after a closed', packet: client(B, 0x02) },
  { name: 'b: syn-ack', packet: backend(SYN_ACK_FLAGS) },
  { name: 'a: its last ack retransmitted', packet: client(A, ACK) },
  { name: 'b: ack', packet: client(B, ACK) },
  // The backend closes first: it keeps the TIME_WAIT for the tuple, which a new client's SYN would meet.
  { name: 'b: the backend\'s fin first', packet: backend(FIN_ACK) },
  { name: 'b: fin from the client', packet: client(B, FIN_ACK) },
  { name: 'b: the backend\'s last ack', packet: backend(ACK) },
  { name: 'c: syn after the backend closed first', packet: client(C, 0x02) },
  { name: 'gc after 61 s', gc: 61 },
  { name: 'c: syn after b expired', packet: client(C, 0x02) },
  { name: 'c: the backend\'s rst', packet: backend(RST_ACK) },
  { name: 'd: syn after a reset by the backend', packet: client(D, 0x02) },
  { name: 'd: ack', packet: client(D, ACK) },
  { name: 'd: the client\'s rst', packet: client(D, RST) },
  { name: 'e: syn after a reset by the client', packet: client(E, 0x02) },
  { name: 'e: ack', packet: client(E, ACK) },
  // Half-closed (the backend may still send) is not closed.
  { name: 'e: fin from the client', packet: client(E, FIN_ACK) },
  { name: 'e: the backend acks it', packet: backend(ACK) },
  { name: 'f: syn while e is half-closed', packet: client(F, 0x02) },
  // The client reopens its tuple: a new connection, whose close bits start over.
  { name: 'e: fin from the backend', packet: backend(FIN_ACK) },
  { name: 'e: the client\'s last ack', packet: client(E, ACK) },
  { name: 'e: syn reopening its tuple', packet: client(E, 0x02) },
  { name: 'f: syn while e is open again', packet: client(F, 0x02) },
];

suiteIf(missingPrerequisites(ARTIFACTS), 'golden packet')('TC program, golden packets: a closed flow\'s SNAT tuple', () => {
  const frames = new GoldenFrames('snat', POD, snatSteps, ['net.ipv4.ip_local_port_range=1025 65535']);
  const to = (name: string) => {
    const r = frames.result(name);
    if (r.retval !== TC_ACT_REDIRECT) return { retval: r.retval };
    const f = parse(r.output);
    return { src: f.src, sport: f.sport, dst: f.dst, dport: f.dport };
  };
  const toBackend = { src: POD, sport: ONLY_SNAT_PORT, dst: B1, dport: 8080 };
  const dropped = { retval: TC_ACT_SHOT };

  test('while a flow holds the only SNAT port, another client\'s SYN is dropped', () => {
    expect(to('a: syn')).toEqual(toBackend);
    expect(to('b: syn while a is open')).toEqual(dropped);
  });

  test('a flow the client closed first (both FINs and the last ACK seen) gives its SNAT tuple to a new SYN at once', () => {
    expect(to('a: the backend\'s fin')).toEqual({ src: VIP, sport: 80, dst: A, dport: 40000 });
    expect(to('b: syn before a\'s last ack')).toEqual(dropped);
    expect(to('a: the client\'s last ack')).toEqual(toBackend);
    expect(to('b: syn after a closed')).toEqual(toBackend);
    expect(to('b: syn-ack')).toEqual({ src: VIP, sport: 80, dst: B, dport: 40000 });
    // the old client's entries went with the tuple: its late ACK cannot reach the new owner's connection
    expect(to('a: its last ack retransmitted')).toEqual(dropped);
  });

  test('a flow the backend closed first keeps its tuple (the backend\'s TIME_WAIT) until it expires', () => {
    expect(to('b: the backend\'s fin first')).toEqual({ src: VIP, sport: 80, dst: B, dport: 40000 });
    expect(to('c: syn after the backend closed first')).toEqual(dropped);
    expect(frames.gcResult('gc after 61 s')).toMatchObject({ entries: 0, deleted: 2 });
    expect(to('c: syn after b expired')).toEqual(toBackend);
  });

  test('a flow reset by either side gives its tuple away at once', () => {
    expect(to('c: the backend\'s rst')).toEqual({ src: VIP, sport: 80, dst: C, dport: 40000 });
    expect(to('d: syn after a reset by the backend')).toEqual(toBackend);
    expect(to('d: the client\'s rst')).toEqual(toBackend);
    expect(to('e: syn after a reset by the client')).toEqual(toBackend);
  });

  test('a half-closed flow keeps its tuple; a client reopening its own closed tuple starts a new connection that keeps it', () => {
    expect(to('f: syn while e is half-closed')).toEqual(dropped);
    expect(to('e: syn reopening its tuple')).toEqual(toBackend);
    expect(to('f: syn while e is open again')).toEqual(dropped);
  });
});

// The rate limit on frag-needed errors translated towards the backends (issue 13): a token bucket shared by the
// LB pod's CPUs and both builds, 10 a second with a burst of 10 (plb_consts.h). The program's clock is real time
// (bpf_ktime_get_ns): the frames of a run follow each other within microseconds, and the waits are real.
const FRAG_BURST = 10;
const XDP_DROP = 1;
const toBackendLeg = () => fragNeeded('10.240.255.1', VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 20000 }, 1200);
const fragBurst = (label: string, n: number): FrameStep[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${label} ${i + 1}`, packet: toBackendLeg() }));
const rateSteps: FrameStep[] = [
  { name: 'program b1', apply: desired([B1]) },
  // opens the XDP build before the burst (opening takes longer than the bucket's refill interval)
  { name: 'open the xdp build', packet: frame({ src: CLIENT, dst: POD, proto: 'TCP', sport: 20000, dport: 22, flags: 0x02 }), hook: 'xdp' },
  { name: 'syn', packet: frame(syn(CLIENT, 20000)) },
  { name: 'counters before', stats: true },
  ...fragBurst('burst', FRAG_BURST + 2),
  { name: 'beyond the burst (xdp)', packet: toBackendLeg(), hook: 'xdp' },
  { name: 'towards the client while limited', packet: fragNeeded('10.240.255.1', POD, { src: POD, dst: B1, proto: 'TCP', sport: 20000, dport: 8080 }, 1200) },
  { name: '551 while limited', packet: fragNeeded(CLIENT, VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 20000 }, 551) },
  { name: 'counters after the burst', stats: true },
  { name: 'wait 1.5 s', waitMs: 1500 },
  ...fragBurst('after 1.5 s', FRAG_BURST + 1),
  { name: 'wait 330 ms', waitMs: 330 },
  ...fragBurst('after 330 ms', 4),
  { name: 'counters at the end', stats: true },
];

suiteIf(missingPrerequisites(ARTIFACTS), 'golden packet')('TC and XDP programs, golden packets: frag-needed towards the backends, rate-limited', () => {
  const frames = new GoldenFrames('icmprl', POD, rateSteps);
  const retvals = (label: string, n: number) => Array.from({ length: n }, (_, i) => frames.result(`${label} ${i + 1}`).retval);
  const passed = (n: number, of: number) => [...Array<number>(n).fill(TC_ACT_REDIRECT), ...Array<number>(of - n).fill(TC_ACT_SHOT)];
  const delta = (from: string, to: string) => {
    const a = frames.stats(from);
    const b = frames.stats(to);
    return Object.fromEntries(['icmpTranslated', 'icmpRefused', 'icmpRateLimited'].map((k) => [k, (b[k] ?? NaN) - (a[k] ?? NaN)]));
  };

  test('a burst: the first 10 are translated to the backend, the rest dropped, by either build (one bucket)', () => {
    expect(retvals('burst', FRAG_BURST + 2)).toEqual(passed(FRAG_BURST, FRAG_BURST + 2));
    const f = parse(frames.result('burst 1').output);
    expect(f).toMatchObject({ src: POD, dst: B1, proto: 1 });
    expect(frames.result('beyond the burst (xdp)').retval).toBe(XDP_DROP);
  });

  test('errors towards the client are not limited; one below the MTU floor is refused, not counted as limited', () => {
    expect(frames.result('towards the client while limited').retval).toBe(TC_ACT_REDIRECT);
    expect(frames.result('551 while limited').retval).toBe(TC_ACT_SHOT);
    expect(delta('counters before', 'counters after the burst')).toEqual({ icmpTranslated: FRAG_BURST + 1, icmpRefused: 1, icmpRateLimited: 3 });
  });

  test('the bucket refills at 10 a second up to its burst of 10', () => {
    expect(retvals('after 1.5 s', FRAG_BURST + 1)).toEqual(passed(FRAG_BURST, FRAG_BURST + 1));
    expect(retvals('after 330 ms', 4)).toEqual(passed(3, 4));
    expect(delta('counters after the burst', 'counters at the end')).toEqual({ icmpTranslated: FRAG_BURST + 3, icmpRefused: 0, icmpRateLimited: 2 });
  });
});
