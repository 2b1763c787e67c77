// Running things inside network namespaces created by the suite. Every namespace and process is tracked so
// teardown removes them, also after a failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await exec(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout;
}

export async function inNs(ns: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, ...args], timeoutMs);
}

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first output line matching `pattern`, rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number, fromOffset?: number): Promise<string>;
}

export function spawnInNs(ns: string, args: string[], tracked: Set<ChildProcess>): Spawned {
  // `ip netns exec` execs the command, so the child's pid is the command's own and signals reach it.
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  tracked.add(child);
  child.on('exit', () => tracked.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const waitFor = (pattern: RegExp, timeoutMs = 30_000, fromOffset = 0) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = out.slice(fromOffset).split('\n').find((l) => pattern.test(l));
      if (m !== undefined) { cleanup(); resolve(m); }
    };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`${args.join(' ')} exited (${code}) before ${pattern}: ${out}`)); };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timeout waiting for ${pattern} from ${args.join(' ')}: ${out}`)); }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); child.stdout!.off('data', check); child.stderr!.off('data', check); child.off('exit', onExit); };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', onExit);
    check();
  });
  return { child, output: () => out, waitFor };
}

/** Absolute SNMP/netstat counters of a namespace (nstat -a: no shared history file involved). */
export async function nstat(ns: string): Promise<Record<string, number>> {
  const out = await inNs(ns, ['nstat', '-a', '-s', '-z']);
  const counters: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name && value && /^\d+$/.test(value)) counters[name] = Number(value);
  }
  return counters;
}

export async function killAll(tracked: Set<ChildProcess>): Promise<void> {
  const waits = [...tracked].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  }));
  await Promise.all(waits);
}
