// Small builders so each test states only what matters to it.
import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_PLB } from '../../../src/api/constants.js';
import type { PortableLoadBalancer, PortableLoadBalancerSpec, PortableLoadBalancerStatus } from '../../../src/api/generated.js';

export function plb(spec: Partial<PortableLoadBalancerSpec> = {}, status?: PortableLoadBalancerStatus, generation = 3): PortableLoadBalancer {
  return {
    apiVersion: 'portablelb.io/v1alpha1',
    kind: 'PortableLoadBalancer',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-1', generation, resourceVersion: '100' },
    spec: {
      vip: '192.0.2.10',
      ports: [{ port: 80, protocol: 'TCP' }],
      backends: { selector: { matchLabels: { app: 'web' } } },
      dataPlane: 'xdp',
      replicas: 2,
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

export interface PodShape {
  name: string;
  labels?: Record<string, string>;
  ready?: boolean;
  node?: string;
  phase?: string;
  deleting?: boolean;
}

export function pod(p: PodShape): V1Pod {
  return {
    metadata: {
      name: p.name,
      namespace: 'shop',
      labels: p.labels ?? {},
      ...(p.deleting ? { deletionTimestamp: new Date('2026-11-26T00:00:00Z') } : {}),
    },
    spec: { containers: [], ...(p.node ? { nodeName: p.node } : {}) },
    status: {
      phase: p.phase ?? (p.node ? 'Running' : 'Pending'),
      conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }],
    },
  };
}

export const backendPod = (name: string, ready = true) => pod({ name, labels: { app: 'web' }, ready, node: 'n1' });
export const lbPod = (name: string, node?: string) => pod({ name, labels: { [LABEL_PLB]: 'web' }, ...(node ? { node } : {}) });
