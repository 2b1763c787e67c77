// Finds the control-plane binaries with envtest's precedence (TEST_ASSET_<NAME>, then $KUBEBUILDER_ASSETS),
// and otherwise asks hack/build-control-plane.sh, which builds them once into a versioned cache directory
// and afterwards only prints that directory.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { progress } from './progress.js';

export type BinaryName = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kubectl';

/** The checkout: the nearest directory with a package.json (this file also runs compiled, from dist/test/...). */
export const repoRoot = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('portable-lb checkout not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir + '/';
})();

/** envtest's variable name: TEST_ASSET_ + the name upper-cased, every non-alphanumeric character as "_". */
export function testAssetVariable(name: BinaryName): string {
  return `TEST_ASSET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let builtDir: Promise<string> | undefined;

/**
 * The build script's cache directory. KUBEBUILDER_ASSETS is removed from its environment: we only get here
 * when that directory lacks a binary (setup-envtest ships no kube-controller-manager), and the script would
 * otherwise just echo it back.
 */
function buildScriptDir(): Promise<string> {
  builtDir ??= new Promise<string>((resolve, reject) => {
    const env = { ...process.env };
    delete env.KUBEBUILDER_ASSETS;
    progress('binaries from hack/build-control-plane.sh (the first run builds them: about 6 min on 2 vCPUs)');
    const child = spawn('bash', [join(repoRoot, 'hack/build-control-plane.sh')], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir) resolve(dir);
      else reject(new Error(`hack/build-control-plane.sh exited with ${code}; see its output above`));
    });
  });
  return builtDir;
}

/** The absolute path of one binary. */
export async function findBinary(name: BinaryName): Promise<string> {
  const variable = testAssetVariable(name);
  const explicit = process.env[variable];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${variable}=${explicit} is not an executable file`);
    return explicit;
  }
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && isExecutable(join(assets, name))) return join(assets, name);
  const path = join(await buildScriptDir(), name);
  if (!isExecutable(path)) throw new Error(`hack/build-control-plane.sh produced no executable ${path}`);
  return path;
}

/** Paths of the named binaries, looked up one after the other (a build, if needed, happens once). */
export async function findBinaries<N extends BinaryName>(names: readonly N[]): Promise<Record<N, string>> {
  const found = {} as Record<N, string>;
  for (const name of names) found[name] = await findBinary(name);
  return found;
}
