// Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights. Pure: the same backends and weights
// always give the same table, on every agent and after every restart, so a flow that lost its table entry is
// sent to the same backend again.

/** A prime; the BPF side uses the same constant (PLB_RING_SIZE). */
export const MAGLEV_RING_SIZE = 65537;

export interface MaglevEntry {
  /** Stable identity of the backend (its address): a backend's permutation must not depend on the others. */
  key: string;
  /** The value stored in the ring for this backend (the BPF backend id). */
  id: number;
  weight: number;
}

// FNV-1a over UTF-16 code units, then a murmur3-style finaliser so nearby keys (10.0.0.1, 10.0.0.2) spread.
function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Builds the lookup table: slot -> backend id (0 when there are no backends).
 * Weighted variant: in every round a backend claims as many slots as its weight, so its share of the table is
 * weight / sum(weights) up to rounding in the last round.
 */
export function buildMaglevTable(entries: readonly MaglevEntry[], size = MAGLEV_RING_SIZE): Uint32Array {
  const table = new Uint32Array(size);
  const live = entries.filter((e) => e.weight > 0);
  if (live.length === 0) return table;
  for (const e of live) {
    if (!Number.isInteger(e.weight)) throw new Error(`maglev weight of ${e.key} must be an integer`);
    if (e.id <= 0) throw new Error(`maglev id of ${e.key} must be positive (0 means "no backend")`);
  }
  // Sorting by key makes the result independent of input order.
  const sorted = [...live].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const offset = sorted.map((e) => hash32(e.key, 0x5bd1e995) % size);
  const skip = sorted.map((e) => (hash32(e.key, 0x27d4eb2f) % (size - 1)) + 1);
  const next = sorted.map(() => 0);
  const filled = new Uint8Array(size);
  let count = 0;
  while (count < size) {
    for (let i = 0; i < sorted.length && count < size; i++) {
      const entry = sorted[i]!;
      for (let w = 0; w < entry.weight && count < size; w++) {
        let slot = (offset[i]! + next[i]! * skip[i]!) % size;
        while (filled[slot]) {
          next[i]!++;
          slot = (offset[i]! + next[i]! * skip[i]!) % size;
        }
        filled[slot] = 1;
        table[slot] = entry.id;
        next[i]!++;
        count++;
      }
    }
  }
  return table;
}

/** How many slots each id holds: for tests, metrics and the "minimal disruption" check. */
export function slotShares(table: Uint32Array): Map<number, number> {
  const shares = new Map<number, number>();
  for (const id of table) shares.set(id, (shares.get(id) ?? 0) + 1);
  return shares;
}
