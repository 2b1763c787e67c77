// DesiredState -> the complete text of one `nft -f` transaction. Pure, so every ruleset is a golden unit test.
//
// Shape (kube-proxy's nftables mode, reduced to one VIP): prerouting/output jump per (VIP, port, protocol) to a
// service chain; the service chain picks an endpoint chain through a verdict map indexed by `numgen inc`
// (roundRobin) or `jhash ip saddr` (sourceHash), a backend of weight w owning w elements; the endpoint chain
// counts and DNATs. Only a connection's first packet traverses nat chains, so those counters count new flows.
// Postrouting masquerades what we DNATed, without `random`/`fully-random`: nf_nat keeps the client's source
// port whenever the tuple is free, which avoids colliding with the backends' TIME_WAIT sockets (notes §5.3).
// `ct status dnat` is right here because our own DNAT set it (it is not for IPVS, whose NAT is not conntrack's).
import { createHash } from 'node:crypto';
import type { DesiredBackend, DesiredPort, DesiredState } from '../types.js';
import {
  FAMILY, TABLE, backendComment, counters, serviceComment, serviceKey, type BackendState,
} from './names.js';
import type { CounterValue } from './state.js';

export type NftScheduler = 'roundRobin' | 'sourceHash';

/** A fixed seed: the same client maps to the same backend across agent restarts and LB replicas. */
const JHASH_SEED = '0x504c42';

export function nftScheduler(scheduler: string): NftScheduler {
  if (scheduler === 'roundRobin' || scheduler === 'sourceHash') return scheduler;
  throw new Error(`dataPlane nftables supports scheduler roundRobin or sourceHash, not ${scheduler}`);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Slot i of the verdict map -> backend index; weights reduced by their gcd to keep the map small. */
export function weightSlots(backends: readonly DesiredBackend[]): number[] {
  const g = backends.reduce((acc, b) => gcd(acc, b.weight), 0) || 1;
  return backends.flatMap((b, i) => Array.from({ length: b.weight / g }, () => i));
}

export interface RenderInput {
  desired: DesiredState;
  /** Active and draining backends (planBackends). */
  backends: Map<string, BackendState>;
  /** Counter values to carry over: replacing the table would otherwise reset them. */
  carried: Map<string, CounterValue>;
}

function counterObject(name: string, comment: string | null, carried: Map<string, CounterValue>): string[] {
  const v = carried.get(name);
  return [
    `  counter ${name} {`,
    ...(comment !== null ? [`    comment "${comment}"`] : []),
    `    packets ${v?.packets ?? 0} bytes ${v?.bytes ?? 0}`,
    '  }',
  ];
}

const proto = (p: DesiredPort) => p.protocol.toLowerCase();

function serviceChains(desired: DesiredState, port: DesiredPort, scheduler: NftScheduler): string[] {
  const svc = serviceKey(port.protocol, port.port);
  const active = desired.backends;
  const lines: string[] = [];
  active.forEach((b, i) => {
    lines.push(`  chain ep_${svc}_${i} {`,
      `    meta l4proto ${proto(port)} counter name "${counters.backendFlows(b.ip)}" dnat to ${b.ip}:${port.targetPort}`, '  }');
  });
  const slots = weightSlots(active);
  const pick = scheduler === 'roundRobin' ? `numgen inc mod ${slots.length}` : `jhash ip saddr mod ${slots.length} seed ${JHASH_SEED}`;
  lines.push(`  chain svc_${svc} {`, `    counter name "${counters.serviceFlows(svc)}"`);
  if (slots.length > 0) {
    lines.push(`    ${pick} vmap { ${slots.map((b, slot) => `${slot} : jump ep_${svc}_${b}`).join(', ')} }`);
  }
  lines.push(`    counter name "${counters.serviceNoBackend(svc)}" drop`, '  }');
  return lines;
}

function counterMap(name: string, names: Array<[string, string]>): string[] {
  const elements = names.length > 0 ? [`    elements = { ${names.map(([ip, c]) => `${ip} : "${c}"`).join(', ')} }`] : [];
  return [`  map ${name} {`, '    type ipv4_addr : counter', ...elements, '  }'];
}

/** The table's body (everything between the braces), with counters at the carried values. */
function body(input: RenderInput): string[] {
  const { desired } = input;
  const scheduler = nftScheduler(desired.scheduler as string);
  const backends = [...input.backends].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const lines: string[] = [];
  for (const p of desired.ports) {
    const svc = serviceKey(p.protocol, p.port);
    lines.push(...counterObject(counters.serviceFlows(svc), serviceComment({ vip: desired.vip, ...p }), input.carried));
    for (const name of [counters.serviceNoBackend(svc), counters.serviceTx(svc), counters.serviceRx(svc)]) {
      lines.push(...counterObject(name, null, input.carried));
    }
  }
  for (const [ip, state] of backends) {
    lines.push(...counterObject(counters.backendFlows(ip), backendComment(state), input.carried));
    lines.push(...counterObject(counters.backendTx(ip), null, input.carried), ...counterObject(counters.backendRx(ip), null, input.carried));
  }
  lines.push(...counterMap('backend_tx', backends.map(([ip]) => [ip, counters.backendTx(ip)])));
  lines.push(...counterMap('backend_rx', backends.map(([ip]) => [ip, counters.backendRx(ip)])));
  for (const p of desired.ports) lines.push(...serviceChains(desired, p, scheduler));
  const jumps = desired.ports.map((p) => `    ip daddr ${desired.vip} ${proto(p)} dport ${p.port} jump svc_${serviceKey(p.protocol, p.port)}`);
  lines.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', ...jumps, '  }');
  // Clients inside the LB's own namespace (health probes, debugging) reach the VIP through output.
  lines.push('  chain output {', '    type nat hook output priority -100; policy accept;', ...jumps, '  }');
  lines.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;',
    `    ct status dnat ct original ip daddr ${desired.vip} masquerade`, '  }');
  // Byte/packet accounting per direction. After prerouting DNAT a request's daddr is the backend; a reply still
  // has the backend as saddr here (its source is rewritten back to the VIP only in postrouting).
  const ours = `ct original ip daddr ${desired.vip}`;
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  for (const p of desired.ports) {
    const svc = serviceKey(p.protocol, p.port);
    const match = `${ours} meta l4proto ${proto(p)} ct original proto-dst ${p.port}`;
    lines.push(`    ${match} ct direction original counter name "${counters.serviceTx(svc)}"`);
    lines.push(`    ${match} ct direction reply counter name "${counters.serviceRx(svc)}"`);
  }
  lines.push(`    ${ours} ct direction original counter name ip daddr map @backend_tx`);
  lines.push(`    ${ours} ct direction reply counter name ip saddr map @backend_rx`, '  }');
  return lines;
}

/** Identifies the rules and backend states, not the counter values: equal fingerprints need no replace. */
export function fingerprint(input: RenderInput): string {
  return createHash('sha256').update(body({ ...input, carried: new Map() }).join('\n')).digest('hex').slice(0, 16);
}

/**
 * One atomic transaction: `add` makes the `delete` valid when the table does not exist yet, and the new table
 * replaces the old one in the same commit, so no packet ever sees a half-written ruleset.
 */
export function renderRuleset(input: RenderInput): string {
  return [
    `add table ${FAMILY} ${TABLE}`,
    `delete table ${FAMILY} ${TABLE}`,
    `table ${FAMILY} ${TABLE} {`,
    ...counterObject(counters.meta, `fingerprint ${fingerprint(input)}`, new Map()),
    ...body(input),
    '}',
    '',
  ].join('\n');
}

export const deleteTable = (): string => `add table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`;
