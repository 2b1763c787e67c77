// examples/ applied to a real kube-apiserver exactly as the README says (`kubectl apply -f examples/`): every
// object is accepted (CRD schema and CEL rules included), and the set still covers what the README promises.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { loadAllYaml, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import type { PortableLoadBalancer } from '../../src/api/generated.js';
import { installCrds, repoRoot, startControlPlane, type ControlPlane } from './harness/index.js';
import { plbClient } from './support/plb-api.js';

jest.setTimeout(180_000);

const DIR = join(repoRoot, 'examples');
const objects = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => (loadAllYaml(readFileSync(join(DIR, f), 'utf8')) as KubernetesObject[]).map((o) => ({ file: f, o })));
const plbs = objects.filter(({ o }) => o.kind === 'PortableLoadBalancer').map(({ file, o }) => ({ file, plb: o as PortableLoadBalancer }));

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
  await installCrds(cp.kubeConfig);
});
afterAll(() => cp?.stop());

test('kubectl apply -f examples/ creates every object, and each PLB reads back with its spec', async () => {
  const r = await cp.kubectl(['apply', '-f', DIR]);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim().split('\n')).toHaveLength(objects.length);
  const api = plbClient(cp.kubeConfig);
  for (const { plb } of plbs) {
    const got = await api.get(plb.metadata!.namespace!, plb.metadata!.name!);
    expect(got.spec).toMatchObject(plb.spec as object);
  }
});

test('the examples cover every data plane and at least four overlay modes', () => {
  expect(new Set(plbs.map(({ plb }) => plb.spec.dataPlane))).toEqual(new Set(['xdp', 'ipvs', 'nftables']));
  expect(new Set(plbs.map(({ plb }) => plb.spec.overlay?.mode)).size).toBeGreaterThanOrEqual(4);
});

test('every named targetPort of a selector PLB is a container port of the example backend', () => {
  const backend = objects.find(({ o }) => o.kind === 'Deployment')?.o as V1Deployment;
  const names = backend.spec!.template.spec!.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
  const selectorLabels = backend.spec!.template.metadata!.labels!;
  for (const { file, plb } of plbs.filter(({ plb }) => plb.spec.backends.selector)) {
    expect({ file, labels: selectorLabels }).toMatchObject({ file, labels: plb.spec.backends.selector!.matchLabels });
    for (const p of plb.spec.ports) if (typeof p.targetPort === 'string') expect({ file, port: p.targetPort, names }).toEqual({ file, port: p.targetPort, names: expect.arrayContaining([p.targetPort]) });
  }
});

test('the example Service is one the Service controller serves (not refused), as the API server stored it', async () => {
  const { planService } = await import('../../src/operator/service/plan.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const stored = await cp.kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ namespace: 'web', name: 'web-lb' });
  const plan = planService(stored, { classless: false });
  expect(plan).toMatchObject({ kind: 'serve' });
  expect(plan.kind === 'serve' && plan.plbs.map((p) => [p.name, p.spec.pool, p.spec.className, p.spec.dataPlane])).toEqual(
    (stored.spec?.ipFamilies ?? ['IPv4']).map((f) => [`web-lb-${f.toLowerCase()}`, 'examples', 'examples', 'nftables']),
  );
});
