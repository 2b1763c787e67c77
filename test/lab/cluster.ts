// The lab's Kubernetes side: a real control plane (from the integration harness) reachable from the pods, the
// operator as a process, and service-account kubeconfigs for the pods' agents.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { installCrds, startControlPlane, type ControlPlane } from '../integration/harness/index.js';
import { freePort } from '../integration/harness/ports.js';
import { OPERATOR_MAIN } from '../integration/support/operator-process.js';
import { NODE_IP } from './pod-network.js';

export async function startCluster(): Promise<ControlPlane> {
  const cp = await startControlPlane({ controllerManager: true, advertiseAddress: NODE_IP });
  await installCrds(cp.kubeConfig);
  return cp;
}

export async function startOperator(cp: ControlPlane, repoRoot: string, logDir: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const fd = openSync(join(logDir, 'operator.log'), 'a');
  const child = spawn(
    process.execPath,
    [OPERATOR_MAIN, `--kubeconfig=${cp.kubeconfigPath}`, `--metrics-bind-address=127.0.0.1:${port}`,
      '--leader-election-namespace=default', '--agent-image=portable-lb:lab', '--agent-image-pull-policy=Never',
      // The lab is one trusted tenant: its VIP needs no VIPPool (the Service step allocates from one).
      '--single-tenant'],
    { stdio: ['ignore', fd, fd], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return { child, port };
}

/**
 * A kubeconfig for the pod's service account, dialling the API server on the node's address: the agent then
 * runs with exactly the Role the operator gave it, as in a real cluster.
 */
export function podKubeconfigs(cp: ControlPlane, dir: string) {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const server = `https://${NODE_IP}:${new URL(cp.apiServerUrl).port}`;
  const ca = cp.kubeConfig.getCurrentCluster()?.caData ?? '';
  return async (pod: V1Pod): Promise<string> => {
    const namespace = pod.metadata!.namespace!;
    const sa = pod.spec?.serviceAccountName ?? 'default';
    const token = await core.createNamespacedServiceAccountToken({
      namespace,
      name: sa,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const file = join(dir, `${namespace}_${pod.metadata!.name}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lab', cluster: { server, 'certificate-authority-data': ca } }],
        users: [{ name: sa, user: { token: token.status?.token } }],
        contexts: [{ name: 'lab', context: { cluster: 'lab', user: sa, namespace } }],
        'current-context': 'lab',
      }),
    );
    return file;
  };
}
