// The operator process when writes hang (an admission webhook that never answers, as a policy engine under load
// or a half-open connection would): each request ends at its deadline, the queue keeps serving other PLBs, and
// /readyz says which pass is stalled while it is, then recovers. Real kube-apiserver and webhook.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { AppsV1Api } from '@kubernetes/client-node';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { freePort } from './harness/ports.js';
import { ensureBuilt, startOperator, type OperatorProcess } from './support/operator-process.js';
import { plbClient } from './support/plb-api.js';
import { startDeploymentWebhook, type TestWebhook } from './support/webhook.js';

jest.setTimeout(180_000);

let cp: ControlPlane;
let operator: OperatorProcess | undefined;
let hook: TestWebhook | undefined;

beforeAll(async () => {
  ensureBuilt();
  cp = await startControlPlane();
  await installCrds(cp.kubeConfig);
});
afterAll(async () => {
  await operator?.stop();
  await hook?.close();
  await cp?.stop();
});

const spec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] }, replicas: 1 };

test('hung writes: each ends at its deadline, other PLBs still converge, /readyz fails while a pass is stalled and recovers', async () => {
  const hungNs = await createTestNamespace(cp.kubeConfig, 'hung');
  const freeNs = await createTestNamespace(cp.kubeConfig, 'free');
  const plbs = plbClient(cp.kubeConfig);
  const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  hook = await startDeploymentWebhook(cp, hungNs, 'plb-hang-test');
  // The API server starts calling a new webhook within a second or two: wait until it refuses a probe.
  hook.mode = { deny: 'probe' };
  await eventually(async () => {
    await expect(apps.createNamespacedDeployment({ namespace: hungNs, body: probeDeployment() })).rejects.toThrow(/probe/);
  }, 20_000);
  hook.mode = 'hang';

  operator = startOperator(cp.kubeconfigPath, 'op-health', await freePort(), undefined, ['--request-timeout=6s', '--stall-after=2s']);
  const op = operator;
  await eventually(async () => expect(await op.ready()).toBe(true), 30_000);

  // More hung PLBs than the queue has workers (2): without deadlines they would hold both.
  for (const name of ['a', 'b', 'c']) await plbs.create(hungNs, name, spec);
  const stalled = await eventually(async () => {
    const r = await op.probe('/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(new RegExp(`stalled: reconcile of ${hungNs}/[abc] running for`));
    return r.body;
  }, 30_000, 250);
  expect((await op.probe('/healthz')).status).toBe(200); // stalled on a request, not wedged

  const createdFree = Date.now();
  await plbs.create(freeNs, 'free', spec);
  await eventually(async () => expect((await plbs.get(freeNs, 'free')).status?.observedGeneration).toBe(1), 60_000);
  const freeConvergedMs = Date.now() - createdFree;
  expect(hook.seen).toBeGreaterThan(3); // the hung Deployment writes were retried after their deadline

  hook.mode = 'allow';
  const healed = Date.now();
  await eventually(async () => {
    for (const name of ['a', 'b', 'c']) expect((await plbs.get(hungNs, name)).status?.observedGeneration).toBe(1);
    expect((await op.probe('/readyz')).status).toBe(200);
  }, 90_000, 500);
  console.log(`hung writes: /readyz said "${stalled}"; an unaffected PLB converged ${(freeConvergedMs / 1000).toFixed(1)} s after creation ` +
    `while 3 hung; all converged and ready ${((Date.now() - healed) / 1000).toFixed(1)} s after the webhook answered again`);
});

function probeDeployment() {
  return {
    metadata: { name: 'probe' },
    spec: {
      selector: { matchLabels: { app: 'probe' } },
      template: { metadata: { labels: { app: 'probe' } }, spec: { containers: [{ name: 'c', image: 'probe' }] } },
    },
  };
}
