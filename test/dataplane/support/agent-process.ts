// The standalone agent as a separate process inside the LB namespace, started from JavaScript compiled out of
// the current sources (so the suite never runs a stale dist/).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Topology } from './topology.js';
import type { Spawned } from './netns.js';

const exec = promisify(execFile);

/** Compiles the agent's import graph (only that: other parts of the repo may be mid-edit) into `outDir`. */
export async function buildAgent(repoRoot: string, outDir: string): Promise<string> {
  // Under software emulation (hack/vm/run.sh) tsc takes minutes: the VM runner compiles the agent once on the
  // host, inside the repo, and names it here.
  const prebuilt = process.env['PLB_AGENT_MAIN'];
  if (prebuilt) return prebuilt;
  const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
  await exec(tsc, [
    join(repoRoot, 'src/agent/main.ts'), '--outDir', outDir, '--rootDir', repoRoot, '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2023', '--types', 'node', '--strict',
    '--skipLibCheck', '--verbatimModuleSyntax', '--esModuleInterop', '--resolveJsonModule',
  ], { cwd: repoRoot, timeout: 170_000 });
  const main = join(outDir, 'src/agent/main.js');
  if (!existsSync(main)) throw new Error(`agent build produced no ${main}`);
  return main;
}

export class AgentProcess {
  private proc: Spawned | null = null;
  private starts = 0;

  constructor(
    private readonly topo: Topology,
    private readonly ns: string,
    private readonly mainJs: string,
    private readonly args: string[],
    /** Runs the agent under another command, e.g. setpriv with a capability bounding set (least-privilege.test.ts). */
    private readonly prefix: string[] = [],
  ) {}

  /** Starts the agent and waits until it serves (its first apply is done before it listens). */
  async start(): Promise<void> {
    this.proc = this.topo.spawn(this.ns, [...this.prefix, 'node', this.mainJs, 'run', ...this.args]);
    this.starts++;
    // PLB_AGENT_START_MS: loading the agent takes ~30 s under software emulation (hack/vm/conformance.sh)
    await this.proc.waitFor(/listening on/, Number(process.env['PLB_AGENT_START_MS'] ?? 60_000));
  }

  /** Waits for the next "programmed" log line after `offset` (see logOffset). */
  async waitProgrammed(offset: number): Promise<string> {
    if (!this.proc) throw new Error('agent not running');
    return this.proc.waitFor(/ programmed /, 30_000, offset);
  }

  logOffset(): number {
    return this.proc?.output().length ?? 0;
  }

  log(): string {
    return this.proc?.output() ?? '';
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.proc?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}
