// startControlPlane(): etcd + kube-apiserver (+ kube-controller-manager) on loopback for one test file,
// the TypeScript counterpart of controller-runtime's envtest.Environment.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { createApiServer, waitForApiServer } from './apiserver.js';
import { type BinaryName, findBinaries } from './binaries.js';
import { createControllerManager, waitForControllerManager } from './controller-manager.js';
import { createEtcd, waitForEtcd } from './etcd.js';
import { loadKubeConfig, writeKubeconfig } from './kubeconfig.js';
import type { ManagedProcess } from './managed-process.js';
import { createPki, type Pki } from './pki.js';
import { freePort, renewPort } from './ports.js';
import { progress, seconds, timed } from './progress.js';
import { startTimeoutMs, stopTimeoutMs } from './timeouts.js';
import { createWorkDir } from './work-dir.js';

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (ReplicaSets, Pods, garbage collection, namespace deletion). */
  controllerManager?: boolean;
  /**
   * An extra address kube-apiserver serves on (it then binds every address of its network namespace) and its
   * certificate names: the lab's pods, in their own namespaces, reach it there. Loopback clients are unchanged.
   */
  advertiseAddress?: string;
  /** kube-apiserver writes an audit log of mutating requests to `<dir>/audit.log` (see auditEvents()). */
  auditLog?: boolean;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Admin (system:masters) client configuration for client-node. */
  kubeConfig: KubeConfig;
  /** The same credentials as a file, for kubectl or a spawned operator. */
  kubeconfigPath: string;
  apiServerUrl: string;
  /** Directory of the kube-apiserver binary (the others usually sit next to it). */
  binDir: string;
  binaries: Partial<Record<BinaryName, string>>;
  /** Temporary directory holding certificates, data and the components' logs. */
  dir: string;
  /** The CA and certificates (e.g. the apiserver's serving pair, valid for 127.0.0.1: a test webhook can use it). */
  pki: Pki;
  /** With `auditLog`: the audit log's events so far (mutating requests only). */
  auditEvents(): AuditEvent[];
  /** Runs the matching kubectl against this control plane; never throws on a non-zero exit. */
  kubectl(args: string[]): Promise<KubectlResult>;
  /** SIGTERM (or `signal`, e.g. SIGKILL for a crash) to kube-apiserver; etcd keeps the data. */
  stopApiServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it serves. */
  startApiServer(): Promise<void>;
  restartApiServer(signal?: NodeJS.Signals): Promise<void>;
  /** Stops every component and removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

/** The fields of an audit.k8s.io/v1 Event the tests read. */
export interface AuditEvent {
  verb: string;
  userAgent?: string;
  stage: string;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

function runKubectl(binary: string, kubeconfigPath: string, args: string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(binary, [`--kubeconfig=${kubeconfigPath}`, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = performance.now();
  const withControllerManager = options.controllerManager ?? false;
  const dir = createWorkDir();
  const keepLogs = process.env.PLB_KEEP_CONTROL_PLANE_DIR === '1';
  const components: ManagedProcess[] = []; // in start order; stopped in reverse
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const stopping = performance.now();
    for (const component of [...components].reverse()) await component.stop(stopTimeoutMs());
    if (components.length > 0) progress(`control plane stopped in ${seconds(stopping)}`);
    if (keepLogs) progress(`kept ${dir} (PLB_KEEP_CONTROL_PLANE_DIR=1)`);
    else rmSync(dir, { recursive: true, force: true });
  };

  try {
    const names: BinaryName[] = ['etcd', 'kube-apiserver', 'kubectl'];
    if (withControllerManager) names.push('kube-controller-manager');
    const [binaries, pki] = await Promise.all([
      findBinaries(names),
      timed('certificates (openssl)', () => createPki(join(dir, 'pki'), options.advertiseAddress ?? [])),
    ]);
    const timeout = startTimeoutMs();

    const etcd = await createEtcd(binaries.etcd, dir);
    components.push(etcd.process);
    await timed(`etcd at ${etcd.clientUrl}`, async () => {
      etcd.process.start();
      await waitForEtcd(etcd, timeout);
    });

    const apiServerPort = await freePort();
    const apiServer = createApiServer({
      ...(options.advertiseAddress ? { advertiseAddress: options.advertiseAddress } : {}),
      binary: binaries['kube-apiserver'],
      dir,
      pki,
      port: apiServerPort,
      etcdUrl: etcd.clientUrl,
      withControllerManager,
      ...(options.auditLog ? { auditLog: join(dir, 'audit.log') } : {}),
    });
    components.push(apiServer.process);
    const startApiServer = (): Promise<void> =>
      timed(`kube-apiserver at ${apiServer.url}`, async () => {
        renewPort(apiServerPort); // a restart reuses the port: keep other harnesses off it
        apiServer.process.start();
        await waitForApiServer(apiServer, pki, timeout);
      });
    await startApiServer();

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfigPath, apiServer.url, pki.caCert, pki.admin, 'admin');

    if (withControllerManager) {
      const kcmKubeconfig = join(dir, 'controller-manager.kubeconfig');
      writeKubeconfig(kcmKubeconfig, apiServer.url, pki.caCert, pki.controllerManager, 'system:kube-controller-manager');
      const kcm = await createControllerManager(binaries['kube-controller-manager'], dir, pki, kcmKubeconfig);
      components.push(kcm.process);
      await timed('kube-controller-manager', async () => {
        kcm.process.start();
        await waitForControllerManager(kcm, apiServer.url, pki, timeout);
      });
    }
    progress(`control plane up in ${seconds(started)} (logs in ${dir})`);

    const stopApiServer = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> =>
      apiServer.process.stop(stopTimeoutMs(), signal);
    return {
      kubeConfig: loadKubeConfig(kubeconfigPath),
      kubeconfigPath,
      apiServerUrl: apiServer.url,
      binDir: dirname(binaries['kube-apiserver']),
      binaries,
      dir,
      pki,
      auditEvents: () => {
        const file = join(dir, 'audit.log');
        if (!options.auditLog || !existsSync(file)) return [];
        return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
      },
      kubectl: (args) => runKubectl(binaries.kubectl, kubeconfigPath, args),
      stopApiServer,
      startApiServer,
      restartApiServer: async (signal) => {
        await stopApiServer(signal);
        await startApiServer();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
