// Who holds which VIP: a pure function of (pools, claims). Every PortableLoadBalancer is one claim: what it asks
// for (spec.vip, spec.pool, the family) and what it already holds (status.vip, the allocation record the API
// keeps). Holders are settled first, so an address once given is never handed to anyone else while its holder
// exists — not after a restart, not after a pool shrinks or is disabled (the holder keeps it and is told).
// Then the requests are served oldest first, so the outcome does not depend on the order events arrive in.
import type { IpFamily } from '../../api/defaults.js';
import { contains, formatIp, parseIp, usable, usableCount, type AddressRange } from './addresses.js';
import { allocatable, byAge, evaluatePools, type Pool, type PoolInput } from './pools.js';

export interface Claim {
  /** namespace/name */
  key: string;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp: among requests (and, rarely, two holders of one address) the older wins. */
  created: string;
  request: { vip?: string | undefined; pool?: string | undefined; family: IpFamily };
  /** status.vip: the address this claim held when last written. */
  held?: string | undefined;
}

export interface AllocationInput {
  pools: readonly PoolInput[];
  claims: readonly Claim[];
  namespaceLabels: (namespace: string) => Record<string, string> | undefined;
  /** Without pools every VIP outside them is accepted (still one owner per address): one trusted tenant. */
  singleTenant: boolean;
}

export type GrantReason = 'Allocated' | 'Requested' | 'Unrestricted' | 'OutsidePool';
export type RefusalReason = 'VIPConflict' | 'VIPNotAllowed' | 'NoPool' | 'PoolExhausted' | 'PoolDisabled' | 'PoolConflict';

export type Outcome =
  | { granted: true; vip: string; pool?: string; reason: GrantReason; message: string }
  | { granted: false; reason: RefusalReason; message: string };

export interface FamilyUsage {
  total: bigint;
  used: number;
  free: bigint;
}

export interface Allocation {
  outcomes: Map<string, Outcome>;
  pools: Pool[];
  /** Per pool and family: what exists, what is held, what can still be handed out. */
  usage: Map<string, Partial<Record<IpFamily, FamilyUsage>>>;
}

const fam = (f: IpFamily) => `IPv${f}`;
const addrKey = (ip: { family: IpFamily; value: bigint }) => `${ip.family}/${ip.value}`;

