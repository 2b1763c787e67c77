// The common change - backends come, go, drain or change weight, nothing else - as one small `nft -f` transaction
// instead of a replace of the whole table. Pure. At 10 000 backends the whole table is ~30 000 objects and
// `nft -f` of it took 0.6-1.3 s; a readiness change needs the service chains (their verdict map names every
// endpoint, so it is rewritten: kube-proxy's nftables mode does the same), one endpoint chain, a few set and map
// elements and the fingerprint. Anything else (ports, VIP, scheduler, MSS, family, a table not known) is a full
// render (render.ts). The result is the same table the full render would make: the dataplane tier compares both
// listings after every step of a sequence of changes (test/dataplane/nftables-delta.test.ts).
import type { DesiredState } from '../types.js';
import { TABLE, backendComment, counters, familyOf, serviceKey, sets, type BackendState } from './names.js';
import { backendCounters, counterObject, endpointChain, endpointChainName, serviceChain, type RenderInput } from './render.js';

/** What must be equal for a delta: everything a full render reads but the backends. */
const shape = (d: DesiredState): string => JSON.stringify([d.vip, d.ports, d.scheduler, d.tcpMssClamp ?? null]);

const activeSet = (d: DesiredState): Map<string, number> => new Map(d.backends.map((b) => [b.ip, b.weight]));
const sameWeights = (a: DesiredState, b: DesiredState): boolean =>
  a.backends.length === b.backends.length && a.backends.every((x, i) => x.ip === b.backends[i]!.ip && x.weight === b.backends[i]!.weight);

const elements = (items: string[]): string => `{ ${items.join(', ')} }`;

/**
 * The transaction from `prev` (what is committed) to `next`, or null when only a full render can get there.
 * `fingerprint` is the next rendering's (render.ts renderPlan), written into plb_meta as a full render would.
 */
export function renderDelta(prev: RenderInput, next: RenderInput, fingerprint: string): string | null {
  if (next.dropOtherFamily || !next.existing || shape(prev.desired) !== shape(next.desired)) return null;
  const { desired } = next;
  const f = familyOf(desired.vip);
  const t = `${f.table} ${TABLE}`;
  const wasActive = activeSet(prev.desired);
  const isActive = activeSet(desired);
  const rewriteServices = !sameWeights(prev.desired, desired);
  const gone = [...prev.backends.keys()].filter((ip) => !next.backends.has(ip));
  const added = [...next.backends.keys()].filter((ip) => !prev.backends.has(ip));
  const restated = [...next.backends].filter(([ip, s]) => prev.backends.has(ip) && !sameState(prev.backends.get(ip)!, s)).map(([ip]) => ip);

  const head: string[] = [];
  const body: string[] = [];
  if (rewriteServices) {
    for (const p of desired.ports) head.push(`flush chain ${t} svc_${serviceKey(p.protocol, p.port)}`);
  }
  // Endpoint chains of backends no longer active: after the flush, nothing jumps to them any more.
  for (const ip of [...wasActive.keys()].filter((ip) => !isActive.has(ip))) {
    for (const p of desired.ports) head.push(`delete chain ${t} ${endpointChainName(serviceKey(p.protocol, p.port), ip)}`);
  }
  const changedElements = [...gone, ...restated];
  if (changedElements.length > 0) head.push(`delete element ${t} ${sets.backends} ${elements(changedElements)}`);
  if (gone.length > 0) {
    for (const map of ['backend_tx', 'backend_rx']) head.push(`delete element ${t} ${map} ${elements(gone)}`);
    for (const ip of gone) for (const c of backendCounters(ip)) head.push(`delete counter ${t} ${c}`);
  }
  head.push(`delete counter ${t} ${counters.meta}`);

  body.push(`  counter ${counters.meta} {`, `    comment "fingerprint ${fingerprint}"`, '  }');
  for (const ip of added) body.push(...backendCounters(ip).flatMap(counterObject));
  for (const ip of [...isActive.keys()].filter((ip) => !wasActive.has(ip))) {
    for (const p of desired.ports) body.push(...endpointChain(f, p, ip));
  }
  if (rewriteServices) for (const p of desired.ports) body.push(...serviceChain(desired, f, p));

  const tail: string[] = [];
  const stated = [...added, ...restated].map((ip) => `${ip} comment "${backendComment(next.backends.get(ip)!)}"`);
  if (stated.length > 0) tail.push(`add element ${t} ${sets.backends} ${elements(stated)}`);
  if (added.length > 0) {
    tail.push(`add element ${t} backend_tx ${elements(added.map((ip) => `${ip} : "${counters.backendTx(ip)}"`))}`);
    tail.push(`add element ${t} backend_rx ${elements(added.map((ip) => `${ip} : "${counters.backendRx(ip)}"`))}`);
  }
  return [...head, `table ${t} {`, ...body, '}', ...tail, ''].join('\n');
}

function sameState(a: BackendState, b: BackendState): boolean {
  return backendComment(a) === backendComment(b);
}
