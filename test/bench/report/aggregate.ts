// Samples -> ratios. Pure. The unit of evidence is the pair (baseline and configuration measured one after
// the other in the same fresh topology): the machine is shared and its load drifts by ±25 % between pairs, so
// absolute rates are only context and the ratio of each pair is what gets aggregated.
import type { Failure, Result, Sample, Skip, Timing } from './types.js';

/** Display and plot order: ours first, then the comparators of the study, the A/A pair, then the two axes. */
export const CONFIG_ORDER = ['xdp-tc', 'xdp-native', 'nftables', 'ipvs', 'iptables-dnat', 'nginx-l4', 'nginx-l7', 'null',
  'xdp-tc/host-gw', 'xdp-tc/vxlan', 'iptables-dnat/host-gw', 'iptables-dnat/vxlan', 'vxlan-vs-host-gw', 'xdp-tc/rps', 'iptables-dnat/rps',
  'ipvs@vm', 'nftables@vm', 'iptables-dnat@vm', 'null@vm'];
export const TEST_ORDER = ['keepalive', 'close', 'bulk', 'udp-pps', 'latency-p50', 'latency-p90', 'latency-p99'];

/** Latency ratios are config / baseline of a time: there, lower is better (1.10 = 10 % slower than routing). */
export const lowerIsBetter = (test: string): boolean => test.startsWith('latency');

/** The result names one requested test produces: run.sh's latency run yields three percentiles. */
export const metricsOf = (test: string): string[] =>
  test === 'latency' ? ['latency-p50', 'latency-p90', 'latency-p99'] : [test];

const rank = (order: readonly string[], v: string): number => {
  const i = order.indexOf(v);
  return i < 0 ? order.length : i;
};

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));
/** Rates keep one decimal; small quantities (latencies in ms) keep four, or they would round to nothing. */
const absolute = (v: number): number => round(v, Math.abs(v) < 10 ? 4 : 1);

/** Parses run.sh's JSON lines into what they are: measured pairs, failed pairs, skipped configurations. */
export function parseSamples(jsonl: string): { samples: Sample[]; failures: Failure[]; skipped: Skip[] } {
  const samples: Sample[] = [];
  const failures: Failure[] = [];
  const skipped: Skip[] = [];
  jsonl.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`samples line ${i + 1} is not JSON: ${line.slice(0, 120)}`);
    }
    if (typeof o['reason'] === 'string') skipped.push(o as unknown as Skip);
    else if (typeof o['error'] === 'string') failures.push(o as unknown as Failure);
    else if (typeof o['value'] === 'number' && typeof o['baseline'] === 'number') samples.push(o as unknown as Sample);
    else throw new Error(`samples line ${i + 1} is neither a sample, a failure nor a skip: ${line.slice(0, 120)}`);
  });
  return { samples, failures, skipped };
}

/** One result per (config, test): median, min and max of the per-pair ratios. Baselines of 0 are dropped. */
export function aggregate(samples: readonly Sample[]): Result[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    if (!(s.baseline > 0)) continue;
    const k = `${s.config}\u0000${s.test}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const results = [...groups.values()].map((g): Result => {
    const ratios = g.map((s) => s.value / s.baseline);
    const first = g[0]!;
    const denominator = first.against && first.against !== 'routed baseline' ? { against: first.against } : {};
    return {
      test: first.test,
      config: first.config,
      median_ratio_to_baseline: round(median(ratios), 3),
      min: round(Math.min(...ratios), 3),
      max: round(Math.max(...ratios), 3),
      runs: g.length,
      baseline_abs: absolute(median(g.map((s) => s.baseline))),
      value_abs: absolute(median(g.map((s) => s.value))),
      unit: first.unit,
      errors: g.reduce((n, s) => n + (s.errors || 0), 0),
      ...denominator,
      ...(first.axis ? { axis: first.axis } : {}),
    };
  });
  return results.sort((a, b) => rank(CONFIG_ORDER, a.config) - rank(CONFIG_ORDER, b.config) ||
    a.config.localeCompare(b.config) || rank(TEST_ORDER, a.test) - rank(TEST_ORDER, b.test));
}

/**
 * What CI holds the quick mode to: every requested configuration that was not skipped has a number for every
 * requested test. Returns one line per hole (empty = complete).
 */
export function missing(results: readonly Result[], skipped: readonly Skip[], configs: readonly string[], tests: readonly string[]): string[] {
  const holes: string[] = [];
  for (const config of configs) {
    if (skipped.some((s) => s.config === config && s.test === undefined)) continue;
    for (const test of tests.flatMap(metricsOf)) {
      if (skipped.some((s) => s.test === test && (s.config === undefined || s.config === config))) continue;
      if (!results.some((r) => r.config === config && r.test === test)) holes.push(`${config}/${test}: no number`);
    }
  }
  return holes;
}

/** Median and range of repeated timings of one problem size, in milliseconds. */
export function timing(backends: number, ms: readonly number[]): Timing {
  return {
    backends,
    median_ms: round(median(ms), 3),
    min_ms: round(Math.min(...ms), 3),
    max_ms: round(Math.max(...ms), 3),
    runs: ms.length,
  };
}

/**
 * How one configuration compares with another on a test: the ratio of their median ratios, oriented so that
 * > 1 means `config` is ahead (for latency: other / config). Both are normalised by baselines of the same run,
 * so this is the comparison the study made (e.g. xdp vs iptables).
 */
export function relative(results: readonly Result[], test: string, config: string, other: string): number | null {
  const a = results.find((r) => r.test === test && r.config === config);
  const b = results.find((r) => r.test === test && r.config === other);
  if (!a || !b || a.median_ratio_to_baseline === 0 || b.median_ratio_to_baseline === 0) return null;
  const [num, den] = lowerIsBetter(test) ? [b, a] : [a, b];
  return round(num.median_ratio_to_baseline / den.median_ratio_to_baseline, 2);
}
