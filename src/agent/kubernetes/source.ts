// The agent's watches: its own PortableLoadBalancer (by name, which is all its Role allows) and the pods its
// selector picks (a label-selected watch, re-opened when the selector changes). Everything else is derived.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { PLB } from '../../api/constants.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import { labelSelectorString } from '../../api/selector.js';
import { apiClient } from '../../runtime/deadline.js';
import { watchResource, type WatchedResource, type WatchLifecycle } from '../../runtime/informer.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../runtime/kube.js';

const LISTS = { timeoutMs: 2 * DEFAULT_REQUEST_TIMEOUT_MS };

export class ClusterSource {
  #plb: WatchedResource<PortableLoadBalancer>;
  #pods: WatchedResource<V1Pod> | undefined;
  #podSelector: string | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly onChange: () => void,
    private readonly onLifecycle: (what: string, event: WatchLifecycle, error?: unknown) => void,
  ) {
    const custom = apiClient(kc, CustomObjectsApi, LISTS);
    const fieldSelector = `metadata.name=${name}`;
    this.#plb = watchResource<PortableLoadBalancer>(
      kc,
      {
        path: `/apis/${PLB.group}/${PLB.version}/namespaces/${namespace}/${PLB.plural}`,
        fieldSelector,
        list: () =>
          custom.listNamespacedCustomObject({ group: PLB.group, version: PLB.version, plural: PLB.plural, namespace, fieldSelector }) as never,
        onLifecycle: (e, err) => {
          onLifecycle('PortableLoadBalancer', e, err);
          // The initial list's changes came before the cache was complete (schedule.ts waits for this).
          if (e === 'synced') onChange();
        },
      },
      () => {
        this.#followSelector();
        onChange();
      },
    );
  }

  get synced(): boolean {
    return this.#plb.synced && (this.#pods?.synced ?? true);
  }

  plb(): PortableLoadBalancer | undefined {
    return this.#plb.get(this.name, this.namespace);
  }

  pods(): readonly V1Pod[] {
    return this.#pods?.list(this.namespace) ?? [];
  }

  /** Opens (or re-opens) the pod watch for the PLB's current selector; static backends need none. */
  #followSelector(): void {
    const selector = this.plb()?.spec.backends.selector;
    const wanted = selector ? labelSelectorString(selector) : undefined;
    if (wanted === this.#podSelector) return;
    void this.#pods?.stop();
    this.#pods = undefined;
    this.#podSelector = wanted;
    if (wanted === undefined) return;
    const core = apiClient(this.kc, CoreV1Api, LISTS);
    this.#pods = watchResource<V1Pod>(
      this.kc,
      {
        path: `/api/v1/namespaces/${this.namespace}/pods`,
        labelSelector: wanted,
        list: () => core.listNamespacedPod({ namespace: this.namespace, labelSelector: wanted }),
        onLifecycle: (e, err) => {
          this.onLifecycle('Pod', e, err);
          if (e === 'synced') this.onChange();
        },
      },
      () => this.onChange(),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.#plb.stop(), this.#pods?.stop()]);
  }
}
