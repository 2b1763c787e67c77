// The BGPPeer CRD against a real kube-apiserver: cluster-scoped, explained by kubectl, every invalid fixture
// (bad ASN, bad address, BFD intervals or timers out of range) rejected with its message, every valid one
// defaulted as the fixture says.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { ApiextensionsV1Api, CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { BGPPeerGVK } from '../../src/api/generated.js';
import { apiStatus, eventually, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';
import { fixtureFiles, readInvalidFixture, readValidFixture } from './plb-fixtures.js';

jest.setTimeout(180_000);

const BASE = 'bgppeer/';
const PEERS = { group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural };
let cp: ControlPlane;
let objects: CustomObjectsApi;

beforeAll(async () => {
  cp = await startControlPlane();
  objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp.kubeConfig);
});
afterAll(async () => {
  await cp?.stop();
});

const create = (manifest: KubernetesObject) =>
  objects.createClusterCustomObject({ ...PEERS, body: manifest }) as Promise<KubernetesObject & { spec?: unknown }>;

describe('the BGPPeer CRD', () => {
  test('is cluster-scoped and Established', async () => {
    const crd = await cp.kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'bgppeers.portablelb.io' });
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.status?.conditions?.find((c) => c.type === 'Established')?.status).toBe('True');
  });

  test('is explained by kubectl with the field descriptions from the schema', async () => {
    const explained = await eventually(async () => {
      const result = await cp.kubectl(['explain', 'bgppeer.spec']);
      expect(result.code).toBe(0);
      return result.stdout;
    });
    expect(explained).toContain('KIND:       BGPPeer');
    expect(explained).toMatch(/peerAddress\s+<string> -required-/);
    expect(explained).toMatch(/peerASN\s+<integer> -required-/);
    expect(explained).toContain('BFD for the session (present = on)');
    const bfd = await cp.kubectl(['explain', 'bgppeer.spec.bfd.detectMultiplier']);
    expect(bfd.stdout).toContain('Missed packets before the session is declared down');
  });
});

describe('an invalid BGPPeer is rejected by the API server', () => {
  test.each(fixtureFiles('invalid', BASE))('%s', async (file) => {
    const fixture = readInvalidFixture(file, BASE);
    const rejection = await create(fixture.manifest).then(
      (created) => {
        throw new Error(`${file} was accepted: ${JSON.stringify(created.spec)}`);
      },
      (err: unknown) => apiStatus(err),
    );
    expect(rejection.code).toBe(422);
    for (const text of fixture.expect) expect(rejection.message).toContain(text);
  });
});

describe('a valid BGPPeer is accepted and defaulted by the API server', () => {
  test.each(fixtureFiles('valid', BASE))('%s', async (file) => {
    const fixture = readValidFixture(file, BASE);
    const created = await create(fixture.manifest);
    expect(created.spec).toEqual(fixture.expectedSpec);
    await objects.deleteClusterCustomObject({ ...PEERS, name: fixture.manifest.metadata?.name ?? '' });
  });
});
