// Writes a node's status.nodeSessions entries (status.ts decides them): server-side apply of the status
// subresource under the node's own field manager, only for PLBs whose entries differ from what the cache shows.
// A write that fails is retried on the next pass (the cache still differs); a PLB that is gone (404) is skipped.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { PLB } from '../api/constants.js';
import { apiClient, withDeadline } from '../runtime/deadline.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, describeApiError, isNotFound } from '../runtime/kube.js';
import { changedReports, nodeFieldManager } from './status.js';
import type { NodeSession } from '../api/status.js';

export interface NodeStatusWriterOptions {
  kubeConfig: KubeConfig;
  node: string;
  log(message: string): void;
}

export class NodeStatusWriter {
  readonly #o: NodeStatusWriterOptions;
  readonly #api: CustomObjectsApi;

  constructor(o: NodeStatusWriterOptions) {
    this.#o = o;
    this.#api = apiClient(o.kubeConfig, CustomObjectsApi, { timeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
  }

  /** Makes every PLB hold `next` for this node, given what they hold now; returns how many writes failed. */
  async report(held: ReadonlyMap<string, readonly NodeSession[]>, next: ReadonlyMap<string, readonly NodeSession[]>): Promise<number> {
    let failed = 0;
    for (const [key, entries] of changedReports(held, next)) {
      const [namespace, name] = key.split('/') as [string, string];
      try {
        await this.#apply(namespace, name, entries);
      } catch (error) {
        if (isNotFound(error)) continue;
        failed++;
        this.#o.log(`status: writing ${key}'s nodeSessions failed (retried on the next pass): ${describeApiError(error)}`);
      }
    }
    return failed;
  }

  /** At shutdown: removes this node's entries from every PLB that holds some, within `ms` (a gone API server must not hold the exit). */
  async removeAll(held: ReadonlyMap<string, readonly NodeSession[]>, ms = 5_000): Promise<void> {
    await withDeadline('removing nodeSessions', ms, () => this.report(held, new Map())).catch((error: Error) => this.#o.log(`status: ${error.message}`));
  }

  async #apply(namespace: string, name: string, entries: readonly NodeSession[]): Promise<void> {
    await this.#api.patchNamespacedCustomObjectStatus(
      {
        group: PLB.group,
        version: PLB.version,
        plural: PLB.plural,
        namespace,
        name,
        fieldManager: nodeFieldManager(this.#o.node),
        force: true,
        body: { apiVersion: PLB.apiVersion, kind: PLB.kind, metadata: { name, namespace }, status: { nodeSessions: entries } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }
}
