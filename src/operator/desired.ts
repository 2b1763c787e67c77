// PortableLoadBalancer -> the child objects that run it. Pure: same input, same output, no I/O.
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodDisruptionBudget,
  V1ResourceRequirements,
  V1Role,
  V1RoleBinding,
  V1Secret,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { AGENT_HEALTH_PORT, ANNOTATION_BGP_PEERS_HASH, BGP_PEERS_DIR, LABEL_PLB, PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { ipFamily, withDefaults } from '../api/defaults.js';
import { resolveClass, type Placement } from './class/resolve.js';
import { lbPodSecurity } from './class/security.js';
import { PEERS_KEY, type AgentBgpConfig } from './bgp-peers.js';
import { lbPodSpread, podDisruptionBudget } from './disruption.js';
import { bgpSecretName, childLabels, childMeta, childName, selectorLabels } from './naming.js';

export interface OperatorSettings {
  /** Image of the LB pods; the same image as the operator's, with the agent entrypoint. */
  agentImage: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Passed to every agent as LOG_LEVEL. */
  agentLogLevel: string;
}

export interface DesiredChildren {
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
  /** LB pods in another namespace (a class's): the agent may read its own pod there (is it being deleted?). */
  podRole?: V1Role;
  podRoleBinding?: V1RoleBinding;
  /** The BGPPeers that serve this PLB, resolved for its LB pods (src/operator/bgp-peers.ts), beside them. */
  bgpSecret: V1Secret;
  deployment: V1Deployment;
  /** Only when spec.replicas > 1. */
  podDisruptionBudget?: V1PodDisruptionBudget;
}

/** The order children are applied in: RBAC and the peers before the pods that need them. */
export const CHILD_ORDER = ['serviceAccount', 'role', 'roleBinding', 'podRole', 'podRoleBinding', 'bgpSecret', 'deployment', 'podDisruptionBudget'] as const;

const fieldEnv = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/**
 * Without spec.template.resources. The xdp plane's pinned maps are charged to the agent's memory cgroup (kernel
 * >= 5.11): about 90 MiB (Maglev rings 64 MiB, flow table 26 MiB) plus 640 KiB of per-CPU backend counters per
 * possible CPU (about 40 MiB on a 64-CPU node), on top of the agent's own ~100 MiB; nftables and ipvs keep
 * their state in netfilter, which the process does not pay for.
 */
export function defaultAgentResources(dataPlane: string): V1ResourceRequirements {
  return dataPlane === 'xdp'
    ? { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } }
    : { requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '256Mi' } };
}

/**
 * Seconds between the drain's end and SIGKILL: detaching the program and removing pinned maps or the
 * nftables/IPVS state takes well under a second, but the agent first stops its watches, and a slow or busy node
 * must not have the kubelet kill it half-way (kernel state would be left behind until the pod's netns goes).
 */
export const DETACH_MARGIN_SECONDS = 15;

/** Shared by the agent and speaker containers: bird.conf and the control socket bird.ctl. */
export const BIRD_DIR = '/run/portable-lb/bird';

/**
 * NET_BIND_SERVICE: BGP on 179 and BFD on 3784/4784; NET_RAW: BIRD's BFD sockets (without it the BFD session stays
 * Down). TCP-MD5 passwords need nothing more. test/dataplane/bgp-speaker.test.ts runs BIRD with exactly these
 * (a password and BFD on) and saw BFD stay Down with NET_BIND_SERVICE alone.
 */
export const SPEAKER_CAPABILITIES = ['NET_BIND_SERVICE', 'NET_RAW'] as const;

/**
 * The BGP speaker: BIRD from the image, in its own container so that an agent restart keeps the sessions and the
 * route (the kernel keeps forwarding while the agent is away; the new agent takes over the socket). It waits for
 * the agent's first config. Root with SPEAKER_CAPABILITIES only; no privilege, no host access, a read-only root.
 * SIGTERM makes BIRD send a
 * Cease to every router: a deleted pod is withdrawn at once while its agent drains.
 */
