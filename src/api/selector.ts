// Which pods a PortableLoadBalancer's selector picks, and how many of them can take traffic. Pure; shared by
// the operator (status.backends) and the agent (the backends it programs).
import type { V1Pod } from '@kubernetes/client-node';
import type { PortableLoadBalancerSpec } from './generated.js';

export type Selector = NonNullable<PortableLoadBalancerSpec['backends']['selector']>;

export interface BackendCount {
  ready: number;
  total: number;
}

export function matchesSelector(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const inValues = has && (e.values ?? []).includes(l[e.key] ?? '');
    const ok =
      e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

/** A pod that is going away or finished can no longer serve, whatever its labels say. */
export function isLive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Counts live pods that match the selector; `exclude` keeps the LB's own pods out of its backends. */
export function countBackends(selector: Selector, pods: readonly V1Pod[], exclude: (pod: V1Pod) => boolean): BackendCount {
  const selected = pods.filter((p) => isLive(p) && !exclude(p) && matchesSelector(selector, p.metadata?.labels));
  return { total: selected.length, ready: selected.filter(isPodReady).length };
}

export function describeSelector(selector: Selector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    parts.push(
      e.operator === 'Exists' ? e.key : e.operator === 'DoesNotExist' ? `!${e.key}` : `${e.key} ${e.operator.toLowerCase()} (${values})`,
    );
  }
  return parts.join(', ');
}

/** The selector as a label-selector query string, so a watch only carries the selected pods. */
export function labelSelectorString(selector: Selector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
