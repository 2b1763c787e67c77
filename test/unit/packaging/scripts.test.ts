// The packaging scripts: shellcheck-clean, and the kind e2e tier skips (exit 0, with its reason) where no
// Docker engine answers, instead of failing or silently passing.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';

const repoRoot = process.cwd();
const SCRIPTS = [
  'hack/e2e-kind.sh',
  'hack/build-helm.sh',
  'hack/install-packaging-deps.sh',
  'hack/image-rootfs.sh',
  'hack/lib/apt.sh',
  'hack/install-deps.sh',
  'hack/install-dataplane-deps.sh',
  'hack/install-vm-deps.sh',
  'hack/install-bgp-deps.sh',
  'hack/install-cluster-deps.sh',
  'hack/build-control-plane.sh',
  'hack/image-oci.sh',
  'hack/e2e.sh',
  'hack/cluster/lib.sh',
  'hack/cluster/up.sh',
  'hack/cluster/down.sh',
  'hack/cluster/load-image.sh',
  'hack/cluster/kubectl.sh',
  'hack/cluster/status.sh',
  'hack/cluster/pause-image.sh',
];
const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
if (!shellcheck && process.env['CI'] === 'true') throw new Error('shellcheck is missing: hack/install-packaging-deps.sh installs it');
if (!shellcheck) console.log('skipping the shellcheck test: shellcheck is not installed (bash hack/install-packaging-deps.sh)');

const fakeBin = mkdtempSync(join(tmpdir(), 'plb-fake-docker-'));
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

describe('packaging scripts', () => {
  (shellcheck ? test : test.skip).each(SCRIPTS)('%s passes shellcheck', (script) => {
    // -x follows the `source` of hack/versions.env, which is resolved from the repository root.
    const r = spawnSync('shellcheck', ['-x', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test.each([
    ['a docker client whose engine does not answer', true, /SKIP: no Docker engine answers/],
    ['no docker command at all', false, /SKIP: no docker command on PATH/],
  ])('hack/e2e-kind.sh with %s exits 0 and says why it skipped', (_, withClient, reason) => {
    const bin = join(fakeBin, withClient ? 'with' : 'without');
    mkdirSync(bin, { recursive: true });
    // The only command the script runs before the engine check; no other real tool is reachable.
    symlinkSync(spawnSync('sh', ['-c', 'command -v dirname'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'dirname'));
    if (withClient) {
      writeFileSync(join(bin, 'docker'), '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n');
      chmodSync(join(bin, 'docker'), 0o755);
    }
    const r = spawnSync('/bin/bash', ['hack/e2e-kind.sh'], { cwd: repoRoot, encoding: 'utf8', env: { PATH: bin, HOME: fakeBin } });
    expect(r.stderr).toMatch(reason);
    expect(r.status).toBe(0);
  });
});

describe('hack/lib/apt.sh ensure_packages', () => {
  // apt-get replaced by a recorder on PATH; id says root so no sudo is tried.
  function run(entries: string[]): { log: string; stderr: string; status: number | null; installed: string } {
    const bin = mkdtempSync(join(tmpdir(), 'plb-fake-apt-'));
    const log = join(bin, 'apt.log');
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$*" >> ${log}\n`);
    writeFileSync(join(bin, 'id'), '#!/bin/sh\necho 0\n');
    chmodSync(join(bin, 'apt-get'), 0o755);
    chmodSync(join(bin, 'id'), 0o755);
    const script = `source hack/lib/apt.sh; here() { true; }; ensure_packages t ${entries.map((e) => `'${e}'`).join(' ')}; echo "\${APT_INSTALLED[*]}"`;
    const r = spawnSync('/bin/bash', ['-c', script], { cwd: repoRoot, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    const out = { log: spawnSync('cat', [log], { encoding: 'utf8' }).stdout, stderr: r.stderr, status: r.status, installed: r.stdout.trim() };
    rmSync(bin, { recursive: true, force: true });
    return out;
  }

  test('runs no apt-get when every probe (command, path glob, function) is present', () => {
    const r = run(['sh:dash', '/bin/s*:coreutils', '@here:thing']);
    expect(r.status).toBe(0);
    expect(r.log).toBe('');
    expect(r.stderr).toMatch(/all present, skipping apt/);
  });

  test('installs each missing package once, after an update, and reports what it installed', () => {
    const r = run(['sh:dash', 'no-such-cmd-a:pkg-a', 'no-such-cmd-b:pkg-a', '/no/such/*.h:pkg-h', '@false:pkg-f']);
    expect(r.status).toBe(0);
    expect(r.log.trim().split('\n')).toEqual(['update -q', 'install -y -q --no-install-recommends pkg-a pkg-f pkg-h']);
    expect(r.installed).toBe('pkg-a pkg-f pkg-h');
    expect(r.stderr).toMatch(/missing no-such-cmd-a \(package pkg-a\)/);
  });
});
