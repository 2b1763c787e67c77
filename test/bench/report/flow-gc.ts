// The flow GC numbers (control_plane.flow_gc) -> Markdown: a table for results.md, a sentence for the README. Pure.
import { median } from './aggregate.js';
import type { FlowGcNumbers, FlowGcPass } from './types.js';

const MIB = 2 ** 20;
const n = (v: number): string => v.toLocaleString('en-US').replace(/,/g, ' ');
const s = (v: number): string => v.toFixed(2);
const spread = (values: readonly number[]): string =>
  values.length > 1 ? `**${s(median(values))}** (${s(Math.min(...values))}–${s(Math.max(...values))})` : `**${s(values[0]!)}**`;

/** Kernel memory per million concurrent flows (two entries each), MiB. */
export const mibPerMillionFlows = (g: FlowGcNumbers): number => (g.memory_bytes / MIB) * (1_000_000 / g.max_flows);

function what(g: FlowGcNumbers): string {
  const filled = g.flows < g.max_flows ? `, filled with only ${n(g.flows)} flows (fewer than it is sized for)` : '';
  return `${n(g.flows)} TCP flows, ${n(g.entries_after_fill)} entries (forward and reverse) in the agent's flow map sized for ` +
    `\`spec.xdp.maxFlows\` ${n(g.max_flows)} (\`plb_flows\`, ${n(g.capacity_entries)} entries)${filled}`;
}

export function flowGcLines(g: FlowGcNumbers | undefined): string[] {
  if (!g) return [];
  const runs = g.none_expired.cpu_s.length;
  const row = (name: string, p: FlowGcPass) => `| ${name} | ${n(p.deleted)} | ${n(p.left)} | ${spread(p.cpu_s)} | ${spread(p.wall_s)} |`;
  return [`Flow garbage collection (xdp, issue 13)${g.measured ? `, measured ${g.measured}` : ''}: ${what(g)}. Kernel memory of the ` +
    `table: **${(g.memory_bytes / MIB).toFixed(0)} MiB** (${g.memory_source}; the LRU hash is preallocated, so full or empty), ` +
    `${mibPerMillionFlows(g).toFixed(0)} MiB per million flows. One pass of the agent's GC (flow-gc.ts: batches of 8192, ` +
    `both entries of an expired flow deleted together) over the same table at two moments, every flow last seen at L and ` +
    `half of them closing; ${runs === 1 ? 'one run' : `median (min–max) of ${runs} runs, each on a fresh fill`} ` +
    `(fill: ${s(median(g.fill_s))} s). CPU = the pass's process, user + system; wall time on this shared machine also counts waiting for a CPU:`, '',
  '| pass | entries deleted | entries left | CPU s | wall s |', '|---|---|---|---|---|',
  row('L + 50 s: nothing expired', g.none_expired), row('L + 100 s: the closing half expired (tcpClosingSeconds 60)', g.half_expired), ''];
}

/** One sentence for the README. */
export function flowGcSentence(g: FlowGcNumbers | undefined): string {
  if (!g) return '';
  const cpu = (p: FlowGcPass) => s(median(p.cpu_s));
  const runs = g.none_expired.cpu_s.length;
  return `Flow table (xdp${g.measured ? `, measured ${g.measured}` : ''}): ${n(g.flows)} flows in the table sized for maxFlows ` +
    `${n(g.max_flows)} take **${(g.memory_bytes / MIB).toFixed(0)} MiB** of kernel memory (memlock); a GC pass over them costs ` +
    `**${cpu(g.none_expired)} s** of CPU with nothing expired and **${cpu(g.half_expired)} s** with half of them expired (deleting ` +
    `${n(g.half_expired.deleted)} entries), ${runs === 1 ? 'one run' : `median of ${runs} runs`} on this shared machine, whose other load ` +
    'moves the wall times (results.md).';
}
