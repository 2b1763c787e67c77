// The SNAT half of IPVS NAT inside a pod: replies must come back through the LB, so requests leave with the
// LB's address. IPVS connections carry no conntrack "dnat" status (IPVS is not nf_nat), so the rule matches
// what IPVS sends: the backends' address and port (net.ipv4.vs.conntrack=1 gives them conntrack entries that
// nf_nat can masquerade). No random/fully-random: the client's port is kept when free (notes §5.3).
import type { DesiredState } from '../types.js';

export const MASQ_TABLE = 'portable_lb_ipvs';

/** One transaction replacing the table (see nftables/render.ts for the add/delete idiom). */
export function renderMasquerade(desired: DesiredState, drainingBackends: Array<{ ip: string; port: number; protocol: 'TCP' | 'UDP' }>): string {
  const elements = new Set<string>();
  for (const p of desired.ports) {
    for (const b of desired.backends) elements.add(`${b.ip} . ${p.protocol.toLowerCase()} . ${p.targetPort}`);
  }
  // Draining backends still carry established connections whose new packets must keep being masqueraded.
  for (const d of drainingBackends) elements.add(`${d.ip} . ${d.protocol.toLowerCase()} . ${d.port}`);
  const sorted = [...elements].sort();
  return [
    `add table ip ${MASQ_TABLE}`,
    `delete table ip ${MASQ_TABLE}`,
    `table ip ${MASQ_TABLE} {`,
    '  set backends {',
    '    type ipv4_addr . inet_proto . inet_service',
    ...(sorted.length > 0 ? [`    elements = { ${sorted.join(', ')} }`] : []),
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    ip daddr . meta l4proto . th dport @backends masquerade',
    '  }',
    ...mssClamp(desired),
    '}',
    '',
  ].join('\n');
}

/**
 * Lowers the MSS option of SYNs to the backends and SYN-ACKs back to clients to desired.tcpMssClamp. Both leave
 * through postrouting: the SYN after IPVS sent it on (LOCAL_OUT), the SYN-ACK after IPVS's reply handling in
 * FORWARD rewrote its source to the VIP. Each rule counts what it clamped.
 */
function mssClamp(desired: DesiredState): string[] {
  const mss = desired.tcpMssClamp;
  if (mss === undefined) return [];
  const clamp = `tcp flags syn tcp option maxseg size > ${mss} counter tcp option maxseg size set ${mss}`;
  return [
    '  chain mss {',
    '    type filter hook postrouting priority mangle; policy accept;',
    `    ip daddr . meta l4proto . th dport @backends ${clamp}`,
    `    ip saddr ${desired.vip} ${clamp}`,
    '  }',
  ];
}
