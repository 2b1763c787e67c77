// PortableLoadBalancer -> the child objects that run it. Pure: same input, same output, no I/O.
import type {
  V1Deployment,
  V1EnvVar,
  V1ResourceRequirements,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { AGENT_HEALTH_PORT, LABEL_PLB, PLB } from '../api/constants.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import { ipFamily, withDefaults } from '../api/defaults.js';
import { resolveClass, type Placement } from './class/resolve.js';
import { lbPodSecurity } from './class/security.js';
import { spreadConstraints } from './class/spread.js';
import { childLabels, childMeta, childName, selectorLabels } from './naming.js';

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
  deployment: V1Deployment;
}

/** The order children are applied in: RBAC before the pods that need it. */
export const CHILD_ORDER = ['serviceAccount', 'role', 'roleBinding', 'podRole', 'podRoleBinding', 'deployment'] as const;

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

/**
 * `placement` is the PortableLoadBalancerClass's decision (src/operator/class/resolve.ts); without one the PLB's
 * template is used as given, in its own namespace (no class in the cluster).
 */
export function desiredChildren(
  plb: PortableLoadBalancer,
  settings: OperatorSettings,
  placement: Placement = resolveClass(plb, []).placement!,
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

  const labels = m.labels;
  const security = lbPodSecurity(spec.dataPlane, { podSysctls: placement.podSysctls, family: spec.vip ? ipFamily(spec.vip) : spec.ipFamily === 'IPv6' ? 6 : 4 });
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: m,
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: selectorLabels(name, elsewhere ? own.namespace : undefined) },
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
          ...(placement.topologySpreadConstraints
            ? { topologySpreadConstraints: spreadConstraints(placement.topologySpreadConstraints, selectorLabels(name, elsewhere ? own.namespace : undefined)) }
            : {}),
          // Preferred, not required: more replicas than nodes must still schedule, just spread as far as possible.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: { [LABEL_PLB]: name } },
                  },
                },
              ],
            },
          },
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
                fieldEnv('POD_IP', 'status.podIP'),
                fieldEnv('POD_IPS', 'status.podIPs'),
                fieldEnv('NODE_NAME', 'spec.nodeName'),
                { name: 'PLB_NAME', value: name },
                { name: 'PLB_NAMESPACE', value: own.namespace },
                // A data-plane switch must start from a clean kernel state, so it rolls the pods.
                { name: 'PLB_DATA_PLANE', value: spec.dataPlane },
                { name: 'PLB_DRAIN_SECONDS', value: String(spec.drainSeconds) },
                { name: 'HEALTH_PORT', value: String(AGENT_HEALTH_PORT) },
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
              volumeMounts: security.volumeMounts,
            },
          ],
          volumes: security.volumes,
        },
      },
    },
  };

  return { serviceAccount, role, roleBinding, ...(podRole ? { podRole, podRoleBinding } : {}), deployment };
}
