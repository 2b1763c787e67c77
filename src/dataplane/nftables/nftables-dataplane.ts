// The nftables data plane: kube-proxy's modern mode for one VIP, in the LB's own network namespace.
// Each apply reads the table back, plans active/draining backends, renders the whole table and, when the
// rendering differs from what is there, replaces its rules, sets and maps in one `nft -f` transaction; counter
// objects stay and keep counting. Established connections are conntrack's: they keep their translation across
// replaces and agent restarts.
import type { ApplyResult, DataPlane, DataPlaneObservation, DesiredState } from '../types.js';
import { FAMILY, TABLE, counters } from './names.js';
import { nftCommand, writeSysctls, type NftRunner } from './nft.js';
import { observeTable } from './observe.js';
import { deleteTable, fingerprint, renderRuleset } from './render.js';
import { parseTable, planBackends, recordedBackends, type TableState } from './state.js';

export interface NftablesOptions {
  log(message: string): void;
  nft?: NftRunner;
  /** Seconds a removed backend stays in the table (counted, reported as draining). */
  drainSeconds?: number;
  now?: () => number;
}

/** Per-netns settings a NAT load balancer needs (see notes §2.5). */
export function natSysctls(iface: string): Record<string, string> {
  return {
    'net/ipv4/ip_forward': '1',
    // Requests leave through the interface they came in on (one eth0): without this the kernel would send the
    // node ICMP redirects pointing it at the backends directly.
    'net/ipv4/conf/all/send_redirects': '0',
    [`net/ipv4/conf/${iface}/send_redirects`]: '0',
  };
}

export class NftablesDataPlane implements DataPlane {
  readonly name = 'nftables' as const;
  private readonly nft: NftRunner;
  private iface: string | null = null;

  constructor(private readonly opts: NftablesOptions) {
    this.nft = opts.nft ?? nftCommand;
  }

  private async table(): Promise<TableState> {
    const json = await this.nft.listTable(FAMILY, TABLE);
    return json === null ? { counters: new Map(), objects: null } : parseTable(json, TABLE);
  }

  async apply(desired: DesiredState): Promise<ApplyResult> {
    const warnings = (await writeSysctls(natSysctls(desired.interface))).map((s) => `could not set sysctl ${s}`);
    const current = await this.table();
    const now = Math.floor((this.opts.now ?? Date.now)() / 1000);
    const backends = planBackends(desired, recordedBackends(current), now, this.opts.drainSeconds ?? 300);
    const input = { desired, backends, existing: current.objects ?? null };
    const programmed = current.counters.get(counters.meta)?.comment;
    this.iface = desired.interface;
    if (programmed === `fingerprint ${fingerprint(input)}`) return { changed: false, attach: 'netfilter', warnings };
    await this.nft.run(renderRuleset(input));
    return { changed: true, attach: 'netfilter', warnings };
  }

  async observe(): Promise<DataPlaneObservation> {
    const table = await this.table();
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
    if (options.detach || options.purge) await this.nft.run(deleteTable());
  }
}
