// Backends at scale: one PLB selecting N ready pods on a real kube-apiserver, served by the cluster agent (a
// process, `plb-agent run --kubernetes`) programming the kernel of this network namespace (scale.sh makes one:
// eth0 a veth, an address; the API server listens on this namespace's loopback, so agent and apiserver meet
// there). Per data plane: the agent's memory, the time from its start to the first program of all N backends
// (the full resync: list + program from nothing), and the time from one pod's readiness change (its status
// written as a kubelet writes it) to programmed, read from the agent's own log line, timestamped when apply
// returned. Prints one JSON object: {"scale": [...], "skipped": [...]}.
//   node scale.js --agent <built agent main.js> --pods 10000 --flips 40 --planes "xdp nftables" [--log-dir DIR]
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createTestNamespace, installCrds, startControlPlane, type ControlPlane } from '../../integration/harness/index.js';
import { freePort } from '../../integration/harness/ports.js';
import { PLB, plbClient } from '../../integration/support/plb-api.js';
import { median } from '../report/aggregate.js';
import type { ScaleNumbers, Skip } from '../report/types.js';
import { ScalePods } from './pods.js';
import { memory } from './proc-stats.js';

const LB_IP = '10.249.0.3';
const VIP = '10.249.200.10';
const PLB_NAME = 'web';
const log = (m: string) => process.stderr.write(`scale: ${m}\n`);

function flag(argv: readonly string[], k: string, fallback?: string): string {
  const i = argv.indexOf(k);
  const v = i >= 0 ? argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (v: number) => Number(v.toFixed(1));

/** The agent as a process; `programmed(n)` resolves with the log time of the next "programmed ... n backend(s)". */
class Agent {
  readonly child: ChildProcess;
  #out = '';
  #waiters: Array<{ n: number; from: number; resolve: (ms: number) => void; reject: (e: Error) => void }> = [];

  constructor(main: string, cp: ControlPlane, namespace: string, dataPlane: string, port: number) {
    this.child = spawn(process.execPath, [main, 'run', '--kubernetes', '--interface', 'eth0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env, NODE_OPTIONS: '', KUBECONFIG: cp.kubeconfigPath, POD_NAMESPACE: namespace, POD_NAME: `${PLB_NAME}-lb-0`,
        PLB_NAME, POD_IP: LB_IP, POD_IPS: LB_IP, PLB_DATA_PLANE: dataPlane, HEALTH_PORT: String(port), PLB_DRAIN_SECONDS: '0',
      },
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.#out += d.toString();
      this.#check();
    });
    this.child.once('exit', (code, signal) => {
      this.#exited = `the agent exited (${code ?? signal}): ${this.#out.slice(-1500)}`;
      for (const w of this.#waiters.splice(0)) w.reject(new Error(this.#exited));
    });
  }

  #exited: string | null = null;

  /** Everything the agent logged (kept next to the results when --log is given). */
  output(): string {
    return this.#out;
  }

  #check(): void {
    for (const w of [...this.#waiters]) {
      const lines = this.#out.slice(w.from).split('\n');
      const line = lines.find((l) => new RegExp(` programmed generation \\S+: ${w.n} backend\\(s\\)`).test(l));
      if (!line) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(Date.parse(line.split(' ')[0]!));
    }
  }

  offset(): number {
    return this.#out.length;
  }

  programmed(n: number, from: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#exited) return reject(new Error(this.#exited));
      const timer = setTimeout(() => reject(new Error(`no "programmed ... ${n} backend(s)" within ${timeoutMs} ms:\n${this.#out.slice(-1500)}`)), timeoutMs);
      this.#waiters.push({ n, from, resolve: (ms) => { clearTimeout(timer); resolve(ms); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      this.#check();
    });
  }

  failure(): string | null {
    return /apply failed: ([^\n]*)/.exec(this.#out)?.[1] ?? null;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000).then(() => this.child.kill('SIGKILL'))]);
    await exited;
  }
}

const startTimeoutMs = Number(process.env['SCALE_START_TIMEOUT_MS'] ?? 600_000);

