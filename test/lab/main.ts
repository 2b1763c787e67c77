// The lab: the whole product on one machine. Runs inside the "node" network namespace (hack/lab.sh puts it
// there): a real control plane, the operator, a stand-in kubelet running pods as network namespaces, a router
// and a client. Applies a web Deployment and a PortableLoadBalancer, sends traffic to the VIP, and prints the
// distribution and the PLB's conditions. `--check` also runs the system test scenario and exits non-zero when
// a step fails; `--keep` leaves everything up until Ctrl-C.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from '../integration/harness/index.js';
import { repoRoot } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { startCluster, startOperator, podKubeconfigs } from './cluster.js';
import { Kubelet } from './kubelet.js';
import { NAMESPACE, VIP, plbSpec, webDeployment } from './objects.js';
import { PodNetwork } from './pod-network.js';
import { Router } from './router.js';
import { runScenario, showState, type Lab } from './scenario.js';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const check = args.includes('--check');
const started = Date.now();
const say = (m: string) => process.stderr.write(`[lab ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);

async function main(): Promise<number> {
  const logDir = mkdtempSync(join(tmpdir(), 'plb-lab-'));
  // hack/lab.sh creates <prefix>node and runs this inside it; another prefix lets a second lab run alongside.
  const prefix = process.env['PLB_LAB_NETNS_PREFIX'] ?? 'plblab-';
  const net = new PodNetwork(prefix, `${prefix}node`);
  let cp: ControlPlane | undefined;
  let kubelet: Kubelet | undefined;
  let operator: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    say('pod network: node, router, client');
    await net.create();
    say('control plane: etcd, kube-apiserver, kube-controller-manager');
    cp = await startCluster();
    say('operator');
    operator = await startOperator(cp, repoRoot, logDir);
    const router = new Router(cp, net);
    say('stand-in kubelet');
    kubelet = new Kubelet({ kc: cp.kubeConfig, net, repoRoot, logDir, podKubeconfig: podKubeconfigs(cp, logDir), log: say });
    await kubelet.start();

    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    say(`applying Deployment ${NAMESPACE}/web (3 backends) and PortableLoadBalancer ${NAMESPACE}/web (VIP ${VIP}, drainSeconds ${plbSpec.drainSeconds})`);
    await cp.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NAMESPACE, body: webDeployment(3) });
    await plbClient(cp.kubeConfig).create(NAMESPACE, 'web', plbSpec);
    const lab: Lab = { cp, net, say, logDir, router };
    const ok = check ? await runScenario(lab) : await showState(lab, 3000);
    if (keep) {
      say(`staying up (--keep); logs in ${logDir}; kubectl --kubeconfig ${cp.kubeconfigPath} get plb -A; Ctrl-C ends`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
    say(ok ? 'done' : `FAILED (logs in ${logDir})`);
    return ok ? 0 : 1;
  } finally {
    await kubelet?.stop().catch(() => undefined);
    operator?.child.kill('SIGTERM');
    await cp?.stop().catch(() => undefined);
    await net.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    say(`lab failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
