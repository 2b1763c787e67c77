// The cluster's shape as data: names, addresses and paths, decided from (prefix, node count, directory) alone,
// so that `up`, `down`, the e2e test and a second cluster beside this one all agree without asking anything.
// Nothing sits in the root network namespace: every address below exists only inside the cluster's own
// namespaces, so two clusters with different prefixes may use the same addresses and ports at the same time.
//
//   client (198.18.0.2) --- router --- lan 10.89.0.0/24 --- cp (10.89.0.2: etcd, apiserver :6443, kcm, scheduler)
//                         (198.18.0.1,                  \-- n1 (10.89.0.11, pods 10.244.1.0/24)
//                          10.89.0.1)                    \- n2 (10.89.0.12, pods 10.244.2.0/24) ...
//
// The pod network is routed (flannel host-gw style): the router and every node route each node's pod CIDR via
// that node, pods keep their addresses on the way out (no masquerade).
import { join } from 'node:path';

export const LAN_CIDR = '10.89.0.0/24';
export const ROUTER_LAN_IP = '10.89.0.1';
export const CONTROL_PLANE_IP = '10.89.0.2';
export const CLIENT_CIDR = '198.18.0.0/24';
export const ROUTER_CLIENT_IP = '198.18.0.1';
export const CLIENT_IP = '198.18.0.2';
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
/** The first address of SERVICE_CIDR: the `kubernetes` Service, which pods' in-cluster clients dial. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
export const API_PORT = 6443;
export const ETCD_PORT = 2379;
export const MAX_NODES = 40;

export interface NodePlan {
  /** Node name in the API, network namespace and cgroup name: `<prefix>n<i>`. */
  name: string;
  index: number;
  ip: string;
  podCidr: string;
  /** The pod bridge's address, the pods' default gateway. */
  podGateway: string;
  /** The node's veth on the router's lan bridge. */
  routerPort: string;
  dir: string;
}

export interface ClusterPlan {
  prefix: string;
  dir: string;
  router: { ns: string; lanIp: string; clientIp: string };
  controlPlane: { ns: string; ip: string; apiPort: number; etcdPort: number; routerPort: string; dir: string };
  client: { ns: string; ip: string; gateway: string };
  nodes: NodePlan[];
  /** Every network namespace, in creation order (removal goes backwards). */
  namespaces: string[];
  /** Names of the cgroups at the root of each hierarchy: one per node, one for the control plane. */
  cgroups: string[];
  apiServerUrl: string;
  adminKubeconfig: string;
}

/** A prefix names namespaces, cgroups and nodes (DNS-1123 label rules), and ends in '-' so names read well. */
export function checkPrefix(prefix: string): string | undefined {
  if (!/^[a-z][a-z0-9-]{0,14}-$/.test(prefix)) {
    return `prefix "${prefix}" must be 2-16 characters of a-z, 0-9 and '-', start with a letter and end with '-'`;
  }
  return undefined;
}

export function clusterPlan(prefix: string, nodeCount: number, dir: string): ClusterPlan {
  const bad = checkPrefix(prefix);
  if (bad) throw new Error(bad);
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) {
    throw new Error(`node count ${nodeCount} must be an integer from 1 to ${MAX_NODES}`);
  }
  const nodes = Array.from({ length: nodeCount }, (_, k): NodePlan => {
    const index = k + 1;
    const name = `${prefix}n${index}`;
    return {
      name,
      index,
      ip: `10.89.0.${10 + index}`,
      podCidr: `10.244.${index}.0/24`,
      podGateway: `10.244.${index}.1`,
      routerPort: `n${index}`,
      dir: join(dir, name),
    };
  });
  const router = { ns: `${prefix}rtr`, lanIp: ROUTER_LAN_IP, clientIp: ROUTER_CLIENT_IP };
  const controlPlane = {
    ns: `${prefix}cp`,
    ip: CONTROL_PLANE_IP,
    apiPort: API_PORT,
    etcdPort: ETCD_PORT,
    routerPort: 'cp',
    dir: join(dir, `${prefix}cp`),
  };
  const client = { ns: `${prefix}client`, ip: CLIENT_IP, gateway: ROUTER_CLIENT_IP };
  return {
    prefix,
    dir,
    router,
    controlPlane,
    client,
    nodes,
    namespaces: [router.ns, controlPlane.ns, client.ns, ...nodes.map((n) => n.name)],
    cgroups: [controlPlane.ns, ...nodes.map((n) => n.name)],
    apiServerUrl: `https://${CONTROL_PLANE_IP}:${API_PORT}`,
    adminKubeconfig: join(dir, 'admin.kubeconfig'),
  };
}

/** Where a cluster with this prefix keeps its state unless told otherwise. */
export function defaultDir(prefix: string): string {
  return join('/var/lib/portable-lb/clusters', prefix.replace(/-$/, ''));
}

/** The routes of one namespace to the pod CIDRs of the nodes other than itself (host-gw style). */
export function podRoutes(plan: ClusterPlan, except?: string): Array<{ to: string; via: string }> {
  return plan.nodes.filter((n) => n.name !== except).map((n) => ({ to: n.podCidr, via: n.ip }));
}

/**
 * Whether a namespace or cgroup name is one this prefix's plan makes (for any node count). Exact, so that the
 * cleanup of prefix `a-` never touches a cluster with prefix `a-b-`.
 */
export function ownsName(prefix: string, name: string): boolean {
  if (!name.startsWith(prefix)) return false;
  return /^(rtr|cp|client|n[1-9][0-9]*)$/.test(name.slice(prefix.length));
}
