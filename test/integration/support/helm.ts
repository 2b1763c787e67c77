// helm for the chart tests: $HELM if set, else the binary hack/build-helm.sh builds from the Go module proxy
// (it prints the cached path at once when built before), the same way the harness finds kube-apiserver.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../harness/index.js';

export const CHART = join(repoRoot, 'charts/portable-lb');

let cached: string | undefined;
export function helmBinary(): string {
  cached ??= process.env['HELM'] || execFileSync('bash', [join(repoRoot, 'hack/build-helm.sh')], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return cached;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws on a non-zero exit, so tests can assert on rejections and their messages. */
export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBinary(), args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 16 << 20 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with `--set` pairs; throws with helm's message when rendering fails. */
export function renderChart(release: string, namespace: string, set: Record<string, string> = {}): string {
  const sets = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = helm(['template', release, CHART, '--namespace', namespace, ...sets]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}
