// MSS clamping by the BPF program, both builds (TC and XDP), with golden frames through BPF_PROG_TEST_RUN in a
// namespace that has the LB pod's routes (as packets.test.ts). A client's SYN and a backend's SYN-ACK carry
// MSS options; with tcpMssClamp 1410 a larger MSS must come out as 1410, a smaller one unchanged, every other
// option byte unchanged, and the TCP checksum must verify (checked independently of the program, packets.ts).
import { describe, expect, jest, test } from '@jest/globals';
import type { DesiredState } from '../../src/dataplane/types.js';
import { ipv4Bytes } from '../../src/dataplane/ipv4.js';
import { GoldenFrames, type FrameStep } from './support/golden-frames.js';
import { ARTIFACTS } from './support/lab.js';
import { frame, internetChecksum, parse, type Segment } from './support/packets.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(120_000);

const VERDICT_REDIRECT = { tc: 7, xdp: 4 } as const;
const VIP = '10.240.200.10';
const POD = '10.240.0.3';
const CLIENT = '10.240.0.2';
const B1 = '10.240.1.1';
const CLAMP = 1410;

type Hook = 'tc' | 'xdp';
const HOOKS: Hook[] = ['tc', 'xdp'];

const desired = (tcpMssClamp?: number): DesiredState => ({
  vip: VIP,
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
  backends: [{ ip: B1, weight: 1 }],
  scheduler: 'maglev', attach: 'tc', interface: 'eth0', snatIp: POD,
  ...(tcpMssClamp === undefined ? {} : { tcpMssClamp }),
});

const mss = (value: number) => Buffer.from([2, 4, value >> 8, value & 0xff]);
// What Linux sends: MSS, SACK permitted, timestamps, NOP, window scale (20 bytes, MSS value at an even offset).
const linuxOptions = (value: number) => Buffer.concat([
  mss(value), Buffer.from([4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7]),
]);
// One NOP first: the MSS value sits at an odd offset and straddles two checksum words.
const oddOptions = (value: number) => Buffer.concat([Buffer.from([1]), mss(value), Buffer.from([1, 1, 1])]);

/** `s` as a frame whose TCP header carries `options` (a multiple of 4 bytes); all checksums correct. */
function withOptions(s: Segment, options: Buffer): Buffer {
  const plain = frame(s);
  const tcp = Buffer.concat([plain.subarray(34, 54), options]);
  tcp.writeUInt8(((20 + options.length) / 4) << 4, 12);
  tcp.writeUInt16BE(0, 16);
  const pseudo = Buffer.alloc(12);
  ipv4Bytes(s.src).copy(pseudo, 0);
  ipv4Bytes(s.dst).copy(pseudo, 4);
  pseudo.writeUInt8(6, 9);
  pseudo.writeUInt16BE(tcp.length, 10);
  tcp.writeUInt16BE(internetChecksum(pseudo, tcp), 16);
  const ip = Buffer.from(plain.subarray(14, 34));
  ip.writeUInt16BE(20 + tcp.length, 2);
  ip.writeUInt16BE(0, 10);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return Buffer.concat([plain.subarray(0, 14), ip, tcp]);
}

const TCP_OPTIONS_AT = 14 + 20 + 20;
const optionsOf = (f: Buffer) => f.subarray(TCP_OPTIONS_AT, 14 + 20 + (f.readUInt8(14 + 20 + 12) >> 4) * 4);

/** The MSS option's value, found by walking the options like a receiver would. */
function mssOf(f: Buffer): number | null {
  const opts = optionsOf(f);
  for (let i = 0; i < opts.length;) {
    const kind = opts[i]!;
    if (kind === 0) return null;
    if (kind === 1) { i += 1; continue; }
    if (kind === 2) return opts.readUInt16BE(i + 2);
    i += opts[i + 1]!;
  }
  return null;
}

const clientSyn = (sport: number, options: Buffer) =>
  withOptions({ src: CLIENT, dst: VIP, proto: 'TCP', sport, dport: 80, flags: 0x02 }, options);
const backendSynAck = (dport: number, options: Buffer) =>
  withOptions({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport, flags: 0x12 }, options);

