// A VIPPool's status from one allocation pass: per-family counts and the Ready/Conflict conditions. Pure.
import { setConditions } from '../../api/conditions.js';
import type { VIPPool, VIPPoolStatus } from '../../api/generated.js';
import type { Allocation } from '../allocator/allocate.js';
import { poolConditions } from '../allocator/pools.js';

export function poolStatus(pool: VIPPool, allocation: Allocation, now: Date): VIPPoolStatus {
  const name = pool.metadata?.name ?? '';
  const generation = pool.metadata?.generation ?? 0;
  const evaluated = allocation.pools.find((p) => p.name === name);
  const usage = allocation.usage.get(name) ?? {};
  const counts = (f: 4 | 6) => {
    const u = usage[f];
    return u ? { total: String(u.total), used: u.used, free: String(u.free) } : undefined;
  };
  const ipv4 = counts(4);
  const ipv6 = counts(6);
  return {
    observedGeneration: generation,
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    conditions: evaluated ? setConditions(pool.status?.conditions, poolConditions(evaluated), generation, now) : pool.status?.conditions ?? [],
  };
}
