// Running commands for the lab: in this namespace or another one, with errors that show stderr.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    return (await exec(cmd, args, { maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export const inNs = (ns: string, args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);

/** A long-running process in a namespace, its output appended to `logFile`. */
export function spawnInNs(ns: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  return spawn('ip', ['netns', 'exec', ns, ...args], { env, stdio: ['ignore', fd, fd] });
}
