// The ipvs data plane: the kernel's IP Virtual Server in NAT mode inside the LB's own network namespace, the
// study's original data plane. VIP on lo (IPVS works in LOCAL_IN, so the VIP must be a local address), services
// and destinations programmed over generic netlink by diff, SNAT by a small nftables table. IPv4 and IPv6 VIPs
// alike: IPVS, the masquerade and the VIP's mark on lo each take the VIP's family.
import type { IpFamily } from '../../api/defaults.js';
import { canonicalAddresses } from '../ipv6.js';
import { nftCommand, writeSysctls, type NftRunner } from '../nftables/nft.js';
import { familyOf } from '../nftables/names.js';
import { natSysctls } from '../nftables/nftables-dataplane.js';
import type { ApplyResult, BackendObservation, DataPlane, DataPlaneObservation, DesiredState, ServiceObservation } from '../types.js';
import { IpvsClient } from './client.js';
import { IPVS_SYSCTLS } from './sysctls.js';
import { ipCommand, planLocalAddresses, VIP_DEVICE, type LocalAddresses } from './local-addresses.js';
import { MASQ_TABLE, renderMasquerade } from './masquerade.js';
import { desiredServices, planSync, serviceId, type Op, type ServiceState } from './sync.js';
import { openIpvsTransport, type GenlTransport } from './transport.js';


/**
 * IPVS's timeout for an established TCP connection with no packet, set in the LB pod's namespace: the xdp
 * plane's default (Cilium's 6 h) instead of IPVS's 900 s. When IPVS forgets a connection it takes the
 * connection's conntrack entry with it, and the next segment meets nothing that knows it: a backend speaking
 * first after 15 min of quiet (server-sent events, a gRPC stream, a database push) reaches the LB pod's own TCP
 * at the SNAT address, which answers it with a RST; so does the client's next segment (IPVS schedules only SYNs).
 */
export const IPVS_TCP_ESTABLISHED_SECONDS = 21_600;

export interface IpvsOptions {
  log(message: string): void;
  /** For tests: a fake kernel instead of the netlink socket. */
  openTransport?: () => Promise<GenlTransport>;
  nft?: NftRunner;
  /** The VIPs on lo (`ip addr`); injectable for tests. */
  addresses?: LocalAddresses;
}

export class IpvsDataPlane implements DataPlane {
  readonly name = 'ipvs' as const;
  private client: IpvsClient | null = null;
  private transport: GenlTransport | null = null;
  private lastMasq = '';
  /** Families whose masquerade table may exist; null until looked up (a restarted agent finds its predecessor's). */
  private masqFamilies: Set<IpFamily> | null = null;
  private last: DesiredState | null = null;
  /** Why IPVS could not be opened (e.g. KernelFeatureMissing), reported by observe() until it can. */
  private unavailable: string | null = null;

  constructor(private readonly opts: IpvsOptions) {}

  /** Opened on first use and retried on every apply: a node that loads the modules later recovers. */
  private async ipvs(): Promise<IpvsClient> {
    if (!this.client) {
      try {
        this.transport = await (this.opts.openTransport ?? openIpvsTransport)();
      } catch (err) {
        this.unavailable = (err as Error).message;
        throw err;
      }
      this.unavailable = null;
      this.client = new IpvsClient(this.transport);
    }
    return this.client;
  }

  async apply(wanted: DesiredState): Promise<ApplyResult> {
    // IPVS dumps print IPv6 addresses in RFC 5952 form: so must the desired state, or every sync would differ.
    const desired = canonicalAddresses(wanted);
    const ipvs = await this.ipvs();
    const failed = await writeSysctls({ ...natSysctls(desired.interface, familyOf(desired.vip)), ...IPVS_SYSCTLS });
    const warnings = failed.map((s) => `could not set sysctl ${s}`);
    const timeout = await this.tcpTimeout(ipvs);
    if (timeout) warnings.push(timeout);
    const want = desiredServices(desired);
    const current = await ipvs.dump();
    const ops = planSync(want, current);
    const addrs = this.opts.addresses ?? ipCommand;
    // The desired VIP goes on lo before its services exist; an old VIP goes once no service drains through it
    // any more (until then its established connections still arrive at it).
    const deleted = new Set(ops.filter((o) => o.op === 'delService').map((o) => serviceId(o.service)));
    const needed = new Set([desired.vip, ...current.filter((s) => !deleted.has(serviceId(s))).map((s) => s.vip)]);
    const local = planLocalAddresses(await addrs.list(VIP_DEVICE), needed);
    for (const cidr of local.add) await addrs.add(cidr, VIP_DEVICE);
    for (const op of ops) await ipvs.run(op);
    for (const cidr of local.del) await addrs.del(cidr, VIP_DEVICE);
    const masq = renderMasquerade(desired, drainingDests(want, current, ops), await this.masqueradePresent());
    const masqChanged = masq.script !== this.lastMasq;
    if (masqChanged) {
      await (this.opts.nft ?? nftCommand).run(masq.script);
      this.lastMasq = masq.script;
      this.masqFamilies = new Set(masq.families);
    }
    const changed = ops.length > 0 || local.add.length > 0 || local.del.length > 0 || masqChanged || this.last === null;
    this.last = desired;
    if (local.add.length + local.del.length > 0) this.opts.log(`ipvs: ${VIP_DEVICE} ${[...local.add.map((c) => `+${c}`), ...local.del.map((c) => `-${c}`)].join(' ')}`);
    if (ops.length > 0) this.opts.log(`ipvs: ${ops.map((o) => `${o.op} ${serviceId(o.service)}${'dest' in o ? ` ${o.dest.ip}:${o.dest.port}*${o.dest.weight}` : ''}`).join('; ')}`);
    return { changed, attach: 'netfilter', warnings };
  }

