// Small helpers for operator tests: create/read PLBs, simulate an agent's status report.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { agentFieldManager } from '../../../src/api/constants.js';
import type { PortableLoadBalancer, PortableLoadBalancerSpec } from '../../../src/api/generated.js';
import { findCondition } from '../../../src/api/conditions.js';
import type { LoadBalancerEntry } from '../../../src/api/status.js';

export const PLB = { group: 'portablelb.io', version: 'v1alpha1', plural: 'portableloadbalancers' };

export function plbClient(kc: KubeConfig) {
  const api = kc.makeApiClient(CustomObjectsApi);
  return {
    create: async (namespace: string, name: string, spec: PortableLoadBalancerSpec, labels?: Record<string, string>) =>
      (await api.createNamespacedCustomObject({
        ...PLB,
        namespace,
        body: { apiVersion: 'portablelb.io/v1alpha1', kind: 'PortableLoadBalancer', metadata: { name, ...(labels ? { labels } : {}) }, spec },
      })) as PortableLoadBalancer,
    get: async (namespace: string, name: string) =>
      (await api.getNamespacedCustomObject({ ...PLB, namespace, name })) as PortableLoadBalancer,
    patchSpec: (namespace: string, name: string, spec: Partial<PortableLoadBalancerSpec>) =>
      api.patchNamespacedCustomObject(
        { ...PLB, namespace, name, body: { spec } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    delete: (namespace: string, name: string) => api.deleteNamespacedCustomObject({ ...PLB, namespace, name }),
    /** What an agent does: server-side apply of its own status.loadBalancers[] entry under its own field manager. */
    report: (namespace: string, name: string, entry: LoadBalancerEntry) =>
      api.patchNamespacedCustomObjectStatus(
        {
          ...PLB,
          namespace,
          name,
          fieldManager: agentFieldManager(entry.pod),
          force: true,
          body: {
            apiVersion: 'portablelb.io/v1alpha1',
            kind: 'PortableLoadBalancer',
            metadata: { name, namespace },
            status: { loadBalancers: [entry] },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
  };
}

export function condition(plb: PortableLoadBalancer, type: string): [string?, string?] {
  const c = findCondition(plb.status?.conditions, type);
  return [c?.status, c?.reason];
}
