// Typed access to the native addon (addon/*.cc) and the compiled BPF objects, found in build/dataplane/ of this
// package (hack/build-dataplane.sh puts them there) or in $PLB_DATAPLANE_ARTIFACTS.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoadedObject {
  handle: number;
  programFd: number;
  programName: string;
  maps: Record<string, number>;
  /** Pinned maps that could not be reused (other size or layout) and were created anew: their state is gone. */
  replacedPins: string[];
}

export interface MapBatch {
  keys: Buffer;
  values: Buffer;
  count: number;
  /** null: the walk is complete. */
  cursor: Buffer | null;
}

export interface BpfAddon {
  /** `maxEntries`: map sizes to use instead of the object's (before the maps are created). */
  openObject(path: string, pinRoot: string, maxEntries?: Record<string, number>): LoadedObject;
  closeObject(handle: number): void;
  programId(fd: number): number;
  possibleCpus(): number;
  /** BPF_PROG_TEST_RUN of a TC program on one frame (golden packet tests). */
  testRun(programFd: number, packet: Buffer, ifindex: number): { retval: number; packet: Buffer };
  tcAttach(ifindex: number, programFd: number): number;
  tcDetach(ifindex: number): boolean;
  tcQuery(ifindex: number): number;
  xdpAttach(ifindex: number, programFd: number, mode: 'native' | 'generic'): void;
  xdpDetach(ifindex: number, mode: 'native' | 'generic'): void;
  xdpQuery(ifindex: number): { nativeProgramId: number; genericProgramId: number };
  ifIndex(name: string): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapDelete(fd: number, key: Buffer): boolean;
  mapKeys(fd: number, keySize: number): Buffer[];
  arrayWrite(fd: number, firstIndex: number, values: Buffer, valueSize: number): void;
  arrayRead(fd: number, firstIndex: number, count: number, valueSize: number): Buffer;
  /** Up to `count` entries of a hash map per call (BPF_MAP_LOOKUP_BATCH); start with cursor null. */
  mapBatch(fd: number, keySize: number, valueSize: number, cursor: Buffer | null, count: number): MapBatch;
  /** Writes n concatenated keys and values in one call (BPF_MAP_UPDATE_BATCH). */
  mapUpdateBatch(fd: number, keys: Buffer, values: Buffer, flags: number): void;
  /** Deletes the concatenated keys, skipping missing ones; returns how many existed. */
  mapDeleteKeys(fd: number, keys: Buffer): number;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the portable-lb package root');
    dir = up;
  }
  return dir;
}

export function artifactsDir(): string {
  return process.env['PLB_DATAPLANE_ARTIFACTS'] ?? join(packageRoot(), 'build', 'dataplane');
}

export function bpfObjectPath(hook: 'tc' | 'xdp', dir = artifactsDir()): string {
  return join(dir, `plb_${hook}.bpf.o`);
}

let cached: BpfAddon | undefined;

export function loadAddon(dir = artifactsDir()): BpfAddon {
  if (cached) return cached;
  const path = join(dir, 'plb_bpf.node');
  if (!existsSync(path)) {
    throw new Error(`the xdp data plane is not built: ${path} is missing (run hack/build-dataplane.sh)`);
  }
  cached = createRequire(import.meta.url)(path) as BpfAddon;
  return cached;
}
