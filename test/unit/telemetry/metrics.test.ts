import { afterEach, describe, expect, test } from '@jest/globals';
import { metrics } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startTelemetry, type Telemetry } from '../../../src/telemetry/metrics.js';

/** What /metrics answers: the handler's body, through a response that records it. */
function scrape(t: Telemetry): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const res = { statusCode: 0, setHeader: () => res, end: (body: string) => resolve({ status: res.statusCode, body }) };
    t.metricsHandler({} as IncomingMessage, res as unknown as ServerResponse);
  });
}

describe('startTelemetry', () => {
  const traces = process.env['OTEL_TRACES_EXPORTER'];
  afterEach(() => {
    if (traces === undefined) delete process.env['OTEL_TRACES_EXPORTER'];
    else process.env['OTEL_TRACES_EXPORTER'] = traces;
    metrics.disable(); // the global meter provider, so that the next case can register its own
  });

  test.each([
    { name: 'without traces (only the metrics SDK)', exporter: undefined },
    { name: 'with traces turned off by name', exporter: 'none' },
    { name: 'with traces (the whole Node SDK)', exporter: 'console' },
  ])('serves the meters of the global provider on /metrics $name', async ({ exporter }) => {
    if (exporter === undefined) delete process.env['OTEL_TRACES_EXPORTER'];
    else process.env['OTEL_TRACES_EXPORTER'] = exporter;
    const t = await startTelemetry('portable-lb-test');
    try {
      metrics.getMeter('test').createCounter('plb_test_total', { description: 'a test counter' }).add(3, { kind: 'x' });
      const { status, body } = await scrape(t);
      expect(status).toBe(200);
      expect(body).toContain('# TYPE plb_test_total counter');
      expect(body).toMatch(/^plb_test_total\{kind="x"[^}]*\} 3$/m);
      expect(body).not.toContain('target_info');
    } finally {
      await t.shutdown();
    }
  });
});
