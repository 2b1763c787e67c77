// What every real-kernel suite that runs the agent's code needs around it: a work directory with a bpffs of its
// own and the agent compiled from the current sources. remove() undoes it all, also after a partial create().
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgent } from './agent-process.js';
import { sh } from './netns.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export class Scratch {
  work = '';
  /** `ip netns exec` remounts /sys, hiding /sys/fs/bpf; an agent would then mount a private bpffs that dies with
   * it. A bpffs outside /sys stays visible to every agent run, as a hostPath /sys/fs/bpf is in a pod. */
  bpffs = '';
  /** The compiled agent's main.js (in a build directory of its own, or the VM runner's, PLB_AGENT_MAIN). */
  mainJs = '';
  private buildDir = '';
  private mounted = false;

  constructor(private readonly prefix: string) {}

  /** The compiled sources' root: import `${compiledRoot}/src/...js` from it. */
  get compiledRoot(): string {
    return join(this.mainJs, '..', '..', '..');
  }

  async create(): Promise<void> {
    this.work = await mkdtemp(join(tmpdir(), this.prefix));
    this.bpffs = join(this.work, 'bpffs');
    await mkdir(this.bpffs);
    await sh('mount', ['-t', 'bpf', 'bpf', this.bpffs]);
    this.mounted = true;
    // inside the repo, so the compiled agent resolves node_modules and build/dataplane like dist/ does
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    this.buildDir = await mkdtemp(join(ROOT, '.tmp', this.prefix));
    this.mainJs = await buildAgent(ROOT, this.buildDir);
  }

  async remove(): Promise<void> {
    if (this.mounted) await sh('umount', [this.bpffs]).catch(() => undefined);
    if (this.work) await rm(this.work, { recursive: true, force: true });
    if (this.buildDir) await rm(this.buildDir, { recursive: true, force: true });
  }
}
