// The operator as a real process (dist/src/operator/main.js), the way the Helm chart runs it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness/index.js';

const MAIN = join(repoRoot, 'dist/src/operator/main.js');

/** hack/test.sh builds before the tests; a direct jest run builds here once. */
export function ensureBuilt(): void {
  if (!existsSync(MAIN)) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
}

export interface OperatorProcess {
  identity: string;
  port: number;
  child: ChildProcess;
  logs: string[];
  /** Sum of portablelb_api_writes_total from its /metrics (0 before the first write). */
  writes(): Promise<number>;
  ready(): Promise<boolean>;
  rssMiB(): number;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startOperator(kubeconfig: string, identity: string, port: number, leaseName: string): OperatorProcess {
  const child = spawn(
    process.execPath,
    [MAIN, `--kubeconfig=${kubeconfig}`, `--metrics-bind-address=127.0.0.1:${port}`, '--leader-elect',
      '--leader-election-namespace=default', `--leader-election-id=${leaseName}`],
    { env: { ...process.env, POD_NAME: identity, LOG_LEVEL: 'info', NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
