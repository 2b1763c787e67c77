// Whether a traffic tally is balanced: each of k equally weighted targets gets a share drawn from the binomial
// B(n, 1/k) (every connection hashes independently: random source ports through the router's ECMP and the LB's
// backend choice), so a count further than 4.5 standard deviations from n/k happens by chance about once in
// 150 000 per target (two-sided normal tail). A fixed percentage is too tight for few requests over many targets
// (1500 over 5: 4.5 sigma is 23 % of a share) and too loose for many requests. Pure.
export const SIGMAS = 4.5;

export interface BalanceVerdict {
  ok: boolean;
  /** n/k, and the largest deviation allowed from it. */
  expected: number;
  bound: number;
  /** Per target: its count and how many standard deviations from n/k. */
  deviations: Record<string, { count: number; sigmas: number }>;
  problems: string[];
}

export function balanceVerdict(counts: Record<string, number>, targets: number, failed = 0, sigmas = SIGMAS): BalanceVerdict {
  const n = Object.values(counts).reduce((a, b) => a + b, 0);
  const p = 1 / targets;
  const expected = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  const bound = sigmas * sd;
  const problems: string[] = [];
  if (failed > 0) problems.push(`${failed} failed`);
  if (Object.keys(counts).length !== targets) problems.push(`${Object.keys(counts).length} targets answered, not ${targets}`);
  const deviations: BalanceVerdict['deviations'] = {};
  for (const [name, count] of Object.entries(counts)) {
    const s = sd === 0 ? 0 : (count - expected) / sd;
    deviations[name] = { count, sigmas: Math.round(s * 100) / 100 };
    if (Math.abs(count - expected) > bound) problems.push(`${name}: ${count}, ${s.toFixed(1)} sigma from ${expected.toFixed(0)}`);
  }
  return { ok: problems.length === 0 && n > 0, expected, bound, deviations, problems };
}
