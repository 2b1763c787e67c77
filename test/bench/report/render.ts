// results.json -> Markdown: docs/benchmarks/results.md and the README's performance section. Pure.
import { CONFIG_ORDER, TEST_ORDER, lowerIsBetter, relative } from './aggregate.js';
import type { ControlPlaneResults, Result, ResultsFile, ScaleNumbers } from './types.js';
import { throughputRatio } from '../control-plane/converged.js';
import { flowGcLines, flowGcSentence } from './flow-gc.js';

export const README_BEGIN = '<!-- bench:begin -->';
export const README_END = '<!-- bench:end -->';

const TEST_TITLE: Record<string, string> = {
  keepalive: 'keep-alive req/s',
  close: '`Connection: close` req/s',
  bulk: '1 MiB transfer',
  'udp-pps': 'UDP packets/s',
  'latency-p50': 'latency p50',
  'latency-p90': 'latency p90',
  'latency-p99': 'latency p99',
};
const COMPARATORS = ['iptables-dnat', 'nginx-l4', 'nginx-l7'];

const fmt = (v: number, digits = 2): string => v.toFixed(digits);
const abs = (v: number): string =>
  v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);

function presentTests(results: readonly Result[]): string[] {
  const tests = [...new Set(results.map((r) => r.test))];
  return tests.sort((a, b) => TEST_ORDER.indexOf(a) - TEST_ORDER.indexOf(b));
}
function presentConfigs(results: readonly Result[]): string[] {
  const configs = [...new Set(results.map((r) => r.config))];
  const rank = (c: string) => (CONFIG_ORDER.includes(c) ? CONFIG_ORDER.indexOf(c) : CONFIG_ORDER.length);
  return configs.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const cell = (r: Result | undefined): string =>
  r ? `**${fmt(r.median_ratio_to_baseline)}** (${fmt(r.min)}–${fmt(r.max)}, n=${r.runs})` : '–';

/**
 * Configurations x tests: "median (min–max)" of the ratio to the routed baseline; `latency` picks which tests.
 * The data-plane comparison only: the axes (results with an `axis`) have other denominators, see axisTable.
 */
export function ratioTable(all: readonly Result[], latency = false): string {
  const results = all.filter((r) => !r.axis);
  const tests = presentTests(results).filter((t) => lowerIsBetter(t) === latency);
  if (tests.length === 0) return '';
  const rows = presentConfigs(results).map((config) =>
    `| ${config} | ${tests.map((test) => cell(results.find((x) => x.config === config && x.test === test))).join(' | ')} |`);
  return [`| configuration | ${tests.map((t) => TEST_TITLE[t] ?? t).join(' | ')} |`, `|---|${tests.map(() => '---|').join('')}`, ...rows].join('\n');
}

/** One of the study's axes: each row names its denominator ("against"), since they differ. Throughput tests. */
export function axisTable(all: readonly Result[], axis: string): string {
  const results = all.filter((r) => r.axis === axis && !lowerIsBetter(r.test));
  const tests = presentTests(results);
  if (tests.length === 0) return '';
  const rows = presentConfigs(results).map((config) => {
    const against = results.find((r) => r.config === config)?.against ?? 'routed baseline';
    return `| ${config} | ${against} | ${tests.map((test) => cell(results.find((x) => x.config === config && x.test === test))).join(' | ')} |`;
  });
  return [`| configuration | ratio to | ${tests.map((t) => TEST_TITLE[t] ?? t).join(' | ')} |`, `|---|---|${tests.map(() => '---|').join('')}`, ...rows].join('\n');
}

/** Absolute medians, so that a reader can see what the ratios were taken of (baseline -> configuration). */
export function absoluteTable(results: readonly Result[]): string {
  const tests = presentTests(results);
  const rows = presentConfigs(results).map((config) => {
    const cells = tests.map((test) => {
      const r = results.find((x) => x.config === config && x.test === test);
      if (!r) return '–';
      // a -> b: for the axes a is their own denominator (RPS off, host-gw), not the routed baseline
      return `${abs(r.baseline_abs)} → ${abs(r.value_abs)} ${r.unit}${r.errors ? ` (${r.errors} errors)` : ''}`;
    });
    return `| ${config} | ${cells.join(' | ')} |`;
  });
  return [`| configuration | ${tests.map((t) => TEST_TITLE[t] ?? t).join(' | ')} |`, `|---|${tests.map(() => '---|').join('')}`, ...rows].join('\n');
}

/** Each of our xdp configurations against each comparator: ratio of their median ratios (>1 = ours ahead). */
export function comparisonTable(results: readonly Result[]): string {
  const tests = presentTests(results);
  const ours = presentConfigs(results.filter((r) => !r.axis)).filter((c) => c.startsWith('xdp') || c === 'nftables');
  const others = COMPARATORS.filter((c) => results.some((r) => r.config === c));
  const rows: string[] = [];
  for (const a of ours) {
    for (const b of others) {
      const cells = tests.map((t) => {
        const v = relative(results, t, a, b);
        return v === null ? '–' : fmt(v);
      });
      rows.push(`| ${a} vs ${b} | ${cells.join(' | ')} |`);
    }
  }
  return [`| comparison | ${tests.map((t) => TEST_TITLE[t] ?? t).join(' | ')} |`, `|---|${tests.map(() => '---|').join('')}`, ...rows].join('\n');
}

/** The operator against kube-controller-manager's Deployment controller: rates as a ratio, one row per peer setting. */
export function peerLines(cp: ControlPlaneResults): string[] {
  const o = cp.operator;
  if (!o || !cp.peer?.length) return [];
  const rows = cp.peer.map((p) => {
    const rss = p.rss_mib === undefined ? '–' : `${fmt(p.rss_mib, 0)} MiB`;
    const cpu = p.cpu_seconds === undefined ? '–' : `${fmt(p.cpu_seconds, 1)} s`;
    return `| kube-controller-manager \`--controllers=deployment\`, --kube-api-qps ${p.kube_api_qps} --kube-api-burst ${p.kube_api_burst} | ` +
      `${p.deployments} Deployments -> ReplicaSets in ${fmt(p.seconds, 1)} s (${fmt(p.per_second, 1)}/s) | ${cpu} | ${rss} | **${fmt(throughputRatio(o, p), 2)}** |`;
  });
  return [`The operator against its peer on the same API server in the same run, beside the same pods (each works a backlog ` +
    `created while it was stopped; the peer first, since it would also work the operator's LB Deployments): the operator's ` +
    `${o.plbs} PLBs in ${fmt(o.seconds, 1)} s (${fmt(o.reconciles_per_second, 1)}/s${o.cpu_seconds === undefined ? '' : `, CPU ${fmt(o.cpu_seconds, 1)} s`}, ` +
    `RSS ${fmt(o.rss_mib, 0)} MiB); ` +
    'ratio = the operator\'s PLBs/s / the peer\'s Deployments/s, < 1 means the operator is slower:', '',
  '| peer | peer\'s backlog | peer\'s CPU | peer\'s RSS | operator / peer |', '|---|---|---|---|---|', ...rows, ''];
}

/** One sentence for the README: the operator's rate against the peer's, each peer setting. */
export function peerSentence(cp: ControlPlaneResults): string {
  const o = cp.operator;
  if (!o || !cp.peer?.length) return '';
  const against = cp.peer.map((p) => `**${fmt(throughputRatio(o, p), 2)}** of kube-controller-manager's Deployment controller at ` +
    `--kube-api-qps ${p.kube_api_qps} (${fmt(p.per_second, 1)} Deployments/s)`).join(', ');
  return `Control plane: the operator converged ${o.plbs} PLBs at ${fmt(o.reconciles_per_second, 1)}/s (RSS ${fmt(o.rss_mib, 0)} MiB), ` +
    `${against}, on the same API server in the same run.`;
}

/** Backends at scale: one PLB selecting N ready pods, the cluster agent with each data plane. */
export function scaleTable(scale: readonly ScaleNumbers[]): string[] {
  if (scale.length === 0) return [];
  const rows = scale.map((s) => `| ${s.data_plane} | ${s.source} | ${s.pods} | ${fmt(s.resync_ms / 1000, 1)} s | ` +
    `${s.readiness_ms.p50} / ${s.readiness_ms.p99} ms (n=${s.readiness_ms.runs}) | ${fmt(s.rss_mib, 0)} MiB (peak ${fmt(s.peak_rss_mib, 0)}) |`);
  return ['Backends at scale: one PLB selecting N ready pods on a real kube-apiserver, the cluster agent (`plb-agent run ' +
    '--kubernetes`) programming its namespace; resync = agent start to every backend programmed; readiness = one pod\'s ' +
    'status written (Ready flipped, as a kubelet writes it) to the agent\'s apply returning with the new backend set:', '',
  '| data plane | backends from | pods | full resync | readiness change -> programmed p50 / p99 | agent RSS |', '|---|---|---|---|---|---|', ...rows, ''];
}

export function controlPlaneTables(cp: ControlPlaneResults): string {
  const out: string[] = [];
  const timingRows = (rows: ControlPlaneResults['maglev_build']) =>
    rows.map((t) => `| ${t.backends} | ${fmt(t.median_ms, 3)} | ${fmt(t.min_ms, 3)}–${fmt(t.max_ms, 3)} | ${t.runs} |`);
  if (cp.maglev_build.length) {
    out.push(`Maglev table build (M = ${cp.maglev_ring_size ?? 'not recorded'}, in-process):`, '', '| backends | median ms | range ms | runs |', '|---|---|---|---|',
      ...timingRows(cp.maglev_build), '');
  }
  if (cp.xdp_apply.length) {
    out.push('xdp data plane, desired-state change to programmed (`apply`: diff, maps, ring flip; veth in a fresh netns):', '',
      '| backends | median ms | range ms | runs |', '|---|---|---|---|', ...timingRows(cp.xdp_apply), '');
  }
  out.push(...flowGcLines(cp.flow_gc));
  if (cp.operator) {
    const o = cp.operator;
    const pods = o.unrelated_pods ? ` and ${o.unrelated_pods} unrelated Running pods` : '';
    out.push(`Operator against a real kube-apiserver + etcd: ${o.plbs} PLBs${pods} created before the operator starts, all ` +
      `observed in **${fmt(o.seconds, 1)} s** (**${fmt(o.reconciles_per_second, 0)} reconciles/s**); RSS ` +
      `${fmt(o.rss_mib, 0)} MiB afterwards, peak ${fmt(o.peak_rss_mib, 0)} MiB` +
      `${o.node_options ? ` (started as the chart starts it, NODE_OPTIONS=\`${o.node_options}\`)` : ''}.`, '');
  }
  out.push(...peerLines(cp), ...scaleTable(cp.scale ?? []));
  for (const s of cp.skipped) out.push(`- not measured: ${s.test ?? s.config ?? ''}: ${s.reason}`);
  return out.join('\n').trimEnd();
}

function skippedList(file: ResultsFile): string {
  const lines = file.skipped.map((s) => `- ${[s.config, s.test].filter(Boolean).join(' / ')}: ${s.reason}`);
  const failed = file.failures.map((f) => `- FAILED ${f.config} / ${f.test} #${f.rep}: ${f.error}`);
  return [...lines, ...failed].join('\n');
}

const methodLine = (file: ResultsFile): string => {
  const m = file.method;
  const alternated = m.segment_seconds
    ? `${m.seconds} s per side, alternated in ${m.segment_seconds} s segments (random order per round)${m.warmup ? ' after a discarded warm-up of each side' : ''}` +
      `${m.pinned ? ', wrk and the backends pinned to CPUs' : ''}`
    : `${m.seconds} s per run, baseline first`;
  return `${m.mode === 'full' ? 'Full' : 'Quick'} mode: ${m.reps} fresh-topology pair(s) per cell, ${alternated}; two wrk -t1 ` +
    'at once on each side, 25 connections each for req/s, 2 each for the 1 MiB transfer';
};

/**
 * The pairs measured under Debian's 6.1 kernel in qemu (hack/vm/bench.sh): ipvs, which this machine's kernel
 * lacks, beside iptables DNAT, nftables and the A/A pair of the same VM. Only ratios within the VM mean anything.
 */
export function vmSection(file: ResultsFile, heading: string): string {
  const table = axisTable(file.results, 'vm');
  if (!table) return '';
  const vs = (a: string, b: string) => {
    const tests = presentTests(file.results.filter((r) => r.axis === 'vm'));
    const cells = tests.map((t) => relative(file.results, t, a, b));
    return cells.some((c) => c !== null) ? `${a} vs ${b}: ${tests.map((t, i) => `${TEST_TITLE[t] ?? t} ${cells[i] === null ? '–' : fmt(cells[i]!)}`).join(', ')}` : '';
  };
  const lines = [vs('ipvs@vm', 'iptables-dnat@vm'), vs('ipvs@vm', 'nftables@vm')].filter(Boolean);
  return [`${heading} The study's IPVS, under Debian 12's 6.1 kernel in qemu (median, min–max; higher is better)`, '',
    'This machine\'s kernel has no IPVS, so `ipvs` runs with its comparators inside one VM (hack/vm/bench.sh: ' +
    'Debian\'s kernel under qemu software emulation, no KVM, 2 vCPUs, the same topology and runner, 2 s segments). ' +
    'Ratios measured side by side in the same VM are valid; the absolute numbers are not (emulation runs the guest ' +
    'many times slower than the host, and not uniformly), so they are not comparable with the host rows above.', '',
    table, '', ...(lines.length ? ['Ratio of median ratios (> 1 means the first is ahead): ' + lines.join('; ') + '.', ''] : [])].join('\n');
}

const axesSection = (file: ResultsFile, heading: string): string => {
  const overlay = axisTable(file.results, 'overlay');
  const rps = axisTable(file.results, 'cpu-spreading');
  if (!overlay && !rps) return '';
  const parts: string[] = [];
  if (overlay) {
    parts.push(`${heading} Overlay mode: host-gw vs VXLAN (median, min–max; higher is better)`, '',
      'Client pod on a second node namespace, joined to the LB/backend node by a veth underlay: host-gw routes pod ' +
      'addresses via the other node, vxlan through a VXLAN tunnel with every pod at MTU 1450 (flannel\'s two modes). ' +
      '`X/host-gw`, `X/vxlan`: the LB against the routed baseline under the *same* overlay; `vxlan-vs-host-gw`: ' +
      "the overlay's own cost (the routed baseline over vxlan / over host-gw, alternated in one topology). " +
      'flannel\'s userspace `udp` backend is not measured (it needs flanneld\'s TUN daemon, not a kernel device).', '', overlay, '');
  }
  if (rps) {
    parts.push(`${heading} CPU spreading: RPS on vs off (median, min–max; > 1 means RPS helped)`, '',
      'Every veth with one rx and one tx queue per CPU (`numrxqueues`/`numtxqueues`); the LB pod writes all CPUs into ' +
      '`rps_cpus` of every rx queue of its eth0 for side b and 0 for side a, alternated in one topology with the ' +
      'configuration programmed (the knob a pod can set by itself; RFS needs a node-wide sysctl and is left off).', '', rps, '');
  }
  return parts.join('\n');
};

export function resultsMarkdown(file: ResultsFile): string {
  return `# Benchmarks

Generated by \`make bench\` (test/bench/, hack/bench.sh) on **${file.machine}**, ${file.date}. Do not edit: rerun.

Method (notes/dataplane-findings.md §5, [method.md](method.md)): every cell is a set of *pairs*; each pair
builds a fresh pod network in network namespaces (node router, client, LB pod, a forwarding-only twin of the LB
pod, two nginx backends) with the configuration programmed into the LB pod, and then measures, alternately in
short segments, the **routed no-NAT baseline** (client -> an address both backends hold, routed through the
twin pod and spread over the backends per flow by the node's ECMP, plain forwarding both ways) and the
configuration through the VIP, with the same load. The number is configuration / baseline: 1.00 = the LB pod costs no more than forwarding. Client, LB and
backends share the machine's CPUs, so a ratio is "end-to-end capacity left" rather than the LB's own cost, and
the machine is shared with other work: single pairs vary, hence medians and ranges. ${methodLine(file)}.
Tests: keep-alive and \`Connection: close\` (new connection per request) req/s and a 1 MiB transfer (wrk, two
processes on each side), UDP packets/s (trafgen, 64-byte datagrams with a random source port each, one CPU,
counted at the backends), and latency percentiles at a fixed offered load.

Configurations, all in the LB pod's namespace:
- **xdp-tc**: our agent (\`plb-agent run --file\`), xdp data plane on the TC hook of eth0 (the default on a veth):
  Maglev, full NAT keeping the client port.
- **xdp-native**: the same program as native XDP on the veth, with the node prepared as docs/dataplane-xdp.md
  requires (GRO on the host-side peer, tx checksum offload off on client and backends; part of its cost).
- **nftables**: our agent, nftables data plane (numgen round robin, port-preserving masquerade).
- **ipvs**: our agent, ipvs data plane (Maglev, masquerade), where the kernel has IPVS.
- **iptables-dnat**: kube-proxy's iptables mode by hand: \`statistic\` random DNAT per endpoint, mark,
  port-preserving MASQUERADE.
- **nginx-l4** / **nginx-l7**: nginx 1.22 with 2 workers as a stream proxy (UDP with \`proxy_responses 0\`) / an
  HTTP proxy with an upstream keep-alive pool.
- **null**: nothing programmed, both sides are the routed baseline (an A/A pair). Its median says whether the
  method favours a side (it should be 1.00), its range how far a single pair strays by noise alone.

How the pairs are taken and why: [method.md](method.md).

## Ratio to the routed baseline (median, min–max; higher is better)

${ratioTable(file.results)}

![ratios](ratios.svg)

## Latency at a fixed offered load, ratio to the baseline (median, min–max; lower is better)

wrk --latency, 20 connections each pausing 4 ms between requests (about 4–5k req/s offered to both sides), after a
discarded 1 s warm-up. The 99th percentile on a shared 2-CPU machine is dominated by scheduling noise (see ranges).

${ratioTable(file.results, true) || 'not measured in this run'}

${axesSection(file, '##')}
${vmSection(file, '##')}
## Ours against the study's comparators (ratio of median ratios, latency inverted; > 1 means ours is ahead)

${comparisonTable(file.results)}

## Absolute medians (baseline → configuration)

${absoluteTable(file.results)}

## Not measured here

${skippedList(file) || '- nothing'}

## Control plane

${controlPlaneTables(file.control_plane)}
`;
}

/** The README's performance section: the headline table and where the rest is. */
export function readmeSection(file: ResultsFile): string {
  return `${README_BEGIN}
<!-- generated by \`make bench\` from docs/benchmarks/results.json; do not edit by hand -->
Measured on **${file.machine}**, ${file.date}. ${methodLine(file)}. Ratios to a routed no-NAT baseline through
a twin of the LB pod (flows spread over the same backends by ECMP, as an LB spreads them), taken alternately in
the same fresh namespaces; median (min–max) over the pairs. The machine is shared, so single pairs vary: the
\`null\` row (baseline against itself) shows by how much.

${ratioTable(file.results)}

${ratioTable(file.results, true) ? `Latency at a fixed offered load, ratio to the baseline (lower is better):\n\n${ratioTable(file.results, true)}\n\n` : ''}${vmSection(file, '####')}${axesSection(file, '####')}${skippedList(file) ? `\nNot measured here:\n\n${skippedList(file)}` : ''}${peerSentence(file.control_plane) ? `\n\n${peerSentence(file.control_plane)}` : ''}${flowGcSentence(file.control_plane.flow_gc) ? `\n\n${flowGcSentence(file.control_plane.flow_gc)}` : ''}

Control plane and comparisons: [docs/benchmarks/results.md](docs/benchmarks/results.md); plot:
[docs/benchmarks/ratios.svg](docs/benchmarks/ratios.svg). Rerun with \`sudo make bench\` (\`make bench QUICK=1\` for
the CI smoke run, which writes to .tmp/bench/ only).
${README_END}`;
}

/** Replaces the text between the markers (inclusive) with `section`; fails loudly if they are not there once. */
export function replaceSection(readme: string, section: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin || readme.indexOf(README_BEGIN, begin + 1) >= 0) {
    throw new Error(`README must contain ${README_BEGIN} ... ${README_END} exactly once`);
  }
  return readme.slice(0, begin) + section + readme.slice(end + README_END.length);
}
