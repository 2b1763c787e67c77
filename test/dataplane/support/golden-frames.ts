// Golden frames through the BPF program: programs the xdp data plane and feeds frames to its TC or XDP build
// with BPF_PROG_TEST_RUN (packet-runner.mjs), in a namespace that has the LB pod's routes, so bpf_fib_lookup
// answers as in a pod. Registers its setup and teardown around the enclosing describe.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { DesiredState } from '../../../src/dataplane/types.js';
import { aroundAll } from './around-all.js';
import { inNs } from './netns.js';
import { ROOT, Scratch } from './scratch.js';
import { Topology } from './topology.js';

const RUNNER = join(ROOT, 'test', 'dataplane', 'support', 'packet-runner.mjs');

/** The hooks' verdicts a frame step's `retval` is one of (linux/pkt_cls.h, linux/bpf.h). */
export const TC_ACT = { OK: 0, SHOT: 2, REDIRECT: 7 } as const;
export const XDP_ACT = { DROP: 1, PASS: 2, REDIRECT: 4 } as const;

/**
 * Run in order: later frames meet the flows earlier ones created. `hook` defaults to tc. A packet's destination
 * MAC is replaced by the LB pod's (the kernel's test run, like a real receive, marks a frame to another MAC as
 * PACKET_OTHERHOST), unless `toMac` (hex without colons) names another. `gc`: a flow garbage-collection pass as
 * if the clock were that many seconds later. `listen`: the LB pod opens a TCP and a UDP socket of its own on
 * that port. `waitMs`: real time passes (the program's clock cannot be faked). `stats`: the data plane's global
 counters (its observation's `global`) at that point.
 */
export interface FrameStep {
  name: string; apply?: DesiredState; packet?: Buffer; hook?: 'tc' | 'xdp'; toMac?: string; gc?: number; listen?: number;
  waitMs?: number; stats?: boolean;
}
export interface GcStepResult { entries: number; deleted: number }
export interface FrameResult { retval: number; input: Buffer; output: Buffer }

export class GoldenFrames {
  /** The LB pod's MAC and its gateway's (the node's veth end), as hex without colons. */
  podMac = '';
  gatewayMac = '';
  private readonly results = new Map<string, FrameResult>();
  private readonly gcResults = new Map<string, GcStepResult>();
  private readonly statsResults = new Map<string, Record<string, number>>();

  /**
   * `tag` names the namespaces and directories; the LB pod gets the address `pod`. `lbSysctls` (`key=value`) are
   * set in the LB pod's namespace before the data plane is programmed (e.g. its ip_local_port_range, which the
   * SNAT ports leave out). `pod6`: the LB pod's IPv6 address too (dual-stack, topology.ts).
   */
  constructor(tag: string, pod: string, steps: FrameStep[], lbSysctls: string[] = [], pod6?: string) {
    const topo = new Topology(`plbdp-${process.pid}-${tag}-`);
    const scratch = new Scratch(`plbdp-${tag}-`);
    aroundAll(async () => {
      await scratch.create();
      await topo.create([{ name: 'lb', ip: pod, ...(pod6 ? { ip6: pod6 } : {}) }]);
      const lb = topo.ns('lb');
      if (lbSysctls.length > 0) await inNs(lb, ['sysctl', '-qw', ...lbSysctls]);
      const mac = async (ns: string, dev: string) => (await inNs(ns, ['cat', `/sys/class/net/${dev}/address`])).trim().replace(/:/g, '');
      this.podMac = await mac(lb, 'eth0');
      this.gatewayMac = await mac(topo.node, 'h-lb');
      const ifindex = (await inNs(lb, ['cat', '/sys/class/net/eth0/ifindex'])).trim();
      const sent = steps.map((s) => (s.packet ? Buffer.concat([Buffer.from(s.toMac ?? this.podMac, 'hex'), s.packet.subarray(6)]) : undefined));
      const outputs = await run(topo, lb, [scratch.compiledRoot, join(scratch.bpffs, 'lb'), ifindex], steps, sent);
      steps.forEach((s, i) => {
        const r = outputs[i] as { retval: number; packet: string } | undefined;
        if (sent[i] && r) this.results.set(s.name, { retval: r.retval, input: sent[i]!, output: Buffer.from(r.packet, 'hex') });
        if (s.gc !== undefined && r) this.gcResults.set(s.name, r as unknown as GcStepResult);
        if (s.stats && r) this.statsResults.set(s.name, (r as unknown as { global: Record<string, number> }).global);
      });
    }, async () => {
      await topo.destroy();
      await scratch.remove();
    });
  }

  gcResult(name: string): GcStepResult {
    const r = this.gcResults.get(name);
    if (!r) throw new Error(`no gc result for ${name}`);
    return r;
  }

  stats(name: string): Record<string, number> {
    const r = this.statsResults.get(name);
    if (!r) throw new Error(`no stats result for ${name}`);
    return r;
  }

  result(name: string): FrameResult {
    const r = this.results.get(name);
    if (!r) throw new Error(`no result for ${name}`);
    return r;
  }
}

async function run(topo: Topology, ns: string, args: string[], steps: FrameStep[], sent: Array<Buffer | undefined>): Promise<unknown[]> {
  const child = spawn('ip', ['netns', 'exec', ns, 'node', RUNNER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  topo.processes.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin.end(JSON.stringify(steps.map((s, i) => (s.apply ? { apply: s.apply } : s.gc !== undefined ? { gc: s.gc }
    : s.listen !== undefined ? { listen: s.listen } : s.waitMs !== undefined ? { waitMs: s.waitMs }
      : s.stats ? { stats: true } : { packet: sent[i]!.toString('hex'), hook: s.hook }))));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`packet runner failed (${code}): ${stderr}`);
  return JSON.parse(stdout) as unknown[];
}
