// Whether this machine can run the real-kernel suite. Missing prerequisites skip it with a printed reason on a
// laptop; under CI=true they fail it, because CI machines are expected to have everything.
import { describe, test } from '@jest/globals';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

const TOOLS = ['ip', 'nstat', 'tc', 'mount'];

function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])
    .some((d) => { try { accessSync(join(d, cmd), constants.X_OK); return true; } catch { return false; } });
}

/** `artifactsDir` null: the suite needs no BPF objects (the nftables plane only). */
export function missingPrerequisites(artifactsDir: string | null, extra: string[] = []): string | null {
  if (process.platform !== 'linux') return 'needs Linux (network namespaces, BPF)';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, BPF)';
  const tools = [...TOOLS, ...extra].filter((t) => !onPath(t));
  if (tools.length > 0) return `missing tools: ${tools.join(', ')} (run hack/install-dataplane-deps.sh)`;
  if (artifactsDir === null) return null;
  const artifacts = ['plb_tc.bpf.o', 'plb_xdp.bpf.o', 'plb_bpf.node'].filter((f) => !existsSync(join(artifactsDir, f)));
  if (artifacts.length > 0) return `missing ${artifacts.join(', ')} in ${artifactsDir} (run hack/build-dataplane.sh)`;
  return null;
}

/** describe or describe.skip, with the reason printed; under CI=true a skip becomes a failing test. */
export function gate(reason: string | null): { run: boolean; failInCi: boolean } {
  if (reason === null) return { run: true, failInCi: false };
  if (process.env['CI'] === 'true') return { run: false, failInCi: true };
  process.stderr.write(`dataplane tests skipped: ${reason}\n`);
  return { run: false, failInCi: false };
}

/**
 * describe when nothing is missing (`reason` null), else describe.skip (the reason printed); under CI=true the
 * skip also registers a failing test named `<what> prerequisites`.
 */
export function suiteIf(reason: string | null, what: string): typeof describe.skip {
  const { run, failInCi } = gate(reason);
  if (failInCi) {
    test(`${what} prerequisites (CI=true: a skip is a failure)`, () => {
      throw new Error(`cannot run the dataplane tier on this CI machine: ${reason}`);
    });
  }
  return run ? describe : describe.skip;
}
