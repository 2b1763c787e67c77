// The benchmark report (test/bench/report/): samples -> ratios -> results.json -> Markdown, SVG, README.
import { describe, expect, test } from '@jest/globals';
import {
  aggregate, axisTable, buildResults, median, missing, parseSamples, ratioTable, ratiosSvg, readmeSection, relative, render,
  flowGcLines, flowGcSentence, mibPerMillionFlows, peerLines, peerSentence, replaceSection, resultsMarkdown, scaleTable, vmSection, README_BEGIN, README_END, type ResultsFile, type Sample,
} from '../bench/report/index.js';

const sample = (config: string, test: string, rep: number, baseline: number, value: number): Sample =>
  ({ config, test, rep, baseline, value, unit: test === 'bulk' ? 'MiB/s' : 'req/s', errors: 0 });
const line = (o: object) => JSON.stringify(o);
const controlPlane = {
  maglev_build: [{ backends: 10, median_ms: 1.5, min_ms: 1, max_ms: 2, runs: 3 }],
  xdp_apply: [{ backends: 1000, median_ms: 80, min_ms: 70, max_ms: 90, runs: 3 }],
  operator: { plbs: 1000, seconds: 50, reconciles_per_second: 20, rss_mib: 150, peak_rss_mib: 170 },
  skipped: [{ test: 'xdp-apply 10000 backends', reason: 'more than 1024 backends' }],
};
const axisSample = (config: string, test: string, rep: number, baseline: number, value: number, axis: string, against: string): Sample =>
  ({ ...sample(config, test, rep, baseline, value), axis, against });
const jsonl = [
  line(sample('iptables-dnat', 'keepalive', 1, 100, 80)),
  line(sample('xdp-tc', 'keepalive', 1, 100, 90)),
  line(sample('xdp-tc', 'keepalive', 2, 200, 190)),
  line(sample('xdp-tc', 'keepalive', 3, 100, 70)),
  line({ config: 'nftables', reason: 'the agent refuses dataPlane: nftables' }),
  line({ config: 'nginx-l4', test: 'close', rep: 1, error: 'no traffic through the VIP' }),
  '',
].join('\n');
const file = (): ResultsFile => buildResults({
  machine: 'Test CPU, 2 CPUs', date: '2026-11-26T15:00:00Z', method: { mode: 'full', reps: 3, seconds: 5 }, samplesJsonl: jsonl, controlPlane,
});

