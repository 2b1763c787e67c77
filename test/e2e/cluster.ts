// What the e2e test needs from the kind cluster hack/e2e-kind.sh made: kubectl and docker as child processes
// (KUBECONFIG points at the cluster), and the kind network's addresses.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually as pollUntil } from '../integration/harness/eventually.js';

const run = promisify(execFile);

export interface E2eEnv {
  cluster: string;
  image: string;
  dataPlane: 'xdp' | 'ipvs' | 'nftables';
}

export function e2eEnv(): E2eEnv {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run the e2e tier through hack/e2e-kind.sh`);
    return v;
  };
  const dataPlane = process.env['E2E_DATA_PLANE'] ?? 'nftables';
  if (dataPlane !== 'xdp' && dataPlane !== 'ipvs' && dataPlane !== 'nftables') throw new Error(`E2E_DATA_PLANE=${dataPlane}`);
  return { cluster: need('E2E_CLUSTER'), image: need('E2E_IMAGE'), dataPlane };
}

export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run('kubectl', args, { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  return (await child).stdout;
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export async function docker(args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();
}

/** A container's IPv4 address on the kind docker network. */
export function kindIp(container: string): Promise<string> {
  return docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "kind").IPAddress}}', container]);
}

/** The harness's poller, at a pace suited to a real cluster (every 2 s). */
export const eventually = <T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 2000): Promise<T> =>
  pollUntil(check, timeoutMs, intervalMs);
