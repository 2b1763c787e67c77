// IP fragments through the BPF program, both builds (TC and XDP), with golden frames through BPF_PROG_TEST_RUN in
// a namespace that has the LB pod's routes (as packets.test.ts). A datagram's first fragment is translated as any
// packet and leaves a record by IP ID; its later fragments get the same addresses from it. The translated
// fragments are reassembled here and the L4 checksum is verified over the whole datagram, independently of the
// program (packets.ts), as the receiver's reassembly does.
import { describe, expect, jest, test } from '@jest/globals';
import type { DesiredState } from '../../src/dataplane/types.js';
import { GoldenFrames, type FrameStep } from './support/golden-frames.js';
import { ARTIFACTS } from './support/lab.js';
import { fragmentOf, fragments, parse, reassemble, type Segment } from './support/packets.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';

jest.setTimeout(120_000);

type Hook = 'tc' | 'xdp';
const HOOKS: Hook[] = ['tc', 'xdp'];
const VERDICT = { tc: { pass: 0, drop: 2, redirect: 7 }, xdp: { pass: 2, drop: 1, redirect: 4 } } as const;
const VIP = '10.240.200.10';
const POD = '10.240.0.3';
const CLIENT = '10.240.0.2';
const PROBE = '10.240.255.1';
const B1 = '10.240.1.1';
/** What a 1500-byte MTU leaves for each fragment's L4 bytes (a multiple of 8). */
const PIECE = 1480;

const desired: DesiredState = {
  vip: VIP,
  ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }],
  backends: [{ ip: B1, weight: 1 }],
  scheduler: 'maglev', attach: 'tc', interface: 'eth0', snatIp: POD,
};

/** Deterministic payload bytes, different per datagram. */
const payload = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
/** Client ports per build, below the LB pod's own range: SNAT keeps them, so replies can be addressed in advance. */
const port = (hook: Hook, i: number) => (hook === 'tc' ? 5010 : 5020) + i;
/** IP IDs per build and datagram. */
const id = (hook: Hook, i: number) => (hook === 'tc' ? 0x4d00 : 0x5d00) + i;

const request = (hook: Hook): Segment => ({ src: CLIENT, dst: VIP, proto: 'UDP', sport: port(hook, 0), dport: 53, payload: payload(3000, 1) });
const reply = (hook: Hook): Segment => ({ src: B1, dst: POD, proto: 'UDP', sport: 5353, dport: port(hook, 0), payload: payload(3100, 2) });
const outOfOrder = (hook: Hook): Segment => ({ ...request(hook), sport: port(hook, 1), payload: payload(2000, 3) });
const toPod = (): Segment => ({ src: PROBE, dst: POD, proto: 'UDP', sport: 40000, dport: 9999, payload: payload(2000, 4) });
const tcp = (hook: Hook): Segment => ({ src: CLIENT, dst: VIP, proto: 'TCP', sport: port(hook, 2), dport: 80, flags: 0x10, payload: payload(2000, 5) });
const unserved = (hook: Hook): Segment => ({ ...request(hook), sport: port(hook, 3), dport: 9999 });

const steps = (hook: Hook): FrameStep[] => {
  const [q1, q2, q3] = fragments(request(hook), PIECE, id(hook, 0));
  const [r1, r2, r3] = fragments(reply(hook), PIECE, id(hook, 1));
  const [o1, o2] = fragments(outOfOrder(hook), PIECE, id(hook, 2));
  const [, p2] = fragments(toPod(), PIECE, id(hook, 3));
  const [t1, t2] = fragments(tcp(hook), PIECE, id(hook, 4));
  const [u1, u2] = fragments(unserved(hook), PIECE, id(hook, 5));
  const step = (name: string, packet: Buffer | undefined): FrameStep => ({ name: `${hook}: ${name}`, packet: packet!, hook });
  return [
    { name: `${hook}: counters before`, stats: true },
    step('request, first fragment', q1), step('request, second fragment', q2), step('request, last fragment', q3),
    step('reply, first fragment', r1), step('reply, second fragment', r2), step('reply, last fragment', r3),
    step('a later fragment before its first', o2), step('that first fragment after it', o1),
    step('a later fragment to the pod, no record', p2),
    step('tcp, first fragment', t1), step('tcp, last fragment', t2),
    step('unserved port, first fragment', u1), step('unserved port, later fragment', u2),
    { name: `${hook}: counters after`, stats: true },
  ];
};

