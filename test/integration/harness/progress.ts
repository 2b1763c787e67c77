// Progress lines for people watching a slow tier: what is starting, and how long it took.
// Written straight to stderr because jest's console buffers and decorates every line with a stack frame.

export function progress(message: string): void {
  process.stderr.write(`[control-plane] ${message}\n`);
}

/** Runs `step`, then reports how long it took (also when it fails, so slow failures are visible). */
export async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  progress(`${label} ...`);
  try {
    const result = await step();
    progress(`${label}: ready in ${seconds(started)}`);
    return result;
  } catch (err) {
    progress(`${label}: FAILED after ${seconds(started)}`);
    throw err;
  }
}

export function seconds(startedAt: number): string {
  return `${((performance.now() - startedAt) / 1000).toFixed(1)}s`;
}
