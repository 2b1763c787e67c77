// API objects -> the allocator's inputs, and its outcome -> the PLB's VIPAssigned condition. Pure.
import type { ConditionInput } from '../../api/conditions.js';
import { ipFamily } from '../../api/defaults.js';
import type { PortableLoadBalancer, VIPPool } from '../../api/generated.js';
import type { Claim, Outcome } from '../allocator/allocate.js';
import type { PoolInput } from '../allocator/pools.js';

export const VIP_ASSIGNED = 'VIPAssigned';

const created = (o: { metadata?: { creationTimestamp?: Date | string } }): string => {
  const t = o.metadata?.creationTimestamp;
  return t instanceof Date ? t.toISOString() : (t ?? '');
};

export function claimOf(plb: PortableLoadBalancer): Claim {
  const namespace = plb.metadata?.namespace ?? '';
  const name = plb.metadata?.name ?? '';
  const { vip, pool, ipFamily: family } = plb.spec;
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    created: created(plb),
    request: { vip: vip || undefined, pool: pool || undefined, family: vip ? ipFamily(vip) : family === 'IPv6' ? 6 : 4 },
    held: plb.status?.vip || undefined,
  };
}

export function poolInputOf(pool: VIPPool): PoolInput {
  return {
    name: pool.metadata?.name ?? '',
    created: created(pool),
    addresses: pool.spec.addresses,
    namespaces: pool.spec.namespaces,
    namespaceSelector: pool.spec.namespaceSelector,
    autoAssign: pool.spec.autoAssign,
    disabled: pool.spec.disabled,
  };
}

export interface AddressDecision {
  /** What status.vip and status.pool become. */
  vip?: string;
  pool?: string;
  condition: ConditionInput;
  /** Something the Degraded condition should say (a held address no pool allows any more). */
  degraded?: { reason: string; message: string };
}

export function addressDecision(outcome: Outcome): AddressDecision {
  if (!outcome.granted) return { condition: { type: VIP_ASSIGNED, status: 'False', reason: outcome.reason, message: outcome.message } };
  return {
    vip: outcome.vip,
    ...(outcome.pool ? { pool: outcome.pool } : {}),
    condition: { type: VIP_ASSIGNED, status: 'True', reason: outcome.reason, message: outcome.message },
    ...(outcome.reason === 'OutsidePool' ? { degraded: { reason: 'VIPOutsidePool', message: outcome.message } } : {}),
  };
}
