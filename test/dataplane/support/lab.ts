// One lab = a pod network (topology.ts), three backends running backend-server.mjs, and the standalone agent in
// the LB pod with its own bpffs. stop() removes everything it created, also after a partial start.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentProcess } from './agent-process.js';
import { aroundAll } from './around-all.js';
import { inNs, type Spawned } from './netns.js';
import { ROOT, Scratch } from './scratch.js';
import { Topology } from './topology.js';

export { ROOT };
const HERE = dirname(fileURLToPath(import.meta.url));
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
export function plbYaml(o: { dataPlane: string; backends: Backend[]; attach?: string; overlay?: string; vip?: string; drainSeconds?: number }): string {
  return [
    'apiVersion: portablelb.io/v1alpha1',
    'kind: PortableLoadBalancer',
    'metadata: {name: conformance}',
    'spec:',
    `  vip: ${o.vip ?? VIP}`,
    `  dataPlane: ${o.dataPlane}`,
    ...(o.attach ? [`  xdp: {attach: ${o.attach}}`] : []),
    ...(o.overlay ? [`  overlay: ${o.overlay}`] : []),
    ...(o.drainSeconds !== undefined ? [`  drainSeconds: ${o.drainSeconds}`] : []),
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
  /** The backend servers, by pod name (their stdin takes backend-server.mjs's commands). */
  readonly backends: Partial<Record<'b1' | 'b2' | 'b3', Spawned>> = {};
  /** A command the agent runs under (setpriv ...); empty: the agent as root with every capability. */
  agentPrefix: string[] = [];
  private readonly scratch: Scratch;

  constructor(prefix: string) {
    this.topo = new Topology(prefix);
    this.scratch = new Scratch(prefix);
  }

  /** Starts the lab before the tests of the enclosing describe and stops it after them (or after a failed start). */
  aroundSuite(yaml: string, o: { prepare?: (topo: Topology) => Promise<void>; timeoutMs?: number } = {}): void {
    aroundAll(() => this.start(yaml, o.prepare), () => this.stop(), o.timeoutMs);
  }

  /** `prepare` runs after the network and backends exist and before the agent starts. */
  async start(yaml: string, prepare?: (topo: Topology) => Promise<void>): Promise<void> {
    await this.scratch.create();
    await this.topo.create(Object.entries(PODS).map(([name, ip]) => ({ name, ip })));
    await this.topo.routeVip(VIP, PODS.lb);
    for (const b of ['b1', 'b2', 'b3'] as const) {
      this.backends[b] = this.topo.spawn(this.topo.ns(b), ['node', SERVER, b, '8080', '5353']);
      await this.backends[b].waitFor(/^ready/);
    }
    if (prepare) await prepare(this.topo);
    await writeFile(this.configPath, yaml);
    this.agent = new AgentProcess(this.topo, this.topo.ns('lb'), this.scratch.mainJs, [
      '--file', this.configPath, '--interface', 'eth0', '--pin-dir', this.pinDir, '--listen', '127.0.0.1:9470',
    ], this.agentPrefix);
    await this.agent.start();
  }

  /** Where the xdp plane's agent pins its maps (plb_flows, ...). */
  get pinDir(): string {
    return join(this.scratch.bpffs, 'lb');
  }

  get configPath(): string {
    return join(this.scratch.work, 'plb.yaml');
  }

  /**
   * Replaces the file the way editors and ConfigMaps do (rename) and waits for the agent to program it. The same
   * content again is left alone: the agent would have nothing to program, and log nothing to wait for.
   */
  async reconfigure(yaml: string): Promise<void> {
    if ((await readFile(this.configPath, 'utf8').catch(() => '')) === yaml) return;
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
    await this.scratch.remove();
  }
}
