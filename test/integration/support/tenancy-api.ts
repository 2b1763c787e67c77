// Helpers for the admin's objects in integration tests: VIPPools and PortableLoadBalancerClasses.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import {
  PortableLoadBalancerClassGVK as CLASS,
  VIPPoolGVK as POOL,
  type PortableLoadBalancerClass,
  type PortableLoadBalancerClassSpec,
  type VIPPool,
  type VIPPoolSpec,
} from '../../../src/api/generated.js';
import { isNotFound } from '../../../src/runtime/kube.js';

export function tenancyClient(kc: KubeConfig) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ref = (r: typeof POOL | typeof CLASS) => ({ group: r.group, version: r.version, plural: r.plural });
  const remove = async (r: typeof POOL | typeof CLASS, name: string) => {
    try {
      await api.deleteClusterCustomObject({ ...ref(r), name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };
  return {
    createPool: async (name: string, spec: VIPPoolSpec) =>
      (await api.createClusterCustomObject({ ...ref(POOL), body: { apiVersion: POOL.apiVersion, kind: POOL.kind, metadata: { name }, spec } })) as VIPPool,
    getPool: async (name: string) => (await api.getClusterCustomObject({ ...ref(POOL), name })) as VIPPool,
    patchPool: (name: string, spec: Partial<VIPPoolSpec>) =>
      api.patchClusterCustomObject({ ...ref(POOL), name, body: { spec } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    deletePool: (name: string) => remove(POOL, name),
    createClass: async (name: string, spec: PortableLoadBalancerClassSpec, isDefault = false) =>
      (await api.createClusterCustomObject({
        ...ref(CLASS),
        body: {
          apiVersion: CLASS.apiVersion,
          kind: CLASS.kind,
          metadata: { name, ...(isDefault ? { annotations: { 'portablelb.io/is-default-class': 'true' } } : {}) },
          spec,
        },
      })) as PortableLoadBalancerClass,
    deleteClass: (name: string) => remove(CLASS, name),
  };
}
