// The agent's status.loadBalancers[] entry against the real kube-apiserver: an entry removed behind the agent's
// back (what the operator does to an entry whose pod its lagging cache does not list) comes back on the
// agent's next repair pass, unchanged content and all; and the operator's status patch cannot replace a status
// it has not seen (its `add /status` is guarded by the resourceVersion), so an agent's entry survives it.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ClusterAgent } from '../../src/agent/kubernetes/cluster-agent.js';
import { PLB } from '../../src/api/constants.js';
import type { DataPlane } from '../../src/dataplane/types.js';
import { statusPatch } from '../../src/operator/status-patch.js';
import { patchResourceStatus } from '../../src/runtime/kube.js';
import { createTestNamespace, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
  await installCrds(cp.kubeConfig);
});
afterAll(() => cp?.stop());

/** The kernel is not under test here: a data plane that accepts every state. */
function acceptingDataPlane(): DataPlane & { applies: number } {
  return {
    name: 'nftables',
    applies: 0,
    async apply() {
      this.applies++;
      return { changed: this.applies === 1, attach: 'netfilter', warnings: [] };
    },
    async observe() {
      return { dataPlane: 'nftables', attach: 'netfilter', interface: 'lo', warnings: [], services: [], backends: [], global: {} };
    },
    async close() {},
  };
}

test('an entry removed behind the agent is re-asserted on its next repair pass; a stale `add /status` fails', async () => {
  const namespace = await createTestNamespace(cp.kubeConfig, 'agent-status');
  const plbs = plbClient(cp.kubeConfig);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await plbs.create(namespace, 'web', { vip: '192.0.2.10', dataPlane: 'nftables', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  // What the operator's VIP grant writes; the agent programs nothing without it.
  await custom.patchNamespacedCustomObjectStatus(
    { ...PLB, namespace, name: 'web', body: { status: { vip: '192.0.2.10' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const entries = async () => (await plbs.get(namespace, 'web')).status?.loadBalancers ?? [];
  const logs: string[] = [];
  const repairMs = 1_000;
  const agent = new ClusterAgent({
    kubeConfig: cp.kubeConfig, namespace, plbName: 'web', pod: 'web-lb-1', node: 'n1', podIP: '10.244.0.9',
    interface: 'lo', dataPlane: acceptingDataPlane(), cpuCount: 2, log: (m) => logs.push(m), repairMs,
    // this host's own ip_forward is not the test's business (forwarding.ts is tested on its own)
    checkForwarding: async () => undefined,
  });
  agent.start();
  try {
    await eventually(async () => expect(await entries()).toEqual([expect.objectContaining({ pod: 'web-lb-1', ready: true, backends: 1 })]));
    const first = (await entries())[0]!;

    // The operator's prune of an entry it believes orphaned: a guarded JSON patch, as status-patch.ts writes it.
    const removedAt = Date.now();
    await custom.patchNamespacedCustomObjectStatus(
      { ...PLB, namespace, name: 'web', body: [{ op: 'test', path: '/status/loadBalancers/0/pod', value: 'web-lb-1' }, { op: 'remove', path: '/status/loadBalancers/0' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(await entries()).toEqual([]);
    await eventually(async () => expect(await entries()).toEqual([expect.objectContaining({ pod: 'web-lb-1', ready: true, backends: 1 })]), 10 * repairMs);
    const backAfterMs = Date.now() - removedAt;
    // A heartbeat as well: every repair pass refreshes lastUpdateTime even though nothing changed.
    await eventually(async () => expect((await entries())[0]!.lastUpdateTime).not.toBe(first.lastUpdateTime), 10 * repairMs);
    console.log(`agent-status: entry removed behind the agent was back after ${backAfterMs} ms (repair pass every ${repairMs} ms)`);

    // An operator that creates /status from a cache older than the agent's write: refused, the entry stays.
    const patchStatus = patchResourceStatus(cp.kubeConfig, PLB, 'portable-lb-operator');
    const stale = statusPatch(undefined, { observedGeneration: 1, conditions: [] }, '1');
    await expect(patchStatus(namespace, 'web', stale)).rejects.toMatchObject({ code: expect.any(Number) });
    expect(await entries()).toEqual([expect.objectContaining({ pod: 'web-lb-1' })]);
  } finally {
    await agent.stop();
  }
  expect(logs.filter((l) => l.startsWith('status report failed'))).toEqual([]);
});

// Advisory settings do not block programming; fatal ones do not pass for ready (issue 14).
test('a cpuSpreading list naming none of the node\'s CPUs is a reason on a programmed, ready entry; a kernel that does not forward is not ready', async () => {
  const namespace = await createTestNamespace(cp.kubeConfig, 'agent-settings');
  const plbs = plbClient(cp.kubeConfig);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await plbs.create(namespace, 'web', {
    vip: '192.0.2.10', dataPlane: 'nftables', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] },
    cpuSpreading: { rps: true, cpus: '64-65' },
  });
  await custom.patchNamespacedCustomObjectStatus(
    { ...PLB, namespace, name: 'web', body: { status: { vip: '192.0.2.10' } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const entries = async () => (await plbs.get(namespace, 'web')).status?.loadBalancers ?? [];
  const logs: string[] = [];
  const dataPlane = acceptingDataPlane();
  let forwarding: string | undefined;
  const agent = new ClusterAgent({
    kubeConfig: cp.kubeConfig, namespace, plbName: 'web', pod: 'web-lb-1', node: 'n1', podIP: '10.244.0.9',
    interface: 'lo', dataPlane, cpuCount: 2, log: (m) => logs.push(m), repairMs: 1_000,
    checkForwarding: async () => forwarding,
  });
  agent.start();
  try {
    await eventually(async () => expect(await entries()).toEqual([expect.objectContaining({
      pod: 'web-lb-1', ready: true, programmedGeneration: 1, reason: 'CPUSpreadingIgnored',
      message: expect.stringMatching(/cpuSpreading\.cpus: "64-65" names none of this node's 2 CPUs/),
    })]));
    expect(dataPlane.applies).toBeGreaterThan(0);
    expect(agent.health.ready).toBe(true);
    const entry = (await entries())[0]!;
    console.log(`agent-settings: cpus 64-65 on 2 CPUs -> ready ${entry.ready}, reason ${entry.reason}: ${entry.message}`);

    forwarding = 'net.ipv4.ip_forward is 0: this pod\'s kernel does not forward VIP traffic';
    await eventually(async () => expect(await entries()).toEqual([expect.objectContaining({
      pod: 'web-lb-1', ready: false, reason: 'ForwardingDisabled', message: expect.stringMatching(/^net\.ipv4\.ip_forward is 0/),
    })]), 10_000);
    expect(agent.health.ready).toBe(false);
    expect(logs).toContainEqual(expect.stringMatching(/^not ready: net\.ipv4\.ip_forward is 0/));
  } finally {
    await agent.stop();
  }
});