describe('bench report', () => {
  test('median of an odd and an even number of values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  test('run.sh lines are told apart as samples, failures and skipped configurations; garbage is an error', () => {
    const parsed = parseSamples(jsonl);
    expect(parsed.samples).toHaveLength(4);
    expect(parsed.failures).toEqual([{ config: 'nginx-l4', test: 'close', rep: 1, error: 'no traffic through the VIP' }]);
    expect(parsed.skipped).toEqual([{ config: 'nftables', reason: 'the agent refuses dataPlane: nftables' }]);
    expect(() => parseSamples('{"config": "x"}')).toThrow(/line 1/);
    expect(() => parseSamples('wrk: oops')).toThrow(/not JSON/);
  });

  test('ratios are taken per pair, then the median and range over the pairs; ours are listed first', () => {
    const results = aggregate(parseSamples(jsonl).samples);
    expect(results.map((r) => r.config)).toEqual(['xdp-tc', 'iptables-dnat']);
    expect(results[0]).toEqual({
      test: 'keepalive', config: 'xdp-tc', median_ratio_to_baseline: 0.9, min: 0.7, max: 0.95, runs: 3,
      baseline_abs: 100, value_abs: 90, unit: 'req/s', errors: 0,
    });
  });

  test('a pair whose baseline measured nothing is left out rather than dividing by zero', () => {
    expect(aggregate([sample('xdp-tc', 'close', 1, 0, 5), sample('xdp-tc', 'close', 2, 10, 5)])[0]?.runs).toBe(1);
  });

  test('a requested configuration without a number is a hole; skipped configurations and tests are not', () => {
    const { results, skipped } = file();
    expect(missing(results, skipped, ['xdp-tc', 'nftables', 'nginx-l4'], ['keepalive'])).toEqual(['nginx-l4/keepalive: no number']);
    expect(missing(results, [...skipped, { test: 'keepalive', reason: 'n/a' }], ['nginx-l4'], ['keepalive'])).toEqual([]);
    expect(missing(results, skipped, ['xdp-tc'], ['keepalive'])).toEqual([]);
  });

  test('ours against a comparator is the ratio of the two median ratios', () => {
    const { results } = file();
    expect(relative(results, 'keepalive', 'xdp-tc', 'iptables-dnat')).toBe(1.13);
    expect(relative(results, 'close', 'xdp-tc', 'iptables-dnat')).toBeNull();
  });

  test('the ratio table shows median (min–max, n) per configuration and test, and a dash where nothing ran', () => {
    const results = [...file().results, ...aggregate([sample('xdp-tc', 'bulk', 1, 10, 5)])];
    expect(ratioTable(results)).toBe([
      '| configuration | keep-alive req/s | 1 MiB transfer |',
      '|---|---|---|',
      '| xdp-tc | **0.90** (0.70–0.95, n=3) | **0.50** (0.50–0.50, n=1) |',
      '| iptables-dnat | **0.80** (0.80–0.80, n=1) | – |',
    ].join('\n'));
  });

  test('results.md names the machine and date, the skipped configuration with its reason, failures and control-plane numbers', () => {
    const md = resultsMarkdown(file());
    expect(md).toContain('**Test CPU, 2 CPUs**, 2026-11-26T15:00:00Z');
    expect(md).toContain('- nftables: the agent refuses dataPlane: nftables');
    expect(md).toContain('- FAILED nginx-l4 / close #1: no traffic through the VIP');
    expect(md).toContain('| xdp-tc vs iptables-dnat | 1.13 |');
    expect(md).toContain('**20 reconciles/s**');
    expect(md).toContain('- not measured: xdp-apply 10000 backends: more than 1024 backends');
  });

  test('the plot has one bar with a whisker per result, a legend entry per configuration and the 1.0 line', () => {
    const svg = ratiosSvg(file().results, 'a <title>');
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(2);
    expect(svg).toContain('routed baseline = 1.0');
    expect(svg).toContain('a &lt;title&gt;');
    expect(svg).toContain('>xdp-tc</text>');
    expect(ratiosSvg(file().results, 'x')).toBe(svg.replace('a &lt;title&gt;', 'x'));
  });

  test('the README section replaces exactly what is between the markers, and a README without them is refused', () => {
    const readme = `# x\n## Performance\n${README_BEGIN}\nold\n${README_END}\n## Next\n`;
    const out = replaceSection(readme, readmeSection(file()));
    expect(out.startsWith('# x\n## Performance\n<!-- bench:begin -->')).toBe(true);
    expect(out.endsWith('<!-- bench:end -->\n## Next\n')).toBe(true);
    expect(out).not.toContain('old');
    expect(out).toContain('Measured on **Test CPU, 2 CPUs**, 2026-11-26T15:00:00Z');
    expect(replaceSection(out, readmeSection(file()))).toBe(out);
    expect(() => replaceSection('# no markers', 'x')).toThrow(/exactly once/);
    expect(() => replaceSection(`${readme}${README_BEGIN}`, 'x')).toThrow(/exactly once/);
  });

  test('latency ratios are lower-is-better: compared the other way round, tabled apart and left out of the plot', () => {
    const results = aggregate([
      sample('xdp-tc', 'keepalive', 1, 100, 90),
      { ...sample('xdp-tc', 'latency-p50', 1, 0.1, 0.12), unit: 'ms' },
      { ...sample('nginx-l7', 'latency-p50', 1, 0.1, 0.3), unit: 'ms' },
    ]);
    expect(relative(results, 'latency-p50', 'xdp-tc', 'nginx-l7')).toBe(2.5);
    const small = aggregate([{ ...sample('xdp-tc', 'latency-p99', 1, 0.12345, 2.17049), unit: 'ms' }])[0];
    expect([small?.baseline_abs, small?.value_abs]).toEqual([0.1235, 2.1705]); // ms keep their digits
    expect(ratioTable(results)).not.toContain('latency');
    expect(ratioTable(results, true)).toContain('| xdp-tc | **1.20** (1.20–1.20, n=1) |');
    expect(ratiosSvg(results, 't').match(/<rect [^>]*><title>/g)).toHaveLength(1);
  });

  test('a requested latency run must yield its three percentiles', () => {
    const results = aggregate([{ ...sample('xdp-tc', 'latency-p50', 1, 0.1, 0.12), unit: 'ms' }]);
    expect(missing(results, [], ['xdp-tc'], ['latency'])).toEqual(['xdp-tc/latency-p90: no number', 'xdp-tc/latency-p99: no number']);
  });

  test('the axes keep their own denominators: apart from the main table, each row says what it is a ratio to', () => {
    const results = aggregate([
      sample('xdp-tc', 'keepalive', 1, 100, 90),
      sample('null', 'keepalive', 1, 100, 101),
      axisSample('xdp-tc/vxlan', 'keepalive', 1, 100, 80, 'overlay', 'routed baseline over vxlan'),
      axisSample('vxlan-vs-host-gw', 'keepalive', 1, 100, 70, 'overlay', 'routed baseline over host-gw'),
      axisSample('xdp-tc/rps', 'keepalive', 1, 100, 110, 'cpu-spreading', 'the same configuration with RPS off'),
      axisSample('xdp-tc/rps', 'keepalive', 2, 100, 130, 'cpu-spreading', 'the same configuration with RPS off'),
    ]);
    expect(results.map((r) => r.config)).toEqual(['xdp-tc', 'null', 'xdp-tc/vxlan', 'vxlan-vs-host-gw', 'xdp-tc/rps']);
    expect(results.find((r) => r.config === 'xdp-tc')).not.toHaveProperty('against');
    expect(results.find((r) => r.config === 'xdp-tc/rps')).toMatchObject({ axis: 'cpu-spreading', median_ratio_to_baseline: 1.2, runs: 2 });
    expect(ratioTable(results)).not.toMatch(/vxlan|rps/);
    expect(ratioTable(results)).toContain('| null | **1.01**');
    expect(axisTable(results, 'overlay')).toBe([
      '| configuration | ratio to | keep-alive req/s |',
      '|---|---|---|',
      '| xdp-tc/vxlan | routed baseline over vxlan | **0.80** (0.80–0.80, n=1) |',
      '| vxlan-vs-host-gw | routed baseline over host-gw | **0.70** (0.70–0.70, n=1) |',
    ].join('\n'));
    expect(axisTable(results, 'cpu-spreading')).toContain('| xdp-tc/rps | the same configuration with RPS off | **1.20** (1.10–1.30, n=2) |');
    const md = resultsMarkdown({ ...file(), results });
    expect(md).toContain('## Overlay mode: host-gw vs VXLAN');
    expect(md).toContain('## CPU spreading: RPS on vs off');
    expect(readmeSection({ ...file(), results })).toContain('#### Overlay mode');
    expect(ratiosSvg(results, 't')).toContain('>xdp-tc/rps</text>');
    expect(missing(results, [], ['xdp-tc/host-gw', 'xdp-tc/vxlan'], ['keepalive'])).toEqual(['xdp-tc/host-gw/keepalive: no number']);
  });

  test('pairs measured in the VM (config@vm, axis vm) get their own table, say that only their ratios count, and compare ipvs', () => {
    const vm = (config: string, rep: number, baseline: number, value: number) =>
      axisSample(`${config}@vm`, 'keepalive', rep, baseline, value, 'vm', 'routed baseline in the same VM');
    const results = aggregate([
      sample('xdp-tc', 'keepalive', 1, 100, 90),
      vm('ipvs', 1, 10, 8), vm('ipvs', 2, 12, 9), vm('iptables-dnat', 1, 10, 7), vm('nftables', 1, 10, 7.5), vm('null', 1, 10, 10),
    ]);
    expect(results.map((r) => r.config)).toEqual(['xdp-tc', 'ipvs@vm', 'nftables@vm', 'iptables-dnat@vm', 'null@vm']);
    expect(ratioTable(results)).not.toContain('@vm');
    const f = { ...file(), results };
    const section = vmSection(f, '##');
    expect(section).toContain("## The study's IPVS, under Debian 12's 6.1 kernel in qemu");
    expect(section).toContain('the absolute numbers are not');
    expect(section).toContain('| ipvs@vm | routed baseline in the same VM | **0.78** (0.75–0.80, n=2) |');
    expect(section).toContain('ipvs@vm vs iptables-dnat@vm: keep-alive req/s 1.11; ipvs@vm vs nftables@vm: keep-alive req/s 1.03.');
    expect(resultsMarkdown(f)).toContain(section);
    expect(readmeSection(f)).toContain("#### The study's IPVS");
    expect(vmSection(file(), '##')).toBe('');
  });

  test('the operator against kube-controller-manager: rates as a ratio (operator/s over peer/s), one row per peer setting', () => {
    const cp = {
      ...controlPlane,
      peer: [
        { deployments: 1000, seconds: 200, per_second: 5, kube_api_qps: 20, kube_api_burst: 30, rss_mib: 60.4, peak_rss_mib: 70, cpu_seconds: 12.34 },
        { deployments: 1000, seconds: 16, per_second: 62.5, kube_api_qps: 5000, kube_api_burst: 5000 },
      ],
    };
    const lines = peerLines(cp).join('\n');
    // operator: 1000 PLBs in 50 s -> 20/s; peer 5/s and 62.5/s
    expect(lines).toContain('the operator\'s 1000 PLBs in 50.0 s (20.0/s, RSS 150 MiB)');
    expect(peerLines({ ...cp, operator: { ...controlPlane.operator, cpu_seconds: 41.06 } }).join('\n')).toContain('(20.0/s, CPU 41.1 s, RSS 150 MiB)');
    expect(lines).toContain('| kube-controller-manager `--controllers=deployment`, --kube-api-qps 20 --kube-api-burst 30 | 1000 Deployments -> ReplicaSets in 200.0 s (5.0/s) | 12.3 s | 60 MiB | **4.00** |');
    expect(lines).toContain('--kube-api-qps 5000 --kube-api-burst 5000 | 1000 Deployments -> ReplicaSets in 16.0 s (62.5/s) | – | – | **0.32** |');
    expect(peerLines(controlPlane)).toEqual([]);
    expect(peerSentence(cp)).toBe('Control plane: the operator converged 1000 PLBs at 20.0/s (RSS 150 MiB), **4.00** of kube-controller-manager\'s ' +
      'Deployment controller at --kube-api-qps 20 (5.0 Deployments/s), **0.32** of kube-controller-manager\'s Deployment controller at ' +
      '--kube-api-qps 5000 (62.5 Deployments/s), on the same API server in the same run.');
    expect(peerSentence(controlPlane)).toBe('');
    expect(readmeSection({ ...file(), control_plane: cp })).toContain(peerSentence(cp));
    expect(readmeSection(file())).not.toContain('Control plane: the operator');
  });

  test("the operator's line names the NODE_OPTIONS it ran with, and an older file without them still renders", () => {
    const f = file();
    const md = (operator: object) => resultsMarkdown({ ...f, control_plane: { ...controlPlane, operator: { ...controlPlane.operator, ...operator } } });
    expect(md({ node_options: '--max-old-space-size=256' })).toContain('peak 170 MiB (started as the chart starts it, NODE_OPTIONS=`--max-old-space-size=256`).');
    expect(md({})).toContain('peak 170 MiB.');
    expect(md({ node_options: '' })).toContain('peak 170 MiB.');
  });

  test('backends at scale: one row per data plane with resync, readiness p50/p99 and the agent\'s memory', () => {
    const rows = scaleTable([{ data_plane: 'xdp', source: 'pods', pods: 10000, resync_ms: 3274, readiness_ms: { p50: 192, p99: 281, max: 281, median: 192, runs: 40 }, rss_mib: 347.9, peak_rss_mib: 497.4 }]);
    expect(rows).toContain('| xdp | pods | 10000 | 3.3 s | 192 / 281 ms (n=40) | 348 MiB (peak 497) |');
    expect(scaleTable([])).toEqual([]);
  });

  test('flow GC: the table\'s kernel memory and the two passes\' CPU and wall times, median (min–max) over the runs', () => {
    const gc = {
      max_flows: 1_000_000, capacity_entries: 2_000_000, flows: 1_000_000, entries_after_fill: 1_999_936, fill_s: [1.9, 1.6, 2.0],
      memory_bytes: 209_555_328, memory_source: 'memlock of plb_flows in fdinfo',
      none_expired: { deleted: 0, left: 1_999_936, wall_s: [1.1, 1.0, 3.5], cpu_s: [1.18, 0.99, 1.05] },
      half_expired: { deleted: 1_000_000, left: 999_936, wall_s: [2.0, 2.1, 2.2], cpu_s: [2.01, 2.13, 2.0] },
    };
    const lines = flowGcLines(gc).join('\n');
    expect(lines).toContain('1 000 000 TCP flows, 1 999 936 entries (forward and reverse) in the agent\'s flow map sized for `spec.xdp.maxFlows` 1 000 000 (`plb_flows`, 2 000 000 entries).');
    expect(lines).toContain('**200 MiB** (memlock of plb_flows in fdinfo;');
    expect(lines).toContain('median (min–max) of 3 runs, each on a fresh fill (fill: 1.90 s)');
    expect(lines).toContain('| L + 50 s: nothing expired | 0 | 1 999 936 | **1.05** (0.99–1.18) | **1.10** (1.00–3.50) |');
    expect(lines).toContain('| L + 100 s: the closing half expired (tcpClosingSeconds 60) | 1 000 000 | 999 936 | **2.01** (2.00–2.13) | **2.10** (2.00–2.20) |');
    expect(mibPerMillionFlows({ ...gc, max_flows: 131_072, memory_bytes: 27_262_976 })).toBeCloseTo(198.4, 1);
    // quick mode's smaller fill says so; a file rebuilt around a later measurement dates it; one run has no range
    const quick = flowGcLines({ ...gc, flows: 200_000, none_expired: { ...gc.none_expired, cpu_s: [0.23], wall_s: [0.22] }, measured: '2026-12-08T00:10:00Z' }).join('\n');
    expect(quick).toContain('filled with only 200 000 flows (fewer than it is sized for)');
    expect(quick).toContain('Flow garbage collection (xdp, issue 13), measured 2026-12-08T00:10:00Z:');
    expect(quick).toContain('| L + 50 s: nothing expired | 0 | 1 999 936 | **0.23** | **0.22** |');
    expect(flowGcSentence(gc)).toBe('Flow table (xdp): 1 000 000 flows in the table sized for maxFlows 1 000 000 take **200 MiB** of kernel ' +
      'memory (memlock); a GC pass over them costs **1.05 s** of CPU with nothing expired and **2.01 s** with half of them expired (deleting ' +
      '1 000 000 entries), median of 3 runs on this shared machine, whose other load moves the wall times (results.md).');
    expect(flowGcSentence({ ...gc, measured: '2026-12-08T00:10:00Z' })).toMatch(/^Flow table \(xdp, measured 2026-12-08T00:10:00Z\): /);
    const f = { ...file(), control_plane: { ...controlPlane, flow_gc: gc } };
    expect(resultsMarkdown(f)).toContain(lines);
    expect(readmeSection(f)).toContain(flowGcSentence(gc));
    // files written before it was measured render without it
    expect(flowGcLines(undefined)).toEqual([]);
    expect(readmeSection(file())).not.toContain('Flow table (xdp)');
  });

  test('the method line says how the sides were alternated, and an older file without it still renders', () => {
    const f = file();
    expect(resultsMarkdown(f)).toContain('5 s per run, baseline first');
    const alternated = { ...f, method: { ...f.method, segment_seconds: 1, warmup: true, pinned: false } };
    expect(resultsMarkdown(alternated)).toContain('5 s per side, alternated in 1 s segments (random order per round) after a discarded warm-up of each side;');
    expect(resultsMarkdown({ ...f, control_plane: { ...controlPlane, maglev_ring_size: 65537 } })).toContain('Maglev table build (M = 65537');
  });

  test('render produces the three generated texts from one results file', () => {
    const out = render(file(), `${README_BEGIN}${README_END}`);
    expect(out.markdown).toMatch(/^# Benchmarks/);
    expect(out.svg).toMatch(/^<svg /);
    expect(out.readme).toContain('docs/benchmarks/results.md');
  });
});
