// Durations on the command line as Kubernetes components take them ("15s", "500ms", "2m", "1m30s"); a bare
// number means seconds. Pure.
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or an Error naming the flag and what is wrong. */
export function parseDuration(flag: string, text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`--${flag}: "${text}" is not a duration (e.g. 30s, 500ms, 2m)`);
  }
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0));
}
