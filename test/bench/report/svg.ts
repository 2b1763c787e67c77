// results.json -> docs/benchmarks/ratios.svg: grouped bars (one group per test, one bar per configuration),
// min–max whiskers, a line at 1.0 = the routed baseline. Throughput tests only: latency ratios point the other
// way (lower is better) and live in the tables. Pure, hand-written SVG: no plotting dependency.
import { CONFIG_ORDER, TEST_ORDER, lowerIsBetter } from './aggregate.js';
import type { Result } from './types.js';

const COLORS: Record<string, string> = {
  'xdp-tc': '#1f77b4',
  'xdp-native': '#6baed6',
  nftables: '#2ca02c',
  ipvs: '#98df8a',
  'iptables-dnat': '#ff7f0e',
  'nginx-l4': '#9467bd',
  'nginx-l7': '#c5b0d5',
  null: '#bbbbbb',
  'xdp-tc/host-gw': '#17becf',
  'xdp-tc/vxlan': '#0b6f7a',
  'iptables-dnat/host-gw': '#e6b34d',
  'iptables-dnat/vxlan': '#a0522d',
  'vxlan-vs-host-gw': '#d62728',
  'xdp-tc/rps': '#393b79',
  'iptables-dnat/rps': '#bcbd22',
  'ipvs@vm': '#3a7d2c',
  'nftables@vm': '#a1d99b',
  'iptables-dnat@vm': '#fdae6b',
  'null@vm': '#dddddd',
};
const FALLBACK = '#7f7f7f';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number): string => v.toFixed(1);

export function ratiosSvg(all: readonly Result[], title: string, subtitle = ''): string {
  const results = all.filter((r) => !lowerIsBetter(r.test));
  const tests = [...new Set(results.map((r) => r.test))].sort((a, b) => TEST_ORDER.indexOf(a) - TEST_ORDER.indexOf(b));
  const rank = (c: string) => (CONFIG_ORDER.includes(c) ? CONFIG_ORDER.indexOf(c) : CONFIG_ORDER.length);
  const configs = [...new Set(results.map((r) => r.config))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const bar = 18;
  const gap = 28;
  const left = 50;
  const top = 52;
  const plotH = 260;
  const groupW = Math.max(1, configs.length) * bar + gap;
  const width = Math.max(660, left + tests.length * groupW + 20); // the legend needs 4 x 150 per row
  const legendY = top + plotH + 40;
  const height = legendY + Math.ceil(configs.length / 4) * 18 + 10;
  // The axis reaches past the largest whisker and always shows 1.0, rounded up to a quarter.
  const yMax = Math.max(1.25, Math.ceil(Math.max(0, ...results.map((r) => r.max)) * 4) / 4 + 0.25);
  const y = (v: number): number => top + plotH - (v / yMax) * plotH;

  const parts: string[] = [];
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  if (subtitle) parts.push(`<text x="${width / 2}" y="36" text-anchor="middle" font-size="10">${esc(subtitle)}</text>`);
  for (let t = 0; t <= yMax + 1e-9; t += 0.25) {
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${n(y(t))}" y2="${n(y(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${n(y(t) + 4)}" text-anchor="end" font-size="10">${t.toFixed(2)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${n(y(1))}" y2="${n(y(1))}" stroke="#444" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${width - 12}" y="${n(y(1) - 4)}" text-anchor="end" font-size="10">routed baseline = 1.0</text>`);
  tests.forEach((test, ti) => {
    const x0 = left + gap / 2 + ti * groupW;
    configs.forEach((config, ci) => {
      const r = results.find((x) => x.test === test && x.config === config);
      if (!r) return;
      const x = x0 + ci * bar;
      const cx = x + bar / 2 - 1;
      parts.push(`<rect x="${n(x)}" y="${n(y(r.median_ratio_to_baseline))}" width="${bar - 2}" height="${n(plotH + top - y(r.median_ratio_to_baseline))}" fill="${COLORS[config] ?? FALLBACK}"><title>${esc(`${config} ${test}: ${r.median_ratio_to_baseline} (${r.min}–${r.max}, n=${r.runs})`)}</title></rect>`);
      parts.push(`<line x1="${n(cx)}" x2="${n(cx)}" y1="${n(y(r.min))}" y2="${n(y(r.max))}" stroke="#222"/>`);
    });
    parts.push(`<text x="${n(x0 + (configs.length * bar) / 2)}" y="${top + plotH + 16}" text-anchor="middle" font-size="12">${esc(test)}</text>`);
  });
  configs.forEach((config, i) => {
    const lx = left + (i % 4) * 150;
    const ly = legendY + Math.floor(i / 4) * 18;
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[config] ?? FALLBACK}"/>`);
    parts.push(`<text x="${lx + 16}" y="${ly}" font-size="11">${esc(config)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
</svg>
`;
}
