// Names of the objects in the agent's nftables table, and the metadata kept in element comments of two sets.
// The table is the only state the nftables data plane has: a restarted agent reads everything it needs back
// from it. The metadata is not kept on the counters: a counter object survives a replace only if it is never
// redefined, and its comment cannot change without redefining it.
import { ipFamily } from '../../api/defaults.js';
import type { L4Protocol } from '../types.js';

export const TABLE = 'portable_lb';

/**
 * The table's family follows the VIP's (nf_tables NAT in an `ip` table sees IPv4 only, in `ip6` IPv6 only), and
 * with it the words of its rules: the address type of sets and maps, and the expression of an address.
 */
export interface NftFamily {
  table: 'ip' | 'ip6';
  /** `ip daddr`, `ip6 saddr`, `ct original ip6 daddr`. */
  l3: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
  /** An address with a port, as `dnat to` takes it: `10.0.0.1:80`, `[2001:db8::1]:80`. */
  withPort(ip: string, port: number): string;
}

export const FAMILIES = {
  ip: { table: 'ip', l3: 'ip', addrType: 'ipv4_addr', withPort: (ip, port) => `${ip}:${port}` },
  ip6: { table: 'ip6', l3: 'ip6', addrType: 'ipv6_addr', withPort: (ip, port) => `[${ip}]:${port}` },
} as const satisfies Record<string, NftFamily>;

export const familyOf = (vip: string): NftFamily => (ipFamily(vip) === 6 ? FAMILIES.ip6 : FAMILIES.ip);

/** IPv6 addresses as nft prints them back (shared with the ipvs plane, which reads them back from IPVS dumps). */
export { canonicalAddresses } from '../ipv6.js';

/** `tcp_80`: a service is one (protocol, port) of the VIP. */
export const serviceKey = (protocol: L4Protocol, port: number): string => `${protocol.toLowerCase()}_${port}`;
/** `10_240_1_1`, `2001_db8__1`: nft identifiers allow letters, digits and `_`, not dots or colons. */
export const backendKey = (ip: string): string => ip.replace(/[.:]/g, '_');

export const counters = {
  /** Connections that entered the service chain (a new conntrack entry: only those traverse nat chains). */
  serviceFlows: (svc: string) => `svc_${svc}_flows`,
  serviceNoBackend: (svc: string) => `svc_${svc}_nobackend`,
  serviceTx: (svc: string) => `svc_${svc}_tx`,
  serviceRx: (svc: string) => `svc_${svc}_rx`,
  backendFlows: (ip: string) => `be_${backendKey(ip)}_flows`,
  backendTx: (ip: string) => `be_${backendKey(ip)}_tx`,
  backendRx: (ip: string) => `be_${backendKey(ip)}_rx`,
  /** Carries the fingerprint of the rendered rules, so an unchanged state is not replaced. */
  meta: 'plb_meta',
  /** Packets to the VIP no service takes (another port or protocol, ICMP echo, invalid): dropped (render.ts). */
  vipUnserved: 'vip_unserved',
  /** TCP segments to a served port of a flow the LB does not know (not a SYN): answered with a RST. */
  vipStale: 'vip_stale',
};

/**
 * Sets whose element comments carry the metadata (`10.240.1.1 comment "active"`); `services` is also what the
 * vip chain lets through (render.ts), `backends` no rule matches.
 */
export const sets = {
  backends: 'backends',
  services: 'services',
};

export type BackendState = { state: 'active' } | { state: 'draining'; since: number };

/** Comment on a backend's element of the `backends` set: its state survives agent restarts inside the table. */
export function backendComment(b: BackendState): string {
  return b.state === 'active' ? 'active' : `draining since ${b.since}`;
}

export function parseBackendComment(comment: string | undefined): BackendState | null {
  if (comment === 'active') return { state: 'active' };
  const m = /^draining since (\d+)$/.exec(comment ?? '');
  return m ? { state: 'draining', since: Number(m[1]) } : null;
}

export interface ServiceMeta {
  vip: string;
  port: number;
  protocol: L4Protocol;
  targetPort: number;
}

/** Comment on a service's element of the `services` set: `10.240.200.10 80 TCP 8080`. */
export const serviceComment = (s: ServiceMeta): string => `${s.vip} ${s.port} ${s.protocol} ${s.targetPort}`;

export function parseServiceComment(comment: string | undefined): ServiceMeta | null {
  const m = /^(\S+) (\d+) (TCP|UDP) (\d+)$/.exec(comment ?? '');
  return m ? { vip: m[1]!, port: Number(m[2]), protocol: m[3] as L4Protocol, targetPort: Number(m[4]) } : null;
}
