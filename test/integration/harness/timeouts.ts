// envtest's timeout knobs, read the same way so one setting works for Go and TypeScript suites.
// Defaults are larger than envtest's 20s: a 2-vCPU CI machine takes 10-20s to bring kube-apiserver up.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration such as "90s", "1m30s" or "500ms". */
export function parseGoDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`not a Go duration: ${JSON.stringify(text)} (examples: 90s, 1m30s, 500ms)`);
  }
  return parts.reduce((total, [, n, unit]) => total + Number(n) * (UNIT_MS[unit ?? 's'] ?? 1000), 0);
}

function fromEnv(name: string, fallbackMs: number): number {
  const value = process.env[name];
  return value ? parseGoDuration(value) : fallbackMs;
}

export const startTimeoutMs = (): number => fromEnv('KUBEBUILDER_CONTROLPLANE_START_TIMEOUT', 60_000);
export const stopTimeoutMs = (): number => fromEnv('KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT', 20_000);
