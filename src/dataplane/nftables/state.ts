// What the agent's table holds, read back from `nft -j list table`, and how backends move between active and
// draining. Pure: JSON in, values out; the clock is an argument.
import type { DesiredState } from '../types.js';
import { parseBackendComment, parseServiceComment, serviceKey, sets, type BackendState, type ServiceMeta } from './names.js';

export interface CounterValue {
  packets: number;
  bytes: number;
  comment?: string;
}

/** Names of the objects the table holds: a replace deletes the ones it no longer renders. */
export interface TableObjects {
  chains: string[];
  sets: string[];
  maps: string[];
  counters: string[];
}

export interface TableState {
  /** Named counter objects by name; empty when the table does not exist. */
  counters: Map<string, CounterValue>;
  /** null when the table does not exist. */
  objects?: TableObjects | null;
  /** Element comments of the metadata sets (`backends`: ip -> state, `services`: "tcp . 80" -> meta). */
  elements?: Map<string, Map<string, string>>;
}

interface NftObjectJson {
  table?: unknown;
  name?: unknown;
  packets?: unknown;
  bytes?: unknown;
  comment?: unknown;
  elem?: unknown;
}

type Item = Partial<Record<'counter' | 'chain' | 'set' | 'map', NftObjectJson>>;

/** `"10.0.0.1"` or `{"concat": ["tcp", 80]}` -> `10.0.0.1` / `tcp . 80` (the text the rules are written in). */
function elementKey(val: unknown): string {
  if (typeof val === 'object' && val !== null && Array.isArray((val as { concat?: unknown }).concat)) {
    return (val as { concat: unknown[] }).concat.map(String).join(' . ');
  }
  return String(val);
}

function elementComments(elem: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Array.isArray(elem) ? elem : []) {
    const el = (e as { elem?: { val?: unknown; comment?: unknown } }).elem;
    if (el && typeof el.comment === 'string') out.set(elementKey(el.val), el.comment);
  }
  return out;
}

/** Parses the output of `nft -j list table ip portable_lb`. */
export function parseTable(json: string, table: string): TableState {
  const doc = JSON.parse(json) as { nftables?: Item[] };
  const counters = new Map<string, CounterValue>();
  const objects: TableObjects = { chains: [], sets: [], maps: [], counters: [] };
  const elements = new Map<string, Map<string, string>>();
  for (const item of doc.nftables ?? []) {
    for (const kind of ['counter', 'chain', 'set', 'map'] as const) {
      const o = item[kind];
      if (!o || o.table !== table || typeof o.name !== 'string') continue;
      objects[`${kind}s`].push(o.name);
      if (kind === 'set') elements.set(o.name, elementComments(o.elem));
      if (kind !== 'counter') continue;
      counters.set(o.name, {
        packets: Number(o.packets ?? 0),
        bytes: Number(o.bytes ?? 0),
        ...(typeof o.comment === 'string' ? { comment: o.comment } : {}),
      });
    }
  }
  return { counters, objects, elements };
}

/**
 * Backend states recorded in the table: the comments of the `backends` set's elements. A table written before
 * that set existed kept them in the comments of the `be_*_flows` counters; those are read when the set is absent.
 */
export function recordedBackends(table: TableState): Map<string, BackendState> {
  const out = new Map<string, BackendState>();
  const set = table.elements?.get(sets.backends);
  if (set) {
    for (const [ip, comment] of set) {
      const state = parseBackendComment(comment);
      if (state) out.set(ip, state);
    }
    return out;
  }
  for (const [name, value] of table.counters) {
    const m = /^be_(\d+)_(\d+)_(\d+)_(\d+)_flows$/.exec(name);
    const state = parseBackendComment(value.comment);
    if (m && state) out.set(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`, state);
  }
  return out;
}

/** The services the table serves, by service key (`tcp_80`); the same fallback as recordedBackends. */
export function recordedServices(table: TableState): Map<string, ServiceMeta> {
  const out = new Map<string, ServiceMeta>();
  const set = table.elements?.get(sets.services);
  const comments = set ? [...set.values()]
    : [...table.counters].filter(([name]) => /^svc_.*_flows$/.test(name)).map(([, v]) => v.comment);
  for (const comment of comments) {
    const meta = parseServiceComment(comment);
    if (meta) out.set(serviceKey(meta.protocol, meta.port), meta);
  }
  return out;
}

/**
 * Backends to render: the desired ones active; ones that were programmed before and are no longer desired
 * drain (keeping the time they started to). Conntrack keeps their established connections translated whatever
 * the rules say, so draining here is about accounting: their counters and reply matching stay until
 * `drainSeconds` have passed, then they disappear from the table.
 */
export function planBackends(
  desired: DesiredState, recorded: Map<string, BackendState>, nowSeconds: number, drainSeconds: number,
): Map<string, BackendState> {
  const plan = new Map<string, BackendState>();
  for (const b of desired.backends) plan.set(b.ip, { state: 'active' });
  for (const [ip, was] of recorded) {
    if (plan.has(ip)) continue;
    const since = was.state === 'draining' ? was.since : nowSeconds;
    if (nowSeconds - since < drainSeconds) plan.set(ip, { state: 'draining', since });
  }
  return plan;
}
