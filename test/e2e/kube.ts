// kubectl and helm as a user runs them, as child processes (KUBECONFIG points at the cluster: hack/e2e-kind.sh
// sets it for kind; for hack/cluster the suite runs in the control plane's network namespace with it set).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually as pollUntil } from '../integration/harness/eventually.js';

const run = promisify(execFile);

export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run('kubectl', args, { maxBuffer: 16 << 20 });
  if (input !== undefined) child.child.stdin?.end(input);
  return (await child).stdout;
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export async function helm(args: string[]): Promise<string> {
  return (await run(process.env['E2E_HELM'] ?? 'helm', args, { maxBuffer: 16 << 20 })).stdout;
}

/** The harness's poller, at a pace suited to a real cluster (every 2 s). */
export const eventually = <T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 2000): Promise<T> =>
  pollUntil(check, timeoutMs, intervalMs);
