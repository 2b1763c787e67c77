// One lab = a pod network (topology.ts), three backends running backend-server.mjs, and the standalone agent in
// the LB pod with its own bpffs. stop() removes everything it created, also after a partial start.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentProcess, buildAgent } from './agent-process.js';
import { inNs, sh } from './netns.js';
import { Topology } from './topology.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..', '..');
export const ARTIFACTS = process.env['PLB_DATAPLANE_ARTIFACTS'] ?? join(ROOT, 'build', 'dataplane');
export const LOAD = join(HERE, 'load.mjs');
export const HOLD = join(HERE, 'hold.mjs');
const SERVER = join(HERE, 'backend-server.mjs');

export const VIP = '10.240.200.10';
export const PODS = {
  cli: '10.240.0.2', lb: '10.240.0.3', b1: '10.240.1.1', b2: '10.240.1.2', b3: '10.240.1.3',
} as const;

export interface Backend { ip: string; weight: number }
/** `late`: UDP replies that came after the pacing interval but before the end (load.mjs: counted, not failed). */
export interface Tally { counts: Record<string, number>; failed: number; errors?: Record<string, number>; late?: number }

/** `overlay`: the YAML flow mapping of spec.overlay (e.g. `{mode: vxlan}`); `vip` defaults to VIP. */
export function plbYaml(o: { dataPlane: string; backends: Backend[]; attach?: string; overlay?: string; vip?: string }): string {
  return [
    'apiVersion: portablelb.io/v1alpha1',
    'kind: PortableLoadBalancer',
    'metadata: {name: conformance}',
    'spec:',
    `  vip: ${o.vip ?? VIP}`,
    `  dataPlane: ${o.dataPlane}`,
    ...(o.attach ? [`  xdp: {attach: ${o.attach}}`] : []),
    ...(o.overlay ? [`  overlay: ${o.overlay}`] : []),
    '  ports:',
    '  - {name: http, port: 80, targetPort: 8080, protocol: TCP}',
    '  - {name: echo, port: 53, targetPort: 5353, protocol: UDP}',
    '  backends:',
    '    addresses:',
    ...o.backends.map((b) => `    - {ip: ${b.ip}, weight: ${b.weight}}`),
    '',
  ].join('\n');
}

export class Lab {
  readonly topo: Topology;
  agent!: AgentProcess;
  private work = '';
  private buildDir = '';
  private bpffs = '';
  private mounted = false;

  constructor(private readonly prefix: string) {
    this.topo = new Topology(prefix);
  }

  /** `prepare` runs after the network and backends exist and before the agent starts. */
  async start(yaml: string, prepare?: (topo: Topology) => Promise<void>): Promise<void> {
    this.work = await mkdtemp(join(tmpdir(), this.prefix));
    // `ip netns exec` remounts /sys, hiding /sys/fs/bpf; an agent would then mount a private bpffs that dies
    // with it. A bpffs outside /sys stays visible to every agent run, as a hostPath /sys/fs/bpf is in a pod.
    this.bpffs = join(this.work, 'bpffs');
    await mkdir(this.bpffs);
    await sh('mount', ['-t', 'bpf', 'bpf', this.bpffs]);
    this.mounted = true;
    // inside the repo, so the compiled agent resolves node_modules and build/dataplane like dist/ does
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    this.buildDir = await mkdtemp(join(ROOT, '.tmp', this.prefix));
    const mainJs = await buildAgent(ROOT, this.buildDir);
    await this.topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
    await this.topo.routeVip(VIP, PODS.lb);
    for (const b of ['b1', 'b2', 'b3'] as const) {
      await this.topo.spawn(this.topo.ns(b), ['node', SERVER, b, '8080', '5353']).waitFor(/^ready/);
    }
    if (prepare) await prepare(this.topo);
    await writeFile(this.configPath, yaml);
    this.agent = new AgentProcess(this.topo, this.topo.ns('lb'), mainJs, [
      '--file', this.configPath, '--interface', 'eth0', '--pin-dir', join(this.bpffs, 'lb'), '--listen', '127.0.0.1:9470',
    ]);
    await this.agent.start();
  }

  get configPath(): string {
    return join(this.work, 'plb.yaml');
  }

  /** Replaces the file the way editors and ConfigMaps do (rename) and waits for the agent to program it. */
  async reconfigure(yaml: string): Promise<void> {
    const offset = this.agent.logOffset();
    await writeFile(`${this.configPath}.tmp`, yaml);
    await rename(`${this.configPath}.tmp`, this.configPath);
    await this.agent.waitProgrammed(offset);
  }

  async load(ns: string, args: string[]): Promise<Tally> {
    // Not shorter than the test's own timeout, which hack/vm/conformance.sh raises for software emulation
    // (3000 connections through the LB took 96-171 s there, depending on the host's other load).
    const timeoutMs = Math.max(170_000, Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 0) - 20_000);
    return JSON.parse(await inNs(ns, ['node', LOAD, ...args], timeoutMs)) as Tally;
  }

  /** `requests` HTTP requests to the VIP, each on a new connection closed after the response. */
  http(from: string, requests: number, concurrency: number): Promise<Tally> {
    return this.load(from, ['http', `http://${VIP}/`, String(requests), String(concurrency), 'close']);
  }

  async metrics(): Promise<string> {
    return inNs(this.topo.ns('lb'), ['node', '-e',
      'fetch("http://127.0.0.1:9470/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))']);
  }

  async stop(): Promise<void> {
    await this.topo.destroy();
    if (this.mounted) await sh('umount', [this.bpffs]).catch(() => undefined);
    if (this.work) await rm(this.work, { recursive: true, force: true });
    if (this.buildDir) await rm(this.buildDir, { recursive: true, force: true });
  }
}
