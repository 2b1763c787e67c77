// Waiting for the cluster to converge: controllers act asynchronously, so tests poll an assertion.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries `check` every `intervalMs` until it returns without throwing, and returns its value.
 * After `timeoutMs` the last error is rethrown, so the failure shows the assertion that never held.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() + intervalMs > deadline) throw err;
    }
    await sleep(intervalMs);
  }
}
