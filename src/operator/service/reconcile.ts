// One pass for one Service: plan (pure), then the cleanup finalizer first, the PLBs it owns, and at most one
// status write. Allocation is not done here: each PLB gets its address from the PLB controller's allocator, and
// the Service shows what its PLBs hold.
import type { KubernetesObject, V1Service } from '@kubernetes/client-node';
import { ANNOTATION_SPEC_HASH, LABEL_MANAGED_BY, OPERATOR_FIELD_MANAGER, PLB } from '../../api/constants.js';
import type { Condition } from '../../api/conditions.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import { sameJson } from '../../runtime/canonical.js';
import { finalizerStep } from '../../runtime/finalizer.js';
import type { JsonPatchOp } from '../../runtime/json-patch.js';
import { specHash } from '../apply-plan.js';
import { LABEL_SERVICE, LB_CLEANUP_FINALIZER, planService, type PlanOptions, type PlannedPlb } from './plan.js';
import { IP_ALLOCATED, LB_READY, serviceStatus, type ServiceLbStatus } from './status.js';

export interface ServiceEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ServicePorts {
  getService(namespace: string, name: string): V1Service | undefined;
  /** The PLBs this Service owns (cache of PLBs labelled portablelb.io/service). */
  ownedPlbs(service: V1Service): readonly PortableLoadBalancer[];
  /** A live read of any PLB by name: is a name we want taken by someone else's PLB? */
  readPlb(namespace: string, name: string): Promise<PortableLoadBalancer | undefined>;
  applyPlb(plb: KubernetesObject): Promise<void>;
  deletePlb(namespace: string, name: string): Promise<void>;
  patchService(namespace: string, name: string, ops: JsonPatchOp[]): Promise<void>;
  /** Server-side apply of our part of the Service's status (ingress, our conditions); null removes it. */
  applyStatus(namespace: string, name: string, status: ServiceLbStatus | null): Promise<void>;
  recordEvent(service: V1Service, event: ServiceEvent): Promise<void>;
  now(): Date;
}

const OURS = new Set([IP_ALLOCATED, LB_READY]);
/** Our conditions as written: the typed client reads lastTransitionTime back as a Date. */
const ourConditions = (svc: V1Service): Condition[] =>
  ((svc.status?.conditions ?? []) as unknown as Condition[])
    .filter((c) => OURS.has(c.type))
    .map((c) => ({ ...c, lastTransitionTime: new Date(c.lastTransitionTime).toISOString().replace(/\.\d{3}Z$/, 'Z') }));

const isOwnedBy = (plb: PortableLoadBalancer, svc: V1Service) => plb.metadata?.ownerReferences?.some((r) => r.uid === svc.metadata?.uid) ?? false;

function desiredPlb(svc: V1Service, p: PlannedPlb): KubernetesObject {
  const body = {
    apiVersion: PLB.apiVersion,
    kind: PLB.kind,
    metadata: {
      name: p.name,
      namespace: svc.metadata?.namespace ?? '',
      labels: { [LABEL_SERVICE]: svc.metadata?.name ?? '', [LABEL_MANAGED_BY]: OPERATOR_FIELD_MANAGER },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: p.spec,
  };
  return { ...body, metadata: { ...body.metadata, annotations: { [ANNOTATION_SPEC_HASH]: specHash(body) } } };
}

/** Warnings for every new reason a Service is not served, Normal for an address and for serving. */
function events(before: readonly Condition[], after: readonly Condition[]): ServiceEvent[] {
  const out: ServiceEvent[] = [];
  for (const c of after) {
    const old = before.find((b) => b.type === c.type);
    if (old && old.status === c.status && old.reason === c.reason) continue;
    if (c.type === LB_READY && c.status !== 'True' && after.find((a) => a.type === IP_ALLOCATED)?.status !== 'True') continue; // said once
    const good = c.status === 'True';
    out.push({
      type: good ? 'Normal' : 'Warning',
      reason: good ? (c.type === IP_ALLOCATED ? 'IPAllocated' : 'LoadBalancerReady') : c.reason,
      message: c.message.slice(0, 1024),
    });
  }
  return out;
}

export async function reconcileService(namespace: string, name: string, ports: ServicePorts, options: PlanOptions): Promise<{ writes: number }> {
  const svc = ports.getService(namespace, name);
  if (!svc) return { writes: 0 };
  const plan = planService(svc, options);
  if (plan.kind === 'ignore') return { writes: 0 };
  let writes = 0;
  const owned = ports.ownedPlbs(svc).filter((p) => isOwnedBy(p, svc));

  if (plan.kind === 'cleanup') {
    // Deleted, or no longer a LoadBalancer: its PLBs go (their VIPs are released when they are gone), then our
    // status, then the finalizer — never before the addresses are free again.
    for (const p of owned) {
      if (p.metadata?.deletionTimestamp) continue;
      await ports.deletePlb(namespace, p.metadata?.name ?? '');
      writes++;
    }
    if (owned.length > 0) return { writes };
    if (!svc.metadata?.deletionTimestamp && (svc.status?.loadBalancer?.ingress?.length || ourConditions(svc).length)) {
      await ports.applyStatus(namespace, name, null);
      writes++;
    }
    const finalizers = svc.metadata?.finalizers ?? [];
    if (finalizers.includes(LB_CLEANUP_FINALIZER)) {
      // Guarded like runtime/finalizer.ts: another controller's concurrent change fails the patch (retried).
      await ports.patchService(namespace, name, [
        { op: 'test', path: '/metadata/finalizers', value: finalizers },
        { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== LB_CLEANUP_FINALIZER) },
      ]);
      writes++;
    }
    return { writes };
  }

  // The finalizer before anything exists that would need cleaning up (KEP-1959).
  const add = finalizerStep(svc, LB_CLEANUP_FINALIZER, false);
  if (add.action === 'add') {
    await ports.patchService(namespace, name, add.patch);
    writes++;
  }

  const wanted = plan.kind === 'serve' ? plan.plbs : [];
  const byName = new Map(owned.map((p) => [p.metadata?.name ?? '', p]));
  const taken = new Set<string>();
  for (const p of wanted) {
    const desired = desiredPlb(svc, p);
    const have = byName.get(p.name);
    if (have?.metadata?.annotations?.[ANNOTATION_SPEC_HASH] === desired.metadata?.annotations?.[ANNOTATION_SPEC_HASH]) continue;
    if (!have) {
      // Never take over a PLB someone else made under the name we want.
      const live = await ports.readPlb(namespace, p.name);
      if (live && !isOwnedBy(live, svc)) {
        taken.add(p.name);
        continue;
      }
    }
    await ports.applyPlb(desired);
    writes++;
  }
  // A family the Service dropped (or a refused Service): its PLB goes, and with it the address.
  const keep = new Set(wanted.map((p) => p.name));
  for (const p of owned) {
    if (keep.has(p.metadata?.name ?? '') || p.metadata?.deletionTimestamp) continue;
    await ports.deletePlb(namespace, p.metadata?.name ?? '');
    writes++;
  }

  const before = ourConditions(svc);
  const status = serviceStatus({ ...svc, status: { ...svc.status, conditions: before as never } }, plan, { plbs: byName, taken }, ports.now());
  if (!sameJson(svc.status?.loadBalancer?.ingress ?? [], status.ingress) || !sameJson(before, status.conditions)) {
    await ports.applyStatus(namespace, name, status);
    writes++;
    for (const e of events(before, status.conditions)) await ports.recordEvent(svc, e);
  }
  return { writes };
}
