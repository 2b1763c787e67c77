// Maglev table build time (src/dataplane/maglev.ts, M = MAGLEV_RING_SIZE) per backend count, in-process.
import { buildMaglevTable, type MaglevEntry } from '../../../src/dataplane/maglev.js';
import { timing } from '../report/aggregate.js';
import type { Timing } from '../report/types.js';

/** Distinct addresses 10.x.y.z, weight 1: the agent keys backends by address, as here. */
export function backends(n: number): MaglevEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    id: i + 1,
    weight: 1,
  }));
}

export function maglevBuildTimes(sizes: readonly number[], runs: number): Timing[] {
  return sizes.map((n) => {
    const entries = backends(n);
    buildMaglevTable(entries); // warm-up: the first call also pays for the JIT
    const ms: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      buildMaglevTable(entries);
      ms.push(performance.now() - t0);
    }
    return timing(n, ms);
  });
}
