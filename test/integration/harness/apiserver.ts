// kube-apiserver with envtest's flags (../shared/notes/control-plane-from-source.md §3.4-3.5), serving on a
// fixed loopback port so that a restart keeps the URL every client already holds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import type { Pki } from './pki.js';
import { http200, httpStatus, waitUntil } from './readiness.js';

export interface ApiServer {
  process: ManagedProcess;
  url: string;
}

export interface ApiServerOptions {
  binary: string;
  dir: string;
  pki: Pki;
  port: number;
  etcdUrl: string;
  /**
   * With a controller manager, the ServiceAccount admission plugin stays on, as in a real cluster: pods get
   * the "default" service account and its token volume. Without one nobody creates that account, and the
   * plugin would reject every pod, so it is disabled (envtest does the same).
   */
  withControllerManager: boolean;
  /** Also serve on this address (binds 0.0.0.0 of the namespace); see ControlPlaneOptions. */
  advertiseAddress?: string;
  /** Write an audit log of every mutating request (Metadata level, JSON lines) to this file. */
  auditLog?: string;
}

/** Reads are not logged: the log is for asking "who wrote what, when". */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: Metadata
`;

export function createApiServer(options: ApiServerOptions): ApiServer {
  const { pki, port } = options;
  const url = `https://127.0.0.1:${port}`;
  const args = [
    `--etcd-servers=${options.etcdUrl}`,
    `--bind-address=${options.advertiseAddress ? '0.0.0.0' : '127.0.0.1'}`,
    ...(options.advertiseAddress ? [`--advertise-address=${options.advertiseAddress}`] : []),
    `--secure-port=${port}`,
    `--cert-dir=${join(options.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.apiServer.cert}`,
    `--tls-private-key-file=${pki.apiServer.key}`,
    `--client-ca-file=${pki.caCert}`,
    // RBAC rather than AlwaysAllow so that the operator's own Role/ClusterRole objects are meaningful.
    '--authorization-mode=RBAC',
    `--service-account-issuer=${url}`,
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // Dual-stack, so Services may have ipFamilies [IPv4, IPv6] (the Service LB tests); single-stack IPv4 by default.
    '--service-cluster-ip-range=10.0.0.0/24,fd00:10::/108',
    '--allow-privileged=true',
    '--profiling=false',
  ];
  if (!options.withControllerManager) args.push('--disable-admission-plugins=ServiceAccount');
  if (options.auditLog) {
    const policy = join(options.dir, 'audit-policy.yaml');
    writeFileSync(policy, AUDIT_POLICY);
    args.push(`--audit-policy-file=${policy}`, `--audit-log-path=${options.auditLog}`, '--audit-log-format=json', '--audit-log-mode=blocking');
  }
  const process = new ManagedProcess({
    name: 'kube-apiserver',
    binary: options.binary,
    args,
    logFile: join(options.dir, 'kube-apiserver.log'),
  });
  return { process, url };
}

/**
 * Ready means: /healthz answers 200 (anonymous, allowed by system:public-info-viewer), and the admin can read
 * the "default" namespace, which the apiserver's own bootstrap controller creates last.
 */
export async function waitForApiServer(apiServer: ApiServer, pki: Pki, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const remaining = (): number => Math.max(1_000, timeoutMs - (Date.now() - started));
  await waitUntil(`${apiServer.url}/healthz`, apiServer.process, remaining(),
    http200(`${apiServer.url}/healthz`, { ca: pki.caCert }));
  const defaultNamespace = `${apiServer.url}/api/v1/namespaces/default`;
  await waitUntil('the "default" namespace', apiServer.process, remaining(), async () => {
    const status = await httpStatus(defaultNamespace, { ca: pki.caCert, ...pki.admin });
    return status === 200 ? true : `GET ${defaultNamespace}: ${status}`;
  });
}
