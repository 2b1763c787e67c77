// The control plane of the real cluster, in its own namespace on the lan: the integration tier's etcd and
// kube-apiserver binaries, with what a cluster with nodes needs beyond envtest's flags (Node authorization and
// NodeRestriction, the kubelet client certificate for exec and logs, the Service range the nodes' kube-proxy
// serves), plus kube-controller-manager and kube-scheduler.
import { join } from 'node:path';
import { createCgroup } from './cgroups.js';
import { assertAlive, startDaemon, type Daemon } from './daemons.js';
import { inNs, waitFor } from './exec.js';
import { SERVICE_CIDR, POD_CIDR, type ClusterPlan } from './plan.js';
import type { ClusterPki } from './pki.js';

export function apiServerArgs(plan: ClusterPlan, pki: ClusterPki): string[] {
  const cp = plan.controlPlane;
  return [
    `--etcd-servers=http://127.0.0.1:${cp.etcdPort}`,
    '--bind-address=0.0.0.0',
    `--advertise-address=${cp.ip}`,
    `--secure-port=${cp.apiPort}`,
    `--cert-dir=${join(cp.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.apiServer.cert}`,
    `--tls-private-key-file=${pki.apiServer.key}`,
    `--client-ca-file=${pki.caCert}`,
    '--authorization-mode=Node,RBAC',
    // The defaults (PodSecurity, ServiceAccount, DefaultTolerationSeconds, ...) stay on, as in any cluster.
    '--enable-admission-plugins=NodeRestriction',
    `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
    `--kubelet-client-key=${pki.kubeletClient.key}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

export async function startControlPlane(plan: ClusterPlan, pki: ClusterPki, binDir: string, kubeconfigs: { scheduler: string; controllerManager: string }): Promise<Daemon[]> {
  const cp = plan.controlPlane;
  createCgroup(cp.ns);
  const where = { ns: cp.ns, dir: join(cp.dir, 'logs') };
  const etcd = startDaemon({
    ...where,
    name: 'etcd',
    argv: [join(binDir, 'etcd'), `--data-dir=${join(cp.dir, 'etcd')}`, `--listen-client-urls=http://127.0.0.1:${cp.etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${cp.etcdPort}`, '--listen-peer-urls=http://127.0.0.1:2380',
      // Durability is worthless for a cluster that lives for one test run; fsync dominates write latency.
      '--unsafe-no-fsync=true'],
  });
  const apiServer = startDaemon({ ...where, name: 'kube-apiserver', argv: [join(binDir, 'kube-apiserver'), ...apiServerArgs(plan, pki)] });
  await waitFor('kube-apiserver /readyz', 120_000, async () => {
    assertAlive(etcd);
    assertAlive(apiServer);
    const out = await inNs(cp.ns, [join(binDir, 'kubectl'), `--kubeconfig=${plan.adminKubeconfig}`, 'get', '--raw=/readyz']);
    return out.trim() === 'ok' ? true : undefined;
  });
  const controllerManager = startDaemon({
    ...where,
    name: 'kube-controller-manager',
    argv: [join(binDir, 'kube-controller-manager'), `--kubeconfig=${kubeconfigs.controllerManager}`,
      `--authentication-kubeconfig=${kubeconfigs.controllerManager}`, `--authorization-kubeconfig=${kubeconfigs.controllerManager}`,
      '--bind-address=127.0.0.1', '--leader-elect=false', '--controllers=*',
      // Its client certificate is system:masters (the integration harness's): its controllers share it.
      '--use-service-account-credentials=false', `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`, `--cluster-cidr=${POD_CIDR}`, `--service-cluster-ip-range=${SERVICE_CIDR}`, '--profiling=false'],
  });
  const scheduler = startDaemon({
    ...where,
    name: 'kube-scheduler',
    argv: [join(binDir, 'kube-scheduler'), `--kubeconfig=${kubeconfigs.scheduler}`, `--authentication-kubeconfig=${kubeconfigs.scheduler}`,
      `--authorization-kubeconfig=${kubeconfigs.scheduler}`, '--bind-address=127.0.0.1', '--leader-elect=false', '--profiling=false'],
  });
  return [etcd, apiServer, controllerManager, scheduler];
}
