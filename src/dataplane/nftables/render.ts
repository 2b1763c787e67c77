// DesiredState -> the complete text of one `nft -f` transaction. Pure, so every ruleset is a golden unit test.
//
// Shape (kube-proxy's nftables mode, reduced to one VIP): prerouting/output jump per (VIP, port, protocol) to a
// service chain; the service chain picks an endpoint chain through a verdict map indexed by `numgen inc`
// (roundRobin) or `jhash ip saddr` (sourceHash), a backend of weight w owning w elements; the endpoint chain
// counts and DNATs. Only a connection's first packet traverses nat chains, so those counters count new flows.
// The table is `ip portable_lb` for an IPv4 VIP and `ip6 portable_lb` for IPv6 (names.ts: FAMILIES); the rules
// are the same but for the words that name an address.
// A filter chain before NAT (vipChain) drops whatever reaches the VIP and no service takes, so nothing loops.
// Postrouting masquerades what we DNATed, without `random`/`fully-random`: nf_nat keeps the client's source
// port whenever the tuple is free, which avoids colliding with the backends' TIME_WAIT sockets (notes §5.3).
// `ct status dnat` is right here because our own DNAT set it (it is not for IPVS, whose NAT is not conntrack's).
import { createHash } from 'node:crypto';
import type { DesiredBackend, DesiredPort, DesiredState } from '../types.js';
import {
  FAMILIES, TABLE, backendComment, backendKey, counters, familyOf, serviceComment, serviceKey, sets, type BackendState, type NftFamily,
} from './names.js';
import type { TableObjects } from './state.js';

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
  /** The objects the table holds now (parseTable); null or absent when it does not exist yet. */
  existing?: TableObjects | null;
  /** The table of the other family exists (the VIP changed family): it is deleted in the same transaction. */
  dropOtherFamily?: boolean;
}

/**
 * A counter object. Declaring one that exists changes nothing (counters have no update operation in the
 * kernel: neither values nor comment), which is what keeps every count across a replace.
 */
export const counterObject = (name: string): string[] => [`  counter ${name} {}`];

const proto = (p: DesiredPort) => p.protocol.toLowerCase();
/** localeCompare(b, 'en', {numeric: true})'s order, without building a collator per comparison (10 000 backends: 40 ms). */
const BY_ADDRESS = new Intl.Collator('en', { numeric: true });

/**
 * A backend's endpoint chain of one service, named by the backend (not by its position), so that adding or
 * removing one backend leaves every other endpoint chain as it is (delta.ts changes only what changed).
 */
export const endpointChainName = (svc: string, ip: string): string => `ep_${svc}_${backendKey(ip)}`;

export function endpointChain(f: NftFamily, port: DesiredPort, ip: string): string[] {
  const svc = serviceKey(port.protocol, port.port);
  return [`  chain ${endpointChainName(svc, ip)} {`,
    `    meta l4proto ${proto(port)} counter name "${counters.backendFlows(ip)}" dnat to ${f.withPort(ip, port.targetPort)}`, '  }'];
}

/** The service chain: count, pick an endpoint chain by weight, count and drop when there is none. */
export function serviceChain(desired: DesiredState, f: NftFamily, port: DesiredPort): string[] {
  const svc = serviceKey(port.protocol, port.port);
  const active = desired.backends;
  const slots = weightSlots(active);
  const pick = nftScheduler(desired.scheduler as string) === 'roundRobin'
    ? `numgen inc mod ${slots.length}` : `jhash ${f.l3} saddr mod ${slots.length} seed ${JHASH_SEED}`;
  const lines = [`  chain svc_${svc} {`, `    counter name "${counters.serviceFlows(svc)}"`];
  if (slots.length > 0) {
    lines.push(`    ${pick} vmap { ${slots.map((b, slot) => `${slot} : jump ${endpointChainName(svc, active[b]!.ip)}`).join(', ')} }`);
  }
  lines.push(`    counter name "${counters.serviceNoBackend(svc)}" drop`, '  }');
  return lines;
}

function serviceChains(desired: DesiredState, f: NftFamily, port: DesiredPort): string[] {
  return [...desired.backends.flatMap((b) => endpointChain(f, port, b.ip)), ...serviceChain(desired, f, port)];
}

/** The counters a backend owns, for as long as it is active or draining. */
export const backendCounters = (ip: string): string[] => [counters.backendFlows(ip), counters.backendTx(ip), counters.backendRx(ip)];

function counterMap(name: string, f: NftFamily, names: Array<[string, string]>): string[] {
  const elements = names.length > 0 ? [`    elements = { ${names.map(([ip, c]) => `${ip} : "${c}"`).join(', ')} }`] : [];
  return [`  map ${name} {`, `    type ${f.addrType} : counter`, ...elements, '  }'];
}

