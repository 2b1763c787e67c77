// The PortableLoadBalancer CRD against a real kube-apiserver: it installs, kubectl explains it, and the
// API server itself (OpenAPI schema + CEL rules) rejects every invalid fixture and defaults every valid one.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { ApiextensionsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { agentFieldManager } from '../../src/api/constants.js';
import {
  apiStatus,
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  installCrds,
  startControlPlane,
  type ControlPlane,
} from './harness/index.js';
import { fixtureFiles, readInvalidFixture, readValidFixture } from './plb-fixtures.js';

const CRD_NAME = 'portableloadbalancers.portablelb.io';
const PLB = { group: 'portablelb.io', version: 'v1alpha1', plural: 'portableloadbalancers' };

// jest ignores testTimeout inside a `projects` entry, so the integration tier's 180s is set here.
jest.setTimeout(180_000);

let cp: ControlPlane;
let objects: CustomObjectsApi;
let namespace: string;

beforeAll(async () => {
  cp = await startControlPlane();
  objects = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await installCrds(cp.kubeConfig);
});
afterAll(async () => {
  await cp?.stop();
});
beforeEach(async () => {
  namespace = await createTestNamespace(cp.kubeConfig, 'crd');
});
afterEach(async () => {
  await deleteTestNamespace(cp.kubeConfig, namespace);
});

function create(manifest: KubernetesObject): Promise<KubernetesObject & { spec?: unknown }> {
  const body = { ...manifest, metadata: { ...manifest.metadata, namespace } };
  return objects.createNamespacedCustomObject({ ...PLB, namespace, body });
}

describe('the PortableLoadBalancer CRD', () => {
  test('is accepted by the API server and becomes Established', async () => {
    const crd = await cp.kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
    const status = (type: string): string | undefined => crd.status?.conditions?.find((c) => c.type === type)?.status;
    expect(status('NamesAccepted')).toBe('True');
    expect(status('Established')).toBe('True');
    expect(crd.status?.acceptedNames?.shortNames).toContain('plb');
  });

  test('is explained by kubectl with the field descriptions from the schema', async () => {
    // The OpenAPI document is published a moment after the CRD is Established, hence the retries.
    const explained = await eventually(async () => {
      const result = await cp.kubectl(['explain', 'plb.spec']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return result.stdout;
    });
    expect(explained).toContain('KIND:       PortableLoadBalancer');
    expect(explained).toContain('What the load balancer should do.');
    // Optional: left out, the operator allocates one from a VIPPool.
    expect(explained).toMatch(/vip\s+<string>\n/);
    expect(explained).toContain('The virtual IP address clients connect to');
    expect(explained.replace(/\s+/g, ' ')).toContain('Leave it out to be given a free address of a VIPPool');
    expect(explained).toMatch(/dataPlane\s+<string>/);
  });
});

describe('an invalid PortableLoadBalancer is rejected by the API server', () => {
  test.each(fixtureFiles('invalid'))('%s', async (file) => {
    const fixture = readInvalidFixture(file);
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

describe('a valid PortableLoadBalancer is accepted and defaulted by the API server', () => {
  test.each(fixtureFiles('valid'))('%s', async (file) => {
    const fixture = readValidFixture(file);
    const created = await create(fixture.manifest);
    expect(created.spec).toEqual(fixture.expectedSpec);
    // Defaulting also applies on read, so what is stored is what was returned.
    const read = (await objects.getNamespacedCustomObject({
      ...PLB,
      namespace,
      name: fixture.manifest.metadata?.name ?? '',
    })) as { spec?: unknown };
    expect(read.spec).toEqual(fixture.expectedSpec);
  });
});

describe('status.loadBalancers is a map keyed by pod, each entry owned by its agent', () => {
  const apply = (name: string, pod: string, entries: unknown[]) =>
    objects.patchNamespacedCustomObjectStatus(
      {
        ...PLB,
        namespace,
        name,
        fieldManager: agentFieldManager(pod),
        force: true,
        body: { apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', metadata: { name, namespace }, status: { loadBalancers: entries } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    ) as Promise<{ status?: { loadBalancers?: { pod: string }[] } }>;

  test('a draining agent that applies no entry removes its own and leaves the others', async () => {
    const { manifest } = readValidFixture('minimal.yaml');
    await create(manifest);
    const name = manifest.metadata?.name ?? '';
    await apply(name, 'lb-a', [{ pod: 'lb-a', podIP: '10.244.1.5', ready: true }]);
    await apply(name, 'lb-b', [{ pod: 'lb-b', podIP: '10.244.1.6', ready: true }]);
    const after = await apply(name, 'lb-a', []);
    expect(after.status?.loadBalancers?.map((e) => e.pod)).toEqual(['lb-b']);
  });
});
