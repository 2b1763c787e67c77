// Names shared by the operator, the agent and the chart. Changing one changes the API users see.
export { PortableLoadBalancerGVK as PLB } from './generated.js';

export const OPERATOR_FIELD_MANAGER = 'portable-lb-operator';
/** Each agent applies its own status.loadBalancers[] entry under its own field manager. */
export const agentFieldManager = (pod: string): string => `plb-agent/${pod}`;

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The PortableLoadBalancer a child object belongs to (the owner reference says the same, but labels can be selected). */
export const LABEL_PLB = 'portablelb.io/name';
export const APP_NAME = 'portable-lb';
/** Hash of the desired child object; equal hash = nothing to write (see operator/apply-plan.ts). */
export const ANNOTATION_SPEC_HASH = 'portablelb.io/spec-hash';

export const AGENT_HEALTH_PORT = 9095;

/** Which BGP Secret content the operator last wrote (on the LB Deployment; see operator/desired.ts). */
export const ANNOTATION_BGP_PEERS_HASH = 'portablelb.io/bgp-peers-hash';
/** Where the LB pod finds its BGP peers: the <plb>-lb-bgp Secret as a volume, file peers.json. */
export const BGP_PEERS_DIR = '/etc/portable-lb/bgp';

export const ConditionType = {
  Ready: 'Ready',
  BackendsResolved: 'BackendsResolved',
  DataPlaneProgrammed: 'DataPlaneProgrammed',
  /** Whether LB pods announce the VIP to the BGPPeers that serve it, and how many. */
  Announced: 'Announced',
  Degraded: 'Degraded',
} as const;
