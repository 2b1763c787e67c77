// The cluster's certificates: the integration harness's CA, apiserver, admin, controller-manager and service-
// account keys (openssl, 7 days), plus what real nodes need: one kubelet client certificate per node (the Node
// authorizer knows a node by CN=system:node:<name>, O=system:nodes), kube-proxy and kube-scheduler identities
// the bootstrap RBAC roles are bound to, and the apiserver's client certificate towards kubelets (exec, logs).
import { join } from 'node:path';
import { CLIENT_EXTENSIONS, createPki, issue, type KeyPair, type Pki } from '../../test/integration/harness/pki.js';
import { writeKubeconfig } from '../../test/integration/harness/kubeconfig.js';
import { CONTROL_PLANE_IP, KUBERNETES_SERVICE_IP, type ClusterPlan } from './plan.js';
import { nodePaths } from './render.js';

export interface ClusterPki extends Pki {
  kubeletClient: KeyPair;
  scheduler: KeyPair;
  kubeProxy: KeyPair;
  nodes: Record<string, KeyPair>;
}

export async function createClusterPki(plan: ClusterPlan): Promise<ClusterPki> {
  const dir = join(plan.dir, 'pki');
  // Pods dial the apiserver as the `kubernetes` Service; nodes and the admin at its lan address.
  const base = await createPki(dir, [CONTROL_PLANE_IP, KUBERNETES_SERVICE_IP]);
  // One after the other: issue() shares the CA's serial file.
  const kubeletClient = await issue(dir, 'apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', CLIENT_EXTENSIONS);
  const scheduler = await issue(dir, 'kube-scheduler', '/CN=system:kube-scheduler', CLIENT_EXTENSIONS);
  const kubeProxy = await issue(dir, 'kube-proxy', '/CN=system:kube-proxy', CLIENT_EXTENSIONS);
  const nodes: Record<string, KeyPair> = {};
  for (const node of plan.nodes) {
    nodes[node.name] = await issue(dir, `kubelet-${node.name}`, `/O=system:nodes/CN=system:node:${node.name}`, CLIENT_EXTENSIONS);
  }
  return { ...base, kubeletClient, scheduler, kubeProxy, nodes };
}

/** Every kubeconfig the components and the admin use, all pointing at the apiserver's lan address. */
export function writeKubeconfigs(plan: ClusterPlan, pki: ClusterPki): { scheduler: string; controllerManager: string } {
  const url = plan.apiServerUrl;
  writeKubeconfig(plan.adminKubeconfig, url, pki.caCert, pki.admin, 'admin');
  const scheduler = join(plan.controlPlane.dir, 'scheduler.kubeconfig');
  writeKubeconfig(scheduler, url, pki.caCert, pki.scheduler, 'system:kube-scheduler');
  const controllerManager = join(plan.controlPlane.dir, 'controller-manager.kubeconfig');
  writeKubeconfig(controllerManager, url, pki.caCert, pki.controllerManager, 'system:kube-controller-manager');
  for (const node of plan.nodes) {
    const p = nodePaths(node);
    writeKubeconfig(p.kubeletKubeconfig, url, pki.caCert, pki.nodes[node.name]!, `system:node:${node.name}`);
    writeKubeconfig(p.kubeProxyKubeconfig, url, pki.caCert, pki.kubeProxy, 'system:kube-proxy');
  }
  return { scheduler, controllerManager };
}
