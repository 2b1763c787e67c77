// The SNAT half of IPVS NAT inside a pod: replies must come back through the LB, so requests leave with the
// LB's address. IPVS connections carry no conntrack "dnat" status (IPVS is not nf_nat), so the rule matches
// what IPVS sends: the backends' address and port (net.ipv4.vs.conntrack=1 gives them conntrack entries that
// nf_nat can masquerade, IPv4 and IPv6 alike). No random/fully-random: the client's port is kept when free
// (notes §5.3).
//
// One table per family (`ip` / `ip6 portable_lb_ipvs`: an nf_tables NAT chain sees one family): the VIP's family
// holds the desired backends, and either may hold draining ones - after a VIP changed family, the old family's
// services drain through their own table until IPVS deletes them. A family with nothing to masquerade and no VIP
// has no table; it is only named in the transaction when its table may exist (`present`), so a kernel or pod
// without IPv6 never sees an ip6 command for an IPv4 VIP.
import { ipFamily, type IpFamily } from '../../api/defaults.js';
import { FAMILIES } from '../nftables/names.js';
import type { DesiredState, L4Protocol } from '../types.js';

export const MASQ_TABLE = 'portable_lb_ipvs';

export interface MasqueradedBackend { ip: string; port: number; protocol: L4Protocol }

/** The nft transaction, and the families whose table it writes (the others it deletes or leaves alone). */
export interface Masquerade { script: string; families: ReadonlySet<IpFamily> }

/**
 * One transaction replacing the tables of the families that need one and deleting those of `present` (families
 * whose table may exist) that do not (see nftables/render.ts for the add/delete idiom).
 */
export function renderMasquerade(desired: DesiredState, drainingBackends: MasqueradedBackend[], present: ReadonlySet<IpFamily> = new Set()): Masquerade {
  const all: MasqueradedBackend[] = [
    ...desired.ports.flatMap((p) => desired.backends.map((b) => ({ ip: b.ip, port: p.targetPort, protocol: p.protocol }))),
    // Draining backends still carry established connections whose new packets must keep being masqueraded.
    ...drainingBackends,
  ];
  const vipFamily = ipFamily(desired.vip);
  const families = new Set<IpFamily>([vipFamily, ...all.map((b) => ipFamily(b.ip))]);
  const script = ([4, 6] as const).flatMap((family) => {
    if (families.has(family)) return familyTable(family, family === vipFamily ? desired : null, all.filter((b) => ipFamily(b.ip) === family));
    return present.has(family) ? reset(family) : [];
  });
  return { script: `${script.join('\n')}\n`, families };
}

const reset = (family: IpFamily): string[] => {
  const t = family === 4 ? 'ip' : 'ip6';
  return [`add table ${t} ${MASQ_TABLE}`, `delete table ${t} ${MASQ_TABLE}`];
};

function familyTable(family: IpFamily, desired: DesiredState | null, backends: MasqueradedBackend[]): string[] {
  const f = family === 4 ? FAMILIES.ip : FAMILIES.ip6;
  const elements = [...new Set(backends.map((b) => `${b.ip} . ${b.protocol.toLowerCase()} . ${b.port}`))].sort();
  return [
    ...reset(family),
    `table ${f.table} ${MASQ_TABLE} {`,
    '  set backends {',
    `    type ${f.addrType} . inet_proto . inet_service`,
    ...(elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ${f.l3} daddr . meta l4proto . th dport @backends masquerade`,
    '  }',
    ...(desired ? mssClamp(desired, f.l3) : []),
    '}',
  ];
}

/**
 * Lowers the MSS option of SYNs to the backends and SYN-ACKs back to clients to desired.tcpMssClamp. Both leave
 * through postrouting: the SYN after IPVS sent it on (LOCAL_OUT), the SYN-ACK after IPVS's reply handling in
 * FORWARD rewrote its source to the VIP. Each rule counts what it clamped.
 */
function mssClamp(desired: DesiredState, l3: 'ip' | 'ip6'): string[] {
  const mss = desired.tcpMssClamp;
  if (mss === undefined) return [];
  const clamp = `tcp flags syn tcp option maxseg size > ${mss} counter tcp option maxseg size set ${mss}`;
  return [
    '  chain mss {',
    '    type filter hook postrouting priority mangle; policy accept;',
    `    ${l3} daddr . meta l4proto . th dport @backends ${clamp}`,
    `    ${l3} saddr ${desired.vip} ${clamp}`,
    '  }',
  ];
}
