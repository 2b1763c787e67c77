// The xdp agent's flow garbage collection at scale (issue 13): the real flow map, sized as the agent sizes it
// for spec.xdp.maxFlows, filled with `flows` TCP flows (both entries each), then the agent's GC pass
// (collectFlows, the defaults the agent runs it with) over the same table at two moments. Every flow was last
// seen at L and half of them are closing: at L + 50 s nothing has expired (tcpClosingSeconds 60), at L + 100 s
// the closing half has. Each run fills the table anew (the second pass deleted half of it). Root only; its own
// process, so that the CPU time of a pass is the pass's alone and the map's memory goes when it exits.
//   node flow-gc.js --max-flows N --flows N --runs N        prints one JSON object (FlowGcNumbers)
import { artifactsDir } from '../../../src/dataplane/xdp/addon.js';
import { DEFAULT_FLOW_TIMEOUTS, collectFlows, monotonicSeconds, type GcResult } from '../../../src/dataplane/xdp/flow-gc.js';
import { FLOW_CLOSING, FLOW_ESTABLISHED } from '../../../src/dataplane/xdp/layout.js';
import { fillFlows, openFlowTable } from '../../dataplane/support/flow-table.js';
import type { FlowGcNumbers, FlowGcPass } from '../report/types.js';

const round = (v: number): number => Number(v.toFixed(3));

async function flowGcNumbers(o: { maxFlows: number; flows: number; runs: number }): Promise<FlowGcNumbers> {
  const table = openFlowTable(artifactsDir(), o.maxFlows);
  try {
    const { addon, maps } = table;
    const fd = maps.flowsFd;
    const fill: number[] = [];
    const passes: Array<[GcResult, GcResult]> = [];
    let entriesAfterFill = 0;
    let memory = 0;
    for (let run = 0; run < o.runs; run++) {
      const seen = monotonicSeconds() - 100;
      const t0 = process.hrtime.bigint();
      fillFlows(addon, fd, o.flows, (i) => ({ state: i % 2 === 0 ? FLOW_CLOSING : FLOW_ESTABLISHED, lastSeen: seen }));
      fill.push(Number(process.hrtime.bigint() - t0) / 1e9);
      // Read with the table full: an LRU hash is preallocated, so this is what it holds whatever its fill.
      memory = maps.flowMemoryBytes();
      const none = await collectFlows(addon, fd, DEFAULT_FLOW_TIMEOUTS, { now: seen + 50 });
      const half = await collectFlows(addon, fd, DEFAULT_FLOW_TIMEOUTS, { now: seen + 100 });
      if (none.deleted !== 0) throw new Error(`the pass at L + 50 s deleted ${none.deleted} entries: nothing should have expired`);
      if (run === 0) entriesAfterFill = none.entries;
      passes.push([none, half]);
      if (run === o.runs - 1) break;
      // The established half is left: clear it, so that the next run's fill starts from the same empty table.
      const rest = await collectFlows(addon, fd, DEFAULT_FLOW_TIMEOUTS, { now: seen + DEFAULT_FLOW_TIMEOUTS.tcpEstablishedSeconds });
      if (rest.entries !== 0) throw new Error(`${rest.entries} entries outlived their established timeout`);
    }
    const pass = (which: 0 | 1): FlowGcPass => ({
      deleted: passes[0]![which].deleted,
      left: passes[0]![which].entries,
      wall_s: passes.map((p) => round(p[which].seconds)),
      cpu_s: passes.map((p) => round(p[which].cpuSeconds)),
    });
    return {
      max_flows: o.maxFlows, capacity_entries: maps.flowCapacity(), flows: o.flows, entries_after_fill: entriesAfterFill,
      fill_s: fill.map(round), memory_bytes: memory, memory_source: 'memlock of plb_flows in /proc/<agent pid>/fdinfo/<map fd>',
      none_expired: pass(0), half_expired: pass(1),
    };
  } finally {
    table.close();
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const flag = (k: string): number => {
    const i = argv.indexOf(k);
    const v = Number(argv[i + 1]);
    if (i < 0 || !Number.isInteger(v) || v <= 0) throw new Error(`${k} N is required`);
    return v;
  };
  const numbers = await flowGcNumbers({ maxFlows: flag('--max-flows'), flows: flag('--flows'), runs: flag('--runs') });
  process.stdout.write(`${JSON.stringify(numbers)}\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`flow GC bench: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