suiteIf(missingPrerequisites(ARTIFACTS), 'golden packet')('TC and XDP programs, golden packets: IP fragments', () => {
  const frames = new GoldenFrames('frag', POD, [{ name: 'program b1', apply: desired }, ...HOOKS.flatMap(steps)]);

  /** A translated fragment: redirected to the node with the route's MACs, its IP ID, offset and L4 bytes kept. */
  const translated = (hook: Hook, name: string) => {
    const r = frames.result(`${hook}: ${name}`);
    const f = parse(r.output);
    expect({ retval: r.retval, dstMac: f.dstMac, ipChecksumOk: f.ipChecksumOk, ttl: f.ttl })
      .toEqual({ retval: VERDICT[hook].redirect, dstMac: frames.gatewayMac, ipChecksumOk: true, ttl: 63 });
    expect(fragmentOf(r.output)).toEqual(fragmentOf(r.input));
    return { ...f, r };
  };
  /** The datagram the translated fragments reassemble to, with its checksum verified over all of it. */
  const datagram = (hook: Hook, names: string[]) => parse(reassemble(names.map((n) => frames.result(`${hook}: ${n}`).output)));

  describe.each(HOOKS)('%s build', (hook) => {
    test('a UDP request in 3 fragments: the first translated as any datagram, the later ones to the same backend from the pod, L4 bytes untouched', () => {
      expect(translated(hook, 'request, first fragment')).toMatchObject({ src: POD, sport: port(hook, 0), dst: B1, dport: 5353 });
      for (const n of ['request, second fragment', 'request, last fragment']) {
        const f = translated(hook, n);
        expect({ src: f.src, dst: f.dst, l4: f.r.output.subarray(34).equals(f.r.input.subarray(34)) }).toEqual({ src: POD, dst: B1, l4: true });
      }
      const d = datagram(hook, ['request, first fragment', 'request, second fragment', 'request, last fragment']);
      expect(d).toMatchObject({ src: POD, sport: port(hook, 0), dst: B1, dport: 5353, l4ChecksumOk: true });
    });

    test('the backend\'s reply in 3 fragments goes back to the client from the VIP, its checksum right over the reassembled datagram', () => {
      expect(translated(hook, 'reply, first fragment')).toMatchObject({ src: VIP, sport: 53, dst: CLIENT, dport: port(hook, 0) });
      for (const n of ['reply, second fragment', 'reply, last fragment']) expect(translated(hook, n)).toMatchObject({ src: VIP, dst: CLIENT });
      const d = datagram(hook, ['reply, first fragment', 'reply, second fragment', 'reply, last fragment']);
      expect(d).toMatchObject({ src: VIP, sport: 53, dst: CLIENT, dport: port(hook, 0), l4ChecksumOk: true });
    });

    test('a TCP segment in fragments follows the same rule', () => {
      expect(translated(hook, 'tcp, first fragment')).toMatchObject({ src: POD, sport: port(hook, 2), dst: B1, dport: 8080 });
      expect(translated(hook, 'tcp, last fragment')).toMatchObject({ src: POD, dst: B1 });
      expect(datagram(hook, ['tcp, first fragment', 'tcp, last fragment'])).toMatchObject({ dport: 8080, l4ChecksumOk: true });
    });

    test('out of order: a later fragment to the VIP before its first is dropped (no record yet); the first still goes through', () => {
      expect(frames.result(`${hook}: a later fragment before its first`).retval).toBe(VERDICT[hook].drop);
      expect(translated(hook, 'that first fragment after it')).toMatchObject({ src: POD, sport: port(hook, 1), dst: B1 });
    });

    test('fragments to a VIP port no service takes: the first dropped as unserved, the later one finds no record and is dropped', () => {
      expect(frames.result(`${hook}: unserved port, first fragment`).retval).toBe(VERDICT[hook].drop);
      expect(frames.result(`${hook}: unserved port, later fragment`).retval).toBe(VERDICT[hook].drop);
    });

    test('a later fragment to the pod\'s own address with no record is left to the kernel untouched (it reassembles the pod\'s own)', () => {
      const r = frames.result(`${hook}: a later fragment to the pod, no record`);
      expect({ retval: r.retval, same: r.output.equals(r.input) }).toEqual({ retval: VERDICT[hook].pass, same: true });
    });

    test('counted: every fragment seen; the two later fragments to the VIP without a record as dropped', () => {
      const [a, b] = [frames.stats(`${hook}: counters before`), frames.stats(`${hook}: counters after`)];
      const delta = (k: string) => (b[k] ?? NaN) - (a[k] ?? NaN);
      expect({ fragments: delta('fragments'), untracked: delta('fragmentUntrackedDropped') }).toEqual({ fragments: 13, untracked: 2 });
    });
  });
});
