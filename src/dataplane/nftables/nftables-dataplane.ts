// The nftables data plane: kube-proxy's modern mode for one VIP, in the LB's own network namespace.
// Each apply knows what the table holds, plans active/draining backends, renders the whole table and, when the
// rendering differs from what is there, replaces its rules, sets and maps in one `nft -f` transaction; counter
// objects stay and keep counting. What the table holds is read back from the kernel after a start, after a failed
// transaction and at least every `verifyMs` (drift: someone else changed the table); in between, as only this
// process writes the table, it is what this process last committed. At 10 000 backends a listing is ~30 000
// objects: ~1 s and hundreds of MiB of JSON per apply, which a readiness change must not wait for. (Listing one
// object costs the same: nft fetches the table to list any of it, and nf_tables exposes no generation id.) Established connections are conntrack's: they keep their translation across
// replaces and agent restarts. The table's family is the VIP's (`ip` or `ip6`); a VIP that changes family
// deletes the other family's table in the same transaction.
import type { ApplyResult, DataPlane, DataPlaneObservation, DesiredState } from '../types.js';
import { FAMILIES, TABLE, canonicalAddresses, counters, familyOf, type NftFamily } from './names.js';
import { nftCommand, writeSysctls, type NftRunner } from './nft.js';
import { observeTable } from './observe.js';
import { renderDelta } from './delta.js';
import { conntrackCommand, type ConntrackRunner } from './conntrack.js';
import { flowsToEnd } from './flows.js';
import { deleteTables, renderPlan } from './render.js';
import { parseTable, planBackends, recordedBackends, type TableObjects, type TableState } from './state.js';
import type { BackendState } from './names.js';

/** What a table holds, as far as an apply needs it. */
interface Programmed {
  backends: Map<string, BackendState>;
  objects: TableObjects | null;
  /** The fingerprint of its rules (plb_meta's comment), undefined without a table. */
  fingerprint: string | undefined;
}

export interface NftablesOptions {
  log(message: string): void;
  nft?: NftRunner;
  /** Seconds a removed backend stays in the table (counted, reported as draining). */
  drainSeconds?: number;
  now?: () => number;
  /**
   * How long what this process committed is trusted without reading the table back (default 60 s): at most this
   * long until a change someone else made to the table is seen and repaired.
   */
  verifyMs?: number;
  /** Deletes conntrack entries (conntrack.ts); injectable for tests. */
  conntrack?: ConntrackRunner;
  /** Writes per-netns sysctls, returning the ones that failed (nft.ts: writeSysctls). */
  writeSysctls?: (values: Record<string, string>) => Promise<string[]>;
}

/** Per-netns settings a NAT load balancer needs for the VIP's family (see notes §2.5). */
export function natSysctls(iface: string, family: NftFamily = FAMILIES.ip): Record<string, string> {
  if (family.table === 'ip6') {
    return {
      'net/ipv6/conf/all/forwarding': '1',
      // A forwarding interface ignores router advertisements unless accept_ra is 2: a pod whose default route
      // came from one would lose it. (IPv6 has no send_redirects switch; the kernel sends a redirect only to an
      // on-link source, and a pod's clients are behind its gateway.)
      [`net/ipv6/conf/${iface}/accept_ra`]: '2',
    };
  }
  return {
    'net/ipv4/ip_forward': '1',
    // Requests leave through the interface they came in on (one eth0): without this the kernel would send the
    // node ICMP redirects pointing it at the backends directly.
    'net/ipv4/conf/all/send_redirects': '0',
    [`net/ipv4/conf/${iface}/send_redirects`]: '0',
  };
}

const other = (f: NftFamily): NftFamily => (f.table === 'ip' ? FAMILIES.ip6 : FAMILIES.ip);

export class NftablesDataPlane implements DataPlane {
  readonly name = 'nftables' as const;
  private readonly nft: NftRunner;
  private iface: string | null = null;
  /** The family of the table this process last programmed; null: not known yet (look in both). */
  private family: NftFamily | null = null;
  /** What this process last committed (renderPlan), and when the table was last read back in full. */
  private committed: (Programmed & { family: NftFamily; fingerprint: string; verifiedMs: number; desired: DesiredState }) | null = null;

  constructor(private readonly opts: NftablesOptions) {
    this.nft = opts.nft ?? nftCommand;
  }

  private async table(f: NftFamily): Promise<TableState | null> {
    const json = await this.nft.listTable(f.table, TABLE);
    return json === null ? null : parseTable(json, TABLE);
  }

