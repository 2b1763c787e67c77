// What a Service of our class shows: status.loadBalancer.ingress (one address per family its PLBs hold,
// ipMode Proxy) and two conditions, so a pending Service always says why. Pure.
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import { findCondition, setConditions, type Condition, type ConditionInput } from '../../api/conditions.js';
import type { PortableLoadBalancer } from '../../api/generated.js';
import type { Family, ServicePlan } from './plan.js';

/** True when every family the Service needs has an address (the notes' Cilium-style condition). */
export const IP_ALLOCATED = 'portablelb.io/IPAllocated';
/** True when the PLBs that hold those addresses are Ready (their LB pods program them). */
export const LB_READY = 'portablelb.io/Ready';

export interface ServiceView {
  /** The Service's PLBs by name; undefined: not created yet. */
  plbs: ReadonlyMap<string, PortableLoadBalancer>;
  /** PLB names that exist but are not this Service's (a user's PLB of that name): never touched. */
  taken: ReadonlySet<string>;
}

export interface ServiceLbStatus {
  /**
   * ipMode Proxy: the LB pods proxy (full NAT) to the pods, so kube-proxy must not program the VIP itself;
   * in-cluster clients then go through the load balancer as outside ones do.
   */
  ingress: V1LoadBalancerIngress[];
  conditions: Condition[];
}

function perFamily(plan: Extract<ServicePlan, { kind: 'serve' }>, view: ServiceView) {
  return plan.plbs.map((p) => {
    const plb = view.plbs.get(p.name);
    const vip = plb?.status?.vip;
    const assigned = findCondition(plb?.status?.conditions, 'VIPAssigned');
    const ready = findCondition(plb?.status?.conditions, 'Ready');
    const why = view.taken.has(p.name)
      ? { reason: 'NameConflict', message: `a PortableLoadBalancer named ${p.name} exists in this namespace and is not this Service's: rename one of them` }
      : !plb
        ? { reason: 'Pending', message: `creating PortableLoadBalancer ${p.name}` }
        : assigned && assigned.status !== 'True'
          ? { reason: assigned.reason, message: assigned.message }
          : { reason: 'Pending', message: `waiting for PortableLoadBalancer ${p.name} to be given an address` };
    return { family: p.family as Family, name: p.name, vip, pool: plb?.status?.pool, ready, why };
  });
}

export function serviceStatus(svc: V1Service, plan: ServicePlan, view: ServiceView, now: Date): ServiceLbStatus {
  const generation = svc.metadata?.generation ?? 0;
  const current = (svc.status?.conditions ?? []) as unknown as Condition[];
  const set = (inputs: ConditionInput[]) => setConditions(current, inputs, generation, now).filter((c) => c.type === IP_ALLOCATED || c.type === LB_READY);
  if (plan.kind !== 'serve') {
    const reason = plan.kind === 'refuse' ? plan.reason : 'NotServed';
    const message = plan.kind === 'refuse' ? plan.message : 'not a Service of this load balancer';
    return {
      ingress: [],
      conditions: set([
        { type: IP_ALLOCATED, status: 'False', reason, message },
        { type: LB_READY, status: 'False', reason, message },
      ]),
    };
  }

  const families = perFamily(plan, view);
  const held = families.filter((f) => f.vip);
  const missing = families.filter((f) => !f.vip);
  const describe = (f: (typeof families)[number]) => `${f.family} ${f.vip}${f.pool ? ` (pool ${f.pool})` : ''}`;
  const missingText = missing.map((f) => `${f.family}: ${f.why.message}`).join('; ');
  const notes = plan.notes.length ? `; ${plan.notes.join('; ')}` : '';

  let allocated: ConditionInput;
  let ingress: V1LoadBalancerIngress[];
  if (missing.length === 0) {
    allocated = { type: IP_ALLOCATED, status: 'True', reason: 'Allocated', message: `${held.map(describe).join(', ')}${notes}` };
    ingress = held.map((f) => ({ ip: f.vip!, ipMode: 'Proxy' }));
  } else if (held.length > 0 && !plan.requireAll) {
    // PreferDualStack: serve the family that has an address, and say what the other one waits for.
    allocated = { type: IP_ALLOCATED, status: 'True', reason: 'PartiallyAllocated', message: `${held.map(describe).join(', ')}; not ${missingText}${notes}` };
    ingress = held.map((f) => ({ ip: f.vip!, ipMode: 'Proxy' }));
  } else {
    const first = missing[0]!;
    const reason = plan.requireAll && held.length > 0 ? 'DualStackUnsatisfiable' : first.why.reason;
    const prefix = plan.requireAll && held.length > 0 ? `ipFamilyPolicy RequireDualStack: ${held.map(describe).join(', ')} held, but ` : '';
    allocated = { type: IP_ALLOCATED, status: 'False', reason, message: `${prefix}${missingText}${notes}` };
    ingress = [];
  }

  const published = ingress.length > 0 ? held : [];
  const notReady = published.filter((f) => f.ready?.status !== 'True');
  const ready: ConditionInput =
    published.length === 0
      ? { type: LB_READY, status: 'False', reason: allocated.reason, message: allocated.message }
      : notReady.length === 0
        ? { type: LB_READY, status: 'True', reason: 'Serving', message: published.map((f) => `${f.family} ${f.vip}: ${f.ready?.message ?? ''}`).join('; ') }
        : {
            type: LB_READY,
            status: 'False',
            reason: notReady[0]!.ready?.reason ?? 'Pending',
            message: notReady.map((f) => `${f.family} ${f.vip}: ${f.ready?.message ?? 'not reported yet'}`).join('; '),
          };
  return { ingress, conditions: set([allocated, ready]) };
}
