// The nftables plane's counters are monotonic across applies: a replace redefines rules, sets and maps but
// leaves the counter objects alone, so no increment between the agent's last read and the commit is lost.
// Proved on the real kernel by changing the ruleset many times while short connections run through it: the
// service's new-flow counter must grow by exactly the number of connections made.
import { expect, jest, test } from '@jest/globals';
import { missingPrerequisites, suiteIf } from './support/prereqs.js';
import { ARTIFACTS, Lab, PODS, VIP, plbYaml, type Backend } from './support/lab.js';

jest.setTimeout(Number(process.env['PLB_TEST_TIMEOUT_MS'] ?? 120_000));

const lab = new Lab(`plbnc-${process.pid}-`);
const yaml = (backends: Backend[]) => plbYaml({ dataPlane: 'nftables', backends });
// Two rulesets that differ (weights swapped): every reconfigure is a replace of the table's rules.
const variants = [
  [{ ip: PODS.b1, weight: 1 }, { ip: PODS.b2, weight: 2 }],
  [{ ip: PODS.b1, weight: 2 }, { ip: PODS.b2, weight: 1 }],
];

const metric = (text: string, re: RegExp): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`no ${re} in /metrics:\n${text}`);
  return Number(m[1]);
};
const serviceFlows = (text: string) =>
  metric(text, new RegExp(`plb_service_new_flows_total\\{vip="${VIP}",port="80",protocol="TCP"\\} (\\d+)`));
const backendFlows = (text: string, ip: string) =>
  metric(text, new RegExp(`plb_backend_new_flows_total\\{backend="${ip}",state="active"\\} (\\d+)`));

suiteIf(missingPrerequisites(ARTIFACTS, ['nft']), 'nftables counter')('nftables counters across applies (real kernel)', () => {
  lab.aroundSuite(yaml(variants[0]!));

  test('no new-flow increment is lost while the ruleset is replaced under load', async () => {
    const before = await lab.metrics();
    const connections = 3000;
    let done = false;
    const load = lab.http(lab.topo.ns('cli'), connections, 20).finally(() => { done = true; });
    let applies = 0;
    while (!done) {
      await lab.reconfigure(yaml(variants[(applies + 1) % 2]!));
      applies++;
    }
    const t = await load;
    const after = await lab.metrics();
    const got = {
      failed: t.failed,
      serviceFlows: serviceFlows(after) - serviceFlows(before),
      backendFlows: [PODS.b1, PODS.b2].reduce((sum, ip) => sum + backendFlows(after, ip) - backendFlows(before, ip), 0),
    };
    process.stderr.write(`nftables counters: ${applies} replaces during ${connections} connections; counted ${JSON.stringify(got)}\n`);
    expect(applies).toBeGreaterThanOrEqual(3);
    expect(got).toEqual({ failed: 0, serviceFlows: connections, backendFlows: connections });
  });
});
