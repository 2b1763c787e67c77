// watchResource against the real API server through a proxy that can freeze connections: a watch whose
// connection dies silently (no FIN, no RST) is aborted once the server should have ended it, the informer
// restarts on a new connection and events flow again; a watch the server ends on time is not an error.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { watchResource, type WatchLifecycle } from '../../src/runtime/informer.js';
import { createTestNamespace, eventually, startControlPlane, type ControlPlane } from './harness/index.js';
import { startFreezingProxy, type FreezingProxy } from './support/freezing-proxy.js';

jest.setTimeout(120_000);

let cp: ControlPlane;
let proxy: FreezingProxy;

beforeAll(async () => {
  cp = await startControlPlane();
  proxy = await startFreezingProxy(new URL(cp.apiServerUrl));
});
afterAll(async () => {
  await proxy?.close();
  await cp?.stop();
});

function throughProxy(kc: KubeConfig, url: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: url })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return copy;
}

test('a silently dead watch connection is aborted and replaced; a watch the server ends on time is not an error', async () => {
  const namespace = await createTestNamespace(cp.kubeConfig, 'liveness');
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const kc = throughProxy(cp.kubeConfig, proxy.url);
  const proxiedCore = kc.makeApiClient(CoreV1Api);
  const lifecycle: Array<{ event: WatchLifecycle; error?: string }> = [];
  const seen = new Set<string>();
  const timeoutSeconds = 2;
  const informer = watchResource<V1ConfigMap>(
    kc,
    {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      list: () => proxiedCore.listNamespacedConfigMap({ namespace }),
      liveness: { timeoutSeconds: () => timeoutSeconds, graceMs: 1_000 },
      backoff: { baseMs: 100, maxMs: 1_000, jitter: 0 },
      onLifecycle: (event, error) => lifecycle.push({ event, ...(error ? { error: String((error as Error).message ?? error) } : {}) }),
    },
    (e) => seen.add(e.object.metadata!.name!),
  );
  const create = (name: string) => core.createNamespacedConfigMap({ namespace, body: { metadata: { name } } });
  try {
    await eventually(async () => expect(informer.synced).toBe(true), 20_000);
    // Several server-side timeouts pass: each ends the watch cleanly and the informer re-watches.
    await new Promise((r) => setTimeout(r, (timeoutSeconds * 2 + 1) * 1000));
    expect(lifecycle.filter((l) => l.event === 'connect').length).toBeGreaterThanOrEqual(2);
    expect(lifecycle.filter((l) => l.event === 'error')).toEqual([]);
    await create('before-freeze');
    await eventually(async () => expect(seen.has('before-freeze')).toBe(true), 10_000);

    const frozenAt = Date.now();
    expect(proxy.freezeOpenConnections()).toBeGreaterThanOrEqual(1);
    await create('while-frozen');
    await eventually(async () => expect(lifecycle).toContainEqual({ event: 'error', error: expect.stringContaining('presumed dead') }), 20_000);
    const detectedMs = Date.now() - frozenAt;
    // Never before the server's own deadline, and not long after it plus the grace.
    expect(detectedMs).toBeLessThan((timeoutSeconds + 1) * 1000 + 5_000);
    await eventually(async () => expect(seen.has('while-frozen')).toBe(true), 20_000);
    await create('after-restart');
    await eventually(async () => expect(seen.has('after-restart')).toBe(true), 10_000);
    console.log(`watch-liveness: frozen watch detected after ${detectedMs} ms (server timeout ${timeoutSeconds}s + 1s grace)`);
  } finally {
    await informer.stop();
  }
});