function speakerContainer(settings: OperatorSettings): V1Container {
  return {
    name: 'speaker',
    image: settings.agentImage,
    imagePullPolicy: settings.imagePullPolicy,
    command: ['sh', '-c', 'until [ -s "$BIRD_DIR/bird.conf" ]; do sleep 0.2; done; exec bird -f -c "$BIRD_DIR/bird.conf" -s "$BIRD_DIR/bird.ctl"'],
    env: [{ name: 'BIRD_DIR', value: BIRD_DIR }],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: [...SPEAKER_CAPABILITIES] },
    },
    volumeMounts: [{ name: 'bird', mountPath: BIRD_DIR }],
  };
}

/** A digest of the BGP Secret's content (passwords included, so a rotation rewrites the Secret). */
export function bgpPeersHash(bgp: AgentBgpConfig): string {
  return createHash('sha256').update(JSON.stringify(bgp)).digest('hex').slice(0, 16);
}

/**
 * `placement` is the PortableLoadBalancerClass's decision (src/operator/class/resolve.ts); the default: the PLB's
 * template as given, in its own namespace (a single-tenant cluster without classes).
 */
export function desiredChildren(
  plb: PortableLoadBalancer,
  settings: OperatorSettings,
  placement: Placement = resolveClass(plb, [], { trustTemplate: true }).placement!,
  bgp: AgentBgpConfig = { peers: [] },
): DesiredChildren {
  const name = plb.metadata?.name ?? '';
  const spec = withDefaults(plb.spec);
  const m = childMeta(plb, placement.podNamespace);
  const own = childMeta(plb, plb.metadata?.namespace ?? '');
  const elsewhere = m.namespace !== own.namespace;

  const serviceAccount: V1ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: m };

  // Exactly what the agent does: read its own PLB, write its own status entry, and watch the pods its selector
  // picks (readiness, IPs and named target ports all live on the pod). Nothing cluster-wide.
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: own,
    rules: [
      { apiGroups: [PLB.group], resources: [PLB.plural], resourceNames: [name], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [PLB.group], resources: [`${PLB.plural}/status`], resourceNames: [name], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ],
  };

  const roleBinding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: own,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: own.name },
    subjects: [{ kind: 'ServiceAccount', name: m.name, namespace: m.namespace }],
  };
  const podRole: V1Role | undefined = elsewhere
    ? { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: m, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }
    : undefined;
  const podRoleBinding: V1RoleBinding | undefined = elsewhere
    ? {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: m,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: m.name },
        subjects: [{ kind: 'ServiceAccount', name: m.name, namespace: m.namespace }],
      }
    : undefined;

  // Rewritten whenever a BGPPeer, a node's labels or a password change; the kubelet refreshes the pods' volume
  // (about a minute) and the agents reconfigure BIRD live (no pod roll). JSON under one key: one atomic swap.
  // Beside the LB pods: a Secret volume can only come from the pod's own namespace.
  const bgpSecret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...m, name: bgpSecretName(m.name) },
    type: 'Opaque',
    stringData: { [PEERS_KEY]: JSON.stringify(bgp) },
  };

  const labels = m.labels;
  const selector = selectorLabels(name, elsewhere ? own.namespace : undefined);
  const security = lbPodSecurity(spec.dataPlane, { podSysctls: placement.podSysctls, family: spec.vip ? ipFamily(spec.vip) : spec.ipFamily === 'IPv6' ? 6 : 4 });
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    // The operator cannot read Secrets back (it only writes them), so the Deployment records which peers the
    // BGP Secret holds: a change of this annotation is what makes the operator rewrite the Secret. Metadata, not
    // the pod template: a peer change never rolls the LB pods.
    metadata: { ...m, annotations: { [ANNOTATION_BGP_PEERS_HASH]: bgpPeersHash(bgp) } },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selector },
      // Surge first, never take a serving LB pod away before its replacement is ready: the VIP keeps its capacity.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: m.name,
          // A deleted LB pod forwards for drainSeconds after leaving status.loadBalancers (routers withdraw it
          // meanwhile), then detaches: the kubelet must not SIGKILL it before that is done.
          terminationGracePeriodSeconds: spec.drainSeconds + DETACH_MARGIN_SECONDS,
          securityContext: security.pod,
          ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
          ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
          ...(placement.priorityClassName ? { priorityClassName: placement.priorityClassName } : {}),
          // Over nodes by default, as far as the class allows (src/operator/disruption.ts says why so).
          topologySpreadConstraints: lbPodSpread(placement.topologySpreadConstraints, selector),
          containers: [
            {
              name: 'agent',
              image: settings.agentImage,
              imagePullPolicy: settings.imagePullPolicy,
              command: ['plb-agent'],
              args: ['run', '--kubernetes'],
              env: [
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                // Pinned maps are per pod UID: a restarted container adopts its own, a gone pod's are swept.
                fieldEnv('POD_UID', 'metadata.uid'),
                fieldEnv('POD_IP', 'status.podIP'),
                fieldEnv('POD_IPS', 'status.podIPs'),
                fieldEnv('NODE_NAME', 'spec.nodeName'),
                // The next hop of BGPPeers with nextHopMode NodeIP.
                fieldEnv('HOST_IP', 'status.hostIP'),
                { name: 'PLB_NAME', value: name },
                { name: 'PLB_NAMESPACE', value: own.namespace },
                // A data-plane switch must start from a clean kernel state, so it rolls the pods.
                { name: 'PLB_DATA_PLANE', value: spec.dataPlane },
                { name: 'PLB_DRAIN_SECONDS', value: String(spec.drainSeconds) },
                { name: 'HEALTH_PORT', value: String(AGENT_HEALTH_PORT) },
                // BIRD runs in the speaker container on this shared directory; the agent writes its config.
                { name: 'PLB_BIRD_DIR', value: BIRD_DIR },
                { name: 'LOG_LEVEL', value: settings.agentLogLevel },
              ],
              ports: [
                // One port for /healthz, /readyz and /metrics.
                { name: 'health', containerPort: AGENT_HEALTH_PORT, protocol: 'TCP' },
              ],
              // Ready only when the kernel holds the desired state (the agent's /readyz says so).
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'health' },
                periodSeconds: 2,
                failureThreshold: 2,
              },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'health' },
                periodSeconds: 10,
                failureThreshold: 3,
              },
              resources: placement.resources ?? defaultAgentResources(spec.dataPlane),
              // Programs the kernel of its own network namespace with the capabilities its data plane needs.
              securityContext: security.container,
              volumeMounts: [
                ...security.volumeMounts,
                { name: 'bgp-peers', mountPath: BGP_PEERS_DIR, readOnly: true },
                { name: 'bird', mountPath: BIRD_DIR },
              ],
            },
            speakerContainer(settings),
          ],
          volumes: [
            ...security.volumes,
            // BIRD's config (written by the agent) and control socket, shared by the two containers.
            { name: 'bird', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            // Optional: a pod must start (and serve statically routed traffic) even before the Secret exists.
            { name: 'bgp-peers', secret: { secretName: bgpSecretName(m.name), optional: true, defaultMode: 0o400 } },
          ],
        },
      },
    },
  };

  // With more than one replica, a drain takes one LB pod at a time (src/operator/disruption.ts).
  const budget = podDisruptionBudget(m, selector, spec.replicas);
  return { serviceAccount, role, roleBinding, ...(podRole ? { podRole, podRoleBinding } : {}), bgpSecret, deployment, ...(budget ? { podDisruptionBudget: budget } : {}) };
}
