// One namespace per test, so tests in a file share a control plane without seeing each other's objects.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

/** Creates `<prefix>-<random>` (a valid DNS label) and returns its name. */
export async function createTestNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'test';
  const name = `${base}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'portablelb.io/test': base } } } });
  return name;
}

/**
 * Starts deleting the namespace and does not wait: without a controller manager it stays Terminating
 * forever, and with one the test has no reason to wait for it.
 */
export async function deleteTestNamespace(kc: KubeConfig, name: string | undefined): Promise<void> {
  // undefined when creating it failed; that error is the one to report, not a second one from here.
  if (name) await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
}
