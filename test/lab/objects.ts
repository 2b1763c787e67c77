// What the lab applies: a web backend Deployment and a PortableLoadBalancer for it, as a user would.
import type { V1Deployment } from '@kubernetes/client-node';
import type { BGPPeer, PortableLoadBalancerSpec } from '../../src/api/generated.js';

export const NAMESPACE = 'shop';
export const VIP = '10.243.200.10';

export function webDeployment(replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'web', image: 'lab/web-backend', ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/', port: 'http' } } }],
        },
      },
    },
  };
}

/**
 * A short drain keeps the lab quick. It must cover the lab router's lag (it follows status 1 s late under load)
 * plus the time the entry takes to leave status: up to 2 s measured here with a load average of 6 on 2 cores.
 * PLB_LAB_DRAIN_SECONDS=0 shows what deleting an LB pod costs without one.
 */
const drainSeconds = Number(process.env['PLB_LAB_DRAIN_SECONDS'] ?? 5);

export const plbSpec: PortableLoadBalancerSpec = {
  vip: VIP,
  ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
  backends: { selector: { matchLabels: { app: 'web' } } },
  dataPlane: 'xdp',
  replicas: 2,
  drainSeconds,
  cpuSpreading: { rps: true },
};

/** The label that puts a PLB's LB pods on the overlay network (the lab's kubelet reads it from the pods). */
export const NETWORK_LABEL = 'lab.portablelb.io/network';
export const OVERLAY_PLB = 'web-overlay';
export const OVERLAY_VIP = '10.243.202.10';

/** The PLB whose LB pods sit behind their nodes (overlay): announced by the nodes, next hop = node address. */
export const overlayPlbSpec: PortableLoadBalancerSpec = { ...plbSpec, vip: OVERLAY_VIP, dataPlane: 'nftables' };

/**
 * The lab's router as the cluster admin declares it: BFD at the defaults (300 ms x 3), short timers. Two BGPPeers
 * for the one router, as a cluster with both kinds of pod network would have: PodIP for the PLBs on the router's
 * segment, NodeIP (spoken by each node's node-routes speaker) for the overlay PLB.
 */
export function labPeer(peerAddress: string, peerASN: number, myASN: number): BGPPeer {
  return {
    apiVersion: 'portablelb.io/v1alpha1',
    kind: 'BGPPeer',
    metadata: { name: 'lab-router' },
    spec: {
      peerAddress, peerASN, myASN, holdTime: '9s', connectTime: '1s', bfd: {},
      loadBalancerSelector: { matchExpressions: [{ key: NETWORK_LABEL, operator: 'NotIn', values: ['overlay'] }] },
    },
  };
}

export function labNodePeer(peerAddress: string, peerASN: number, myASN: number): BGPPeer {
  return {
    apiVersion: 'portablelb.io/v1alpha1',
    kind: 'BGPPeer',
    metadata: { name: 'lab-router-nodes' },
    spec: {
      peerAddress, peerASN, myASN, holdTime: '9s', connectTime: '1s', bfd: {}, nextHopMode: 'NodeIP',
      loadBalancerSelector: { matchLabels: { [NETWORK_LABEL]: 'overlay' } },
    },
  };
}
