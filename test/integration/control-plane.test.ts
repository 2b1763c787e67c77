// The harness itself, as the operator's resilience tests use it: kube-apiserver can be stopped, killed and
// restarted under the same URL and credentials without losing data, and a component that cannot start
// fails startControlPlane with its own log in the error.
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { createTestNamespace, installCrds, startControlPlane, type ControlPlane } from './harness/index.js';

// jest ignores testTimeout inside a `projects` entry, so the integration tier's 180s is set here.
jest.setTimeout(180_000);

describe('a running control plane', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterAll(async () => {
    await cp?.stop();
  });

  test.each(['SIGTERM', 'SIGKILL'] as const)(
    'kube-apiserver stopped with %s comes back on the same URL with its data',
    async (signal) => {
      const core = cp.kubeConfig.makeApiClient(CoreV1Api);
      const namespace = await createTestNamespace(cp.kubeConfig, 'restart');
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'kept' }, data: { signal } } });

      await cp.stopApiServer(signal);
      await expect(core.readNamespacedConfigMap({ namespace, name: 'kept' })).rejects.toThrow(/ECONNREFUSED/);
      await cp.startApiServer();

      const kept = await core.readNamespacedConfigMap({ namespace, name: 'kept' });
      expect(kept.data).toEqual({ signal });
    },
  );

  test('installCrds can run again on the same cluster', async () => {
    const first = await installCrds(cp.kubeConfig);
    const again = await installCrds(cp.kubeConfig);
    expect(again.map((crd) => crd.metadata?.name)).toEqual(first.map((crd) => crd.metadata?.name));
  });

  test('stop() removes the working directory and can be called twice', async () => {
    const extra = await startControlPlane();
    expect(existsSync(extra.dir)).toBe(true);
    await extra.stop();
    await extra.stop();
    expect(existsSync(extra.dir)).toBe(false);
  });
});

describe('a component that cannot start', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'plb-fake-apiserver-'));
  const saved = process.env.TEST_ASSET_KUBE_APISERVER;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_ASSET_KUBE_APISERVER;
    else process.env.TEST_ASSET_KUBE_APISERVER = saved;
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('fails startControlPlane with how it exited and the tail of its log', async () => {
    const fake = join(scratch, 'kube-apiserver');
    writeFileSync(fake, '#!/bin/sh\necho "Error: unknown flag: --no-such-thing" >&2\nexit 3\n');
    chmodSync(fake, 0o755);
    process.env.TEST_ASSET_KUBE_APISERVER = fake;

    await expect(startControlPlane()).rejects.toThrow(
      /kube-apiserver exited with code 3 while waiting for .*\/healthz[\s\S]*Error: unknown flag: --no-such-thing/,
    );
  });
});
