// The system test: the lab in --check mode (hack/lab.sh): a real control plane, the operator, agents in pod
// namespaces programming real kernels, traffic from a client through a router. Needs root.
import { expect, jest, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../integration/harness/index.js';

jest.setTimeout(900_000);

const root = process.getuid?.() === 0;
if (!root && process.env['CI'] === 'true') throw new Error('the lab system test needs root, and CI runs as root');

(root ? test : test.skip)('the lab: Ready and announced over BGP to a real router, balanced, follows scaling, an overlay PLB announced by its nodes (NodeIP), the BGP failure table (restart, SIGKILL, link cut, rehash), SIGKILLs of the operator, the API server and an agent under load (0 failed connects, drift repaired, no leaked pins), switches data plane and drains a deleted LB pod under load, deletes cleanly', () => {
  if (!root) console.log('skipped: the lab needs root (network namespaces, BPF)');
  const run = spawnSync('bash', ['hack/lab.sh', '--check'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  const summary = run.stdout.trim().split('\n').pop() ?? '';
  console.log(`${run.stderr.split('\n').filter((l) => l.startsWith('[lab ')).join('\n')}\n${run.stdout}`);
  expect(JSON.parse(summary)).toEqual(expect.objectContaining({ lab: 'passed' }));
  expect(run.status).toBe(0);
});
