// The cluster's daemons outlive the `up` command that starts them (up and down are separate commands), so they
// are detached, log to a file each, and are recorded by PID. Each one first joins its node's cgroup (so that
// teardown finds it and all it forks), then enters the node's network and mount namespaces with nsenter, which
// execs: the recorded PID is the daemon's own.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { daemonProcsFile } from './cgroups.js';
import { DAEMON_ENV, nsenterArgs } from './exec.js';

export interface DaemonSpec {
  /** Short name, also of its log and PID files, e.g. "kubelet". */
  name: string;
  argv: string[];
  /** Network namespace, and the cgroup it joins (same name). */
  ns: string;
  mountNs?: string;
  /** Directory of `<name>.log` and `<name>.pid`. */
  dir: string;
  env?: NodeJS.ProcessEnv;
}

export interface Daemon {
  name: string;
  pid: number;
  log: string;
  /** How it was started, so that `up` can start it again (supervise.ts). */
  spec: DaemonSpec;
}

// $1: the cgroup.procs file; the rest: the command. `exec` keeps the PID through sh and nsenter.
const JOIN_AND_EXEC = 'echo $$ > "$1" && shift && exec "$@"';

export function startDaemon(spec: DaemonSpec): Daemon {
  mkdirSync(spec.dir, { recursive: true });
  const log = join(spec.dir, `${spec.name}.log`);
  const fd = openSync(log, 'a');
  try {
    const child = spawn('/bin/sh', ['-c', JOIN_AND_EXEC, 'sh', daemonProcsFile(spec.ns), 'nsenter', ...nsenterArgs(spec.ns, spec.mountNs), ...spec.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...DAEMON_ENV, ...spec.env },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.argv[0]}`);
    writeFileSync(join(spec.dir, `${spec.name}.pid`), `${child.pid}\n`);
    return { name: spec.name, pid: child.pid, log, spec };
  } finally {
    closeSync(fd);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last lines of a daemon's log, for error messages. */
export function logTail(log: string, lines = 30): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Throws with the log tail when the daemon has exited (a start that failed at once). */
export function assertAlive(d: Daemon): void {
  if (!alive(d.pid)) throw new Error(`${d.name} (pid ${d.pid}) exited; last lines of ${d.log}:\n${logTail(d.log)}`);
}

export const pidFile = (dir: string, name: string): string => join(dir, `${name}.pid`);
export const logDir = (file: string): string => dirname(file);