async function measurePlane(main: string, cp: ControlPlane, ns: string, pods: ScalePods, n: number, flips: number, dataPlane: string, logDir?: string): Promise<ScaleNumbers> {
  await plbClient(cp.kubeConfig).patchSpec(ns, PLB_NAME, { dataPlane: dataPlane as 'xdp' });
  const agent = new Agent(main, cp, ns, dataPlane, await freePort());
  try {
    const started = Date.now();
    const programmedAt = await agent.programmed(n, 0, startTimeoutMs).catch((err: Error) => {
      throw new Error(agent.failure() ?? err.message);
    });
    const resyncMs = programmedAt - started;
    const afterStart = memory(agent.child.pid!);
    log(`${dataPlane}: ${n} backends programmed ${resyncMs} ms after the agent started; RSS ${afterStart.rss.toFixed(0)} MiB`);
    const latencies: number[] = [];
    let ready = n;
    for (let f = 0; f < flips; f++) {
      // Alternately take a pod out and put it back, a different one each time, spaced past the agent's debounce.
      const i = (Math.floor(f / 2) * 7919) % n;
      const goingReady = f % 2 === 1;
      const from = agent.offset();
      const t0 = Date.now();
      await pods.setReady(i, goingReady);
      ready += goingReady ? 1 : -1;
      latencies.push((await agent.programmed(ready, from, 60_000)) - t0);
      await sleep(300);
    }
    const mem = memory(agent.child.pid!);
    const sorted = [...latencies].sort((a, b) => a - b);
    const result: ScaleNumbers = {
      data_plane: dataPlane, source: 'pods', pods: n, resync_ms: resyncMs,
      readiness_ms: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)!, median: median(sorted), runs: sorted.length },
      rss_mib: round(mem.rss), peak_rss_mib: round(mem.peak),
    };
    log(`${dataPlane}: readiness change -> programmed p50 ${result.readiness_ms.p50} ms, p99 ${result.readiness_ms.p99} ms (n=${flips}); RSS ${result.rss_mib} MiB, peak ${result.peak_rss_mib} MiB`);
    return result;
  } finally {
    await agent.stop();
    if (logDir) writeFileSync(join(logDir, `agent-${dataPlane}.log`), agent.output());
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const agentMain = flag(argv, '--agent');
  const n = Number(flag(argv, '--pods', '10000'));
  const flips = Number(flag(argv, '--flips', '40'));
  const planes = flag(argv, '--planes', 'xdp nftables').split(/\s+/).filter(Boolean);
  const logDir = argv.includes('--log-dir') ? flag(argv, '--log-dir') : undefined;
  const cp = await startControlPlane({ controllerManager: true });
  const scale: ScaleNumbers[] = [];
  const skipped: Skip[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    await installCrds(cp.kubeConfig);
    const ns = await createTestNamespace(cp.kubeConfig, 'scale');
    await plbClient(cp.kubeConfig).create(ns, PLB_NAME, {
      vip: VIP, ports: [{ name: 'http', port: 80, targetPort: 'http' }], backends: { selector: { matchLabels: { app: 'web' } } }, replicas: 1,
    });
    // No operator runs here: grant the VIP as its allocator would (agents program status.vip only).
    await cp.kubeConfig.makeApiClient(CustomObjectsApi).patchNamespacedCustomObjectStatus(
      { ...PLB, namespace: ns, name: PLB_NAME, body: { status: { vip: VIP } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const pods = new ScalePods(cp.kubeConfig, ns, { app: 'web' });
    await pods.createNode();
    heartbeat = setInterval(() => void pods.heartbeat().catch(() => undefined), 10_000);
    const t0 = Date.now();
    await pods.createReady(n, (done) => log(`${done}/${n} pods created and ready (${((Date.now() - t0) / 1000).toFixed(0)} s)`));
    for (const plane of planes) {
      try {
        scale.push(await measurePlane(agentMain, cp, ns, pods, n, flips, plane, logDir));
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0]!;
        log(`${plane}: not measured: ${(err as Error).message}`);
        skipped.push({ test: `scale ${plane} ${n} pods`, reason });
      }
    }
  } finally {
    clearInterval(heartbeat);
    await cp.stop();
  }
  process.stdout.write(`${JSON.stringify({ scale, skipped })}\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`scale bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
