// Each node (and the control plane) owns one cgroup at the root of every cgroup v1 hierarchy, named like its
// network namespace. The kubelet puts its pods below it (cgroupRoot), and every daemon of that node is started
// inside it in the `pids` hierarchy, so that whatever they fork (containerd's shims, runc, the containers) is
// found there again: teardown kills exactly those PIDs, never a process matched by name, and nothing another
// test or cluster started on this machine.
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './exec.js';
import { ownsName } from './plan.js';

const ROOT = '/sys/fs/cgroup';
/** The hierarchy that tracks processes; it needs no settings before a process may join. */
export const TRACKING = 'pids';

/**
 * The hierarchies mounted here: real directories with cgroup.procs ("cpu,cpuacct" style links skipped), the
 * v1 controllers and the hybrid setup's cgroup2 tree at unified/, where runc and the kubelet make their own
 * cgroups of the node too.
 */
export function hierarchies(): string[] {
  if (!existsSync(ROOT)) return [];
  return readdirSync(ROOT).filter((h) => lstatSync(join(ROOT, h)).isDirectory() && existsSync(join(ROOT, h, 'cgroup.procs')));
}

/** Why this machine cannot host the nodes, or undefined. */
export function cgroupProblem(): string | undefined {
  if (existsSync(join(ROOT, 'cgroup.controllers')) && !existsSync(join(ROOT, TRACKING))) {
    return 'hack/cluster is written for cgroup v1 (this machine has a pure cgroup v2 tree; see hack/cluster/README.md)';
  }
  if (!hierarchies().includes(TRACKING)) return `no cgroup v1 "${TRACKING}" hierarchy under ${ROOT}`;
  return undefined;
}

/**
 * Creates `<name>` (and `<name>/system`) in every hierarchy: the kubelet refuses a cgroupRoot that does not
 * exist in all of them. A new cpuset cgroup has no CPUs or memory nodes until they are copied from its parent.
 */
export function createCgroup(name: string): void {
  for (const h of hierarchies()) {
    for (const path of [name, `${name}/system`]) {
      const dir = join(ROOT, h, path);
      mkdirSync(dir, { recursive: true });
      if (h === 'cpuset') {
        const parent = join(dir, '..');
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(parent, f), 'utf8').trim() || '\n');
      }
    }
  }
}

/** The file a process writes its PID into to join `<name>/system` in the tracking hierarchy. */
export const daemonProcsFile = (name: string): string => join(ROOT, TRACKING, name, 'system', 'cgroup.procs');

function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const below = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => subtree(join(dir, e.name)));
  return [...below, dir]; // children first: the order rmdir needs
}

/** Every PID in `<name>`'s tracking subtree. */
export function pidsIn(name: string): number[] {
  return subtree(join(ROOT, TRACKING, name)).flatMap((dir) => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return []; // removed meanwhile
    }
  });
}

/** SIGKILL to every process of the subtree until none is left (a forking process may add one meanwhile). */
export async function killCgroup(name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = pidsIn(name);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (Date.now() > deadline) throw new Error(`cgroup ${name}: processes ${pids.join(' ')} survive SIGKILL`);
    await sleep(100);
  }
}

/** Removes `<name>` from every hierarchy, deepest first; a cgroup empties a moment after its last process. */
export async function removeCgroup(name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const h of hierarchies()) {
    for (const dir of subtree(join(ROOT, h, name))) {
      for (;;) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${dir}: ${code}`);
          await sleep(100);
        }
      }
    }
  }
}

/** Names at the root of any hierarchy that the cluster of `prefix` owns (what it left, even half made). */
export function cgroupsOf(prefix: string): string[] {
  const names = hierarchies().flatMap((h) =>
    readdirSync(join(ROOT, h), { withFileTypes: true }).filter((e) => e.isDirectory() && ownsName(prefix, e.name)).map((e) => e.name));
  return [...new Set(names)].sort();
}
