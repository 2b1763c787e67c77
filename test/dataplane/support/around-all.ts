// Setup and teardown of a suite's shared network: teardown runs after the tests and also when setup fails
// half-way, so no namespace, mount or process outlives the suite.
import { afterAll, beforeAll } from '@jest/globals';

export function aroundAll(setup: () => Promise<void>, teardown: () => Promise<void>, timeoutMs = 175_000): void {
  beforeAll(async () => {
    try {
      await setup();
    } catch (err) {
      await teardown();
      throw err;
    }
  }, timeoutMs);
  afterAll(teardown);
}