  async apply(wanted: DesiredState): Promise<ApplyResult> {
    const desired = canonicalAddresses(wanted);
    const f = familyOf(desired.vip);
    const sysctls = this.opts.writeSysctls ?? writeSysctls;
    const warnings = (await sysctls(natSysctls(desired.interface, f))).map((s) => `could not set sysctl ${s}`);
    const current = await this.programmed(f);
    // Only this process writes the table: once it programmed a family, the other one is known to be gone.
    const dropOtherFamily = this.family !== f && (await this.table(other(f))) !== null;
    const now = Math.floor((this.opts.now ?? Date.now)() / 1000);
    const backends = planBackends(desired, current.backends, now, this.opts.drainSeconds ?? 300);
    const plan = renderPlan({ desired, backends, existing: current.objects, dropOtherFamily });
    this.iface = desired.interface;
    if (current.fingerprint === plan.fingerprint && !dropOtherFamily) {
      this.family = f;
      return { changed: false, attach: 'netfilter', warnings };
    }
    const c = current === this.committed ? this.committed : null;
    // From what we committed, the common change (backends only) is a small transaction (delta.ts).
    const delta = c ? renderDelta({ desired: c.desired, backends: c.backends }, { desired, backends, existing: current.objects, dropOtherFamily }, plan.fingerprint) : null;
    const verifiedMs = c ? c.verifiedMs : this.clock();
    this.committed = null;
    await this.nft.run(delta ?? plan.script);
    this.family = f;
    this.committed = { family: f, fingerprint: plan.fingerprint, backends, objects: plan.objects, verifiedMs, desired };
    // After the commit: a packet between a delete and the commit would set the old translation up again.
    warnings.push(...await this.endFlows(current.backends, backends, desired));
    return { changed: true, attach: 'netfilter', warnings };
  }

  /** Deletes the conntrack entries the new rules cannot change (flows.ts); failures are warnings, not errors. */
  private async endFlows(prev: Map<string, BackendState>, next: Map<string, BackendState>, desired: DesiredState): Promise<string[]> {
    const conntrack = this.opts.conntrack ?? conntrackCommand;
    const warnings: string[] = [];
    for (const f of flowsToEnd(prev, next, desired)) {
      try {
        const n = await conntrack.delete(f);
        if (n > 0) this.opts.log(`ended ${n} ${f.protocol} flow(s) of ${f.vip}:${f.port} to ${f.backend}:${f.targetPort} (${f.why})`);
      } catch (err) {
        warnings.push(`could not end the ${f.protocol} flows of ${f.vip}:${f.port} to ${f.backend} (${f.why}): ${(err as Error).message}`);
      }
    }
    return warnings;
  }

  private clock(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** What the table of family `f` holds: what we committed, unless it is time to read the table back. */
  private async programmed(f: NftFamily): Promise<Programmed> {
    const c = this.committed;
    if (c && c.family === f && this.clock() - c.verifiedMs < (this.opts.verifyMs ?? 60_000)) return c;
    if (c && c.family === f) {
      // Time to look: the table as read, but kept as ours (with its read time) only if it is what we wrote.
      const read = await this.readProgrammed(f);
      if (read.fingerprint === c.fingerprint) {
        this.committed = { ...c, verifiedMs: this.clock() };
        return this.committed;
      }
      return read;
    }
    return this.readProgrammed(f);
  }

  private async readProgrammed(f: NftFamily): Promise<Programmed> {
    const table: TableState = (await this.table(f)) ?? { counters: new Map(), objects: null };
    const comment = table.counters.get(counters.meta)?.comment;
    return {
      backends: recordedBackends(table), objects: table.objects ?? null,
      fingerprint: comment?.startsWith('fingerprint ') ? comment.slice('fingerprint '.length) : undefined,
    };
  }

  async observe(): Promise<DataPlaneObservation> {
    // Before the first apply (an agent that just restarted) the table is whichever family exists.
    const found = this.family
      ? await this.table(this.family)
      : (await this.table(FAMILIES.ip)) ?? (await this.table(FAMILIES.ip6));
    const table = found ?? { counters: new Map() };
    const { services, backends, global } = observeTable(table);
    const programmed = table.counters.has(counters.meta);
    return {
      dataPlane: this.name,
      attach: programmed ? 'netfilter' : null,
      interface: programmed ? this.iface : null,
      warnings: [],
      services,
      backends,
      global: programmed ? global : {},
    };
  }

  /** The table stays unless `detach`/`purge`: conntrack and the rules keep serving while the agent restarts. */
  async close(options: { detach?: boolean; purge?: boolean } = {}): Promise<void> {
    if (options.detach || options.purge) {
      this.committed = null;
      await this.nft.run(deleteTables());
    }
  }
}
