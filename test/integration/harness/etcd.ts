// etcd with envtest's flags: loopback client and peer URLs, a throw-away data dir, and no fsync when the
// binary supports it (3.5+), since durability is worthless for a test and fsync dominates write latency.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from './managed-process.js';
import { freePort } from './ports.js';
import { http200, waitUntil } from './readiness.js';

const run = promisify(execFile);

/** Whether `etcd --help` lists the flag; etcd 3.4 prints help on stderr, later versions on stdout. */
async function supportsFlag(binary: string, flag: string): Promise<boolean> {
  const { stdout, stderr } = await run(binary, ['--help'], { maxBuffer: 4 << 20 }).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  return `${stdout}\n${stderr}`.includes(flag);
}

export interface Etcd {
  process: ManagedProcess;
  clientUrl: string;
}

export async function createEtcd(binary: string, dir: string): Promise<Etcd> {
  const clientUrl = `http://127.0.0.1:${await freePort()}`;
  const args = [
    `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${await freePort()}`,
  ];
  if (await supportsFlag(binary, '--unsafe-no-fsync')) args.push('--unsafe-no-fsync=true');
  const process = new ManagedProcess({ name: 'etcd', binary, args, logFile: join(dir, 'etcd.log') });
  return { process, clientUrl };
}

export function waitForEtcd(etcd: Etcd, timeoutMs: number): Promise<void> {
  return waitUntil(`${etcd.clientUrl}/health`, etcd.process, timeoutMs, http200(`${etcd.clientUrl}/health`));
}
