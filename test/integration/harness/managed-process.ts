// One control-plane component as a child process: output to a log file in the control plane's directory
// (its tail goes into startup errors), SIGTERM then SIGKILL on stop, and killed with the test process.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { killedWithParent } from './parent-death.js';

export interface ProcessSpec {
  /** Short name for messages, e.g. "etcd". */
  name: string;
  binary: string;
  args: string[];
  /** Appended to on every start, so a restarted component keeps the history of earlier runs. */
  logFile: string;
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private exitStatus: string | undefined;

  constructor(readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** How the last run ended ("exited with code 1"), or undefined while it runs or before it started. */
  get exited(): string | undefined {
    return this.exitStatus;
  }

  /** The process id while it runs (setpriv execs the binary, so this is the component itself). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitStatus === undefined;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const log = openSync(this.spec.logFile, 'a');
    let child: ChildProcess;
    try {
      const { command, args } = killedWithParent(this.spec.binary, this.spec.args);
      child = spawn(command, args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log); // the child holds its own copy
    }
    this.child = child;
    this.exitStatus = undefined;
    this.exit = new Promise<void>((resolve) => {
      const done = (status: string): void => {
        this.exitStatus ??= status;
        resolve();
      };
      child.once('error', (err) => done(`failed to start: ${err.message}`));
      child.once('exit', (code, signal) => done(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
  }

  /** Sends `signal`, and SIGKILL if the process is still there after `timeoutMs`. */
  async stop(timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }

  logTail(lines = 40): string {
    try {
      const text = readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n');
      return text.slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
