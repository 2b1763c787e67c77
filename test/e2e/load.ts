// Client traffic for the e2e suite, run by node on the provider's client outside the nodes (a netns behind the
// router, or a container on the kind network). Each script is passed as source (`-e`), so a client that cannot
// see this checkout runs it too: counted one-connection requests; the lab's steady load of short connections
// (test/lab/steady-load.mjs) for what happens under load; one keep-alive connection for what must survive.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../integration/harness/binaries.js';
import type { Provider } from './provider.js';

const exec = promisify(execFile);

export interface Tally {
  /** backend pod name -> responses */
  counts: Record<string, number>;
  errors: number;
}

export interface SteadyTally {
  total: number;
  /** connect: the handshake never completed; inFlight: the connection was up, then broke (test/lab/failure-kind.mjs). */
  failed: { connect: number; inFlight: number };
  errors: Record<string, number>;
  counts: Record<string, number>;
  failureTimesMs: number[];
  slowConnectTimesMs: number[];
  durationMs: number;
}

export interface KeepAliveTally {
  ok: number;
  errors: string[];
  /** TCP connections the client opened: 1 when the first one lived through everything. */
  connections: number;
  backends: string[];
}

// Sequential requests, each on a new connection, bounded in count and time; one JSON line.
const REQUESTS = `
const [url, n, timeout] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const counts = {}; let errors = 0;
(async () => {
  for (let i = 0; i < n; i++) {
    try {
      const r = await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(timeout) });
      const who = (await r.text()).trim();
      counts[who] = (counts[who] ?? 0) + 1;
    } catch { errors++; }
  }
  console.log(JSON.stringify({ counts, errors }));
})();
`;

// One keep-alive connection (an agent with a single socket), a request every <everyMs> until stopped.
const KEEP_ALIVE = `
const http = require('http');
const [url, every] = [process.argv[1], Number(process.argv[2])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const sockets = new Set(); const backends = new Set(); const errors = []; let ok = 0; let stop = false;
process.stdin.on('data', (d) => { if (d.toString().includes('stop')) stop = true; });
const get = () => new Promise((resolve, reject) => {
  const req = http.get(url, { agent, timeout: 3000 }, (res) => {
    let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(body.trim()));
  });
  req.on('socket', (s) => sockets.add(s));
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', reject);
});
(async () => {
  process.stdout.write('running\\n');
  while (!stop) {
    try { backends.add(await get()); ok++; } catch (e) { errors.push(e.code ?? e.message); }
    await new Promise((r) => setTimeout(r, every));
  }
  console.log(JSON.stringify({ ok, errors, connections: sockets.size, backends: [...backends] }));
  agent.destroy();
})();
`;

export async function requests(p: Provider, url: string, n: number, timeoutMs = 2000): Promise<Tally> {
  const [cmd, ...args] = p.clientNode(['-e', REQUESTS, url, String(n), String(timeoutMs)]);
  return JSON.parse((await exec(cmd!, args, { maxBuffer: 16 << 20 })).stdout) as Tally;
}

export interface Running<T> {
  stop(): Promise<T>;
}

/** Starts a client script that prints "running", then one JSON line after "stop" arrives on its stdin. */
async function untilStopped<T>(argv: string[]): Promise<Running<T>> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`client exited ${code}: ${out}`))));
  });
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!out.includes('running\n')) return;
      child.stdout.off('data', check);
      resolve();
    };
    child.stdout.on('data', check);
    exited.catch(reject);
  });
  return {
    stop: async () => {
      child.stdin.end('stop\n');
      await exited;
      return JSON.parse(out.trim().split('\n').pop()!) as T;
    },
  };
}

export function steadyLoad(p: Provider, url: string, workers: number, pauseMs: number): Promise<Running<SteadyTally>> {
  // Its one import (the failure kinds) inlined: the client may not see this checkout.
  const importLine = "import { failureKind } from './failure-kind.mjs';\n";
  const script = readFileSync(join(repoRoot, 'test/lab/steady-load.mjs'), 'utf8');
  if (!script.includes(importLine)) throw new Error('test/lab/steady-load.mjs: its failure-kind import changed; inline it here too');
  const source = script.replace(importLine, readFileSync(join(repoRoot, 'test/lab/failure-kind.mjs'), 'utf8'));
  // `node -e` has no script in argv: a placeholder takes its place, where the script reads its arguments after.
  return untilStopped(p.clientNode(['--input-type=module', '-e', source, 'steady-load.mjs', url, String(workers), String(pauseMs)]));
}

export function keepAlive(p: Provider, url: string, everyMs: number): Promise<Running<KeepAliveTally>> {
  return untilStopped(p.clientNode(['-e', KEEP_ALIVE, url, String(everyMs)]));
}
