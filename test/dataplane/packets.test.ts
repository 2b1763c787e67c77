// Golden packets for the TC build of the BPF program: frames in, verdict and frame out, run by the kernel with
// BPF_PROG_TEST_RUN in a namespace that has the LB pod's routes (so bpf_fib_lookup answers as in a pod). The
// checksums of every output are verified independently (packets.ts), not by the kernel.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DesiredState } from '../../src/dataplane/types.js';
import { buildAgent } from './support/agent-process.js';
import { ARTIFACTS, ROOT } from './support/lab.js';
import { inNs, sh } from './support/netns.js';
import { fragNeeded, frame, parse, type Parsed, type Segment } from './support/packets.js';
import { gate, missingPrerequisites } from './support/prereqs.js';
import { Topology } from './support/topology.js';

jest.setTimeout(120_000);

const RUNNER = join(ROOT, 'test', 'dataplane', 'support', 'packet-runner.mjs');
const TC_ACT_OK = 0;
const TC_ACT_REDIRECT = 7;
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

// In order: later packets depend on the flows earlier ones created.
const steps: Array<{ name: string; apply?: DesiredState; packet?: Buffer }> = [
  { name: 'program b1', apply: desired([B1]) },
  { name: 'syn', packet: frame(syn(CLIENT, 40000)) },
  { name: 'syn-ack', packet: frame({ src: B1, dst: POD, proto: 'TCP', sport: 8080, dport: 40000, flags: 0x12 }) },
  { name: 'same port, other client', packet: frame(syn(OTHER_CLIENT, 40000)) },
  { name: 'udp without checksum', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5000, dport: 53, noUdpChecksum: true, payload: Buffer.from('hi') }) },
  { name: 'udp with checksum', packet: frame({ src: CLIENT, dst: VIP, proto: 'UDP', sport: 5001, dport: 53, payload: Buffer.from('hello') }) },
  { name: 'frag needed on the backend leg', packet: fragNeeded('10.240.255.1', POD, { src: POD, dst: B1, proto: 'TCP', sport: 40000, dport: 8080 }, 1200) },
  { name: 'frag needed on the client leg', packet: fragNeeded('10.240.255.1', VIP, { src: VIP, dst: CLIENT, proto: 'TCP', sport: 80, dport: 40000 }, 1200) },
  { name: 'not for a VIP', packet: frame({ src: CLIENT, dst: POD, proto: 'TCP', sport: 40000, dport: 22, flags: 0x02 }) },
  { name: 'fragment', packet: frame({ ...syn(CLIENT, 40002), fragment: 0x2000 }) },
  { name: 'ttl 1', packet: frame({ ...syn(CLIENT, 40003), ttl: 1 }) },
  { name: 'program b2 instead of b1', apply: desired([B2]) },
  { name: 'new syn on a known tuple', packet: frame(syn(CLIENT, 40000)) },
  { name: 'ack of a flow on the removed backend', packet: frame({ ...syn(OTHER_CLIENT, 40000), flags: 0x10 }) },
];

const reason = missingPrerequisites(ARTIFACTS);
const { run, failInCi } = gate(reason);
if (failInCi) {
  test('golden packet prerequisites (CI=true: a skip is a failure)', () => {
    throw new Error(`cannot run the dataplane tier on this CI machine: ${reason}`);
  });
}