// Each hook gets its own client ports, so every SYN-ACK answers a flow its own SYN created. Ports below the LB
// namespace's ip_local_port_range (32768-60999), so keep-port SNAT applies and the SYN-ACK can be addressed in advance.
const packetSteps = (hook: Hook, base: number): FrameStep[] => [
  { name: `${hook}: syn 1460`, hook, packet: clientSyn(base, linuxOptions(1460)) },
  { name: `${hook}: syn-ack 1460`, hook, packet: backendSynAck(base, linuxOptions(1460)) },
  { name: `${hook}: syn 1200`, hook, packet: clientSyn(base + 1, linuxOptions(1200)) },
  { name: `${hook}: syn-ack 1200`, hook, packet: backendSynAck(base + 1, linuxOptions(1200)) },
  { name: `${hook}: syn 1460 at an odd offset`, hook, packet: clientSyn(base + 2, oddOptions(1460)) },
  { name: `${hook}: syn without options`, hook, packet: frame({ src: CLIENT, dst: VIP, proto: 'TCP', sport: base + 3, dport: 80, flags: 0x02 }) },
];

const steps: FrameStep[] = [
  { name: 'program with the clamp', apply: desired(CLAMP) },
  ...packetSteps('tc', 21000),
  ...packetSteps('xdp', 22000),
  { name: 'program without a clamp', apply: desired() },
  { name: 'tc: syn 1460, no clamp', hook: 'tc', packet: clientSyn(21010, linuxOptions(1460)) },
  { name: 'xdp: syn 1460, no clamp', hook: 'xdp', packet: clientSyn(22010, linuxOptions(1460)) },
];

suiteIf(missingPrerequisites(ARTIFACTS), 'MSS clamp')('MSS clamping in the BPF program (TC and XDP builds)', () => {
  const frames = new GoldenFrames('mss', POD, steps);

  /** The translated frame: redirected, both checksums verified independently. */
  const translated = (hook: Hook, name: string) => {
    const r = frames.result(`${hook}: ${name}`);
    const p = parse(r.output);
    expect({ retval: r.retval, ip: p.ipChecksumOk, tcp: p.l4ChecksumOk }).toEqual({ retval: VERDICT_REDIRECT[hook], ip: true, tcp: true });
    return { ...r, parsed: p };
  };

  test('the test frames themselves carry valid checksums and the MSS they say', () => {
    for (const f of [clientSyn(1, linuxOptions(1460)), clientSyn(1, oddOptions(1460)), backendSynAck(1, linuxOptions(1200))]) {
      expect(parse(f).l4ChecksumOk).toBe(true);
    }
    expect([mssOf(clientSyn(1, linuxOptions(1460))), mssOf(clientSyn(1, oddOptions(1460)))]).toEqual([1460, 1460]);
  });

  describe.each(HOOKS)('%s build', (hook) => {
    test('a client SYN with MSS 1460 reaches the backend with MSS 1410, other options untouched', () => {
      const r = translated(hook, 'syn 1460');
      expect(r.parsed).toMatchObject({ src: POD, dst: B1, dport: 8080 });
      expect(mssOf(r.output)).toBe(CLAMP);
      expect(optionsOf(r.output).subarray(4)).toEqual(optionsOf(r.input).subarray(4));
    });

    test('the backend\'s SYN-ACK with MSS 1460 reaches the client with MSS 1410', () => {
      const r = translated(hook, 'syn-ack 1460');
      expect(r.parsed).toMatchObject({ src: VIP, sport: 80, dst: CLIENT });
      expect(mssOf(r.output)).toBe(CLAMP);
    });

    test('a smaller MSS (1200) is kept, both ways', () => {
      expect(mssOf(translated(hook, 'syn 1200').output)).toBe(1200);
      expect(mssOf(translated(hook, 'syn-ack 1200').output)).toBe(1200);
    });

    test('an MSS value at an odd offset is clamped with a correct checksum', () => {
      const r = translated(hook, 'syn 1460 at an odd offset');
      expect(mssOf(r.output)).toBe(CLAMP);
      expect(optionsOf(r.output)).toEqual(Buffer.concat([Buffer.from([1]), mss(CLAMP), Buffer.from([1, 1, 1])]));
    });

    test('a SYN without options is translated as before', () => {
      expect(translated(hook, 'syn without options').parsed).toMatchObject({ src: POD, dst: B1, dport: 8080 });
    });

    test('without tcpMssClamp the MSS option is left alone', () => {
      expect(mssOf(translated(hook, 'syn 1460, no clamp').output)).toBe(1460);
    });
  });
});
