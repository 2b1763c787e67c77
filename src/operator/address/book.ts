// The operator's view of who holds which VIP: the allocator (a pure function) run over the informer caches, plus
// what this process decided but the caches do not show yet. Why the overlay: the work queue reconciles two keys
// at once and a status write reaches the cache a moment later; without it a second pass could hand out an
// address the first just granted. A move or a release counts as done only once the cache shows it, so an
// address is never granted to a second load balancer while the first one's status still names it. No I/O.
import { ipFamily } from '../../api/defaults.js';
import type { PortableLoadBalancer, VIPPool } from '../../api/generated.js';
import { allocate, type Allocation, type Claim, type Outcome } from '../allocator/allocate.js';
import { claimOf, poolInputOf } from './claims.js';

export interface AddressSources {
  plbs(): readonly PortableLoadBalancer[];
  pools(): readonly VIPPool[];
  namespaceLabels(namespace: string): Record<string, string> | undefined;
}

export class AddressBook {
  /** uid -> the VIP this process granted (null: released) that the cache may not show yet. */
  readonly #pending = new Map<string, string | null>();
  /** uid -> what of the PLB the allocator reads: most PLB events (agents' status entries) change none of it. */
  readonly #seen = new Map<string, string>();
  #allocation: Allocation | undefined;

  constructor(
    private readonly sources: AddressSources,
    private readonly singleTenant: boolean,
  ) {}

  /** Any cached object changed: the next decision recomputes. */
  invalidate(): void {
    this.#allocation = undefined;
  }

  allocation(): Allocation {
    this.#allocation ??= allocate({
      pools: this.sources.pools().map(poolInputOf),
      claims: this.#claims(),
      namespaceLabels: (ns) => this.sources.namespaceLabels(ns),
      singleTenant: this.singleTenant,
    });
    return this.#allocation;
  }

  /** The outcome for one PLB, reserved at once (before its status write) so no concurrent pass can take it. */
  decide(plb: PortableLoadBalancer): Outcome {
    const claim = claimOf(plb);
    const outcome = this.allocation().outcomes.get(claim.key) ?? {
      granted: false as const,
      reason: 'NoPool' as const,
      message: 'being deleted: no new address is allocated',
    };
    const uid = plb.metadata?.uid ?? '';
    const granted = outcome.granted ? outcome.vip : null;
    const cached = plb.status?.vip || null;
    if (granted !== cached) {
      if (this.#pending.get(uid) !== granted) {
        this.#pending.set(uid, granted);
        // Recording what this very allocation decided changes none of its outcomes, unless an address the
        // cache still shows held becomes free: until the cache shows the release, a stand-in keeps it taken.
        if (cached) this.invalidate();
      }
    } else if (this.#pending.delete(uid)) this.invalidate();
    return outcome;
  }

  /**
   * A PLB event from the cache: drops what the cache now shows. Returns true when an address may have become
   * free (a holder went away, or a release or move became visible), so pending PLBs should be tried again.
   */
  observe(plb: PortableLoadBalancer, deleted: boolean): boolean {
    const uid = plb.metadata?.uid ?? '';
    const seen = deleted ? undefined : claimFingerprint(plb);
    if (deleted || this.#seen.get(uid) !== seen) {
      this.invalidate();
      if (seen === undefined) this.#seen.delete(uid);
      else this.#seen.set(uid, seen);
    }
    if (deleted) {
      this.#pending.delete(uid);
      return Boolean(plb.status?.vip);
    }
    if (!this.#pending.has(uid)) return false;
    const want = this.#pending.get(uid)!;
    if ((plb.status?.vip || null) !== want) return false;
    this.#pending.delete(uid);
    return true;
  }

  /** Cached PLBs as claims; a deleting one keeps what it holds but asks for nothing new. */
  #claims(): Claim[] {
    const claims: Claim[] = [];
    for (const plb of this.sources.plbs()) {
      const claim = claimOf(plb);
      const uid = plb.metadata?.uid ?? '';
      if (plb.metadata?.deletionTimestamp) {
        if (claim.held) claims.push({ ...claim, request: { vip: claim.held, family: ipFamily(claim.held) } });
        continue;
      }
      if (!this.#pending.has(uid)) {
        claims.push(claim);
        continue;
      }
      const granted = this.#pending.get(uid) ?? undefined;
      claims.push({ ...claim, held: granted });
      // Until the cache shows the release, the old address stays taken by a stand-in of this claim.
      if (claim.held && claim.held !== granted) {
        claims.push({ ...claim, key: `${claim.key}#releasing`, request: { vip: claim.held, family: ipFamily(claim.held) }, held: claim.held });
      }
    }
    return claims;
  }
}

/** The fields of a PLB its claim is made of (see claims.ts claimOf), plus whether it is being deleted. */
function claimFingerprint(plb: PortableLoadBalancer): string {
  const m = plb.metadata ?? {};
  return JSON.stringify([m.namespace, m.name, String(m.creationTimestamp ?? ''), Boolean(m.deletionTimestamp), plb.spec.vip, plb.spec.pool, plb.spec.ipFamily, plb.status?.vip]);
}
