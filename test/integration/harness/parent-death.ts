// Control-plane processes must not outlive the test process, however it ends: afterAll covers the normal
// path, but a crash, a SIGTERM/SIGKILL from CI or an OOM kill runs no JavaScript at all, and jest's sandboxed
// `process` object does not even deliver 'exit' or signal events to test code. So each component is started
// under util-linux `setpriv --pdeathsig KILL`: the kernel kills it the moment its parent process goes away.
import { execFileSync } from 'node:child_process';
import { progress } from './progress.js';

let setprivWorks: boolean | undefined;

function hasSetpriv(): boolean {
  if (setprivWorks === undefined) {
    try {
      setprivWorks = execFileSync('setpriv', ['--help'], { encoding: 'utf8' }).includes('--pdeathsig');
    } catch {
      setprivWorks = false;
    }
    if (!setprivWorks) {
      progress('WARNING: no `setpriv --pdeathsig` (util-linux >= 2.33): a killed test run leaves its components running');
    }
  }
  return setprivWorks;
}

/** The command line that runs `binary args` and has it killed when this process dies. */
export function killedWithParent(binary: string, args: string[]): { command: string; args: string[] } {
  return hasSetpriv()
    ? { command: 'setpriv', args: ['--pdeathsig', 'KILL', '--', binary, ...args] }
    : { command: binary, args };
}
