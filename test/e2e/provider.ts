// Where the e2e suite runs: what differs between a kind cluster (Docker containers as nodes) and hack/cluster
// (real nodes in namespaces on this machine). Everything else — kubectl, helm, the objects, the assertions — is
// the same code against either (test/e2e/e2e.test.ts). E2E_PROVIDER picks one (default cluster; `make e2e`
// and hack/e2e-kind.sh set it).

import type { FrrBfd, FrrRouter } from '../support/frr-router.js';

/** A BGP router in front of the nodes (FRR), accepting the nodes as dynamic neighbours. */
export interface UpstreamBgp {
  /** Its address as the LB pods reach it: a BGPPeer's spec.peerAddress. */
  peerAddress: string;
  router: FrrRouter;
}

export interface UpstreamBgpOptions {
  asn: number;
  /** The cluster's AS (BGPPeer spec.myASN). */
  lbAsn: number;
  bfd: FrrBfd;
}

export interface Provider {
  name: 'kind' | 'cluster';
  /** repository:tag of the project's image, already on every node (pull policy Never). */
  image: string;
  /** Node name -> the address the upstream router reaches it at. */
  nodeIps(): Promise<Record<string, string>>;
  /** The VIP's route on a node: via these LB pod addresses (ECMP), or none (`[]`). */
  routeOnNode(node: string, vip: string, podIps: string[]): Promise<void>;
  /** The VIP's route on the upstream router in front of the nodes: via these node addresses, or none. */
  routeUpstream(vip: string, nodeIps: string[]): Promise<void>;
  /** The next hops the upstream router and a node hold for the VIP (for "nothing left behind"). */
  vipHops(where: { node: string } | 'upstream', vip: string): Promise<string[]>;
  /** The command line that runs `node <args>` on the client outside the nodes (load.ts runs its scripts so). */
  clientNode(args: string[]): string[];
  /** Files pinned under portable-lb/ on the node's bpffs. */
  pins(node: string): Promise<string[]>;
  /** Why the nodes' kernel cannot run the ipvs data plane, or undefined when it can. */
  ipvsMissing(): Promise<string | undefined>;
  /** SIGKILL to a container's main process, from the node (what a crash looks like to the kubelet). */
  killContainer(node: string, containerId: string): Promise<void>;
  /** A node dies: its kubelet and container runtime are killed and its network is cut off. */
  killNode?(node: string): Promise<void>;
  /** Why no BGP router can run in front of the nodes here, or undefined when one can. */
  bgpMissing(): Promise<string | undefined>;
  /**
   * Starts the BGP router in front of the nodes, in the upstream router's place: sessions from the nodes'
   * addresses (nextHopMode NodeIP: each node's speaker announces its LB pods' VIPs), its routes in the kernel
   * the client's traffic goes through.
   */
  startBgp(o: UpstreamBgpOptions): Promise<UpstreamBgp>;
  /** Removes whatever the provider added for the test (routes, client containers). */
  cleanup(vip: string): Promise<void>;
}

export async function selectProvider(): Promise<Provider> {
  const name = process.env['E2E_PROVIDER'] ?? 'cluster';
  const image = process.env['E2E_IMAGE'];
  if (!image) throw new Error('E2E_IMAGE is not set: run the e2e tier through `make e2e` or hack/e2e-kind.sh');
  if (name === 'kind') return (await import('./providers/kind.js')).kindProvider(image);
  if (name === 'cluster') return (await import('./providers/cluster.js')).clusterProvider(image);
  throw new Error(`E2E_PROVIDER=${name}: expected cluster or kind`);
}
