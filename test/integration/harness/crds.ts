// installCrds(): what envtest's CRDInstallOptions does: apply every CustomResourceDefinition found in a
// directory, then wait until each is Established and its resources answer, so tests can create objects
// right away instead of racing the apiserver's discovery.
import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { apiErrorCode, apiStatus } from './api-errors.js';
import { repoRoot } from './binaries.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads with client-node's loadAllYaml, not js-yaml: the typed API client serialises the body through its
 * models, which know `xKubernetesValidations` and `_default`, not the wire names. A plain YAML object would
 * silently lose every default and CEL rule above the first untyped `items`.
 */
export function readCrds(dir: string): V1CustomResourceDefinition[] {
  const path = isAbsolute(dir) ? dir : join(repoRoot, dir);
  const files = readdirSync(path).filter((f) => /\.ya?ml$/.test(f)).sort();
  return files.flatMap((file) =>
    loadAllYaml(readFileSync(join(path, file), 'utf8'))
      .filter((doc): doc is V1CustomResourceDefinition =>
        typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === 'CustomResourceDefinition'),
  );
}

/** Creates the CRD, or replaces it when it exists; a rejection carries the apiserver's message. */
async function apply(api: ApiextensionsV1Api, crd: V1CustomResourceDefinition): Promise<void> {
  const name = crd.metadata?.name ?? '(unnamed)';
  try {
    await api.createCustomResourceDefinition({ body: crd });
  } catch (err) {
    if (apiErrorCode(err) !== 409) {
      throw new Error(`the API server rejected CRD ${name}: ${apiStatus(err).message ?? String(err)}`);
    }
    const existing = await api.readCustomResourceDefinition({ name });
    const body = { ...crd, metadata: { ...crd.metadata, resourceVersion: existing.metadata?.resourceVersion } };
    await api.replaceCustomResourceDefinition({ name, body });
  }
}

function conditionTrue(crd: V1CustomResourceDefinition, type: string): boolean {
  return crd.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

async function waitEstablished(kc: KubeConfig, crd: V1CustomResourceDefinition, timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const name = crd.metadata?.name ?? '';
  const deadline = Date.now() + timeoutMs;
  let state = 'not read yet';
  while (Date.now() < deadline) {
    const current = await api.readCustomResourceDefinition({ name });
    state = JSON.stringify(current.status?.conditions ?? []);
    if (conditionTrue(current, 'NamesAccepted') && conditionTrue(current, 'Established')) {
      // Established can precede the REST handler; a list succeeding is what a test needs.
      const served = crd.spec.versions.filter((v) => v.served);
      try {
        for (const v of served) {
          await objects.listClusterCustomObject({ group: crd.spec.group, version: v.name, plural: crd.spec.names.plural });
        }
        return;
      } catch (err) {
        // 404: no handler yet; 429 "storage is (re)initializing": the handler's watch cache is still filling.
        const code = apiErrorCode(err);
        if (code !== 404 && code !== 429) throw err;
        state = `Established, but listing its resources answers ${code}`;
      }
    }
    await sleep(100);
  }
  throw new Error(`CRD ${name} not ready after ${timeoutMs} ms: ${state}`);
}

/** Applies every CRD in `dir` (relative to the repository root unless absolute) and waits for all of them. */
export async function installCrds(kc: KubeConfig, dir = 'crds', timeoutMs = 30_000): Promise<V1CustomResourceDefinition[]> {
  const crds = readCrds(dir);
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition in ${dir}`);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) await apply(api, crd);
  for (const crd of crds) await waitEstablished(kc, crd, timeoutMs);
  return crds;
}
