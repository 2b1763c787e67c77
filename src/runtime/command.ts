// Child processes with a deadline (nft, ip, mount): a command that hangs (a netlink socket the kernel never
// answers, a lock held by another process) is killed with SIGKILL at its deadline and fails with
// DeadlineExceeded, so the agent's sync loop cannot wedge on it. Errors keep the shape the callers already
// test for: `code` (ENOENT when the command is missing, else the exit code) and `stderr`.
import { spawn } from 'node:child_process';
import { DeadlineExceeded } from './deadline.js';

/** Long enough for `nft -f` of a large ruleset on a loaded node; short enough that a wedge is noticed. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export interface CommandOptions {
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Bytes of stdout kept; more fails the command (default 64 MiB). */
  maxBuffer?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface CommandError extends Error {
  /** 'ENOENT' when the command is missing; the exit code when it failed. */
  code?: string | number;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

function commandError(message: string, fields: Partial<CommandError>): CommandError {
  return Object.assign(new Error(message), { stdout: '', stderr: '', ...fields }) as CommandError;
}

export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const maxBuffer = options.maxBuffer ?? 64 << 20;
  const what = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let failure: CommandError | DeadlineExceeded | undefined;
    const timer = setTimeout(() => {
      failure = new DeadlineExceeded(what, timeoutMs);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > maxBuffer && !failure) {
        failure = commandError(`${what}: stdout exceeds ${maxBuffer} bytes`, {});
        child.kill('SIGKILL');
      } else out.push(d);
    });
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(commandError(e.code === 'ENOENT' ? `${command}: command not found` : `${what}: ${e.message}`, { code: e.code ?? 'EUNKNOWN' }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (failure) return reject(failure);
      if (code === 0) return resolve({ stdout, stderr });
      reject(commandError(`${what} failed (${code ?? signal}): ${stderr.trim()}`, { code: code ?? undefined, signal, stdout, stderr }));
    });
    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined); // a command that exits before reading all of stdin
      child.stdin?.end(options.input);
    }
  });
}
