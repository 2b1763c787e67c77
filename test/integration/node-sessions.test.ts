// The node speakers' status.nodeSessions against the real kube-apiserver: two nodes write into one PLB under
// their own field managers (server-side apply on the list map keyed by node and peer) without touching each
// other's entries or the operator's fields; a node's empty apply removes only its own entries; the operator's
// guarded JSON patch prunes the entries of a node without LB pods, and that node, if it still serves, writes
// them again on its next pass (it judges against what the PLB holds, not against what it wrote).
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { PLB } from '../../src/api/constants.js';
import { nodeFieldManager, ownEntries } from '../../src/node/status.js';
import type { NodeSession } from '../../src/api/status.js';
import { NodeStatusWriter } from '../../src/node/status-writer.js';
import { statusPatch } from '../../src/operator/status-patch.js';
import { patchResourceStatus } from '../../src/runtime/kube.js';
import { createTestNamespace, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
  await installCrds(cp.kubeConfig);
});
afterAll(() => cp?.stop());

const session = (node: string, peer: string, announced: boolean): NodeSession =>
  ({ node, peer, peerAddress: '10.0.0.1', state: announced ? 'Established' : 'Active', announced, lastTransitionTime: '2026-12-07T12:00:00Z' });

test('nodes write their own entries, remove only their own, and the operator neither overwrites nor loses them', async () => {
  const namespace = await createTestNamespace(cp.kubeConfig, 'node-sessions');
  const plbs = plbClient(cp.kubeConfig);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await plbs.create(namespace, 'web', { vip: '192.0.2.10', dataPlane: 'nftables', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  await custom.patchNamespacedCustomObjectStatus(
    { ...PLB, namespace, name: 'web', body: { status: { vip: '192.0.2.10', observedGeneration: 1 } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const key = `${namespace}/web`;
  const logs: string[] = [];
  const n1 = new NodeStatusWriter({ kubeConfig: cp.kubeConfig, node: 'n1', log: (m) => logs.push(m) });
  const n2 = new NodeStatusWriter({ kubeConfig: cp.kubeConfig, node: 'n2', log: (m) => logs.push(m) });
  const read = async () => plbs.get(namespace, 'web');
  const held = async (node: string) => ownEntries(node, [await read()]);

  expect(await n1.report(await held('n1'), new Map([[key, [session('n1', 'tor', true), session('n1', 'tor-b', false)]]]))).toBe(0);
  expect(await n2.report(await held('n2'), new Map([[key, [session('n2', 'tor', true)]]]))).toBe(0);
  let plb = await read();
  expect(plb.status?.nodeSessions?.map((e) => `${e.node}/${e.peer}/${e.announced}`).sort()).toEqual(['n1/tor-b/false', 'n1/tor/true', 'n2/tor/true']);
  expect(plb.status?.vip).toBe('192.0.2.10');
  const managers = (plb.metadata?.managedFields ?? []).map((m) => m.manager);
  expect(managers).toEqual(expect.arrayContaining([nodeFieldManager('n1'), nodeFieldManager('n2')]));

  // Unchanged: no write (the resourceVersion stays).
  const rv = plb.metadata?.resourceVersion;
  expect(await n1.report(await held('n1'), new Map([[key, [session('n1', 'tor', true), session('n1', 'tor-b', false)]]]))).toBe(0);
  expect((await read()).metadata?.resourceVersion).toBe(rv);

  // n1's session to tor-b comes up; n1 rewrites its own, n2's entry is untouched.
  expect(await n1.report(await held('n1'), new Map([[key, [session('n1', 'tor', true), session('n1', 'tor-b', true)]]]))).toBe(0);
  plb = await read();
  expect(plb.status?.nodeSessions?.filter((e) => e.announced).length).toBe(3);

  // The operator's status write of its own fields leaves every node's entries as they are.
  const patchStatus = patchResourceStatus(cp.kubeConfig, PLB, 'portable-lb-operator');
  const cond = { type: 'Ready', status: 'True' as const, reason: 'AllReplicasProgrammed', message: '', lastTransitionTime: '2026-12-07T12:00:00Z' };
  await patchStatus(namespace, 'web', statusPatch(plb.status, { ...plb.status, conditions: [cond] }));
  plb = await read();
  expect(plb.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  expect(plb.status?.nodeSessions).toHaveLength(3);

  // The operator prunes n2 (its cache lists no LB pod there): only n2's entry goes...
  await patchStatus(namespace, 'web', statusPatch(plb.status, { ...plb.status, nodeSessions: plb.status!.nodeSessions!.filter((e) => e.node !== 'n2') }));
  expect((await read()).status?.nodeSessions?.map((e) => e.node)).toEqual(['n1', 'n1']);
  // ... and n2, which still serves, writes it again on its next pass.
  expect(await n2.report(await held('n2'), new Map([[key, [session('n2', 'tor', true)]]]))).toBe(0);
  expect((await read()).status?.nodeSessions?.map((e) => e.node).sort()).toEqual(['n1', 'n1', 'n2']);

  // n1 stops: its empty apply removes its two entries and nothing else.
  await n1.removeAll(await held('n1'));
  plb = await read();
  expect(plb.status?.nodeSessions?.map((e) => e.node)).toEqual(['n2']);
  expect(plb.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);

  // A PLB that is gone is skipped, not counted as a failure.
  expect(await n2.report(new Map(), new Map([[`${namespace}/gone`, [session('n2', 'tor', true)]]]))).toBe(0);
  expect(logs).toEqual([]);
});

test('the API server refuses an entry without its keys', async () => {
  const namespace = await createTestNamespace(cp.kubeConfig, 'node-sessions-keys');
  const plbs = plbClient(cp.kubeConfig);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await plbs.create(namespace, 'web', { vip: '192.0.2.10', dataPlane: 'nftables', ports: [{ port: 80 }], backends: { addresses: [{ ip: '10.0.5.7' }] } });
  await expect(custom.patchNamespacedCustomObjectStatus(
    { ...PLB, namespace, name: 'web', fieldManager: 'test', force: true, body: { apiVersion: PLB.apiVersion, kind: PLB.kind, metadata: { name: 'web', namespace }, status: { nodeSessions: [{ peer: 'tor' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  )).rejects.toMatchObject({ body: expect.stringMatching(/node/) });
});