  async observe(): Promise<DataPlaneObservation> {
    const base = { dataPlane: this.name, warnings: this.unavailable ? [this.unavailable] : [], global: {} };
    if (!this.client || !this.last) return { ...base, attach: null, interface: null, services: [], backends: [] };
    const current = await this.client.dump();
    return { ...base, attach: 'netfilter', interface: this.last.interface, ...observeIpvs(current, this.last) };
  }

  /**
   * IPVS state stays unless `detach`/`purge`: established connections keep flowing while the agent restarts.
   * Detaching removes our services, the masquerade table and the VIPs this plane put on lo.
   */
  async close(options: { detach?: boolean; purge?: boolean } = {}): Promise<void> {
    if ((options.detach || options.purge) && this.client) {
      for (const s of await this.client.dump()) {
        if (s.vip === this.last?.vip) await this.client.run({ op: 'delService', service: s });
      }
      const tables = [...await this.masqueradePresent()].map((f) => (f === 4 ? 'ip' : 'ip6'));
      if (tables.length > 0) await (this.opts.nft ?? nftCommand).run(tables.map((t) => `add table ${t} ${MASQ_TABLE}\ndelete table ${t} ${MASQ_TABLE}\n`).join(''));
      this.masqFamilies = new Set();
      this.lastMasq = '';
      const addrs = this.opts.addresses ?? ipCommand;
      const remaining = new Set((await this.client.dump()).map((s) => s.vip));
      for (const cidr of planLocalAddresses(await addrs.list(VIP_DEVICE), remaining).del) await addrs.del(cidr, VIP_DEVICE);
    }
    this.transport?.close();
    this.client = null;
    this.transport = null;
  }

  /** Sets IPVS_TCP_ESTABLISHED_SECONDS where it differs; a failure is a warning (balancing works without it). */
  private async tcpTimeout(ipvs: IpvsClient): Promise<string | null> {
    try {
      const t = await ipvs.timeouts();
      if (t.tcp === IPVS_TCP_ESTABLISHED_SECONDS) return null;
      await ipvs.setTimeouts({ tcp: IPVS_TCP_ESTABLISHED_SECONDS });
      this.opts.log(`ipvs: TCP established timeout ${t.tcp} s -> ${IPVS_TCP_ESTABLISHED_SECONDS} s`);
      return null;
    } catch (err) {
      return `could not set IPVS's TCP timeout to ${IPVS_TCP_ESTABLISHED_SECONDS} s (idle connections end after its ` +
        `own, 900 s by default): ${(err as Error).message}`;
    }
  }

  /** The families whose masquerade table may exist: looked up in the kernel once, then known from what we wrote. */
  private async masqueradePresent(): Promise<Set<IpFamily>> {
    if (this.masqFamilies) return this.masqFamilies;
    const nft = this.opts.nft ?? nftCommand;
    const found = new Set<IpFamily>();
    for (const f of [4, 6] as const) if ((await nft.listTable(f === 4 ? 'ip' : 'ip6', MASQ_TABLE)) !== null) found.add(f);
    this.masqFamilies = found;
    return found;
  }
}

/** Destinations left draining after `ops` (in IPVS, not desired): their connections still need the masquerade. */
function drainingDests(want: ReturnType<typeof desiredServices>, current: ServiceState[], ops: Op[]) {
  const id = (protocol: string, d: { ip: string; port: number }) => `${protocol} ${d.ip}:${d.port}`;
  const notDraining = new Set(want.flatMap((s) => s.dests.map((d) => id(s.protocol, d))));
  for (const o of ops) if (o.op === 'delDest') notDraining.add(id(o.service.protocol, o.dest));
  return current.flatMap((s) => s.dests
    .filter((d) => !notDraining.has(id(s.protocol, d)))
    .map((d) => ({ ip: d.ip, port: d.port, protocol: s.protocol })));
}

/** IPVS's own counters -> the observation. In NAT mode "in" is client -> backend, "out" the replies. */
export function observeIpvs(current: ServiceState[], desired: DesiredState): { services: ServiceObservation[]; backends: BackendObservation[] } {
  const services = current.filter((s) => s.vip === desired.vip).map((s): ServiceObservation => {
    const targetPort = desired.ports.find((p) => p.port === s.port && p.protocol === s.protocol)?.targetPort ?? s.dests[0]?.port ?? 0;
    return {
      vip: s.vip, port: s.port, protocol: s.protocol, targetPort,
      packets: s.stats.inPackets, bytes: s.stats.inBytes, replyPackets: s.stats.outPackets, replyBytes: s.stats.outBytes,
      newFlows: s.stats.conns, noBackend: 0, snatExhausted: 0, fibFailures: 0,
    };
  });
  const byIp = new Map<string, BackendObservation>();
  for (const s of current.filter((x) => x.vip === desired.vip)) {
    for (const d of s.dests) {
      const b = byIp.get(d.ip) ?? { ip: d.ip, state: 'draining', packets: 0, bytes: 0, replyPackets: 0, replyBytes: 0, newFlows: 0 };
      if (d.weight > 0) b.state = 'active';
      b.packets += d.stats.inPackets; b.bytes += d.stats.inBytes;
      b.replyPackets += d.stats.outPackets; b.replyBytes += d.stats.outBytes; b.newFlows += d.stats.conns;
      byIp.set(d.ip, b);
    }
  }
  return { services, backends: [...byIp.values()].sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true })) };
}
