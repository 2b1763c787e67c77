// The benchmark's shell scripts stay shellcheck-clean (they run as root and delete namespaces: a quoting slip
// there is expensive). The measurements themselves run from hack/bench.sh, not from jest.
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from '@jest/globals';

const SCRIPTS = [
  'hack/bench.sh',
  'test/bench/dataplane/run.sh',
  'test/bench/dataplane/topology.sh',
  'test/bench/dataplane/configs.sh',
  'test/bench/control-plane/xdp-apply.sh',
  'hack/vm/bench.sh',
  'test/bench/control-plane/scale.sh',
];
const shellcheck = spawnSync('shellcheck', ['--version']).status === 0;
if (!shellcheck && process.env['CI'] === 'true') throw new Error('shellcheck is missing: hack/install-packaging-deps.sh installs it');
if (!shellcheck) console.log('skipping the bench shellcheck test: shellcheck is not installed (bash hack/install-packaging-deps.sh)');

describe('bench scripts', () => {
  (shellcheck ? test : test.skip).each(SCRIPTS)('%s passes shellcheck', (script) => {
    // -x follows run.sh's `source` of topology.sh and configs.sh, resolved from the repository root
    const r = spawnSync('shellcheck', ['-x', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
