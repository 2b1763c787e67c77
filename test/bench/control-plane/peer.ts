// The operator's peer on the same API server in the same run: kube-controller-manager with only its Deployment
// controller, working a backlog of N Deployments (1 replica each) created while it was not running. Its time =
// from its start until every Deployment has a ReplicaSet it controls and status.observedGeneration == its
// generation (converged.ts). Nothing else runs (no ReplicaSet controller, so no Pods): the controller's own work,
// one ReplicaSet and one status write per Deployment, as the operator's is its children and one status write per PLB.
// It must run before the operator on that API server: the operator's LB Deployments would be its backlog too.
import { AppsV1Api, type V1Deployment } from '@kubernetes/client-node';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestNamespace, findBinary, type ControlPlane } from '../../integration/harness/index.js';
import { createControllerManager } from '../../integration/harness/controller-manager.js';
import { writeKubeconfig } from '../../integration/harness/kubeconfig.js';
import type { PeerNumbers } from '../report/types.js';
import { deploymentsConverged } from './converged.js';
import { CREATE_CONCURRENCY } from './operator.js';
import { cpuSeconds, memory } from './proc-stats.js';

function deployment(i: number): V1Deployment {
  const labels = { app: `peer-${i}` };
  return {
    metadata: { name: `web-${i}`, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1.0', ports: [{ containerPort: 8080 }] }] } },
    },
  };
}

/** Client limits of kube-controller-manager (--kube-api-qps / --kube-api-burst); its defaults are 20 / 30. */
export interface PeerLimits {
  qps: number;
  burst: number;
}

export async function deploymentControllerThroughput(cp: ControlPlane, deployments: number, limits: PeerLimits, timeoutMs: number): Promise<PeerNumbers> {
  const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  const namespace = await createTestNamespace(cp.kubeConfig, `peer-qps-${limits.qps}`);
  for (let i = 0; i < deployments; i += CREATE_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CREATE_CONCURRENCY, deployments - i) }, (_, j) => i + j);
    await Promise.all(batch.map((n) => apps.createNamespacedDeployment({ namespace, body: deployment(n) })));
  }
  const kubeconfig = join(cp.dir, 'controller-manager.kubeconfig');
  writeKubeconfig(kubeconfig, cp.apiServerUrl, cp.pki.caCert, cp.pki.controllerManager, 'system:kube-controller-manager');
  const kcm = await createControllerManager(await findBinary('kube-controller-manager'), cp.dir, cp.pki, kubeconfig, {
    controllers: 'deployment',
    extraArgs: [`--kube-api-qps=${limits.qps}`, `--kube-api-burst=${limits.burst}`],
  });
  const started = performance.now();
  kcm.process.start();
  try {
    for (;;) {
      const [list, sets] = await Promise.all([apps.listNamespacedDeployment({ namespace }), apps.listNamespacedReplicaSet({ namespace })]);
      const done = deploymentsConverged(list.items, sets.items);
      if (done === deployments) break;
      if (!kcm.process.running) throw new Error(`kube-controller-manager ${kcm.process.exited}: ${kcm.process.logTail(10)}`);
      if (performance.now() - started > timeoutMs) throw new Error(`only ${done}/${deployments} Deployments converged after ${timeoutMs} ms`);
      await sleep(200);
    }
    const seconds = (performance.now() - started) / 1000;
    const mem = memory(kcm.process.pid!);
    const cpu = cpuSeconds(kcm.process.pid!);
    return {
      deployments,
      seconds: Number(seconds.toFixed(2)),
      per_second: Number((deployments / seconds).toFixed(1)),
      kube_api_qps: limits.qps,
      kube_api_burst: limits.burst,
      rss_mib: Number(mem.rss.toFixed(1)),
      peak_rss_mib: Number(mem.peak.toFixed(1)),
      cpu_seconds: Number(cpu.toFixed(2)),
    };
  } finally {
    await kcm.process.stop(10_000);
  }
}
