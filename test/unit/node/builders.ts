// Builders shared by the node component's tables: LB pods on a node, NodeIP BGPPeers.
import type { V1Pod } from '@kubernetes/client-node';
import type { BGPPeer } from '../../../src/api/generated.js';

export interface LbPodExtra {
  ip?: string;
  deleting?: boolean;
  phase?: string;
  plbName?: string;
  /** The PLB's namespace when the pod runs elsewhere (a class's podNamespace): the pod is then in lb-system. */
  plbNamespace?: string;
}

export const lbPod = (name: string, node: string, extra: LbPodExtra = {}): V1Pod => ({
  metadata: {
    name, namespace: extra.plbNamespace ? 'lb-system' : 'shop',
    labels: { 'app.kubernetes.io/name': 'portable-lb', 'portablelb.io/name': extra.plbName ?? 'web', ...(extra.plbNamespace ? { 'portablelb.io/namespace': extra.plbNamespace } : {}) },
    ...(extra.deleting ? { deletionTimestamp: new Date() } : {}),
  },
  spec: { nodeName: node, containers: [] },
  status: { podIP: extra.ip ?? '10.244.1.5', phase: extra.phase ?? 'Running' },
});

export const nodeIPPeer = (name: string, spec: Partial<BGPPeer['spec']> = {}): BGPPeer => ({
  apiVersion: 'portablelb.io/v1alpha1', kind: 'BGPPeer', metadata: { name },
  spec: { peerAddress: '10.0.0.1', peerASN: 64500, myASN: 64512, nextHopMode: 'NodeIP', bfd: {}, ...spec },
});