(run ? describe : describe.skip)('TC program, golden packets', () => {
  const topo = new Topology(`plbdp-${process.pid}-pkt-`);
  let work = '';
  let buildDir = '';
  let mounted = false;
  let podMac = '';
  let gatewayMac = '';
  const out = new Map<string, { retval: number; frame: Parsed; raw: string; input: string }>();

  beforeAll(async () => {
    try {
      work = await mkdtemp(join(tmpdir(), 'plbdp-pkt-'));
      await mkdir(join(work, 'bpffs'));
      await sh('mount', ['-t', 'bpf', 'bpf', join(work, 'bpffs')]);
      mounted = true;
      await mkdir(join(ROOT, '.tmp'), { recursive: true });
      buildDir = await mkdtemp(join(ROOT, '.tmp', 'plbdp-pkt-'));
      // The compiled sources' root: buildDir, or the VM runner's agent compiled on the host (PLB_AGENT_MAIN).
      const compiled = dirname(dirname(dirname(await buildAgent(ROOT, buildDir))));
      await topo.create([{ name: 'lb', ip: POD }]);
      const lb = topo.ns('lb');
      podMac = (await inNs(lb, ['cat', '/sys/class/net/eth0/address'])).trim().replace(/:/g, '');
      gatewayMac = (await inNs(topo.node, ['cat', '/sys/class/net/h-lb/address'])).trim().replace(/:/g, '');
      const ifindex = (await inNs(lb, ['cat', '/sys/class/net/eth0/ifindex'])).trim();
      const results = await runSteps(lb, [compiled, join(work, 'bpffs', 'lb'), ifindex]);
      steps.forEach((s, i) => {
        const r = results[i] as { retval: number; packet: string } | undefined;
        if (s.packet && r) out.set(s.name, { retval: r.retval, frame: parse(Buffer.from(r.packet, 'hex')), raw: r.packet, input: s.packet.toString('hex') });
      });
    } catch (err) {
      await cleanup();
      throw err;
    }
  }, 175_000);

  async function runSteps(ns: string, args: string[]): Promise<unknown[]> {
    const child = spawn('ip', ['netns', 'exec', ns, 'node', RUNNER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    topo.processes.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin.end(JSON.stringify(steps.map((s) => (s.apply ? { apply: s.apply } : { packet: s.packet!.toString('hex') }))));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`packet runner failed (${code}): ${stderr}`);
    return JSON.parse(stdout) as unknown[];
  }

  async function cleanup(): Promise<void> {
    await topo.destroy();
    if (mounted) await sh('umount', [join(work, 'bpffs')]).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  }

  afterAll(cleanup);

  const result = (name: string) => {
    const r = out.get(name);
    if (!r) throw new Error(`no result for ${name}`);
    return r;
  };
  const redirected = (name: string) => {
    const r = result(name);
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    expect({ dstMac: r.frame.dstMac, srcMac: r.frame.srcMac }).toEqual({ dstMac: gatewayMac, srcMac: podMac });
    expect({ ip: r.frame.ipChecksumOk, l4: r.frame.l4ChecksumOk }).toEqual({ ip: true, l4: r.frame.proto === 17 && r.frame.l4ChecksumOk === null ? null : true });
    return r.frame;
  };

  test('the independent checksum check rejects a corrupted frame (so the checks below can fail)', () => {
    const bad = frame(syn(CLIENT, 40000));
    bad[bad.length - 1]! ^= 0x01;
    expect(parse(frame(syn(CLIENT, 40000))).l4ChecksumOk).toBe(true);
    expect(parse(bad).l4ChecksumOk).toBe(false);
  });

  test('a SYN to the VIP goes to the backend from the pod address, keeping the client port, TTL - 1', () => {
    expect(redirected('syn')).toMatchObject({ src: POD, sport: 40000, dst: B1, dport: 8080, ttl: 63 });
  });

  test('the backend\'s SYN-ACK goes back to the client from the VIP', () => {
    expect(redirected('syn-ack')).toMatchObject({ src: VIP, sport: 80, dst: CLIENT, dport: 40000 });
  });

  test('another client with the same port gets the next SNAT port', () => {
    expect(redirected('same port, other client')).toMatchObject({ src: POD, sport: 40001, dst: B1, dport: 8080 });
  });

  test('UDP without a checksum keeps none; with one, it stays correct', () => {
    expect(redirected('udp without checksum')).toMatchObject({ src: POD, sport: 5000, dst: B1, dport: 5353, l4ChecksumOk: null });
    expect(redirected('udp with checksum')).toMatchObject({ src: POD, sport: 5001, dst: B1, dport: 5353, l4ChecksumOk: true });
  });

  test('frag-needed about the backend leg reaches the client, quoting what the client sent', () => {
    const f = redirected('frag needed on the backend leg');
    expect(f).toMatchObject({ src: VIP, dst: CLIENT, proto: 1 });
    expect(f.quoted).toEqual({ src: CLIENT, dst: VIP, sport: 40000, dport: 80, ipChecksumOk: true });
  });

  test('frag-needed about the client leg reaches the backend, quoting what the backend sent', () => {
    const f = redirected('frag needed on the client leg');
    expect(f).toMatchObject({ src: POD, dst: B1, proto: 1 });
    expect(f.quoted).toEqual({ src: B1, dst: POD, sport: 8080, dport: 40000, ipChecksumOk: true });
  });

  test.each(['not for a VIP', 'fragment', 'ttl 1'])('%s: left to the kernel, untouched', (name) => {
    const r = result(name);
    expect({ retval: r.retval, same: r.raw === r.input }).toEqual({ retval: TC_ACT_OK, same: true });
  });

  test('after the ring changes, a new SYN on a known tuple follows the new ring', () => {
    expect(redirected('new syn on a known tuple')).toMatchObject({ dst: B2, dport: 8080 });
  });

  test('an established flow of the removed backend keeps its backend and SNAT port', () => {
    expect(redirected('ack of a flow on the removed backend')).toMatchObject({ src: POD, sport: 40001, dst: B1 });
  });
});