export function allocate(input: AllocationInput): Allocation {
  const pools = evaluatePools(input.pools);
  const byName = new Map(pools.map((p) => [p.name, p]));
  const taken = new Map<string, Claim>();
  const outcomes = new Map<string, Outcome>();
  const allows = (p: Pool, c: Claim) => p.allows(c.namespace, input.namespaceLabels(c.namespace));
  const containing = (ip: { family: IpFamily; value: bigint }) => pools.filter((p) => p.ranges.some((r) => contains(r, ip)));

  const conflict = (c: Claim, vip: string): Outcome => {
    const holder = taken.get(addrKey(parseIp(vip)!))!;
    // Another tenant's load balancer is not this tenant's business: name it only within the same namespace.
    const who = holder.namespace === c.namespace ? `PortableLoadBalancer ${holder.name} in this namespace` : 'another load balancer';
    return { granted: false, reason: 'VIPConflict', message: `${vip} is already held by ${who}; choose another address or leave spec.vip empty to be given one` };
  };

  // 1. Holders, oldest first: a held address stays with its holder as long as the holder still asks for it.
  const claims = [...input.claims].sort(byAge((c) => c.key));
  const pending: Claim[] = [];
  for (const c of claims) {
    const held = c.held ? parseIp(c.held) : undefined;
    const wanted = c.request.vip ? parseIp(c.request.vip) : undefined;
    const stillAsked =
      held !== undefined &&
      held.family === c.request.family &&
      (wanted === undefined || wanted.value === held.value) &&
      (c.request.pool === undefined || !byName.has(c.request.pool) || containing(held).some((p) => p.name === c.request.pool));
    if (!held || !stillAsked) {
      pending.push(c);
      continue;
    }
    const vip = formatIp(held.family, held.value);
    if (taken.has(addrKey(held))) {
      outcomes.set(c.key, conflict(c, vip));
      continue;
    }
    taken.set(addrKey(held), c);
    const home = containing(held).filter((p) => allows(p, c));
    const pool = home.find(allocatable) ?? home[0];
    const how: GrantReason = c.request.vip ? 'Requested' : 'Allocated';
    if (pool) outcomes.set(c.key, { granted: true, vip, pool: pool.name, reason: how, message: `holds ${vip} from pool ${pool.name}` });
    else if (input.singleTenant && containing(held).length === 0) {
      outcomes.set(c.key, { granted: true, vip, reason: 'Unrestricted', message: `holds ${vip} (single-tenant mode: outside every VIPPool)` });
    } else {
      outcomes.set(c.key, {
        granted: true,
        vip,
        reason: 'OutsidePool',
        message: `keeps ${vip}, which no VIPPool allowing namespace ${c.namespace} contains any more; a held address never moves: change or delete this load balancer to release it`,
      });
    }
  }

  // 2. Requests, oldest first. A cursor per range: within one pass "used" only grows, so addresses before it stay used.
  const cursor = new Map<AddressRange, bigint>();
  const firstFree = (p: Pool, family: IpFamily): bigint | undefined => {
    for (const r of p.ranges) {
      if (r.family !== family) continue;
      for (let v = cursor.get(r) ?? r.first; v <= r.last; v++) {
        if (usable(r, v) && !taken.has(addrKey({ family, value: v }))) {
          cursor.set(r, v);
          return v;
        }
      }
      cursor.set(r, r.last + 1n);
    }
    return undefined;
  };

  for (const c of pending) {
    const outcome = c.request.vip ? requested(c, c.request.vip) : auto(c);
    if (outcome.granted) taken.set(addrKey(parseIp(outcome.vip)!), c);
    outcomes.set(c.key, outcome);
  }

  function requested(c: Claim, vip: string): Outcome {
    const ip = parseIp(vip);
    if (!ip) return { granted: false, reason: 'VIPNotAllowed', message: `${vip} is not an IP address` };
    if (taken.has(addrKey(ip))) return conflict(c, vip);
    const named = c.request.pool;
    const inPools = containing(ip);
    if (named !== undefined) {
      const p = byName.get(named);
      if (!p || !allows(p, c)) return { granted: false, reason: 'VIPNotAllowed', message: `no VIPPool named ${named} allows namespace ${c.namespace}` };
      if (!inPools.includes(p)) return { granted: false, reason: 'VIPNotAllowed', message: `${vip} is not in pool ${named}` };
    }
    const candidates = inPools.filter((p) => (named === undefined || p.name === named) && allows(p, c));
    if (candidates.length === 0) {
      if (inPools.length === 0 && input.singleTenant) {
        return { granted: true, vip, reason: 'Unrestricted', message: `holds ${vip} (single-tenant mode: outside every VIPPool)` };
      }
      return {
        granted: false,
        reason: 'VIPNotAllowed',
        message: `${vip} is in no VIPPool that allows namespace ${c.namespace}: ask the cluster admin for a pool, or leave spec.vip empty to be given an address`,
      };
    }
    const pool = candidates.find(allocatable);
    if (!pool) {
      const p = candidates[0]!;
      return p.disabled
        ? { granted: false, reason: 'PoolDisabled', message: `${vip} is in pool ${p.name}, which is disabled: it hands out no new addresses` }
        : { granted: false, reason: 'PoolConflict', message: `${vip} is in pool ${p.name}, which overlaps another pool or is invalid and allocates nothing until the admin fixes it` };
    }
    if (!pool.ranges.some((r) => usable(r, ip.value))) {
      return { granted: false, reason: 'VIPNotAllowed', message: `${vip} is the subnet-router anycast address of its CIDR in pool ${pool.name}; choose another` };
    }
    return { granted: true, vip, pool: pool.name, reason: 'Requested', message: `holds ${vip} from pool ${pool.name}` };
  }

  function auto(c: Claim): Outcome {
    const family = c.request.family;
    const named = c.request.pool;
    let eligible: Pool[];
    if (named !== undefined) {
      const p = byName.get(named);
      if (!p || !allows(p, c)) return { granted: false, reason: 'VIPNotAllowed', message: `no VIPPool named ${named} allows namespace ${c.namespace}` };
      eligible = [p];
    } else {
      eligible = pools.filter((p) => p.autoAssign && allows(p, c));
    }
    eligible = eligible.filter((p) => p.ranges.some((r) => r.family === family));
    const open = eligible.filter(allocatable);
    if (open.length === 0) {
      const message =
        eligible.length === 0
          ? named !== undefined
            ? `pool ${named} has no ${fam(family)} addresses`
            : `no VIPPool with ${fam(family)} addresses and autoAssign allows namespace ${c.namespace}: ask the cluster admin for one`
          : `every pool with ${fam(family)} addresses allowing namespace ${c.namespace} is disabled or in conflict: ${eligible.map((p) => p.name).join(', ')}`;
      return { granted: false, reason: 'NoPool', message };
    }
    for (const p of open) {
      const v = firstFree(p, family);
      if (v !== undefined) {
        const vip = formatIp(family, v);
        return { granted: true, vip, pool: p.name, reason: 'Allocated', message: `allocated ${vip} from pool ${p.name}` };
      }
    }
    return {
      granted: false,
      reason: 'PoolExhausted',
      message: `every ${fam(family)} address of pool(s) ${open.map((p) => p.name).join(', ')} is in use; waiting for one to be released`,
    };
  }

  return { outcomes, pools, usage: usageOf(pools, taken) };
}

function usageOf(pools: readonly Pool[], taken: ReadonlyMap<string, Claim>): Allocation['usage'] {
  const held = [...taken.keys()].map((k) => {
    const [f, v] = k.split('/');
    return { family: Number(f) as IpFamily, value: BigInt(v!) };
  });
  const usage: Allocation['usage'] = new Map();
  for (const p of pools) {
    const perFamily: Partial<Record<IpFamily, FamilyUsage>> = {};
    for (const family of [4, 6] as const) {
      const ranges = p.ranges.filter((r) => r.family === family);
      if (ranges.length === 0) continue;
      const total = ranges.reduce((sum, r) => sum + usableCount(r), 0n);
      const used = held.filter((h) => ranges.some((r) => usable(r, h.value) && contains(r, h))).length;
      const free = allocatable(p) ? total - BigInt(used) : 0n;
      perFamily[family] = { total, used, free: free < 0n ? 0n : free };
    }
    usage.set(p.name, perFamily);
  }
  return usage;
}
