// The lab: the whole product on one machine. Runs inside the first node's network namespace (hack/lab.sh puts it
// there): a real control plane, the operator, a stand-in kubelet running pods as network namespaces on two
// nodes, a real router (FRR, peering with the LB pods over BGP + BFD) and a client. Applies a BGPPeer, a web
// Deployment and a PortableLoadBalancer, sends traffic to the VIP, and prints the router's route for the VIP,
// the distribution and the PLB's conditions. `--check` also runs the system test scenario and exits non-zero
// when a step fails; `--keep` leaves everything up until Ctrl-C.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { BGPPeerGVK } from '../../src/api/generated.js';
import { LABEL_PLB } from '../../src/api/constants.js';
import { FrrRouter } from '../support/frr-router.js';
import type { ControlPlane } from '../integration/harness/index.js';
import { repoRoot } from '../integration/harness/index.js';
import { plbClient } from '../integration/support/plb-api.js';
import { startCluster, startOperator, podKubeconfigs } from './cluster.js';
import { Kubelet } from './kubelet.js';
import { NAMESPACE, OVERLAY_PLB, VIP, labNodePeer, labPeer, plbSpec, webDeployment } from './objects.js';
import { startNodeRoutes } from './overlay-steps.js';
import type { ChildProcess } from 'node:child_process';
import { LB_ASN, PodNetwork, ROUTER_ASN, ROUTER_IP, SEGMENT } from './pod-network.js';
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
  let router: FrrRouter | undefined;
  let nodeRoutes: ChildProcess[] = [];
  try {
    say('pod network: two nodes and their pods on the router\'s segment, the router (FRR: zebra, bgpd, bfdd), a client');
    await net.create();
    // The LB pods peer with the router over the segment (dynamic neighbours), BFD at the CRD's defaults.
    router = await FrrRouter.start({
      netns: net.router, name: `${prefix}frr`, asn: ROUTER_ASN, routerId: ROUTER_IP, listenRanges: [SEGMENT], remoteAs: LB_ASN,
      bfd: { receiveInterval: 300, transmitInterval: 300, detectMultiplier: 3 }, logDir,
    });
    await router.watch(VIP);
    say('control plane: etcd, kube-apiserver, kube-controller-manager');
    cp = await startCluster();
    say('operator');
    operator = await startOperator(cp, repoRoot, logDir);
    say('stand-in kubelet (nodes lab-node-1, lab-node-2)');
    kubelet = new Kubelet({
      kc: cp.kubeConfig, net, repoRoot, logDir, podKubeconfig: podKubeconfigs(cp, logDir), log: say,
      overlay: (pod) => pod.metadata?.labels?.[LABEL_PLB] === OVERLAY_PLB,
    });
    await kubelet.start();
    say('plb-agent node-routes on both nodes (the NodeIP speaker and node routes, as the chart\'s DaemonSet)');
    nodeRoutes = startNodeRoutes({ cp, net, say, logDir });

    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    say(`applying BGPPeer lab-router (${ROUTER_IP}, AS ${ROUTER_ASN}; the LB pods speak AS ${LB_ASN}; BFD 300 ms x 3)`);
    await cp.kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural, body: labPeer(ROUTER_IP, ROUTER_ASN, LB_ASN),
    });
    say('applying BGPPeer lab-router-nodes (the same router, nextHopMode NodeIP: the nodes speak for the overlay PLB\'s LB pods)');
    await cp.kubeConfig.makeApiClient(CustomObjectsApi).createClusterCustomObject({
      group: BGPPeerGVK.group, version: BGPPeerGVK.version, plural: BGPPeerGVK.plural, body: labNodePeer(ROUTER_IP, ROUTER_ASN, LB_ASN),
    });
    say(`applying Deployment ${NAMESPACE}/web (3 backends) and PortableLoadBalancer ${NAMESPACE}/web (VIP ${VIP}, drainSeconds ${plbSpec.drainSeconds})`);
    await cp.kubeConfig.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NAMESPACE, body: webDeployment(3) });
    await plbClient(cp.kubeConfig).create(NAMESPACE, 'web', plbSpec);
    const control = cp;
    const lab: Lab = {
      cp, net, say, logDir, router, kubelet,
      killOperator: async () => {
        const child = operator?.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      },
      startOperator: async () => {
        operator = await startOperator(control, repoRoot, logDir);
        return operator.child.pid!;
      },
    };
    const ok = check ? await runScenario(lab) : await showState(lab, 3000);
    if (keep) {
      say(`staying up (--keep); logs in ${logDir}; kubectl --kubeconfig ${cp.kubeconfigPath} get plb -A; Ctrl-C ends`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
    say(ok ? 'done' : `FAILED (logs in ${logDir})`);
    return ok ? 0 : 1;
  } finally {
    await kubelet?.stop().catch(() => undefined);
    // SIGTERM: each node's BIRD (pdeathsig) goes with it.
    for (const p of nodeRoutes) p.kill('SIGTERM');
    operator?.child.kill('SIGTERM');
    await cp?.stop().catch(() => undefined);
    await router?.stop().catch(() => undefined);
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
