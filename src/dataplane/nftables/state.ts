// What the agent's table holds, read back from `nft -j list table`, and how backends move between active and
// draining. Pure: JSON in, values out; the clock is an argument.
import type { DesiredState } from '../types.js';
import { parseBackendComment, type BackendState } from './names.js';

export interface CounterValue {
  packets: number;
  bytes: number;
  comment?: string;
}

export interface TableState {
  /** Named counter objects by name; empty when the table does not exist. */
  counters: Map<string, CounterValue>;
}

interface NftCounterJson {
  counter?: { name?: unknown; packets?: unknown; bytes?: unknown; comment?: unknown; table?: unknown };
}

/** Parses the output of `nft -j list table ip portable_lb`. Objects other than counters are not needed. */
export function parseTable(json: string, table: string): TableState {
  const doc = JSON.parse(json) as { nftables?: NftCounterJson[] };
  const counters = new Map<string, CounterValue>();
  for (const item of doc.nftables ?? []) {
    const c = item.counter;
    if (!c || c.table !== table || typeof c.name !== 'string') continue;
    counters.set(c.name, {
      packets: Number(c.packets ?? 0),
      bytes: Number(c.bytes ?? 0),
      ...(typeof c.comment === 'string' ? { comment: c.comment } : {}),
    });
  }
  return { counters };
}

/** Backend states recorded in the table (the comments of the `be_*_flows` counters). */
export function recordedBackends(table: TableState): Map<string, BackendState> {
  const out = new Map<string, BackendState>();
  for (const [name, value] of table.counters) {
    const m = /^be_(\d+)_(\d+)_(\d+)_(\d+)_flows$/.exec(name);
    const state = parseBackendComment(value.comment);
    if (m && state) out.set(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`, state);
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
