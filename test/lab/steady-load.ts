// The steady client load (steady-load.mjs) as a process in the client namespace, stopped on demand.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../integration/harness/index.js';

export interface SteadyTally {
  /** Epoch ms the load process started: failureTimesMs and slowConnectTimesMs count from here. */
  startedAt: number;
  total: number;
  /** connect: the handshake never completed; inFlight: the connection was up, then broke (failure-kind.mjs). */
  failed: { connect: number; inFlight: number };
  errors: Record<string, number>;
  counts: Record<string, number>;
  failureTimesMs: number[];
  /** When handshakes that needed a SYN retransmission (a lost SYN) completed, ms since the start. */
  slowConnectTimesMs: number[];
  durationMs: number;
}

export async function steadyLoad(ns: string, url: string, workers: number, pauseMs: number): Promise<{ stop(): Promise<SteadyTally> }> {
  const script = join(repoRoot, 'test/lab/steady-load.mjs');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, url, String(workers), String(pauseMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((resolve, reject) => {
    // 'close', not 'exit': the final tally line can arrive after the process has exited.
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`steady load exited ${code}: ${out}`))));
  });
  await new Promise<void>((resolve, reject) => {
    const check = () => { if (out.includes('running\n')) { child.stdout.off('data', check); resolve(); } };
    child.stdout.on('data', check);
    exited.catch(reject);
  });
  return {
    stop: async () => {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(out.trim().split('\n').pop()!) as SteadyTally;
    },
  };
}
