// The end-to-end suite: the product as a user runs it, on a real cluster, with the same assertions wherever it
// runs. E2E_PROVIDER picks the cluster: hack/cluster's real nodes on this machine (`make e2e`) or kind where
// Docker exists (`bash hack/e2e-kind.sh`). The chart is installed with helm, backends are real pods from the
// project's image, a client outside the nodes reaches each data plane's VIP through the upstream router.
import { afterAll, beforeAll } from '@jest/globals';
import { bgpCases } from './cases/bgp.js';
import { chartCases } from './cases/chart.js';
import { dataPlaneCases } from './cases/data-plane.js';
import { helm, kubectl } from './kube.js';
import { E2E_LABEL } from './manifests.js';
import { RELEASE_NAMESPACE } from './plb.js';
import { selectProvider } from './provider.js';

const provider = await selectProvider();
const ipvsMissing = await provider.ipvsMissing();
if (ipvsMissing) console.log(`skipping the ipvs data plane cases: ${ipvsMissing}`);
const bgpMissing = await provider.bgpMissing();
if (bgpMissing) console.log(`skipping the BGP cases: ${bgpMissing}`);

// What an interrupted run on a kept cluster left (a PLB still holding a VIP would refuse the next one's).
// On a fresh cluster the CRDs are not there yet: nothing of those kinds to delete.
beforeAll(async () => {
  for (const kind of ['namespaces', 'vippools', 'bgppeers']) {
    await kubectl(['delete', kind, '-l', `${E2E_LABEL}=true`, '--wait=true', '--timeout=180s']).catch((err: Error) => {
      if (!/doesn't have a resource type/.test(err.message)) throw err;
    });
  }
});
afterAll(async () => {
  // Bounded: after the node-death case some of the release's pods stay Terminating on the dead node.
  await helm(['uninstall', 'portable-lb', '-n', RELEASE_NAMESPACE, '--wait', '--timeout', '60s']).catch(() => undefined);
});

chartCases(provider);
// One VIP per data plane (TEST-NET-2, routed only inside the cluster's network).
dataPlaneCases(provider, 'xdp', '198.51.100.80');
// The switch ends on xdp, so its PLB's deletion shows the pins go too.
dataPlaneCases(provider, 'nftables', '198.51.100.81', 'xdp');
if (!ipvsMissing) dataPlaneCases(provider, 'ipvs', '198.51.100.82');
// Last: its final case kills a node.
bgpCases(provider, '198.51.100.83', bgpMissing);
