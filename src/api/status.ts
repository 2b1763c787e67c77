// Names for the items of a PortableLoadBalancer's status lists, which the operator, the LB pods' agent and the
// nodes' route agent all read or write: one definition, from the CRD's generated types.
import type { PortableLoadBalancerStatus } from './generated.js';

/** One LB pod's entry in status.loadBalancers (written by its agent, judged by the operator). */
export type LoadBalancerEntry = NonNullable<PortableLoadBalancerStatus['loadBalancers']>[number];
/** One node's BGP session in status.nodeSessions (written by that node's `plb-agent node-routes`). */
export type NodeSession = NonNullable<PortableLoadBalancerStatus['nodeSessions']>[number];
