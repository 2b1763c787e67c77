// LB pods run with the capabilities of their data plane only (src/operator/class/security.ts), not privileged.
// This proves the list on the real kernel: each data plane's agent runs with exactly those capabilities as its
// bounding set (setpriv, no_new_privs), programs its kernel and balances traffic; with any one of them taken
// away it does not get ready and says why. Select data planes with PLB_DATAPLANES (ipvs needs the VM's kernel).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_PLANE_CAPABILITIES } from '../../src/operator/class/security.js';
import type { DataPlaneName } from '../../src/dataplane/types.js';
import { inNs } from './support/netns.js';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { buildAgent } from './support/agent-process.js';
import { ARTIFACTS, Lab, PODS, ROOT, plbYaml } from './support/lab.js';
import { capabilityNames, statusField } from '../support/capabilities.js';

const TEST_TIMEOUT_MS = Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000);
jest.setTimeout(TEST_TIMEOUT_MS);

const DATA_PLANES = (process.env['PLB_DATAPLANES'] ?? 'xdp,nftables').split(',').filter((d): d is DataPlaneName => d in DATA_PLANE_CAPABILITIES);

/** setpriv: only `caps` in the bounding set (root's permitted and effective sets follow it on exec), no new privileges. */
const bounded = (caps: readonly string[]) => [
  'setpriv', '--bounding-set', ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(','), '--inh-caps=-all', '--no-new-privs', '--',
];

/** Capability names of a process's effective set, from /proc. */
const effective = (pid: number): string[] => capabilityNames(statusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'CapEff')!);

// One compiled agent for the six labs below (each would compile its own).
let buildDir = '';
const missing = missingPrerequisites(ARTIFACTS, ['setpriv']);
beforeAll(async () => {
  if (missing !== null || process.env['PLB_AGENT_MAIN']) return;
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  buildDir = await mkdtemp(join(ROOT, '.tmp', 'plbcap-'));
  process.env['PLB_AGENT_MAIN'] = await buildAgent(ROOT, buildDir);
}, 180_000);
afterAll(async () => {
  if (!buildDir) return;
  delete process.env['PLB_AGENT_MAIN'];
  await rm(buildDir, { recursive: true, force: true });
});

const readyz = (lab: Lab) => inNs(lab.topo.ns('lb'), ['node', '-e',
  'fetch("http://127.0.0.1:9470/readyz").then(async (r) => process.stdout.write(r.status + " " + (await r.text())))']);

suiteIf(missing, 'least-privilege LB pods').each(DATA_PLANES)('%s agent with only its capabilities', (dataPlane) => {
  const caps = DATA_PLANE_CAPABILITIES[dataPlane];
  const yaml = plbYaml({ dataPlane, backends: [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b2, weight: 1 }] });

  describeWith(`${caps.join(' + ')}: programs and balances`, caps, (lab) => {
    test('its process holds exactly these capabilities', () => {
      expect(effective(lab.agent.pid!)).toEqual([...caps].sort());
    });

    test('it is ready, and 300 short connections through the VIP reach both backends, none failing', async () => {
      expect(await readyz(lab)).toMatch(/^200/);
      const t = await lab.http(lab.topo.ns('cli'), 300, 10);
      expect(t.failed).toBe(0);
      expect(Object.keys(t.counts).sort()).toEqual(['b1', 'b2']);
    });
  });

  // One fewer: proves each capability is needed (and that this test can fail).
  for (const missing of caps) {
    describeWith(`without ${missing}: not ready, and says why`, caps.filter((c) => c !== missing), (lab) => {
      test('readyz fails and the log names the failed apply', async () => {
        expect(await readyz(lab)).toMatch(/^503/);
        const failed = /apply failed.*$/m.exec(lab.agent.log())?.[0];
        expect(failed).toBeDefined();
        process.stderr.write(`${dataPlane} without ${missing}: ${failed}\n`);
      });
    });
  }

  function describeWith(name: string, withCaps: readonly string[], body: (lab: Lab) => void): void {
    describe(name, () => {
      const lab = new Lab(`plbcap-${process.pid}-${dataPlane.slice(0, 3)}-${withCaps.length}${withCaps.map((c) => c[0]).join('')}-`);
      lab.agentPrefix = bounded(withCaps);
      lab.aroundSuite(yaml, { timeoutMs: Math.max(175_000, TEST_TIMEOUT_MS) });
      body(lab);
    });
  }
});
