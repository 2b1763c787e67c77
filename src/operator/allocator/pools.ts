// VIPPools as the allocator sees them: parsed ranges, who may use them, and whether they may allocate at all.
// Overlaps are never merged: a pool whose addresses overlap an older pool's (or each other) is flagged and
// allocates nothing; the admin resolves it. Pure.
import type { IpFamily } from '../../api/defaults.js';
import { matchesSelector, type Selector } from '../../api/selector.js';
import type { ConditionInput } from '../../api/conditions.js';
import { formatIp, overlaps, parseEntry, type AddressRange } from './addresses.js';

export interface PoolInput {
  name: string;
  /** metadata.creationTimestamp: the older of two overlapping pools keeps allocating. */
  created: string;
  addresses: readonly string[];
  namespaces?: readonly string[] | undefined;
  namespaceSelector?: Selector | undefined;
  autoAssign?: boolean | undefined;
  disabled?: boolean | undefined;
}

export interface Pool {
  name: string;
  ranges: AddressRange[];
  autoAssign: boolean;
  disabled: boolean;
  /** Entries that do not parse (the CRD's rules catch most) or overlap each other. */
  invalid: string[];
  /** Older pools this one overlaps (it then allocates nothing). */
  conflictsWith: { pool: string; detail: string }[];
  allows(namespace: string, labels: Record<string, string> | undefined): boolean;
}

/** Older first; equal timestamps (one second resolution) by name, so every replica orders the same way. */
export function byAge<T extends { created: string }>(key: (t: T) => string): (a: T, b: T) => number {
  return (a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

const describe = (r: AddressRange) => `${formatIp(r.family, r.first)}-${formatIp(r.family, r.last)}`;

function intersection(a: AddressRange, b: AddressRange): string {
  const first = a.first > b.first ? a.first : b.first;
  const last = a.last < b.last ? a.last : b.last;
  return first === last ? formatIp(a.family, first) : describe({ ...a, first, last });
}

/** Parses and cross-checks every pool; returned in allocation order (oldest first). */
export function evaluatePools(inputs: readonly PoolInput[]): Pool[] {
  const sorted = [...inputs].sort(byAge((p) => p.name));
  const pools: Pool[] = [];
  for (const input of sorted) {
    const ranges: AddressRange[] = [];
    const invalid: string[] = [];
    for (const entry of input.addresses) {
      const parsed = parseEntry(entry);
      if ('error' in parsed) {
        invalid.push(parsed.error);
        continue;
      }
      const clash = ranges.find((r) => overlaps(r, parsed));
      if (clash) invalid.push(`${entry} overlaps ${clash.source} (${intersection(clash, parsed)})`);
      else ranges.push(parsed);
    }
    const conflictsWith: Pool['conflictsWith'] = [];
    for (const older of pools) {
      for (const r of ranges) {
        const clash = older.ranges.find((o) => overlaps(o, r));
        if (clash) {
          conflictsWith.push({ pool: older.name, detail: `${r.source} overlaps ${clash.source} (${intersection(clash, r)})` });
          break;
        }
      }
    }
    const namespaces = new Set(input.namespaces ?? []);
    const selector = input.namespaceSelector;
    pools.push({
      name: input.name,
      ranges,
      autoAssign: input.autoAssign ?? true,
      disabled: input.disabled ?? false,
      invalid,
      conflictsWith,
      allows: (ns, labels) => namespaces.has(ns) || (selector !== undefined && labels !== undefined && matchesSelector(selector, labels)),
    });
  }
  return pools;
}

/** Whether the pool may hand out new addresses (holders keep theirs either way). */
export const allocatable = (p: Pool): boolean => !p.disabled && p.invalid.length === 0 && p.conflictsWith.length === 0;

export const families = (p: Pool): IpFamily[] => [...new Set(p.ranges.map((r) => r.family))].sort();

/** The pool's Ready and Conflict conditions. */
export function poolConditions(p: Pool): ConditionInput[] {
  const conflict: ConditionInput =
    p.conflictsWith.length > 0
      ? {
          type: 'Conflict',
          status: 'True',
          reason: 'OverlapsPool',
          message: `overlaps older pool(s): ${p.conflictsWith.map((c) => `${c.pool} (${c.detail})`).join('; ')}; this pool allocates nothing until the overlap is removed`,
        }
      : p.invalid.length > 0
        ? { type: 'Conflict', status: 'True', reason: 'InvalidAddresses', message: `${p.invalid.join('; ')}; this pool allocates nothing until fixed` }
        : { type: 'Conflict', status: 'False', reason: 'NoOverlap', message: 'overlaps no other pool' };
  const ready: ConditionInput =
    conflict.status === 'True'
      ? { type: 'Ready', status: 'False', reason: conflict.reason, message: conflict.message }
      : p.disabled
        ? { type: 'Ready', status: 'False', reason: 'Disabled', message: 'disabled: no new allocations; addresses already held are kept' }
        : { type: 'Ready', status: 'True', reason: 'Allocating', message: `allocates ${families(p).map((f) => `IPv${f}`).join(' and ')} addresses` };
  return [ready, conflict];
}
