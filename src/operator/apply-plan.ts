// Which children need a server-side apply. A child carries the hash of what the operator last applied; the
// same hash means nothing to do, so a steady object costs no write (and no diff against server defaults).
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ANNOTATION_SPEC_HASH } from '../api/constants.js';
import { canonical } from '../runtime/canonical.js';
import type { PortableLoadBalancer } from '../api/generated.js';
import type { AgentBgpConfig } from './bgp-peers.js';
import type { Placement } from './class/resolve.js';
import { CHILD_ORDER, desiredChildren, type OperatorSettings } from './desired.js';

export function specHash(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(obj))).digest('hex').slice(0, 16);
}

/** The desired children in apply order, each annotated with the hash of its own content. */
export function plannedChildren(plb: PortableLoadBalancer, settings: OperatorSettings, placement?: Placement, bgp?: AgentBgpConfig): KubernetesObject[] {
  const children = desiredChildren(plb, settings, placement, bgp);
  return CHILD_ORDER.flatMap((key) => {
    const child = children[key];
    if (!child) return [];
    const hash = specHash(child);
    return [{ ...child, metadata: { ...child.metadata, annotations: { ...child.metadata?.annotations, [ANNOTATION_SPEC_HASH]: hash } } }];
  });
}

/** The planned children whose live copy is missing or was applied from different content. */
export function childrenToApply(
  planned: readonly KubernetesObject[],
  live: (child: KubernetesObject) => KubernetesObject | undefined,
): KubernetesObject[] {
  return planned.filter((child) => live(child)?.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== child.metadata?.annotations?.[ANNOTATION_SPEC_HASH]);
}
