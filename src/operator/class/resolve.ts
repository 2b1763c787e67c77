// Which PortableLoadBalancerClass places a PLB's LB pods, and the placement that results: the class decides, the
// PLB's spec.template may only narrow it (extra node labels, tolerations and priority classes the class lists).
// Anything else is refused, not dropped: the PLB says which field, and its LB pods keep the last accepted
// placement. Pure.
import type { V1ResourceRequirements, V1Toleration, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import type { ConditionInput } from '../../api/conditions.js';
import type { PortableLoadBalancer, PortableLoadBalancerClass } from '../../api/generated.js';
import { sameJson } from '../../runtime/canonical.js';
import { byAge } from '../allocator/pools.js';

export const DEFAULT_CLASS_ANNOTATION = 'portablelb.io/is-default-class';
export const ACCEPTED = 'Accepted';

export interface Placement {
  /** The class that placed the pods; undefined when no class exists (the PLB's template as given). */
  className?: string;
  podNamespace: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  priorityClassName?: string;
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
  resources?: V1ResourceRequirements;
  /** Put the data plane's sysctls into the pod's securityContext (the kubelet must allow them). */
  podSysctls: boolean;
}

export interface ClassResolution {
  /** undefined: refused; children are not applied (those that exist keep running as they are). */
  placement?: Placement;
  condition: ConditionInput;
}

const ALL_PLANES = ['xdp', 'ipvs', 'nftables'] as const;
const created = (c: PortableLoadBalancerClass) => {
  const t = c.metadata?.creationTimestamp as Date | string | undefined;
  return { c, created: t instanceof Date ? t.toISOString() : (t ?? '') };
};
const refuse = (reason: string, message: string): ClassResolution => ({ condition: { type: ACCEPTED, status: 'False', reason, message } });
const tolerationText = (t: V1Toleration) =>
  [t.key ?? '*', t.operator ?? 'Equal', t.value ?? '', t.effect ?? '*'].join(' ').replace(/ +/g, ' ').trim();

/** The class a PLB belongs to, or why there is none. */
function pickClass(plb: PortableLoadBalancer, classes: readonly PortableLoadBalancerClass[]): PortableLoadBalancerClass | ClassResolution | undefined {
  const wanted = plb.spec.className;
  if (wanted) {
    return classes.find((c) => c.metadata?.name === wanted) ?? refuse('ClassNotFound', `no PortableLoadBalancerClass named ${wanted}`);
  }
  if (classes.length === 0) return undefined;
  const defaults = classes
    .filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')
    .map(created)
    .sort(byAge((x) => x.c.metadata?.name ?? ''));
  // Several defaults (an admin's slip): the oldest, the same on every replica and every pass.
  return defaults[0]?.c ?? refuse('NoDefaultClass', `no PortableLoadBalancerClass is marked ${DEFAULT_CLASS_ANNOTATION}=true: set spec.className to one of ${classes.map((c) => c.metadata?.name).sort().join(', ')}`);
}

export interface ResolveOptions {
  /**
   * One trusted tenant (the operator's single-tenant mode): with no class in the cluster, a PLB's template is
   * used as given. Otherwise no class means the strictest one: LB pods in the PLB's namespace, and a template
   * that may only add node labels and resources (no toleration, no priority class).
   */
  trustTemplate: boolean;
}

export function resolveClass(plb: PortableLoadBalancer, classes: readonly PortableLoadBalancerClass[], o: ResolveOptions): ClassResolution {
  const namespace = plb.metadata?.namespace ?? '';
  const template = plb.spec.template ?? {};
  const picked = pickClass(plb, classes);
  if (picked === undefined && o.trustTemplate) {
    return {
      placement: {
        podNamespace: namespace,
        ...(template.nodeSelector ? { nodeSelector: template.nodeSelector as Record<string, string> } : {}),
        ...(template.tolerations ? { tolerations: template.tolerations as V1Toleration[] } : {}),
        ...(template.priorityClassName ? { priorityClassName: template.priorityClassName } : {}),
        ...(template.resources ? { resources: template.resources as V1ResourceRequirements } : {}),
        podSysctls: false,
      },
      condition: { type: ACCEPTED, status: 'True', reason: 'NoClass', message: 'no PortableLoadBalancerClass exists (single-tenant): LB pods run in this namespace, placed by spec.template' },
    };
  }
  if (picked !== undefined && 'condition' in picked) return picked;
  return narrow(plb, picked);
}

/** The class's placement, narrowed by the PLB's template; `cls` undefined: no class exists (the strictest). */
function narrow(plb: PortableLoadBalancer, cls: PortableLoadBalancerClass | undefined): ClassResolution {
  const namespace = plb.metadata?.namespace ?? '';
  const template = plb.spec.template ?? {};
  const name = cls?.metadata?.name ?? '';
  const which = cls ? `class ${name}` : 'the built-in placement (no PortableLoadBalancerClass exists)';
  const spec = cls?.spec ?? {};
  const dataPlane = plb.spec.dataPlane ?? 'xdp';
  const planes = spec.allowedDataPlanes ?? [...ALL_PLANES];
  if (!planes.includes(dataPlane)) {
    return refuse('DataPlaneNotAllowed', `${which} allows dataPlane ${planes.join(', ')}, not ${dataPlane}`);
  }
  const podNamespace = spec.podNamespace || namespace;
  const refusals: string[] = [];

  const nodeSelector = { ...(template.nodeSelector ?? {}) } as Record<string, string>;
  for (const [k, v] of Object.entries((spec.nodeSelector ?? {}) as Record<string, string>)) {
    if (k in nodeSelector && nodeSelector[k] !== v) refusals.push(`nodeSelector ${k}=${nodeSelector[k]} (${which} requires ${k}=${v})`);
    nodeSelector[k] = v;
  }

  const classTolerations = (spec.tolerations ?? []) as V1Toleration[];
  const allowedTolerations = [...classTolerations, ...((spec.allowedTolerations ?? []) as V1Toleration[])];
  const tolerations = [...classTolerations];
  for (const t of (template.tolerations ?? []) as V1Toleration[]) {
    if (!allowedTolerations.some((a) => sameJson(a, t))) {
      refusals.push(`toleration "${tolerationText(t)}" (${which} allows ${allowedTolerations.length ? allowedTolerations.map((a) => `"${tolerationText(a)}"`).join(', ') : 'none'})`);
    } else if (!tolerations.some((a) => sameJson(a, t))) tolerations.push(t);
  }

  let priorityClassName = spec.priorityClassName;
  const wantedPriority = template.priorityClassName;
  if (wantedPriority && wantedPriority !== spec.priorityClassName) {
    const allowed = spec.allowedPriorityClassNames ?? [];
    if (allowed.includes(wantedPriority)) priorityClassName = wantedPriority;
    else refusals.push(`priorityClassName ${wantedPriority} (${which} allows ${allowed.length ? allowed.join(', ') : cls?.spec.priorityClassName ? 'none but its own' : 'none'})`);
  }

  let resources = spec.resources as V1ResourceRequirements | undefined;
  if (template.resources) {
    // In a namespace the admin owns, the LB pods' resources are the admin's budget, not the tenant's.
    if (podNamespace !== namespace) refusals.push(`resources (LB pods of ${which} run in namespace ${podNamespace}, where the class sets them)`);
    else resources = template.resources as V1ResourceRequirements;
  }

  if (refusals.length > 0) {
    return refuse('TemplateNotAllowed', `spec.template may only narrow ${which}; not allowed: ${refusals.join('; ')}. The LB pods keep their last accepted placement`);
  }
  return {
    placement: {
      ...(cls ? { className: name } : {}),
      podNamespace,
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
      ...(tolerations.length ? { tolerations } : {}),
      ...(priorityClassName ? { priorityClassName } : {}),
      ...(spec.topologySpreadConstraints ? { topologySpreadConstraints: spec.topologySpreadConstraints as unknown as V1TopologySpreadConstraint[] } : {}),
      ...(resources ? { resources } : {}),
      podSysctls: spec.podSysctls ?? false,
    },
    condition: cls
      ? { type: ACCEPTED, status: 'True', reason: 'ClassResolved', message: `placed by class ${name}${podNamespace !== namespace ? `: LB pods run in namespace ${podNamespace}` : ''}` }
      : { type: ACCEPTED, status: 'True', reason: 'NoClass', message: 'no PortableLoadBalancerClass exists: LB pods run in this namespace; spec.template may add node labels and resources only' },
  };
}