function metadataSet(name: string, type: string, elements: Array<[string, string]>): string[] {
  const list = elements.length > 0 ? [`    elements = { ${elements.map(([key, c]) => `${key} comment "${c}"`).join(', ')} }`] : [];
  return [`  set ${name} {`, `    type ${type}`, ...list, '  }'];
}

/** The table's objects and rules (everything between the braces except plb_meta). */
function body(input: RenderInput): string[] {
  const { desired } = input;
  const f = familyOf(desired.vip);
  nftScheduler(desired.scheduler as string);
  const backends = [...input.backends].sort(([a], [b]) => BY_ADDRESS.compare(a, b));
  const lines: string[] = [];
  for (const p of desired.ports) {
    const svc = serviceKey(p.protocol, p.port);
    for (const name of [counters.serviceFlows(svc), counters.serviceNoBackend(svc), counters.serviceTx(svc), counters.serviceRx(svc)]) {
      lines.push(...counterObject(name));
    }
  }
  lines.push(...counterObject(counters.vipUnserved), ...counterObject(counters.vipStale));
  for (const [ip] of backends) lines.push(...backendCounters(ip).flatMap(counterObject));
  lines.push(...metadataSet(sets.services, 'inet_proto . inet_service',
    desired.ports.map((p) => [`${proto(p)} . ${p.port}`, serviceComment({ vip: desired.vip, ...p })])));
  lines.push(...metadataSet(sets.backends, f.addrType, backends.map(([ip, state]) => [ip, backendComment(state)])));
  lines.push(...counterMap('backend_tx', f, backends.map(([ip]) => [ip, counters.backendTx(ip)])));
  lines.push(...counterMap('backend_rx', f, backends.map(([ip]) => [ip, counters.backendRx(ip)])));
  for (const p of desired.ports) lines.push(...serviceChains(desired, f, p));
  lines.push(...vipChain(desired, f));
  const jumps = desired.ports.map((p) => `    ${f.l3} daddr ${desired.vip} ${proto(p)} dport ${p.port} jump svc_${serviceKey(p.protocol, p.port)}`);
  lines.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;', ...jumps, '  }');
  // Clients inside the LB's own namespace (health probes, debugging) reach the VIP through output.
  lines.push('  chain output {', '    type nat hook output priority -100; policy accept;', ...jumps, '  }');
  lines.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;',
    `    ct status dnat ct original ${f.l3} daddr ${desired.vip} masquerade`, '  }');
  // Byte/packet accounting per direction. After prerouting DNAT a request's daddr is the backend; a reply still
  // has the backend as saddr here (its source is rewritten back to the VIP only in postrouting).
  const ours = `ct original ${f.l3} daddr ${desired.vip}`;
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  if (desired.tcpMssClamp !== undefined) {
    // Both the client's SYN and the backend's SYN-ACK pass here (`tcp flags syn` matches SYN-ACK too). Only
    // lowered: a smaller MSS a peer announces (a narrower path of its own) is kept.
    const mss = desired.tcpMssClamp;
    lines.push(`    ${ours} tcp flags syn tcp option maxseg size > ${mss} tcp option maxseg size set ${mss}`);
  }
  for (const p of desired.ports) {
    const svc = serviceKey(p.protocol, p.port);
    const match = `${ours} meta l4proto ${proto(p)} ct original proto-dst ${p.port}`;
    lines.push(`    ${match} ct direction original counter name "${counters.serviceTx(svc)}"`);
    lines.push(`    ${match} ct direction reply counter name "${counters.serviceRx(svc)}"`);
  }
  lines.push(`    ${ours} ct direction original counter name ${f.l3} daddr map @backend_tx`);
  lines.push(`    ${ours} ct direction reply counter name ${f.l3} saddr map @backend_rx`, '  }');
  return lines;
}

/**
 * What reaches the VIP and no service takes is dropped here, before NAT. The VIP is not a local address of the
 * LB pod (the nat chains translate it), so without this the pod's kernel forwards such a packet back to the node,
 * which routes the VIP to the pod again, until the TTL runs out: 200 datagrams to an unserved port made the
 * node forward ~6 200 packets (issue 13). Priority mangle (-150): after conntrack (-200), so `ct state` is known
 * and IP fragments are already reassembled (conntrack's defrag, -400), so a large UDP datagram to a served port
 * is matched by its ports like any other; before dstnat (-100), so the daddr is still the VIP.
 * - established/related: the flows NAT set up, and ICMP errors about them (path MTU discovery) pass;
 * - invalid: not a flow conntrack can place; NAT would not translate it and it would loop: dropped;
 * - a new TCP flow that does not start with a SYN (its conntrack entry was deleted when its backend's drain ended,
 *   or it was set up by another LB pod before an ECMP rehash): a RST now, rather than a segment the backends
 *   never expect (they would RST it later, or a timeout would);
 * - anything else but a served (protocol, port): dropped and counted.
 */
