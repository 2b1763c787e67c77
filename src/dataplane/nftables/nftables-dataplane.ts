// The nftables data plane: kube-proxy's modern mode for one VIP, in the LB's own network namespace.
// Each apply reads the table back, plans active/draining backends, renders the whole table and, when the
// rendering differs from what is there, replaces its rules, sets and maps in one `nft -f` transaction; counter
// objects stay and keep counting. Established connections are conntrack's: they keep their translation across
// replaces and agent restarts. The table's family is the VIP's (`ip` or `ip6`); a VIP that changes family
// deletes the other family's table in the same transaction.
import type { ApplyResult, DataPlane, DataPlaneObservation, DesiredState } from '../types.js';
import { FAMILIES, TABLE, canonicalAddresses, counters, familyOf, type NftFamily } from './names.js';
import { nftCommand, writeSysctls, type NftRunner } from './nft.js';
import { observeTable } from './observe.js';
import { deleteTables, fingerprint, renderRuleset } from './render.js';
import { parseTable, planBackends, recordedBackends, type TableState } from './state.js';

export interface NftablesOptions {
  log(message: string): void;
  nft?: NftRunner;
  /** Seconds a removed backend stays in the table (counted, reported as draining). */
  drainSeconds?: number;
  now?: () => number;
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
    const current: TableState = (await this.table(f)) ?? { counters: new Map(), objects: null };
    // Only this process writes the table: once it programmed a family, the other one is known to be gone.
    const dropOtherFamily = this.family !== f && (await this.table(other(f))) !== null;
    const now = Math.floor((this.opts.now ?? Date.now)() / 1000);
    const backends = planBackends(desired, recordedBackends(current), now, this.opts.drainSeconds ?? 300);
    const input = { desired, backends, existing: current.objects ?? null, dropOtherFamily };
    const programmed = current.counters.get(counters.meta)?.comment;
    this.iface = desired.interface;
    if (programmed === `fingerprint ${fingerprint(input)}` && !dropOtherFamily) {
      this.family = f;
      return { changed: false, attach: 'netfilter', warnings };
    }
    await this.nft.run(renderRuleset(input));
    this.family = f;
    return { changed: true, attach: 'netfilter', warnings };
  }

  async observe(): Promise<DataPlaneObservation> {
    // Before the first apply (an agent that just restarted) the table is whichever family exists.
    const found = this.family
      ? await this.table(this.family)
      : (await this.table(FAMILIES.ip)) ?? (await this.table(FAMILIES.ip6));
    const table = found ?? { counters: new Map() };
    const { services, backends } = observeTable(table);
    const programmed = table.counters.has(counters.meta);
    return {
      dataPlane: this.name,
      attach: programmed ? 'netfilter' : null,
      interface: programmed ? this.iface : null,
      warnings: [],
      services,
      backends,
      global: {},
    };
  }

  /** The table stays unless `detach`/`purge`: conntrack and the rules keep serving while the agent restarts. */
  async close(options: { detach?: boolean; purge?: boolean } = {}): Promise<void> {
    if (options.detach || options.purge) await this.nft.run(deleteTables());
  }
}
