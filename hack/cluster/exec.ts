// Commands for hack/cluster: errors that carry stderr, commands inside a namespace through nsenter (never
// `ip netns exec`, which remounts /sys and so hides /sys/fs/cgroup from what it starts), and a clean
// environment for the daemons (nothing of the caller's NODE_OPTIONS or KUBECONFIG leaks into them).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const DAEMON_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
};

export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  try {
    const child = exec(cmd, args, { maxBuffer: 64 << 20, env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:${DAEMON_ENV.PATH}` } });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr?.trim() || e.stdout?.trim()) ?? ''} (${e.message.split('\n')[0]})`);
  }
}

export const netnsPath = (ns: string): string => `/run/netns/${ns}`;

/** nsenter arguments that put a command into a network namespace (and optionally a node's mount namespace). */
export function nsenterArgs(ns: string, mountNs?: string): string[] {
  return [`--net=${netnsPath(ns)}`, ...(mountNs ? [`--mount=${mountNs}`] : []), '--'];
}

export const inNs = (ns: string, args: string[], input?: string): Promise<string> =>
  run('nsenter', [...nsenterArgs(ns), ...args], input);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined), or throws with the last reason after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(250);
  }
}