function vipChain(desired: DesiredState, f: NftFamily): string[] {
  const to = `${f.l3} daddr ${desired.vip}`;
  return ['  chain vip {', '    type filter hook prerouting priority mangle; policy accept;',
    `    ${to} ct state established,related accept`,
    `    ${to} ct state invalid counter name "${counters.vipUnserved}" drop`,
    `    ${to} meta l4proto tcp ct state new tcp flags & (syn | rst) == 0 counter name "${counters.vipStale}" reject with tcp reset`,
    `    ${to} meta l4proto . th dport @${sets.services} accept`,
    `    ${to} counter name "${counters.vipUnserved}" drop`, '  }'];
}

type Kind = 'chain' | 'set' | 'map' | 'counter';
const KIND = /^ {2}(chain|set|map|counter) (\S+) \{/;

/** Names declared by kind (`chain`, `set`, `map`, `counter`) in rendered lines, in one pass. */
function declared(lines: readonly string[]): Record<Kind, Set<string>> {
  const out: Record<Kind, Set<string>> = { chain: new Set(), set: new Set(), map: new Set(), counter: new Set() };
  for (const l of lines) {
    if (l.charCodeAt(2) === 32) continue; // a rule or element line (4 spaces), not a declaration
    const m = KIND.exec(l);
    if (m) out[m[1] as Kind].add(m[2]!);
  }
  return out;
}

/**
 * Before the new definitions: empty every rule, set and map (releasing their references to chains and
 * counters), then delete the objects the new rendering no longer has. Counters that stay are not touched.
 */
function clearExisting(f: NftFamily, existing: TableObjects, names: Record<Kind, Set<string>>): string[] {
  const t = `${f.table} ${TABLE}`;
  const lines = [`flush table ${t}`];
  for (const s of existing.sets) lines.push(`flush set ${t} ${s}`);
  for (const m of existing.maps) lines.push(`flush map ${t} ${m}`);
  // The fingerprint is the one counter redefined on every replace: its comment changes, its values mean nothing.
  for (const kind of ['chain', 'set', 'map', 'counter'] as const) {
    const kept = names[kind];
    for (const name of existing[`${kind}s`]) if (!kept.has(name)) lines.push(`delete ${kind} ${t} ${name}`);
  }
  return lines;
}

const fingerprintOf = (rendered: string[]): string => createHash('sha256').update(rendered.join('\n')).digest('hex').slice(0, 16);

/** Identifies the rules and backend states, not the counter values: equal fingerprints need no replace. */
export function fingerprint(input: RenderInput): string {
  return fingerprintOf(body(input));
}

/** Deletes a family's table; `add` first makes the delete valid when the table does not exist. */
const dropTable = (f: NftFamily): string[] => [`add table ${f.table} ${TABLE}`, `delete table ${f.table} ${TABLE}`];

/**
 * One atomic transaction that turns whatever the table holds into the rendering: rules, sets and maps are
 * emptied and redefined, objects no longer rendered deleted, and counter objects that stay are left alone, so
 * they keep counting across the replace (re-rendering them with values read earlier would lose the increments
 * between that read and the commit). No packet sees a half-written ruleset: the kernel commits it all or nothing.
 * A VIP that changed family takes the other family's table with it in the same commit.
 */
export function renderRuleset(input: RenderInput): string {
  return renderPlan(input).script;
}

/**
 * renderRuleset's transaction with its fingerprint and the objects the table holds once it is committed: what
 * the data plane keeps in memory instead of reading a table of tens of thousands of objects back every time.
 * The rules are rendered once (at 10 000 backends that alone is ~100 ms).
 */
export function renderPlan(input: RenderInput): { readonly script: string; fingerprint: string; objects: TableObjects } {
  const f = familyOf(input.desired.vip);
  const rendered = body(input);
  const fp = fingerprintOf(rendered);
  const names = declared(rendered);
  return {
    // Joined only when asked for: a delta (delta.ts) usually replaces it.
    get script() {
      return [
        ...(input.dropOtherFamily ? dropTable(f === FAMILIES.ip ? FAMILIES.ip6 : FAMILIES.ip) : []),
        `add table ${f.table} ${TABLE}`,
        ...(input.existing ? clearExisting(f, input.existing, names) : []),
        `table ${f.table} ${TABLE} {`,
        `  counter ${counters.meta} {`, `    comment "fingerprint ${fp}"`, '  }',
        ...rendered,
        '}',
        '',
      ].join('\n');
    },
    fingerprint: fp,
    objects: { chains: [...names.chain], sets: [...names.set], maps: [...names.map], counters: [counters.meta, ...names.counter] },
  };
}

/** Both families' tables: what the agent owns, whatever the VIP was. */
export const deleteTables = (): string => [...dropTable(FAMILIES.ip), ...dropTable(FAMILIES.ip6), ''].join('\n');
