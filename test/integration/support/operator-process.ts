// The operator as a real process, the way the Helm chart runs it: the image's plb-operator, package.json's bin
// entry (dist/operator/main.mjs, the bundle hack/bundle-operator.mjs makes of dist/src/operator/main.js).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness/index.js';

/** What the image runs as plb-operator. */
export const OPERATOR_MAIN = join(repoRoot, (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['plb-operator']!);
const MAIN = OPERATOR_MAIN;

/** hack/test.sh builds before the tests; a direct jest run builds here once, and bundles again a stale bundle. */
export function ensureBuilt(): void {
  const compiled = join(repoRoot, 'dist/src');
  if (!existsSync(join(compiled, 'operator/main.js'))) execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  const newest = Math.max(...readdirSync(compiled, { recursive: true, encoding: 'utf8' }).map((f) => statSync(join(compiled, f)).mtimeMs));
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newest) execFileSync(process.execPath, ['hack/bundle-operator.mjs'], { cwd: repoRoot, stdio: 'inherit' });
}

export interface OperatorProcess {
  identity: string;
  port: number;
  child: ChildProcess;
  logs: string[];
  /** Sum of portablelb_api_writes_total from its /metrics (0 before the first write). */
  writes(): Promise<number>;
  ready(): Promise<boolean>;
  /** GET of /healthz or /readyz: status and body, or status 0 when nothing answers. */
  probe(path: '/healthz' | '/readyz'): Promise<{ status: number; body: string }>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  rssMiB(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `leaseName` undefined: no leader election (LEADER_ELECT=false). */
export function startOperator(kubeconfig: string, identity: string, port: number, leaseName: string | undefined, extraArgs: string[] = []): OperatorProcess {
  const election = leaseName ? ['--leader-elect', '--leader-election-namespace=default', `--leader-election-id=${leaseName}`] : [];
  const child = spawn(
    process.execPath,
    [MAIN, `--kubeconfig=${kubeconfig}`, `--metrics-bind-address=127.0.0.1:${port}`, ...election, ...extraArgs],
    { env: { ...process.env, POD_NAME: identity, LOG_LEVEL: 'info', NODE_OPTIONS: '', LEADER_ELECT: leaseName ? 'true' : 'false' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs: string[] = [];
  child.stdout?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter(Boolean)));
  const base = `http://127.0.0.1:${port}`;
  return {
    identity,
    port,
    child,
    logs,
    async writes() {
      const text = await (await fetch(`${base}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('portablelb_api_writes_total'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    },
    async ready() {
      try {
        return (await fetch(`${base}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    async probe(path) {
      try {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
        return { status: res.status, body: (await res.text()).trim() };
      } catch (error) {
        return { status: 0, body: (error as Error).message };
      }
    },
    exited,
    rssMiB() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        child.kill(signal);
      });
    },
  };
}
