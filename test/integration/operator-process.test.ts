// The operator process under stress: the API server dies and returns, the operator restarts, two replicas
// compete for the Lease, and 200 PLBs arrive at once. Real kube-apiserver, etcd and controller-manager.
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { freePort } from './harness/ports.js';
import { ensureBuilt, startOperator, type OperatorProcess } from './support/operator-process.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(300_000);

let cp: ControlPlane;
let plbs: ReturnType<typeof plbClient>;
const running: OperatorProcess[] = [];
const LEASE = 'plb-operator-test';

beforeAll(async () => {
  ensureBuilt();
  cp = await startControlPlane({ controllerManager: true });
  await installCrds(cp.kubeConfig);
  plbs = plbClient(cp.kubeConfig);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()));
});
afterAll(async () => {
  await cp?.stop();
});

const spec = { vip: '192.0.2.10', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] }, replicas: 1 };
async function operator(identity: string): Promise<OperatorProcess> {
  const o = startOperator(cp.kubeconfigPath, identity, await freePort(), LEASE);
  running.push(o);
  await eventually(async () => expect(await o.ready()).toBe(true));
  return o;
}
const holder = async () =>
  (await cp.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'default', name: LEASE })).spec?.holderIdentity;
const converged = (ns: string, name: string, generation = 1) =>
  eventually(async () => expect((await plbs.get(ns, name)).status?.observedGeneration).toBe(generation), 60_000);

describe('the operator process', () => {
  test('survives a kube-apiserver crash, reconnects and converges; a restarted operator writes nothing for steady objects', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'resilience');
    const first = await operator('op-a');
    await plbs.create(ns, 'before', spec);
    await converged(ns, 'before');

    await cp.stopApiServer('SIGKILL');
    await new Promise((r) => setTimeout(r, 4000));
    expect(first.child.exitCode).toBeNull();
    await cp.startApiServer();
    await plbs.create(ns, 'after', spec);
    await converged(ns, 'after');
    expect(first.child.exitCode).toBeNull();

    // Steady means the LB pods exist too (the status then says they are not scheduled), not just observed.
    for (const name of ['before', 'after']) {
      await eventually(async () => {
        const c = (await plbs.get(ns, name)).status?.conditions?.find((x) => x.type === 'DataPlaneProgrammed');
        expect(c?.message).toMatch(/not scheduled to any node/);
      }, 60_000);
    }
    expect(await first.stop()).toBe(0);
    const second = await operator('op-b');
    await eventually(async () => expect(await holder()).toMatch(/^op-b_/), 30_000);
    await new Promise((r) => setTimeout(r, 5000));
    const writes = await second.writes();
    if (writes !== 0) console.log(second.logs.filter((l) => l.includes('reconciled')).join('\n'));
    expect(writes).toBe(0);
  });

  test('two replicas: only the Lease holder writes, and the other takes over when it stops', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'leader');
    const a = await operator('op-c');
    await eventually(async () => expect(await holder()).toMatch(/^op-c_/), 30_000);
    const b = await operator('op-d');
    await plbs.create(ns, 'one', spec);
    await converged(ns, 'one');
    expect(await a.writes()).toBeGreaterThan(0);
    expect(await b.writes()).toBe(0);

    const stoppedAt = Date.now();
    await a.stop();
    await eventually(async () => expect(await holder()).toMatch(/^op-d_/), 15_000);
    await plbs.create(ns, 'two', spec);
    await converged(ns, 'two');
    console.log(`leader handover + convergence of a new PLB took ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
    expect(await b.writes()).toBeGreaterThan(0);
  });

  test('200 PLBs created at once all converge (time and memory are reported, not asserted)', async () => {
    const ns = await createTestNamespace(cp.kubeConfig, 'scale');
    const o = await operator('op-e');
    await eventually(async () => expect(await holder()).toMatch(/^op-e_/), 30_000);
    const started = Date.now();
    const names = Array.from({ length: 200 }, (_, i) => `plb-${i}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => plbs.create(ns, n, spec)));
    }
    await eventually(async () => {
      const statuses = await Promise.all(names.map((n) => plbs.get(ns, n)));
      expect(statuses.filter((p) => p.status?.observedGeneration === 1)).toHaveLength(200);
    }, 240_000, 2000);
    console.log(`200 PLBs converged in ${((Date.now() - started) / 1000).toFixed(1)} s; operator RSS ${o.rssMiB().toFixed(0)} MiB`);
  });
});
