// kube-controller-manager, so that tests see what a cluster does with the operator's objects: Deployments
// get ReplicaSets and Pods, owned objects are garbage-collected, namespaces finish terminating, and every
// namespace gets its "default" service account. No scheduler and no node: pods stay Pending.
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import type { Pki } from './pki.js';
import { freePort } from './ports.js';
import { http200, httpStatus, waitUntil } from './readiness.js';

export interface ControllerManager {
  process: ManagedProcess;
  healthUrl: string;
}

export async function createControllerManager(
  binary: string,
  dir: string,
  pki: Pki,
  kubeconfigPath: string,
  /** `--controllers` (default every controller) and further flags, e.g. a bench's one controller and its client limits. */
  options: { controllers?: string; extraArgs?: string[] } = {},
): Promise<ControllerManager> {
  const port = await freePort();
  const args = [
    `--kubeconfig=${kubeconfigPath}`,
    // The same kubeconfig lets it read the client CA from the cluster, so its /healthz needs no extra setup.
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'controller-manager-certs')}`,
    '--leader-elect=false',
    `--controllers=${options.controllers ?? '*'}`,
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--profiling=false',
    ...(options.extraArgs ?? []),
  ];
  const process = new ManagedProcess({
    name: 'kube-controller-manager',
    binary,
    args,
    logFile: join(dir, 'kube-controller-manager.log'),
  });
  return { process, healthUrl: `https://127.0.0.1:${port}/healthz` };
}

/**
 * Ready means /healthz answers and the serviceaccount controller has created "default" in "default": proof
 * that the controllers are running against this apiserver, not only that the process listens.
 */
export async function waitForControllerManager(
  controllerManager: ControllerManager,
  apiServerUrl: string,
  pki: Pki,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  const remaining = (): number => Math.max(1_000, timeoutMs - (Date.now() - started));
  // Its serving certificate is self-signed into --cert-dir, hence no CA to check against.
  await waitUntil(controllerManager.healthUrl, controllerManager.process, remaining(), http200(controllerManager.healthUrl));
  const account = `${apiServerUrl}/api/v1/namespaces/default/serviceaccounts/default`;
  await waitUntil('the "default" service account', controllerManager.process, remaining(), async () => {
    const status = await httpStatus(account, { ca: pki.caCert, ...pki.admin });
    return status === 200 ? true : `GET ${account}: ${status}`;
  });
}
